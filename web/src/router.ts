// Hash routing. Each route gets its own AbortSignal: navigating away aborts
// the previous route's signal, which cancels its fetches and runs its
// cleanups (a view registers them with onAbort). A view checks the signal
// after every await (signal.throwIfAborted()); the AbortError that then
// unwinds it is expected and not shown.

import { ApiError } from './api';
import { clear, h } from './dom';
import { setViewShortcuts } from './shortcuts';

export interface Route {
  path: string[];
  params: URLSearchParams;
}

export interface RouteContext extends Route {
  /** Aborted when the user leaves this route. */
  signal: AbortSignal;
}

/** A view renders into main; it may await (checking ctx.signal after each). */
export type View = (main: HTMLElement, ctx: RouteContext) => void | Promise<void>;

/** Picks the view of a route, or returns a hash to go to instead. */
export type Resolver = (r: Route) => View | string;

export function parseHash(hash = location.hash): Route {
  const raw = (hash || '#/').slice(1);
  const [p, q] = raw.split('?');
  return { path: p.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(q ?? '') };
}

export function navigate(hash: string): void {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

/** Runs f when signal aborts (at once if it already has). */
export function onAbort(signal: AbortSignal, f: () => void): void {
  if (signal.aborted) f();
  else signal.addEventListener('abort', f, { once: true });
}

export function isAbort(e: unknown): boolean {
  return (e instanceof DOMException || e instanceof Error) && e.name === 'AbortError';
}

let resolver: Resolver = () => '#/';
let beforeRender: () => void = () => {};
let current: AbortController | null = null;

/** Starts routing: resolve picks views; before runs ahead of each render (the nav bar). */
export async function startRouter(resolve: Resolver, before: () => void): Promise<void> {
  resolver = resolve;
  beforeRender = before;
  window.addEventListener('hashchange', () => void route());
  await route();
}

/** Renders the current hash's view, aborting the previous route. */
export async function route(): Promise<void> {
  current?.abort();
  const ctl = new AbortController();
  current = ctl;
  setViewShortcuts([]);
  const main = document.getElementById('main')!;
  clear(main);
  beforeRender();
  const r = parseHash();
  const view = resolver(r);
  if (typeof view === 'string') {
    navigate(view);
    return;
  }
  try {
    await view(main, { ...r, signal: ctl.signal });
    ctl.signal.throwIfAborted();
    // move focus to the new page's heading for keyboard and screen-reader users
    if (r.path[0] !== 'login') {
      const h1 = main.querySelector('h1');
      if (h1) {
        h1.setAttribute('tabindex', '-1');
        h1.focus({ preventScroll: true });
      }
    }
  } catch (e) {
    if (ctl.signal.aborted || isAbort(e)) return;
    if (e instanceof ApiError && e.status === 401) return;
    const msg = e instanceof Error ? e.message : String(e);
    main.appendChild(h('section', { class: 'page' }, h('h1', null, 'Something went wrong'), h('p', { role: 'alert' }, msg)));
  }
}
