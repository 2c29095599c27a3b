// Orders that need a person: HL7 orders that matched no study for a while
// (an accession in the wrong field, another Study UID), and studies drafted
// without an indication although an order for the patient exists. For
// administrators (and radiologists and QA leads, who meet the symptom).

import * as api from '../api';
import { fmtDate, h, personName, sourceLabel } from '../dom';
import { identityContent } from '../identity';
import type { RouteContext } from '../router';

export async function renderOrders(main: HTMLElement, { params, signal }: RouteContext): Promise<void> {
  const minAge = params.get('min_age') ?? '';
  const res = await api.ordersAttention(minAge, signal);
  signal.throwIfAborted();
  const th = (cols: string[]) => h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c))));
  const unmatched = h(
    'table',
    { class: 'worklist', 'data-testid': 'unmatched-orders' },
    h('caption', { class: 'sr-only' }, 'Orders that matched no study'),
    th(['Received', 'Patient', 'MRN', 'Accession (field)', 'Study UID (field)', 'Placer / filler', 'Procedure', 'Indication', 'Same patient, no order']),
    h(
      'tbody',
      null,
      res.unmatched_orders.length === 0
        ? h('tr', null, h('td', { colspan: 9, class: 'muted' }, 'None: every order older than that matched a study.'))
        : res.unmatched_orders.map((o) =>
            h(
              'tr',
              { 'data-order-id': o.id },
              h('td', null, fmtDate(o.received_at)),
              h('td', null, personName(o.patient_name)),
              h('td', null, o.patient_id),
              h('td', null, o.accession_number || '—', o.accession_source ? h('span', { class: 'muted small' }, ` (${o.accession_source})`) : null),
              h('td', { class: 'ellipsis', title: o.study_uid }, o.study_uid || '—', o.study_uid_source ? h('span', { class: 'muted small' }, ` (${o.study_uid_source})`) : null),
              h('td', null, `${o.placer_order_number || '—'} / ${o.filler_order_number || '—'}`),
              h('td', null, o.procedure_text),
              h('td', null, o.indication || h('span', { class: 'muted' }, 'none'), o.indication ? h('span', { class: 'muted small' }, ` (${sourceLabel(o.indication_source)})`) : null),
              h(
                'td',
                null,
                o.patient_studies.length
                  ? o.patient_studies.map((uid) => h('div', null, h('a', { href: `#/study/${encodeURIComponent(uid)}`, title: uid }, 'open study')))
                  : h('span', { class: 'muted' }, 'none'),
              ),
            ),
          ),
    ),
  );
  const noInd = h(
    'table',
    { class: 'worklist', 'data-testid': 'no-indication' },
    h('caption', { class: 'sr-only' }, 'Studies drafted without an indication although an order exists'),
    th(['Patient', 'MRN', 'Accession', 'Study date', 'Status']),
    h(
      'tbody',
      null,
      res.studies_without_indication.length === 0
        ? h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'None.'))
        : res.studies_without_indication.map((it) =>
            h(
              'tr',
              { 'data-study-uid': it.study_uid },
              h('td', null, h('a', { href: `#/study/${encodeURIComponent(it.study_uid)}` }, identityContent(it, 'patient_name'))),
              h('td', null, identityContent(it, 'patient_id')),
              h('td', null, identityContent(it, 'accession_number')),
              h('td', null, fmtDate(it.study_date)),
              h('td', null, it.status),
            ),
          ),
    ),
  );
  main.appendChild(
    h(
      'section',
      { class: 'page' },
      h('h1', null, 'Orders needing attention'),
      h(
        'p',
        { class: 'muted' },
        `An order finds its study by accession number (${'IPC-1, OBR-18, then OBR-3 by default: RADRAFT_ACCESSION_FIELDS'}) or by Study Instance UID (IPC-3 or ZDS-1). Orders below are older than ${res.min_age} and matched nothing: compare their fields with the study's.`,
      ),
      h('h2', null, `Orders that matched no study (${res.unmatched_orders.length})`),
      h('div', { class: 'table-wrap' }, unmatched),
      h('h2', null, `Studies drafted without an indication although the patient has an order (${res.studies_without_indication.length})`),
      h('div', { class: 'table-wrap' }, noInd),
    ),
  );
}
