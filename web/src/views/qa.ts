// QA dashboard for qa_lead: flag queue, flag page, metrics charts.

import * as api from '../api';
import { announce, fmtDate, h, personName } from '../dom';
import { navigate, type RouteContext } from '../router';
import { filterForm } from '../filters';
import { diffSentences, splitSentences } from '../sentences';
import { key, setViewShortcuts } from '../shortcuts';
import { ERROR_TYPES } from './editor';
import { barChart, lineChart } from '../charts';

export const DISPOSITIONS: [string, string][] = [
  ['model_error_confirmed', 'Model error confirmed'],
  ['acceptable', 'Acceptable (not clinically significant here)'],
  ['judge_wrong', 'The judge was wrong'],
];

/** A study as people name it: patient, MRN and accession (never a UID tail). */
export function studyName(f: { accession_number?: string; patient_name?: string; patient_id?: string; study_uid: string }): string {
  const who = [personName(f.patient_name ?? ''), f.patient_id ? `MRN ${f.patient_id}` : ''].filter(Boolean).join(', ');
  const acc = f.accession_number ? `Acc. ${f.accession_number}` : 'no accession';
  return who ? `${who} · ${acc}` : acc;
}

function errorSummary(errors: api.CheckError[]): HTMLElement {
  const sig = errors.filter((e) => e.significant);
  return h(
    'span',
    { class: 'errs' },
    sig.length === 0 ? '—' : sig.map((e) => h('span', { class: 'badge bad', title: ERROR_TYPES[e.type] ?? e.type }, `${e.type}×${e.count}`)),
  );
}

export async function renderFlags(main: HTMLElement, { params, signal }: RouteContext): Promise<void> {
  const q = {
    status: params.get('status') ?? 'open',
    type: params.get('type') ?? '',
    model_version: params.get('model_version') ?? '',
    significance: params.get('significance') ?? '',
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
  };
  const status = h(
    'select',
    { id: 'qf-status' },
    [
      ['open', 'Open'],
      ['dispositioned', 'Dispositioned'],
      ['', 'All'],
    ].map(([v, l]) => h('option', { value: v, selected: v === q.status }, l)),
  );
  const type = h(
    'select',
    { id: 'qf-type' },
    h('option', { value: '' }, 'Any'),
    Object.entries(ERROR_TYPES).map(([k, l]) => h('option', { value: k, selected: k === q.type }, `${k} ${l}`)),
  );
  const model = h('input', { id: 'qf-model', value: q.model_version, placeholder: 'e.g. 1' });
  const sigSel = h(
    'select',
    { id: 'qf-sig' },
    [
      ['', 'Any'],
      ['significant', 'Clinically significant'],
      ['insignificant', 'Insignificant'],
    ].map(([v, l]) => h('option', { value: v, selected: v === q.significance }, l)),
  );
  const from = h('input', { id: 'qf-from', type: 'date', value: q.from });
  const to = h('input', { id: 'qf-to', type: 'date', value: q.to });
  const form = filterForm(
    'Flag filters',
    [
      { param: 'status', label: 'Status', control: status, always: true },
      { param: 'type', label: 'Error type', control: type },
      { param: 'significance', label: 'Significance', control: sigSel },
      { param: 'model_version', label: 'Model version', control: model },
      { param: 'from', label: 'Signed from', control: from },
      { param: 'to', label: 'Signed to', control: to },
    ],
    (p) => navigate('#/qa?' + p.toString()),
  );

  const tbody = h('tbody');
  const more = h('button', { class: 'btn', type: 'button', hidden: true }, 'Load more');
  main.appendChild(
    h(
      'section',
      { class: 'page' },
      h('h1', null, 'QA flags'),
      h('p', { class: 'muted' }, 'Signed reports whose AI draft had clinically significant errors (CheXprompt).'),
      form,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'worklist' },
          h('caption', { class: 'sr-only' }, 'Flags'),
          h('thead', null, h('tr', null, ['Study / flag', 'Signed', 'Model', 'Significant errors', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
          tbody,
        ),
      ),
      more,
    ),
  );
  const rows: HTMLTableRowElement[] = [];
  let sel = -1;
  let cursor: string | null = null;
  const load = async () => {
    const res = await api.flags({ ...q, cursor: cursor ?? undefined }, signal);
    signal.throwIfAborted();
    for (const f of res.items) {
      const tr = h(
        'tr',
        { tabindex: 0, 'data-flag-id': f.id },
        h('td', null, h('a', { href: `#/qa/flags/${encodeURIComponent(f.id)}`, tabindex: -1, title: f.study_uid }, studyName(f)), h('span', { class: 'muted small' }, ` #${f.id}`)),
        h('td', null, fmtDate((f.signed_at ?? f.created_at) as string), f.signed_by ? h('span', { class: 'muted small' }, ` by ${f.signed_by}`) : null),
        h('td', null, `${f.model_name ?? ''} ${f.model_version ?? ''}`),
        h('td', null, errorSummary(f.errors)),
        h('td', null, h('span', { class: `badge ${f.status === 'open' ? 'bad' : 'neutral'}` }, f.disposition ? `${f.status}: ${f.disposition}` : f.status)),
      ) as HTMLTableRowElement;
      const idx = rows.length;
      tr.addEventListener('click', () => navigate(`#/qa/flags/${encodeURIComponent(f.id)}`));
      tr.addEventListener('keydown', (e) => e.key === 'Enter' && navigate(`#/qa/flags/${encodeURIComponent(f.id)}`));
      tr.addEventListener('focus', () => (sel = idx));
      rows.push(tr);
      tbody.appendChild(tr);
    }
    if (rows.length === 0) tbody.appendChild(h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No flags match.')));
    cursor = res.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => void load().catch((e) => signal.aborted || announce(e.message, 'error')));
  await load();
  signal.throwIfAborted();
  const move = (d: number) => {
    if (!rows.length) return;
    sel = Math.max(0, Math.min(rows.length - 1, sel + d));
    rows[sel].focus();
  };
  setViewShortcuts([
    { keys: '↓ / j', label: 'Next flag', group: 'QA', match: (e) => e.key === 'ArrowDown' || key('j')(e), run: () => move(1) },
    { keys: '↑ / k', label: 'Previous flag', group: 'QA', match: (e) => e.key === 'ArrowUp' || key('k')(e), run: () => move(-1) },
  ]);
}

/** Sentences with the ones an error points at (by index) outlined and
 * tagged with the error letters; the others that differ from the other side
 * shaded. */
function sentencesView(list: string[], side: 'candidate' | 'reference', errors: api.CheckError[], differing: Set<number>, cls: string): HTMLElement {
  return h(
    'div',
    { class: 'conflict-text', 'data-testid': `${side}-text` },
    list.length === 0
      ? h('em', { class: 'muted' }, '(empty)')
      : list.map((text, i) => {
          const errs = errors.filter((e) => (side === 'candidate' ? e.candidate_sentences : e.reference_sentences)?.includes(i));
          const sig = errs.some((e) => e.significant);
          return [
            h(
              'span',
              {
                class: `${differing.has(i) ? cls : ''}${errs.length ? (sig ? ' err sig' : ' err') : ''}`,
                title: errs.length ? errs.map((e) => `${e.type} ${ERROR_TYPES[e.type] ?? ''}${e.significant ? ' (significant)' : ''}${e.finding ? `: ${e.finding}` : ''}`).join('; ') : undefined,
                'data-errors': errs.length ? errs.map((e) => e.type).join('') : undefined,
              },
              text,
              errs.length ? h('sup', null, errs.map((e) => e.type).join('')) : null,
            ),
            ' ',
          ];
        }),
  );
}

export async function renderFlag(main: HTMLElement, { path, signal }: RouteContext): Promise<void> {
  const id = path[2];
  const f = await api.flag(id, signal);
  signal.throwIfAborted();
  const ai = f.ai_findings ?? '';
  const signed = f.signed_findings ?? '';
  const ev = (f.evaluation ?? {}) as { candidate_sentences?: string[]; reference_sentences?: string[] };
  // the judge's own sentence lists (errors index into them); else our split
  const cand = ev.candidate_sentences?.length ? ev.candidate_sentences : splitSentences(ai).map((x) => x.text);
  const ref = ev.reference_sentences?.length ? ev.reference_sentences : splitSentences(signed).map((x) => x.text);
  const d = diffSentences(cand.join('\n'), ref.join('\n'));
  const disp = h(
    'select',
    { id: 'disp', required: true, 'data-testid': 'disposition' },
    h('option', { value: '' }, 'Choose…'),
    DISPOSITIONS.map(([v, l]) => h('option', { value: v, selected: v === f.disposition }, l)),
  );
  const note = h('textarea', { id: 'disp-note', rows: 5, 'data-testid': 'disposition-note', placeholder: 'What the QA lead found (optional)' }, (f.note as string) ?? '');
  const saved = h('p', { role: 'status', class: 'small', 'data-testid': 'disposition-state' }, f.disposition ? `Disposition: ${f.disposition}` : 'Open');
  const form = h(
    'form',
    { class: 'card disposition', 'aria-label': 'Disposition' },
    h('h2', null, 'Disposition'),
    h('div', { class: 'field' }, h('label', { for: 'disp' }, 'Outcome'), disp),
    h('div', { class: 'field' }, h('label', { for: 'disp-note' }, 'Note'), note),
    h('div', { class: 'actions' }, h('button', { class: 'btn primary', type: 'submit', 'data-testid': 'disposition-save' }, 'Save disposition')),
    saved,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!disp.value) {
      disp.focus();
      return;
    }
    try {
      // a write is not cancelled by leaving the page; only its display is
      const r = await api.dispose(id, disp.value, note.value);
      if (signal.aborted) return;
      saved.textContent = `Disposition: ${r.disposition ?? disp.value} (saved)`;
      f.status = r.status;
      announce('Disposition saved.');
    } catch (err) {
      announce(`Not saved: ${(err as Error).message}`, 'error');
    }
  });
  main.appendChild(
    h(
      'section',
      { class: 'page' },
      h('a', { href: '#/qa', class: 'back' }, '← QA flags'),
      h('h1', null, `QA flag #${f.id}: ${studyName(f)}`),
      h(
        'p',
        { class: 'muted' },
        `Model ${f.model_name ?? ''} ${f.model_version ?? ''} · signed by ${f.signed_by || '?'} ${fmtDate((f.signed_at ?? f.created_at) as string)} · judge: ${f.engine ?? '?'} · `,
        h('a', { href: `#/study/${encodeURIComponent(f.study_uid)}` }, 'open the study'),
      ),
      f.judge_note ? h('p', { class: 'small muted' }, f.judge_note) : null,
      h(
        'ul',
        { class: 'errors', 'aria-label': 'Errors found' },
        f.errors.map((e) =>
          h(
            'li',
            { class: e.significant ? 'sig' : '' },
            h('strong', null, `${e.type} ${ERROR_TYPES[e.type] ?? ''}`),
            ` ×${e.count} ${e.significant ? 'clinically significant' : 'insignificant'}`,
            e.finding ? ` — ${e.finding}` : '',
            e.sentence ? ` — “${e.sentence}”` : '',
            e.explanation ? ` (${e.explanation})` : '',
          ),
        ),
      ),
      h(
        'div',
        { class: 'side-by-side' },
        h('div', null, h('h2', null, 'AI draft (candidate)'), sentencesView(cand, 'candidate', f.errors, new Set(d.removed), 'only-theirs')),
        h('div', null, h('h2', null, `Signed report (reference): ${f.signed_by ? `${f.signed_by}'s text` : 'the radiologist\'s text'}`), sentencesView(ref, 'reference', f.errors, new Set(d.added), 'only-mine')),
      ),
      h('p', { class: 'small muted' }, 'Outlined: sentences the judge tied to an error (letters A–F; red = clinically significant). Shaded: sentences found only on that side.'),
      form,
    ),
  );
}

export async function renderMetrics(main: HTMLElement, { signal }: RouteContext): Promise<void> {
  const { rows, note } = await api.metrics({}, signal);
  signal.throwIfAborted();
  const versions = [...new Set(rows.map((r) => r.model_version))].sort();
  const weeks = [...new Set(rows.map((r) => r.week))].sort();
  const share = versions.map((v) => ({
    name: v,
    points: weeks.map((w) => {
      const r = rows.find((x) => x.week === w && x.model_version === v);
      return r && r.evaluated > 0 ? (r.error_free / r.evaluated) * 100 : null;
    }),
  }));
  const types = Object.keys(ERROR_TYPES);
  // one bar per week and model version, stacked by error type
  const byType = weeks.flatMap((w) =>
    versions
      .map((v) => rows.find((r) => r.week === w && r.model_version === v))
      .filter((r): r is api.MetricRow => !!r)
      .map((r) => ({ label: versions.length > 1 ? `${w} ${r.model_version}` : w, values: types.map((t) => r.sig_by_type[t] ?? 0) })),
  );
  const table = h(
    'table',
    { class: 'worklist small', 'data-testid': 'metrics-table' },
    h('caption', null, 'Per week and model version (significant errors by type)'),
    h('thead', null, h('tr', null, ['Week', 'Model', 'Evaluated', 'Free of significant errors', 'Flagged', ...types].map((c) => h('th', { scope: 'col' }, c)))),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          null,
          h('td', null, r.week),
          h('td', null, r.model_version),
          h('td', null, r.evaluated),
          h('td', null, r.evaluated ? `${r.error_free} (${((r.error_free / r.evaluated) * 100).toFixed(1)} %)` : '—'),
          h('td', null, r.flagged),
          types.map((t) => h('td', null, r.sig_by_type[t] ?? 0)),
        ),
      ),
    ),
  );
  main.appendChild(
    h(
      'section',
      { class: 'page' },
      h('h1', null, 'QA metrics'),
      note ? h('p', { class: 'banner warn', role: 'note' }, note) : null,
      rows.length === 0 ? h('p', { class: 'muted' }, 'No evaluated reports yet.') : null,
      h(
        'div',
        { class: 'charts' },
        h('figure', null, lineChart(weeks, share, { yMax: 100, yLabel: '% free of significant errors' }), h('figcaption', null, 'Share of AI drafts free of clinically significant errors, per week and model version')),
        h(
          'figure',
          null,
          barChart(
            byType,
            types.map((t) => `${t} ${ERROR_TYPES[t]}`),
          ),
          h('figcaption', null, 'Clinically significant errors by type (A–F), per week and model version'),
        ),
      ),
      h('div', { class: 'table-wrap' }, table),
    ),
  );
}
