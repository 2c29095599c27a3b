import * as api from '../api';
import { announce, fmtDate, h } from '../dom';
import { filterForm } from '../filters';
import { identityContent, identityValue } from '../identity';
import { navigate, type RouteContext } from '../router';
import { key, setViewShortcuts } from '../shortcuts';

export const STATUSES: [string, string][] = [
  ['', 'Any'],
  ['drafted', 'Drafted (untouched)'],
  ['edited', 'Edited, not signed'],
  ['signed', 'Signed'],
  ['amended', 'Amended'],
  ['drafting', 'Drafting'],
  ['receiving', 'Receiving'],
  ['ready', 'Waiting for draft'],
  ['needs_view', 'Needs a frontal view'],
  ['draft_failed', 'Draft failed'],
  ['cancelled', 'Order cancelled'],
];

export const ORDER_FILTERS: [string, string][] = [
  ['', 'Any'],
  ['no_indication', 'Drafted without indication, order exists'],
  ['cancelled', 'Cancelled by the RIS'],
  ['mismatch', 'Order differs from DICOM'],
];

export const SORTS: [string, string][] = [
  ['-study_date', 'Study date, newest first'],
  ['study_date', 'Study date, oldest first'],
  ['-received', 'Received, newest first'],
  ['received', 'Received, oldest first'],
];

const STATUS_LABEL: Record<string, [string, string]> = {
  drafted: ['Drafted', 'info'],
  edited: ['Edited', 'warn'],
  signed: ['Signed', 'ok'],
  amended: ['Amended', 'ok'],
  draft: ['Draft', 'info'],
  drafting: ['Drafting…', 'neutral'],
  receiving: ['Receiving', 'neutral'],
  settled: ['Waiting', 'neutral'],
  ready: ['Waiting for draft', 'neutral'],
  needs_view: ['Needs frontal', 'warn'],
  draft_failed: ['Draft failed', 'bad'],
  cancelled: ['Order cancelled', 'bad'],
};

/** Badge of a worklist status (report status when a report exists, else the study's drafting state). */
export function statusBadge(status: string, reason = ''): HTMLElement {
  const [label, cls] = STATUS_LABEL[status] ?? [status || 'unknown', 'neutral'];
  return h('span', { class: `badge ${cls}`, 'data-status': status, title: reason || undefined }, label);
}

export function flagBadge(flag: string | null): HTMLElement | null {
  if (!flag) return null;
  const open = flag === 'open' || flag === 'flagged' || flag === 'pending';
  return h(
    'span',
    { class: `badge ${open ? 'bad' : 'neutral'}`, title: `QA flag: ${flag}`, 'data-testid': 'qa-flag' },
    h('span', { 'aria-hidden': 'true' }, '⚑ '),
    open ? 'QA flag' : `QA: ${flag}`,
  );
}

export async function renderWorklist(main: HTMLElement, { params, signal }: RouteContext): Promise<void> {
  const q: api.WorklistQuery = {
    status: params.get('status') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    q: params.get('q') ?? '',
    sort: params.get('sort') ?? '-study_date',
    order_issue: params.get('order_issue') ?? '',
    limit: 50,
  };
  const status = h('select', { id: 'f-status' }, STATUSES.map(([v, l]) => h('option', { value: v, selected: v === q.status }, l)));
  const from = h('input', { id: 'f-from', type: 'date', value: q.from });
  const to = h('input', { id: 'f-to', type: 'date', value: q.to });
  const text = h('input', { id: 'f-q', type: 'search', value: q.q, placeholder: 'Accession, MRN or name', 'aria-keyshortcuts': '/' });
  const sort = h('select', { id: 'f-sort' }, SORTS.map(([v, l]) => h('option', { value: v, selected: v === q.sort }, l)));
  const orderSel = h('select', { id: 'f-order' }, ORDER_FILTERS.map(([v, l]) => h('option', { value: v, selected: v === q.order_issue }, l)));
  const form = filterForm(
    'Worklist filters',
    [
      { param: 'q', label: 'Search', control: text },
      { param: 'status', label: 'Status', control: status },
      { param: 'order_issue', label: 'HL7 order', control: orderSel },
      { param: 'from', label: 'From', control: from },
      { param: 'to', label: 'To', control: to },
      { param: 'sort', label: 'Sort', control: sort, omit: '-study_date' },
    ],
    (p) => {
      const s = p.toString();
      navigate('#/' + (s ? `?${s}` : ''));
    },
  );

  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'worklist', 'aria-describedby': 'wl-help' },
    h('caption', { class: 'sr-only' }, 'Studies'),
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        ['Patient', 'MRN', 'Accession', 'Study date', 'Indication', 'Status', 'QA'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    tbody,
  );
  const more = h('button', { class: 'btn', type: 'button', hidden: true }, 'Load more');
  const count = h('p', { class: 'muted', 'aria-live': 'polite' });
  main.appendChild(
    h(
      'section',
      { class: 'page' },
      h('h1', null, 'Worklist'),
      form,
      h('p', { id: 'wl-help', class: 'muted small' }, 'Use ↑/↓ or j/k to move, Enter to open, / to search.'),
      h('div', { class: 'table-wrap' }, table),
      count,
      more,
    ),
  );

  let rows: HTMLTableRowElement[] = [];
  let sel = -1;
  let cursor: string | null = null;
  const select = (i: number) => {
    if (rows.length === 0) return;
    sel = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, j) => r.setAttribute('aria-selected', String(j === sel)));
    rows[sel].focus();
  };
  const open = (uid: string) => navigate('#/study/' + encodeURIComponent(uid));

  const load = async (c: string | null) => {
    const res = await api.worklist({ ...q, cursor: c ?? undefined }, signal);
    signal.throwIfAborted();
    for (const it of res.items) {
      const a = h('a', { href: '#/study/' + encodeURIComponent(it.study_uid), tabindex: -1 }, ...(identityValue(it, 'patient_name').value ? identityContent(it, 'patient_name') : ['(no name)']));
      const tr = h(
        'tr',
        { tabindex: 0, 'data-study-uid': it.study_uid, 'aria-selected': 'false' },
        h('td', null, a),
        h('td', null, identityContent(it, 'patient_id')),
        h('td', { 'data-testid': 'accession' }, identityContent(it, 'accession_number')),
        h('td', null, fmtDate(it.study_date)),
        h('td', { class: 'ellipsis', title: it.indication }, it.indication),
        h('td', null, statusBadge(it.status, it.state_reason as string)),
        h('td', null, flagBadge(it.qa_flag)),
      ) as HTMLTableRowElement;
      const idx = rows.length;
      tr.addEventListener('click', (e) => {
        if ((e.target as HTMLElement).tagName !== 'A') open(it.study_uid);
      });
      tr.addEventListener('focus', () => {
        sel = idx;
        rows.forEach((r, j) => r.setAttribute('aria-selected', String(j === sel)));
      });
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') open(it.study_uid);
      });
      rows.push(tr);
      tbody.appendChild(tr);
    }
    cursor = res.next_cursor ?? null;
    more.hidden = !cursor;
    count.textContent = rows.length === 0 ? 'No studies match.' : `${rows.length} ${rows.length === 1 ? 'study' : 'studies'} shown${cursor ? ' (more available)' : ''}.`;
  };
  more.addEventListener('click', async () => {
    try {
      await load(cursor);
    } catch (e) {
      if (!signal.aborted) announce((e as Error).message, 'error');
    }
  });
  await load(null);
  signal.throwIfAborted();

  setViewShortcuts([
    { keys: '↓ / j', label: 'Next study', group: 'Worklist', match: (e) => e.key === 'ArrowDown' || key('j')(e), run: () => select(sel + 1) },
    { keys: '↑ / k', label: 'Previous study', group: 'Worklist', match: (e) => e.key === 'ArrowUp' || key('k')(e), run: () => select(sel - 1) },
    {
      keys: 'Enter / o',
      label: 'Open the selected study',
      group: 'Worklist',
      match: (e) => (e.key === 'Enter' && sel >= 0 && (document.activeElement === document.body || document.activeElement?.tagName === 'H1')) || key('o')(e),
      run: () => {
        if (sel >= 0) open(rows[sel].dataset.studyUid!);
      },
    },
    { keys: '/', label: 'Search', group: 'Worklist', match: (e) => e.key === '/', run: () => text.focus() },
    { keys: 'r', label: 'Reload', group: 'Worklist', match: key('r'), run: () => navigate(location.hash) },
  ]);
}
