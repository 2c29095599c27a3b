import * as api from '../api';
import { announce, fmtDate, h, personName, sourceLabel } from '../dom';
import { identityContent, identityValue, type IdentityField } from '../identity';
import { onAbort, type RouteContext } from '../router';
import { can, session } from '../session';
import { key, type Shortcut } from '../shortcuts';
import { PRESETS } from '../presets';
import type { Viewer, ViewerState } from '../viewer';
import { Editor } from './editor';

export async function renderStudy(main: HTMLElement, { path, signal }: RouteContext): Promise<void> {
  const uid = path[1];
  const st = await api.study(uid, signal);
  signal.throwIfAborted();
  const instances = st.series.flatMap((se) => se.instances.map((i) => ({ ...i, modality: se.modality, series: se })));
  const frontal = instances.find((i) => i.sop_instance_uid === st.frontal_sop_instance_uid) ?? instances[0] ?? null;

  // ---- viewer --------------------------------------------------------------
  const vpEl = h('div', { class: 'viewport', 'data-testid': 'viewport', role: 'img', 'aria-label': 'Chest X-ray image' }) as HTMLDivElement;
  const readout = h('div', { class: 'readout', 'aria-live': 'off', 'data-testid': 'wl-readout' });
  const modeBtns: Record<string, HTMLButtonElement> = {};
  const tb = (label: string, title: string, onclick: () => void, attrs: Record<string, unknown> = {}) =>
    h('button', { class: 'btn small', type: 'button', title, onclick, ...attrs }, label);
  let viewer: Viewer | null = null;
  const vr = () => viewer;
  for (const [m, label, k, title] of [
    ['wl', 'W/L', 'w', 'Left-drag sets window/level'],
    ['pan', 'Pan', 'p', 'Left-drag pans'],
    ['zoom', 'Zoom', 'z', 'Left-drag zooms'],
    ['length', 'Measure', 'l', 'Left-drag measures a distance (calibrated by Pixel Spacing or Imager Pixel Spacing)'],
    ['magnify', 'Magnifier', 'x', 'Hold the left button for a magnifier of the original pixels'],
  ] as const) {
    modeBtns[m] = tb(label, `${title} (${k})`, () => vr()?.setMode(m), { 'aria-pressed': String(m === 'wl'), 'aria-keyshortcuts': k, 'data-testid': `mode-${m}` });
  }
  const presetSel = h(
    'select',
    { id: 'wl-preset', 'aria-label': 'Window preset' },
    h('option', { value: '' }, 'Preset…'),
    PRESETS.map((p) => h('option', { value: p.key }, `${p.key} ${p.label}`)),
  );
  presetSel.addEventListener('change', () => {
    const p = PRESETS.find((x) => x.key === presetSel.value);
    if (p) vr()?.applyPreset(p);
    presetSel.value = '';
  });
  const invertBtn = tb('Invert', 'Invert (i)', () => vr()?.toggleInvert(), { 'aria-pressed': 'false', 'aria-keyshortcuts': 'i' });
  const toolbar = h(
    'div',
    { class: 'toolbar', role: 'toolbar', 'aria-label': 'Image tools' },
    h('span', { class: 'group' }, Object.values(modeBtns)),
    presetSel,
    invertBtn,
    tb('Fit', 'Fit to window (f)', () => vr()?.fit(), { 'aria-keyshortcuts': 'f' }),
    tb('Reset', 'Reset window, zoom and invert (0)', () => vr()?.reset(), { 'aria-keyshortcuts': '0' }),
    tb('+', 'Zoom in (+)', () => vr()?.zoomBy(1.25), { 'aria-label': 'Zoom in' }),
    tb('−', 'Zoom out (-)', () => vr()?.zoomBy(0.8), { 'aria-label': 'Zoom out' }),
  );
  const viewerMsg = h('p', { class: 'muted small', role: 'status' });
  const calib = h('div', { class: 'calibration', 'data-testid': 'calibration' });
  const measure = h('div', { class: 'measurement', 'data-testid': 'measurement', 'aria-live': 'polite' });
  const priorSlot = h('div', { class: 'prior-slot', hidden: true, 'data-testid': 'prior-view' });
  const viewerPane = h(
    'section',
    { class: 'pane viewer-pane', 'aria-label': 'Image viewer' },
    toolbar,
    h('div', { class: 'vp-row' }, h('div', { class: 'vp-wrap' }, vpEl, readout, calib, measure), priorSlot),
    viewerMsg,
  );

  const onState = (s: ViewerState) => {
    readout.textContent = `WC ${s.windowCenter}  WW ${s.windowWidth}  ·  zoom ${s.zoom.toFixed(2)}×  ·  ${s.photometric}${s.invertedFromDefault ? ' · inverted' : ''}`;
    calib.textContent = s.calibration.label;
    vpEl.dataset.calibration = s.calibration.source;
    measure.textContent = s.measurement ? `Distance ${s.measurement}` : '';
    vpEl.dataset.wc = String(s.windowCenter);
    vpEl.dataset.ww = String(s.windowWidth);
    vpEl.dataset.inverted = String(s.invertedFromDefault);
    invertBtn.setAttribute('aria-pressed', String(s.invertedFromDefault));
    for (const [m, b] of Object.entries(modeBtns)) b.setAttribute('aria-pressed', String(m === s.mode));
  };

  // ---- study info ------------------------------------------------------------
  const dl = (pairs: [string, unknown][]) =>
    h('dl', { class: 'meta' }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== '').map(([k, v]) => [h('dt', null, k), h('dd', null, String(v))]));
  const srcLabel = sourceLabel;
  const idRow = (label: string, field: IdentityField) =>
    identityValue(st, field).value ? [h('dt', null, label), h('dd', { 'data-testid': `study-${field}` }, identityContent(st, field))] : null;
  const priorsList = h('div', { 'data-testid': 'priors' }, h('p', { class: 'muted small' }, 'Looking for prior studies…'));
  const info = h(
    'section',
    { class: 'pane info', 'aria-label': 'Study and order' },
    h('h2', null, 'Study'),
    h('dl', { class: 'meta' }, idRow('Patient', 'patient_name'), idRow('MRN', 'patient_id'), idRow('Accession', 'accession_number')),
    dl([
      ['Born', st.patient_birth_date],
      ['Sex', st.patient_sex],
      ['Study date', fmtDate(st.study_date)],
      ['Description', st.study_description],
    ]),
    h('h2', null, 'Order and indication'),
    h(
      'p',
      { class: 'indication', 'data-testid': 'indication' },
      st.indication ? st.indication : h('span', { class: 'muted' }, 'No indication received.'),
      st.indication ? h('span', { class: 'source' }, ` — source: ${srcLabel(st.indication_source)}`) : null,
    ),
    st.order
      ? dl([
          ['Procedure', st.order.procedure_text ?? st.order.procedure],
          ['Order accession', st.order.accession_number],
          ['Order status', st.order.cancelled ? 'cancelled' : st.order.order_control],
        ])
      : h('p', { class: 'muted small' }, 'No HL7 order for this study yet.'),
    h('h2', null, 'Priors'),
    priorsList,
    h('h2', null, 'Images'),
    frontal
      ? h('p', { class: 'small' }, `Shown: ${frontal.modality ?? ''} ${frontal.view_position || ''} — chosen as frontal: ${st.view_reason || 'only image'}`)
      : h('p', { class: 'muted' }, 'No image stored.'),
    instances.length > 1
      ? h(
          'ul',
          { class: 'small' },
          instances.map((i) => h('li', null, `${i.modality ?? ''} #${i.instance_number ?? ''} ${i.view_position ?? ''}${i.sop_instance_uid === frontal?.sop_instance_uid ? ' (frontal)' : ''}`)),
        )
      : null,
  );

  // ---- editor ------------------------------------------------------------------
  const editorPane = h('section', { class: 'pane editor-pane', 'aria-label': 'Report' });
  const editor = new Editor(editorPane, uid, { canEdit: can.edit(), canSign: can.sign(), me: session.user?.username }, { state: st.state, reason: st.state_reason ?? '' });
  const cancelled =
    st.order_cancelled || st.order?.cancelled
      ? h(
          'p',
          { class: 'banner bad', role: 'note', 'data-testid': 'order-cancelled' },
          `The RIS cancelled this order (ORC-1 ${st.order?.order_control ?? 'CA'}): the AI draft is withdrawn and not on the reading list. Sign only if the exam was done and must be read anyway.`,
        )
      : null;

  main.appendChild(
    h(
      'div',
      { class: 'study-page' },
      h(
        'div',
        { class: 'study-head' },
        h('a', { href: '#/', class: 'back' }, '← Worklist'),
        h(
          'h1',
          null,
          personName(identityValue(st, 'patient_name').value) || '(no name)',
          h('span', { class: 'muted' }, ` · ${headAccession(st)} · ${st.study_description || ''} ${fmtDate(st.study_date)}`),
        ),
      ),
      cancelled,
      h('div', { class: 'study-grid' }, viewerPane, h('div', { class: 'side' }, editorPane, info)),
    ),
  );

  const showPreview = (why: string) => {
    // fallback: the server's rendered preview (no window/level on the original pixels)
    if (!frontal) return;
    vpEl.replaceChildren(h('img', { src: api.previewURL(uid, frontal, 1024), alt: 'Chest X-ray (server-rendered preview)', class: 'preview-img' }));
    viewerMsg.textContent = `The DICOM viewer could not show this image (${why}); showing the server's preview instead.`;
  };
  if (frontal) {
    viewerMsg.textContent = 'Loading image…';
    import('../viewer')
      .then(async ({ Viewer }) => {
        signal.throwIfAborted();
        viewer = new Viewer(vpEl);
        viewer.onChange = onState;
        await viewer.load(api.instanceFileURL(uid, frontal));
        signal.throwIfAborted();
        viewerMsg.textContent = '';
        vpEl.dataset.loaded = 'true';
      })
      .catch((e) => {
        if (signal.aborted) return;
        vpEl.dataset.loaded = 'error';
        console.error(e);
        showPreview(e?.message ?? String(e));
      });
  }
  let priorViewer: Viewer | null = null;
  // leaving the route (even during the awaits below) stops the editor's
  // poll and beforeunload handler and frees the viewers
  onAbort(signal, () => {
    editor.destroy();
    viewer?.destroy();
    priorViewer?.destroy();
  });
  await editor.load();
  signal.throwIfAborted();
  const closePrior = () => {
    priorViewer?.destroy();
    priorViewer = null;
    priorSlot.replaceChildren();
    priorSlot.hidden = true;
    viewerPane.classList.remove('comparing');
    refit();
  };
  // the current image fits its new, narrower or wider, pane
  const refit = () => requestAnimationFrame(() => requestAnimationFrame(() => vr()?.fit()));
  const openPrior = async (p: api.Prior) => {
    closePrior();
    const pvp = h('div', { class: 'viewport', role: 'img', 'aria-label': `Prior chest X-ray of ${fmtDate(p.study_date)}`, 'data-testid': 'prior-viewport' }) as HTMLDivElement;
    priorSlot.append(
      h(
        'div',
        { class: 'prior-head' },
        h('strong', null, `Prior ${fmtDate(p.study_date)} · Acc. ${p.accession_number || '—'}`),
        h('button', { class: 'btn small', type: 'button', onclick: closePrior, 'data-testid': 'prior-close' }, 'Close prior'),
      ),
      h('div', { class: 'vp-wrap' }, pvp),
      h(
        'div',
        { class: 'prior-report', 'data-testid': 'prior-report' },
        p.findings ? [h('p', { class: 'small muted' }, `Signed by ${p.signed_by ?? '?'} ${fmtDate(p.signed_at ?? null)}`), p.findings] : h('em', null, 'No signed report.'),
      ),
    );
    priorSlot.hidden = false;
    viewerPane.classList.add('comparing');
    refit();
    if (!p.frontal_sop_instance_uid) {
      pvp.append(h('p', { class: 'muted' }, 'No image chosen for this study.'));
      return;
    }
    const { Viewer } = await import('../viewer');
    signal.throwIfAborted();
    priorViewer = new Viewer(pvp, false);
    await priorViewer.load(api.instanceFileURL(p.study_uid, { sop_instance_uid: p.frontal_sop_instance_uid }));
    signal.throwIfAborted();
    pvp.dataset.loaded = 'true';
  };
  void api
    .priors(uid, signal)
    .then((items) => {
      signal.throwIfAborted();
      priorsList.replaceChildren(
        items.length === 0
          ? h('p', { class: 'muted small' }, 'No other studies of this patient.')
          : h(
              'ul',
              { class: 'priors small' },
              items.map((p) =>
                h(
                  'li',
                  { 'data-prior-uid': p.study_uid },
                  `${fmtDate(p.study_date)} · Acc. ${p.accession_number || '—'} · ${p.study_description || ''} · ${p.findings ? `signed by ${p.signed_by ?? '?'}` : p.report_status ?? 'no report'} `,
                  h('button', { class: 'btn small', type: 'button', onclick: () => void openPrior(p).catch((e) => signal.aborted || announce(e.message, 'error')) }, 'Compare side by side'),
                ),
              ),
            ),
      );
    })
    .catch((e) => signal.aborted || priorsList.replaceChildren(h('p', { class: 'error small' }, `Priors not loaded: ${e.message}`)));

  const vsc: Shortcut[] = [
    { keys: 'w', label: 'Drag sets window/level', group: 'Viewer', match: key('w'), run: () => vr()?.setMode('wl') },
    { keys: 'p', label: 'Drag pans', group: 'Viewer', match: key('p'), run: () => vr()?.setMode('pan') },
    { keys: 'z', label: 'Drag zooms', group: 'Viewer', match: key('z'), run: () => vr()?.setMode('zoom') },
    { keys: 'l', label: 'Drag measures a distance', group: 'Viewer', match: key('l'), run: () => vr()?.setMode('length') },
    { keys: 'x', label: 'Hold the button for a magnifier', group: 'Viewer', match: key('x'), run: () => vr()?.setMode('magnify') },
    { keys: 'i', label: 'Invert', group: 'Viewer', match: key('i'), run: () => vr()?.toggleInvert() },
    { keys: 'f', label: 'Fit to window', group: 'Viewer', match: key('f'), run: () => vr()?.fit() },
    { keys: '0', label: 'Reset image', group: 'Viewer', match: (e) => e.key === '0', run: () => vr()?.reset() },
    { keys: '1–4', label: 'Window presets (Default, Full range, High contrast, Soft)', group: 'Viewer', match: (e) => /^[1-4]$/.test(e.key) && !e.ctrlKey && !e.altKey, run: (e) => vr()?.applyPreset(PRESETS[Number(e.key) - 1]) },
    { keys: '+ / −', label: 'Zoom in / out', group: 'Viewer', match: (e) => e.key === '+' || e.key === '=' || e.key === '-', run: (e) => vr()?.zoomBy(e.key === '-' ? 0.8 : 1.25) },
    { keys: 'Shift+arrows', label: 'Pan', group: 'Viewer', match: (e) => e.shiftKey && e.key.startsWith('Arrow'), run: (e) => vr()?.panBy(e.key === 'ArrowLeft' ? -40 : e.key === 'ArrowRight' ? 40 : 0, e.key === 'ArrowUp' ? -40 : e.key === 'ArrowDown' ? 40 : 0) },
    { keys: '[ / ]', label: 'Narrow / widen the window', group: 'Viewer', match: (e) => e.key === '[' || e.key === ']', run: (e) => vr()?.nudgeWindow(0, e.key === '[' ? -1 : 1) },
    { keys: '; / \'', label: 'Darker / brighter (window centre)', group: 'Viewer', match: (e) => e.key === ';' || e.key === "'", run: (e) => vr()?.nudgeWindow(e.key === ';' ? 1 : -1, 0) },
  ];
  editor.setExtraShortcuts(vsc);

}

/** The accession for the heading: DICOM, else the order's, else the MRN. */
function headAccession(st: api.StudyDetail): string {
  const acc = identityValue(st, 'accession_number').value;
  return acc ? `Acc. ${acc}` : `MRN ${identityValue(st, 'patient_id').value}`;
}
