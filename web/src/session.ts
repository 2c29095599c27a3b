// Who is logged in, what that role may do, and who wants to know when it
// changes (the navigation bar). Views read the session here, never from
// main.ts.

import * as api from './api';

export interface Session {
  user: api.Me | null;
}
export const session: Session = { user: null };

const USER_KEY = 'radraft.user';
const listeners = new Set<() => void>();

/** Calls f after every setUser; returns a function that stops it. */
export function onUserChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function setUser(u: api.Me | null): void {
  session.user = u;
  if (u) sessionStorage.setItem(USER_KEY, JSON.stringify({ username: u.username, role: u.role }));
  else sessionStorage.removeItem(USER_KEY);
  for (const f of listeners) f();
}

export const can = {
  qa: () => session.user?.role === 'qa_lead' || session.user?.role === 'admin',
  sign: () => session.user?.role === 'radiologist',
  edit: () => session.user?.role === 'radiologist',
  // the worklist and studies are for radiologists and QA leads (the API refuses admins)
  worklist: () => session.user?.role === 'radiologist' || session.user?.role === 'qa_lead',
};

/**
 * The user at start-up: the server's /auth/session, else (no such
 * endpoint, or the server unreachable) the user this tab stored, trusted
 * until the first 401.
 */
export async function restoreSession(): Promise<void> {
  const stored = sessionStorage.getItem(USER_KEY);
  let u: api.Me | null | undefined = null;
  try {
    u = await api.me();
  } catch {
    u = undefined;
  }
  if (u === undefined && stored) {
    try {
      const s = JSON.parse(stored);
      u = { username: s.username, role: s.role };
    } catch {
      u = null;
    }
  }
  session.user = u ?? null;
}
