import * as api from '../api';
import { fmtDate, h, sourceLabel } from '../dom';
import { can } from '../main';
import { key, type Shortcut } from '../shortcuts';
import { PRESETS } from '../presets';
import type { Viewer, ViewerState } from '../viewer';
import { Editor } from './editor';

export async function renderStudy(main: HTMLElement, uid: string): Promise<() => void> {
  const st = await api.study(uid);
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
  for (const [m, label, k] of [
    ['wl', 'W/L', 'w'],
    ['pan', 'Pan', 'p'],
    ['zoom', 'Zoom', 'z'],
  ] as const) {
    modeBtns[m] = tb(label, `Left-drag does ${label} (${k})`, () => vr()?.setMode(m), { 'aria-pressed': String(m === 'wl'), 'aria-keyshortcuts': k });
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
  const viewerPane = h('section', { class: 'pane viewer-pane', 'aria-label': 'Image viewer' }, toolbar, h('div', { class: 'vp-wrap' }, vpEl, readout), viewerMsg);

  const onState = (s: ViewerState) => {
    readout.textContent = `WC ${s.windowCenter}  WW ${s.windowWidth}  ·  zoom ${s.zoom.toFixed(2)}×  ·  ${s.photometric}${s.invertedFromDefault ? ' · inverted' : ''}`;
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
  const info = h(
    'section',
    { class: 'pane info', 'aria-label': 'Study and order' },
    h('h2', null, 'Study'),
    dl([
      ['Patient', st.patient_name],
      ['MRN', st.patient_id],
      ['Born', st.patient_birth_date],
      ['Sex', st.patient_sex],
      ['Accession', st.accession_number],
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
  const editor = new Editor(editorPane, uid, { canEdit: can.edit(), canSign: can.sign() }, { state: st.state, reason: st.state_reason ?? '' });

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
          st.patient_name || '(no name)',
          h('span', { class: 'muted' }, ` · ${st.accession_number ? `Acc. ${st.accession_number}` : `MRN ${st.patient_id}`} · ${st.study_description || ''} ${fmtDate(st.study_date)}`),
        ),
      ),
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
        viewer = new Viewer(vpEl);
        viewer.onChange = onState;
        await viewer.load(api.instanceFileURL(uid, frontal));
        viewerMsg.textContent = '';
        vpEl.dataset.loaded = 'true';
      })
      .catch((e) => {
        vpEl.dataset.loaded = 'error';
        console.error(e);
        showPreview(e?.message ?? String(e));
      });
  }
  await editor.load();

  const vsc: Shortcut[] = [
    { keys: 'w', label: 'Drag sets window/level', group: 'Viewer', match: key('w'), run: () => vr()?.setMode('wl') },
    { keys: 'p', label: 'Drag pans', group: 'Viewer', match: key('p'), run: () => vr()?.setMode('pan') },
    { keys: 'z', label: 'Drag zooms', group: 'Viewer', match: key('z'), run: () => vr()?.setMode('zoom') },
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

  return () => {
    editor.destroy();
    viewer?.destroy();
  };
}
