// A page's filter form whose controls are the page's URL parameters: the
// worklist and the QA flag queue. Submitting (or changing a select or date)
// puts the controls' values into the hash.

import { h } from './dom';

export interface Filter {
  /** URL parameter (and the control's id is `${idPrefix}${param}`) */
  param: string;
  label: string;
  control: HTMLInputElement | HTMLSelectElement;
  /** the value that is the default: left out of the URL */
  omit?: string;
  /** set even when empty (an empty value differs from the default) */
  always?: boolean;
}

/** The form; go receives the parameters to navigate to. */
export function filterForm(ariaLabel: string, filters: Filter[], go: (p: URLSearchParams) => void): HTMLFormElement {
  const apply = () => {
    const p = new URLSearchParams();
    for (const f of filters) {
      const v = f.control.value.trim();
      if (f.always || (v && v !== f.omit)) p.set(f.param, v);
    }
    go(p);
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': ariaLabel },
    filters.map((f) => h('div', { class: 'field' }, h('label', { for: f.control.id }, f.label), f.control)),
    h('button', { class: 'btn', type: 'submit' }, 'Apply'),
  ) as HTMLFormElement;
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  // selects and dates apply at once; text waits for Enter or Apply
  for (const f of filters) if (f.control instanceof HTMLSelectElement || f.control.type === 'date') f.control.addEventListener('change', apply);
  return form;
}
