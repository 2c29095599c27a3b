// Keyboard shortcuts: each view registers its own; '?' shows them all.

import { h, inTextField } from './dom';

export interface Shortcut {
  keys: string; // shown on the help overlay, e.g. "Ctrl+S"
  label: string;
  /** matcher; `inField` shortcuts also fire while typing in a text field */
  match: (e: KeyboardEvent) => boolean;
  run: (e: KeyboardEvent) => void;
  inField?: boolean;
  group?: string;
}

let global: Shortcut[] = [];
let view: Shortcut[] = [];

export function setGlobalShortcuts(list: Shortcut[]): void {
  global = list;
}
export function setViewShortcuts(list: Shortcut[]): void {
  view = list;
}

export const key = (k: string, mods: { ctrl?: boolean; alt?: boolean; shift?: boolean } = {}) => (e: KeyboardEvent) =>
  e.key.toLowerCase() === k.toLowerCase() && !!(e.ctrlKey || e.metaKey) === !!mods.ctrl && e.altKey === !!mods.alt && (mods.shift === undefined || e.shiftKey === mods.shift);

document.addEventListener('keydown', (e) => {
  if (document.querySelector('dialog[open]') && e.key !== 'Escape') {
    // a modal dialog owns the keyboard
    return;
  }
  const field = inTextField(e);
  for (const sc of [...view, ...global]) {
    if (field && !sc.inField) continue;
    if (sc.match(e)) {
      e.preventDefault();
      sc.run(e);
      return;
    }
  }
});

export function showHelp(): void {
  const existing = document.getElementById('help-dialog') as HTMLDialogElement | null;
  existing?.remove();
  const groups = new Map<string, Shortcut[]>();
  for (const sc of [...view, ...global]) {
    const g = sc.group ?? 'General';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push(sc);
  }
  const dlg = h(
    'dialog',
    { id: 'help-dialog', 'aria-labelledby': 'help-title', class: 'help' },
    h('h2', { id: 'help-title' }, 'Keyboard shortcuts'),
    h(
      'div',
      { class: 'help-groups' },
      [...groups.entries()].map(([g, list]) =>
        h('section', null, h('h3', null, g), h('dl', null, list.map((sc) => [h('dt', null, h('kbd', null, sc.keys)), h('dd', null, sc.label)]))),
      ),
    ),
    h('form', { method: 'dialog' }, h('button', { class: 'btn', autofocus: true }, 'Close (Esc)')),
  ) as HTMLDialogElement;
  dlg.addEventListener('close', () => dlg.remove());
  document.body.appendChild(dlg);
  dlg.showModal();
}
