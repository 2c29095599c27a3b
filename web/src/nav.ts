// The navigation bar (role-aware links, who is logged in, log out) and the
// global "g then x" shortcuts.

import * as api from './api';
import { clear, h } from './dom';
import { navigate } from './router';
import { can, session, setUser } from './session';
import { key, setGlobalShortcuts, showHelp } from './shortcuts';

export function renderNav(): void {
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
            h('button', { class: 'btn ghost', type: 'button', onclick: logOut }, 'Log out'),
          )
        : null,
    ),
  );
}

async function logOut(): Promise<void> {
  try {
    await api.logout();
  } catch {
    /* session may already be gone */
  }
  setUser(null);
  navigate('#/login');
}

function isCurrent(href: string): boolean {
  const hsh = location.hash || '#/';
  if (href === '#/') return hsh === '#/' || hsh.startsWith('#/?') || hsh.startsWith('#/study');
  if (href === '#/qa') return hsh === '#/qa' || hsh.startsWith('#/qa?') || hsh.startsWith('#/qa/flags');
  return hsh.startsWith(href);
}

/** Installs "?" and the "g then w/q/o/m" sequences. */
export function installGlobalShortcuts(): void {
  let pendingG = 0;
  const goTo = (k: string, label: string, hash: string, allowed: () => boolean = () => true) => ({
    keys: `g then ${k}`,
    label,
    match: (e: KeyboardEvent) => e.key === k && Date.now() - pendingG < 1200 && allowed(),
    run: () => navigate(hash),
  });
  setGlobalShortcuts([
    { keys: '?', label: 'Show this help', match: (e) => e.key === '?', run: () => showHelp() },
    goTo('w', 'Go to the worklist', '#/'),
    goTo('q', 'Go to QA flags (QA leads)', '#/qa', can.qa),
    goTo('o', 'Go to orders needing attention', '#/orders'),
    goTo('m', 'Go to QA metrics (QA leads)', '#/qa/metrics', can.qa),
    {
      keys: 'g',
      label: 'Start a "go to" sequence',
      match: key('g'),
      run: () => {
        pendingG = Date.now();
      },
    },
  ]);
}
