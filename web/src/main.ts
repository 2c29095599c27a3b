// App shell: session, role-aware navigation, hash routing, global shortcuts.

import './style.css';
import * as api from './api';
import { announce, clear, h } from './dom';
import { key, setGlobalShortcuts, setViewShortcuts, showHelp } from './shortcuts';
import { renderLogin } from './views/login';
import { renderWorklist } from './views/worklist';
import { renderStudy } from './views/study';
import { renderFlag, renderFlags, renderMetrics } from './views/qa';
import { renderOrders } from './views/orders';

export interface Session {
  user: api.Me | null;
}
export const session: Session = { user: null };

const USER_KEY = 'radraft.user';

export function setUser(u: api.Me | null): void {
  session.user = u;
  if (u) sessionStorage.setItem(USER_KEY, JSON.stringify({ username: u.username, role: u.role }));
  else sessionStorage.removeItem(USER_KEY);
  renderNav();
}

export const can = {
  qa: () => session.user?.role === 'qa_lead' || session.user?.role === 'admin',
  sign: () => session.user?.role === 'radiologist',
  edit: () => session.user?.role === 'radiologist',
  // the worklist and studies are for radiologists and QA leads (the API refuses admins)
  worklist: () => session.user?.role === 'radiologist' || session.user?.role === 'qa_lead',
};

/** A view's cleanup, run when the route changes. */
let cleanup: (() => void) | null = null;

export function navigate(hash: string): void {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

function renderNav(): void {
  const top = document.getElementById('top')!;
  clear(top);
  const u = session.user;
  const link = (href: string, label: string, k: string) =>
    h('a', { href, 'aria-current': isCurrent(href) ? 'page' : undefined, 'aria-keyshortcuts': k }, label);
  top.appendChild(
    h(
      'nav',
      { 'aria-label': 'Main' },
      h('a', { class: 'brand', href: u ? '#/' : '#/login' }, 'radraft'),
      u
        ? h(
            'ul',
            null,
            can.worklist() ? h('li', null, link('#/', 'Worklist', 'g w')) : null,
            can.qa() ? h('li', null, link('#/qa', 'QA flags', 'g q')) : null,
            can.qa() ? h('li', null, link('#/qa/metrics', 'QA metrics', 'g m')) : null,
            h('li', null, link('#/orders', 'Orders', 'g o')),
          )
        : null,
      h('span', { class: 'spacer' }),
      h('button', { class: 'btn ghost', type: 'button', onclick: () => showHelp(), 'aria-keyshortcuts': '?' }, 'Shortcuts (?)'),
      u
        ? h(
            'span',
            { class: 'who' },
            h('span', { 'data-testid': 'whoami' }, `${u.username} · ${u.role.replace('_', ' ')}`),
            h(
              'button',
              {
                class: 'btn ghost',
                type: 'button',
                onclick: async () => {
                  try {
                    await api.logout();
                  } catch {
                    /* session may already be gone */
                  }
                  setUser(null);
                  navigate('#/login');
                },
              },
              'Log out',
            ),
          )
        : null,
    ),
  );
}

function isCurrent(href: string): boolean {
  const hsh = location.hash || '#/';
  if (href === '#/') return hsh === '#/' || hsh.startsWith('#/?') || hsh.startsWith('#/study');
  if (href === '#/qa') return hsh === '#/qa' || hsh.startsWith('#/qa?') || hsh.startsWith('#/qa/flags');
  return hsh.startsWith(href);
}

let pendingG = 0;
setGlobalShortcuts([
  { keys: '?', label: 'Show this help', match: (e) => e.key === '?', run: () => showHelp() },
  {
    keys: 'g then w',
    label: 'Go to the worklist',
    match: (e) => e.key === 'w' && Date.now() - pendingG < 1200,
    run: () => navigate('#/'),
  },
  {
    keys: 'g then q',
    label: 'Go to QA flags (QA leads)',
    match: (e) => e.key === 'q' && Date.now() - pendingG < 1200 && can.qa(),
    run: () => navigate('#/qa'),
  },
  {
    keys: 'g then o',
    label: 'Go to orders needing attention',
    match: (e) => e.key === 'o' && Date.now() - pendingG < 1200,
    run: () => navigate('#/orders'),
  },
  {
    keys: 'g then m',
    label: 'Go to QA metrics (QA leads)',
    match: (e) => e.key === 'm' && Date.now() - pendingG < 1200 && can.qa(),
    run: () => navigate('#/qa/metrics'),
  },
  {
    keys: 'g',
    label: 'Start a "go to" sequence',
    match: key('g'),
    run: () => {
      pendingG = Date.now();
    },
  },
]);

export function parseHash(): { path: string[]; params: URLSearchParams } {
  const raw = (location.hash || '#/').slice(1);
  const [p, q] = raw.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

async function route(): Promise<void> {
  cleanup?.();
  cleanup = null;
  setViewShortcuts([]);
  const main = document.getElementById('main')!;
  clear(main);
  renderNav();
  const { path, params } = parseHash();
  if (!session.user && path[0] !== 'login') {
    navigate('#/login?next=' + encodeURIComponent(location.hash));
    return;
  }
  try {
    if (path[0] === 'login') {
      cleanup = renderLogin(main, params);
    } else if (path[0] === 'study' && path[1]) {
      cleanup = await renderStudy(main, path[1]);
    } else if (path[0] === 'orders') {
      cleanup = await renderOrders(main, params);
    } else if (path[0] === 'qa') {
      if (!can.qa()) {
        main.appendChild(h('section', { class: 'page' }, h('h1', null, 'Not available'), h('p', null, 'The QA pages are for QA leads.')));
        return;
      }
      if (path[1] === 'flags' && path[2]) cleanup = await renderFlag(main, path[2]);
      else if (path[1] === 'metrics') cleanup = await renderMetrics(main);
      else cleanup = await renderFlags(main, params);
    } else if (!can.worklist()) {
      navigate('#/qa');
    } else {
      cleanup = await renderWorklist(main, params);
    }
    // move focus to the new page's heading for keyboard and screen-reader users
    if (path[0] !== 'login') {
      const h1 = main.querySelector('h1');
      if (h1) {
        h1.setAttribute('tabindex', '-1');
        h1.focus({ preventScroll: true });
      }
    }
  } catch (e) {
    if (e instanceof api.ApiError && e.status === 401) return;
    const msg = e instanceof Error ? e.message : String(e);
    main.appendChild(h('section', { class: 'page' }, h('h1', null, 'Something went wrong'), h('p', { role: 'alert' }, msg)));
  }
}

api.setOnUnauthorized(() => {
  if (session.user) announce('Your session has ended. Please log in again.', 'error');
  setUser(null);
  if (!location.hash.startsWith('#/login')) navigate('#/login?next=' + encodeURIComponent(location.hash));
});

async function start(): Promise<void> {
  const stored = sessionStorage.getItem(USER_KEY);
  let u: api.Me | null | undefined = null;
  try {
    u = await api.me();
  } catch {
    u = undefined;
  }
  if (u === undefined && stored) {
    // no /auth/me: trust the stored user until the first 401
    try {
      const s = JSON.parse(stored);
      u = { username: s.username, role: s.role };
    } catch {
      u = null;
    }
  }
  session.user = u ?? null;
  window.addEventListener('hashchange', () => void route());
  await route();
}

void start();
