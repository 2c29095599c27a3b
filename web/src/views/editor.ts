// The report editor: a textarea (robust, native undo) over a backdrop that
// marks the AI's sentences in place; a sentence list with accept/delete;
// autosave with If-Match; a conflict view on 412; second-reader check; sign;
// amend with a reason. Unsaved text is also kept in localStorage until the
// server has it, so a crash or a closed tab loses nothing.

import * as api from '../api';
import { announce, clear, fmtDate, h, sourceLabel } from '../dom';
import { accept, acceptAll, aiShare, deleteSentence, markSentences, pruneAccepted, sentenceAt, textOwner, type MarkedSentence } from '../marking';
import { diffSentences, splitSentences } from '../sentences';
import { key, setViewShortcuts, type Shortcut } from '../shortcuts';

const AUTOSAVE_MS = 1200;

interface Backup {
  text: string;
  accepted: string[];
  baseVersion: number;
  baseEtag: string;
  at: string;
}

export const ERROR_TYPES: Record<string, string> = {
  A: 'False finding',
  B: 'Omitted finding',
  C: 'Wrong location/position',
  D: 'Wrong severity',
  E: 'Comparison not in reference',
  F: 'Omitted comparison / change',
};

export class Editor {
  private report: api.Report | null = null;
  private etag = '';
  private text = '';
  private accepted: string[] = [];
  private savedText = '';
  private savedAccepted = '';
  private timer: number | null = null;
  private saving: Promise<void> | null = null;
  private mode: 'edit' | 'readonly' | 'amend' | 'conflict' | 'none' = 'none';
  private selected = -1;
  private marked: MarkedSentence[] = [];
  private extra: Shortcut[] = [];
  /** Aborted by destroy(): cancels this editor's reads and polls. */
  private readonly life = new AbortController();
  private get destroyed(): boolean {
    return this.life.signal.aborted;
  }
  private pollTimer: number | null = null;
  private retry = 0;

  // DOM
  private ta!: HTMLTextAreaElement;
  private backdrop!: HTMLDivElement;
  private list!: HTMLOListElement;
  private statusEl!: HTMLElement;
  private saveEl!: HTMLElement;
  private body!: HTMLElement;
  private checkEl!: HTMLElement;
  private reasonInput: HTMLInputElement | null = null;

  constructor(
    private root: HTMLElement,
    private uid: string,
    private perm: { canEdit: boolean; canSign: boolean; me?: string },
    private studyState: { state: string; reason: string } = { state: '', reason: '' },
  ) {
    window.addEventListener('beforeunload', this.onUnload);
  }

  private get backupKey(): string {
    return `radraft.unsaved.${this.uid}`;
  }

  private onUnload = (e: BeforeUnloadEvent) => {
    if (this.dirty()) {
      this.writeBackup();
      e.preventDefault();
    }
  };

  setExtraShortcuts(list: Shortcut[]): void {
    this.extra = list;
    this.installShortcuts();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.life.abort();
    window.removeEventListener('beforeunload', this.onUnload);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.dirty()) {
      this.writeBackup();
      void this.save(); // best effort on leaving the page; the backup stays until it succeeds
    }
  }

  private dirty(): boolean {
    return (this.mode === 'edit' || this.mode === 'conflict') && (this.text !== this.savedText || JSON.stringify(this.accepted) !== this.savedAccepted);
  }

  private writeBackup(): void {
    if (!this.report) return;
    const b: Backup = { text: this.text, accepted: this.accepted, baseVersion: this.report.current_version, baseEtag: this.etag, at: new Date().toISOString() };
    try {
      localStorage.setItem(this.backupKey, JSON.stringify(b));
    } catch {
      /* storage full or disabled */
    }
  }

  private readBackup(): Backup | null {
    try {
      const raw = localStorage.getItem(this.backupKey);
      return raw ? (JSON.parse(raw) as Backup) : null;
    } catch {
      return null;
    }
  }

  private clearBackup(): void {
    localStorage.removeItem(this.backupKey);
  }

  // ---- loading ------------------------------------------------------------------

  async load(): Promise<void> {
    clear(this.root);
    this.root.appendChild(h('h2', null, 'Report'));
    let rep: api.Report;
    try {
      rep = await api.getReport(this.uid, this.life.signal);
    } catch (e) {
      if (this.destroyed) return;
      if (e instanceof api.ApiError && e.status === 404) {
        this.mode = 'none';
        const st = this.studyState;
        const why: Record<string, string> = {
          draft_failed: 'The AI draft failed',
          needs_view: 'No frontal view was found, so no AI draft was made',
          drafting: 'The AI draft is being written',
          receiving: 'Images are still arriving',
          settled: 'Waiting for the study to be queued',
          ready: 'Waiting for a drafting worker',
        };
        this.root.appendChild(
          h(
            'p',
            { class: 'muted', role: 'status', 'data-testid': 'no-draft' },
            `${why[st.state] ?? 'No draft yet'}${st.reason ? ` (${st.reason})` : ''}. The AI draft appears here when it is ready.`,
          ),
        );
        this.pollTimer = window.setTimeout(() => !this.destroyed && void this.load(), 3000);
        this.installShortcuts();
        return;
      }
      throw e;
    }
    if (this.destroyed) return;
    this.setReport(rep);
    const b = this.readBackup();
    if (b && this.mode === 'edit' && (b.text !== rep.findings || JSON.stringify(b.accepted) !== JSON.stringify(this.accepted))) {
      if (b.baseVersion === rep.current_version) {
        this.text = b.text;
        this.accepted = b.accepted ?? [];
        announce('Restored your unsaved text from this browser.', 'toast');
      } else {
        this.build();
        this.showConflict(rep, b.text, 'Unsaved text from an earlier session in this browser differs from the saved report.');
        return;
      }
    } else if (b) {
      this.clearBackup();
    }
    this.build();
    if (this.dirty()) this.scheduleSave();
  }

  private setReport(rep: api.Report): void {
    this.report = rep;
    this.etag = rep.etag ?? `"v${rep.current_version}"`;
    this.text = rep.findings;
    this.accepted = rep.accepted_sentences ?? [];
    this.savedText = rep.findings;
    this.savedAccepted = JSON.stringify(this.accepted);
    const signed = rep.status === 'signed' || rep.status === 'amended';
    this.mode = signed || !this.perm.canEdit ? 'readonly' : 'edit';
  }

  private aiText(): string {
    return this.report?.ai_draft?.findings ?? '';
  }

  // ---- building -------------------------------------------------------------------

  private build(): void {
    clear(this.root);
    const rep = this.report!;
    const ai = rep.ai_draft;
    const signed = rep.status === 'signed' || rep.status === 'amended';
    this.statusEl = h('span', { class: `badge ${signed ? 'ok' : 'info'}`, 'data-testid': 'report-status' }, signed ? (rep.status === 'amended' ? 'Amended' : 'Signed') : 'Draft');
    this.saveEl = h('span', { class: 'save-state', role: 'status', 'aria-live': 'polite', 'data-testid': 'save-state' });
    const head = h(
      'div',
      { class: 'editor-head' },
      h('h2', { id: 'report-title' }, 'Findings'),
      this.statusEl,
      h('span', { class: 'muted small', 'data-testid': 'version' }, `v${rep.current_version}`),
      this.saveEl,
    );
    const banners: HTMLElement[] = [];
    if (ai?.demo) {
      banners.push(
        h(
          'p',
          { class: 'banner warn', role: 'note', 'data-testid': 'demo-banner' },
          h('strong', null, 'Demo model: '),
          `the AI text from “${ai.model_name || 'demo'}” is meaningless (untrained toy weights). It only shows the pipeline works.`,
        ),
      );
    }
    if (ai) {
      banners.push(
        h(
          'p',
          { class: 'muted small' },
          `AI draft by ${ai.model_name || 'model'} ${ai.model_version || ''}`,
          ai.indication ? ` · indication used: “${ai.indication}” (${sourceLabel(ai.indication_source)})` : ' · no indication used',
        ),
      );
    }
    if (signed) {
      banners.push(h('p', { class: 'small' }, `Signed by ${rep.signed_by ?? '?'} ${rep.signed_at ? 'at ' + fmtDate(rep.signed_at) : ''}`));
    }

    this.ta = h('textarea', {
      id: 'findings',
      class: 'findings',
      spellcheck: 'true',
      'aria-labelledby': 'report-title',
      'aria-describedby': 'ai-legend',
      'data-testid': 'findings',
      rows: 10,
    }) as HTMLTextAreaElement;
    this.ta.value = this.text;
    this.ta.readOnly = this.mode === 'readonly';
    this.backdrop = h('div', { class: 'backdrop', 'aria-hidden': 'true' }) as HTMLDivElement;
    this.ta.addEventListener('input', () => this.onInput());
    this.ta.addEventListener('scroll', () => (this.backdrop.scrollTop = this.ta.scrollTop));
    for (const ev of ['keyup', 'click', 'select']) this.ta.addEventListener(ev, () => this.syncSelectionFromCaret());

    const legend = h(
      'p',
      { id: 'ai-legend', class: 'legend small' },
      h('mark', { class: 'ai' }, 'AI text'),
      ' unchanged from the AI draft · ',
      h('mark', { class: 'accepted' }, 'accepted'),
      ` ${this.owner().legend} `,
      h('span', { 'data-testid': 'ai-share' }),
    );
    this.list = h('ol', { class: 'sentences', 'aria-label': 'Sentences', 'data-testid': 'sentences' }) as HTMLOListElement;

    const actions = h('div', { class: 'actions' });
    const btn = (label: string, title: string, onclick: () => void, cls = 'btn', extra: Record<string, unknown> = {}) =>
      h('button', { class: cls, type: 'button', title, onclick, ...extra }, label);
    if (this.mode === 'edit') {
      actions.append(
        btn('Accept all AI', 'Accept every AI sentence (Alt+Shift+A)', () => this.acceptAll(), 'btn', { 'aria-keyshortcuts': 'Alt+Shift+A' }),
        btn('Second reader', 'Check your text against the AI draft (Alt+R)', () => void this.check(), 'btn', { 'aria-keyshortcuts': 'Alt+R', 'data-testid': 'check' }),
        btn('New AI draft', 'Ask for a new AI draft', () => void this.redraft(), 'btn ghost'),
      );
      if (this.perm.canSign) actions.append(btn('Sign', 'Sign the report (Ctrl+Enter)', () => void this.sign(), 'btn primary', { 'aria-keyshortcuts': 'Control+Enter', 'data-testid': 'sign' }));
    } else if (signed && this.perm.canSign) {
      actions.append(btn('Amend…', 'Amend the signed report with a reason (Alt+M)', () => this.startAmend(), 'btn', { 'aria-keyshortcuts': 'Alt+M', 'data-testid': 'amend' }));
    } else if (!this.perm.canEdit) {
      actions.append(h('p', { class: 'muted small' }, 'Read only: your role cannot edit or sign reports.'));
    }

    this.checkEl = h('div', { class: 'check', 'data-testid': 'check-result' });
    this.body = h(
      'div',
      { class: 'editor-body' },
      h('div', { class: `editor-wrap${this.mode === 'readonly' ? ' readonly' : ''}` }, this.backdrop, this.ta),
      legend,
      actions,
      this.checkEl,
      h('h3', { class: 'small-h' }, 'Sentences'),
      this.list,
      this.versions(rep),
    );
    this.root.append(head, ...banners, this.body);
    this.refresh();
    this.setSaveState(this.dirty() ? 'Unsaved changes' : 'Saved');
    this.installShortcuts();
  }

  private versions(rep: api.Report): HTMLElement {
    return h(
      'details',
      { class: 'versions' },
      h('summary', null, `History (${rep.versions.length} versions)`),
      h(
        'ol',
        { reversed: true },
        [...rep.versions]
          .sort((a, b) => b.version - a.version)
          .map((v) => h('li', null, `v${v.version} · ${v.kind} · ${v.author} · ${fmtDate(v.created_at)}${v.reason ? ` · reason: ${v.reason}` : ''}`)),
      ),
    );
  }

  /** Whose the human text is, for labels (the signer's name for anyone else). */
  private owner(): ReturnType<typeof textOwner> {
    return textOwner(this.report?.signed_by, this.report?.versions ?? [], this.perm.me);
  }

  /** Re-marks sentences and redraws the backdrop and the sentence list. */
  private refresh(): void {
    const ai = this.aiText();
    this.accepted = pruneAccepted(ai, this.text, this.accepted);
    this.marked = markSentences(ai, this.text, this.accepted);
    // backdrop: identical text, sentences wrapped in marks
    clear(this.backdrop);
    let pos = 0;
    for (const m of this.marked) {
      if (m.start > pos) this.backdrop.append(this.text.slice(pos, m.start));
      const cls = `${m.owner}${m.index === this.selected ? ' sel' : ''}`;
      this.backdrop.append(h('mark', { class: cls }, this.text.slice(m.start, m.end)));
      pos = m.end;
    }
    this.backdrop.append(this.text.slice(pos) + '\n');
    // list
    clear(this.list);
    const editable = this.mode === 'edit';
    for (const m of this.marked) {
      const label = m.owner === 'ai' ? 'AI' : m.owner === 'accepted' ? 'Accepted' : this.owner().tag;
      const li = h(
        'li',
        { class: `${m.owner}${m.index === this.selected ? ' sel' : ''}`, 'data-owner': m.owner, 'aria-current': m.index === this.selected ? 'true' : undefined },
        h('span', { class: `tag ${m.owner}` }, label),
        h('span', { class: 'stext' }, m.text),
        editable && m.owner === 'ai'
          ? h('button', { class: 'btn small', type: 'button', onclick: () => this.acceptAt(m.index), 'aria-label': `Accept sentence ${m.index + 1}` }, 'Accept')
          : null,
        editable
          ? h('button', { class: 'btn small ghost', type: 'button', onclick: () => this.deleteAt(m.index), 'aria-label': `Delete sentence ${m.index + 1}` }, 'Delete')
          : null,
      );
      li.addEventListener('click', (e) => {
        if ((e.target as HTMLElement).tagName !== 'BUTTON') this.select(m.index, true);
      });
      this.list.appendChild(li);
    }
    const share = this.root.querySelector('[data-testid="ai-share"]');
    const nAi = this.marked.filter((m) => m.owner === 'ai').length;
    if (share) share.textContent = this.marked.length ? `${nAi} of ${this.marked.length} sentences still the AI's (${Math.round(aiShare(this.marked) * 100)} %).` : '';
  }

  private setSaveState(s: string, kind: 'ok' | 'busy' | 'bad' = 'ok'): void {
    if (!this.saveEl) return;
    this.saveEl.textContent = s;
    this.saveEl.className = `save-state ${kind}`;
  }

  // ---- editing -----------------------------------------------------------------------

  private onInput(): void {
    this.text = this.ta.value;
    this.refresh();
    this.syncSelectionFromCaret();
    this.changed();
  }

  private changed(): void {
    this.writeBackup();
    this.setSaveState('Unsaved changes', 'busy');
    this.scheduleSave();
  }

  private setText(t: string, caret?: number): void {
    this.text = t;
    this.ta.value = t;
    if (caret !== undefined) this.ta.setSelectionRange(caret, caret);
    this.refresh();
    this.changed();
  }

  private syncSelectionFromCaret(): void {
    if (document.activeElement !== this.ta) return;
    const i = sentenceAt(this.marked, this.ta.selectionStart);
    if (i !== this.selected) {
      this.selected = i;
      this.refreshSelection();
    }
  }

  private refreshSelection(): void {
    this.backdrop.querySelectorAll('mark').forEach((m, i) => m.classList.toggle('sel', i === this.selected));
    this.list.querySelectorAll('li').forEach((li, i) => {
      li.classList.toggle('sel', i === this.selected);
      if (i === this.selected) li.setAttribute('aria-current', 'true');
      else li.removeAttribute('aria-current');
    });
  }

  private select(i: number, focusText = false): void {
    if (this.marked.length === 0) return;
    this.selected = Math.max(0, Math.min(this.marked.length - 1, i));
    const m = this.marked[this.selected];
    if (focusText) this.ta.focus();
    this.ta.setSelectionRange(m.start, m.end);
    this.refreshSelection();
    announce(`Sentence ${this.selected + 1} of ${this.marked.length}, ${m.owner === 'ai' ? 'AI' : m.owner}: ${m.text}`);
  }

  private acceptAt(i: number): void {
    if (this.mode !== 'edit') return;
    const m = this.marked[i];
    if (!m || m.owner !== 'ai') return;
    this.accepted = accept(this.accepted, this.marked, i);
    this.refresh();
    this.changed();
    announce(`Accepted sentence ${i + 1}.`);
  }

  private acceptAll(): void {
    if (this.mode !== 'edit') return;
    this.accepted = acceptAll(this.accepted, this.marked);
    this.refresh();
    this.changed();
    announce('Accepted every AI sentence.');
  }

  private deleteAt(i: number): void {
    if (this.mode !== 'edit') return;
    const m = this.marked[i];
    if (!m) return;
    this.setText(deleteSentence(this.text, this.marked, i), m.start);
    this.selected = Math.min(i, this.marked.length - 1);
    this.refreshSelection();
    announce(`Deleted sentence ${i + 1}.`);
  }

  // ---- saving --------------------------------------------------------------------------

  private scheduleSave(delay = AUTOSAVE_MS): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.timer = null;
      void this.save();
    }, delay);
  }

  /** Saves now if dirty; resolves when the server has it (or it failed). */
  async save(): Promise<boolean> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.saving) await this.saving;
    if (this.mode !== 'edit' || !this.dirty()) return this.mode === 'edit' || this.mode === 'readonly';
    const text = this.text;
    const acc = [...this.accepted];
    if (!text.trim()) {
      // The server keeps no empty version; the last saved text stays.
      this.setSaveState('Empty: not saved', 'bad');
      return false;
    }
    let ok = false;
    this.setSaveState('Saving…', 'busy');
    this.saving = (async () => {
      try {
        const rep = await api.saveReport(this.uid, this.etag, text, acc);
        this.retry = 0;
        this.report = { ...rep, ai_draft: rep.ai_draft ?? this.report!.ai_draft, versions: rep.versions.length ? rep.versions : this.report!.versions };
        this.etag = rep.etag ?? this.etag;
        this.savedText = text;
        this.savedAccepted = JSON.stringify(acc);
        if (!this.dirty()) this.clearBackup();
        ok = true;
        if (!this.destroyed) {
          this.setSaveState(this.dirty() ? 'Unsaved changes' : `Saved v${rep.current_version}`, this.dirty() ? 'busy' : 'ok');
          const v = this.root.querySelector('[data-testid="version"]');
          if (v) v.textContent = `v${rep.current_version}`;
          this.root.querySelector('details.versions')?.replaceWith(this.versions(this.report!));
          if (this.dirty()) this.scheduleSave();
        }
      } catch (e) {
        const ae = e as api.ApiError;
        if (ae.status === 412) {
          const cur = api.conflictReport(ae) ?? (await api.getReport(this.uid).catch(() => null));
          if (cur && !this.destroyed) this.showConflict(cur, text, 'Someone else saved this report while you were editing.');
        } else if (ae.status === 409 || ae.status === 423) {
          // signed meanwhile: reload; the backup keeps the text
          announce('The report was signed elsewhere; your text is kept in the conflict view.', 'error');
          const cur = await api.getReport(this.uid).catch(() => null);
          if (cur && !this.destroyed) this.showConflict(cur, text, 'The report was signed in another session.');
        } else if (!this.destroyed) {
          this.retry++;
          this.setSaveState(`Not saved (${ae.message}); kept in this browser, retrying…`, 'bad');
          this.scheduleSave(Math.min(30000, 1000 * 2 ** this.retry));
        }
      }
    })();
    try {
      await this.saving;
    } finally {
      this.saving = null;
    }
    return ok;
  }

  // ---- conflict ---------------------------------------------------------------------------

  private showConflict(theirs: api.Report, mine: string, why: string): void {
    this.mode = 'conflict';
    if (this.timer) clearTimeout(this.timer);
    this.writeBackupText(mine, theirs);
    const d = diffSentences(theirs.findings, mine);
    const render = (text: string, changed: number[], cls: string) => {
      const spans = splitSentences(text);
      const set = new Set(changed);
      return h(
        'div',
        { class: 'conflict-text' },
        spans.length === 0 ? h('em', { class: 'muted' }, '(empty)') : spans.map((s, i) => [h('span', { class: set.has(i) ? cls : '' }, s.text), ' ']),
      );
    };
    const theirSigned = theirs.status === 'signed' || theirs.status === 'amended';
    const useMine = h('button', { class: 'btn primary', type: 'button', 'data-testid': 'keep-mine', disabled: theirSigned || !this.perm.canEdit }, 'Keep my text');
    const useTheirs = h('button', { class: 'btn', type: 'button', 'data-testid': 'use-theirs' }, 'Use their version');
    const copy = h('button', { class: 'btn ghost', type: 'button' }, 'Copy my text');
    const box = h(
      'section',
      { class: 'conflict', role: 'alertdialog', 'aria-labelledby': 'conflict-title', 'aria-describedby': 'conflict-why', 'data-testid': 'conflict' },
      h('h3', { id: 'conflict-title' }, 'Edit conflict'),
      h('p', { id: 'conflict-why' }, why, ` Nothing is lost: choose which text to keep.${theirSigned ? ' Their version is signed; to change it, amend it.' : ''}`),
      h(
        'div',
        { class: 'side-by-side' },
        h('div', null, h('h4', null, 'Your text (not saved)'), render(mine, d.added, 'only-mine')),
        h(
          'div',
          null,
          h('h4', null, `Saved version v${theirs.current_version}${theirs.versions.length ? ` by ${[...theirs.versions].sort((a, b) => b.version - a.version)[0].author}` : ''}`),
          render(theirs.findings, d.removed, 'only-theirs'),
        ),
      ),
      h('p', { class: 'small muted' }, 'Highlighted: sentences found only on that side.'),
      h('div', { class: 'actions' }, useMine, useTheirs, copy),
    );
    useMine.addEventListener('click', async () => {
      // overwrite theirs knowingly: base the PUT on their ETag
      this.report = { ...theirs, ai_draft: theirs.ai_draft ?? this.report?.ai_draft ?? null };
      this.etag = theirs.etag ?? `"v${theirs.current_version}"`;
      this.savedText = theirs.findings;
      this.savedAccepted = JSON.stringify(theirs.accepted_sentences ?? []);
      this.text = mine;
      this.mode = 'edit';
      this.build();
      this.ta.value = mine;
      this.refresh();
      const ok = await this.save();
      if (ok) announce('Your text is saved over theirs.', 'toast');
    });
    useTheirs.addEventListener('click', () => {
      this.setReport({ ...theirs, ai_draft: theirs.ai_draft ?? this.report?.ai_draft ?? null });
      this.clearBackup();
      this.build();
      announce('Loaded their version. Your text was discarded.');
    });
    copy.addEventListener('click', () => void navigator.clipboard?.writeText(mine).then(() => announce('Copied your text.')));
    this.body?.prepend(box);
    if (!this.body) this.root.append(box);
    this.setSaveState('Conflict: choose a version', 'bad');
    useMine.focus();
  }

  private writeBackupText(text: string, base: api.Report): void {
    const b: Backup = { text, accepted: this.accepted, baseVersion: base.current_version, baseEtag: base.etag ?? '', at: new Date().toISOString() };
    try {
      localStorage.setItem(this.backupKey, JSON.stringify(b));
    } catch {
      /* ignore */
    }
  }

  // ---- sign / amend / redraft --------------------------------------------------------

  private async sign(): Promise<void> {
    if (this.mode !== 'edit' || !this.perm.canSign) return;
    if (!(await this.save())) return;
    if (this.mode !== 'edit') return; // conflict appeared
    if (!this.text.trim()) {
      announce('The report is empty.', 'error');
      return;
    }
    const nAi = this.marked.filter((m) => m.owner === 'ai').length;
    if (nAi > 0 && !(await confirmDialog(`${nAi} sentence${nAi > 1 ? 's are' : ' is'} still the AI's, unchanged and not accepted. Sign anyway? The signed text is yours.`, 'Sign'))) return;
    try {
      const rep = await api.signReport(this.uid, this.etag);
      this.clearBackup();
      const full = await api.getReport(this.uid).catch(() => rep);
      this.setReport({ ...full, ai_draft: full.ai_draft ?? this.report?.ai_draft ?? null });
      this.build();
      announce('Signed.', 'toast');
    } catch (e) {
      const ae = e as api.ApiError;
      if (ae.status === 412) {
        const cur = api.conflictReport(ae) ?? (await api.getReport(this.uid));
        this.showConflict(cur, this.text, 'The report changed before you signed it.');
      } else announce(`Not signed: ${ae.message}`, 'error');
    }
  }

  private startAmend(): void {
    if (this.mode !== 'readonly' || !this.perm.canSign) return;
    this.mode = 'amend';
    this.ta.readOnly = false;
    this.ta.parentElement?.classList.remove('readonly');
    this.reasonInput = h('input', { id: 'amend-reason', required: true, 'data-testid': 'amend-reason', maxlength: 500 }) as HTMLInputElement;
    const submit = h('button', { class: 'btn primary', type: 'submit', 'data-testid': 'amend-submit' }, 'Sign amendment');
    const cancel = h('button', { class: 'btn ghost', type: 'button' }, 'Cancel');
    const form = h('form', { class: 'amend', 'aria-label': 'Amendment' }, h('label', { for: 'amend-reason' }, 'Reason for the amendment (required)'), this.reasonInput, h('div', { class: 'actions' }, submit, cancel));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const reason = this.reasonInput!.value.trim();
      if (!reason) {
        this.reasonInput!.focus();
        return;
      }
      try {
        await api.amendReport(this.uid, this.etag, this.ta.value, reason);
        const full = await api.getReport(this.uid);
        this.setReport(full);
        this.build();
        announce('Amendment signed.', 'toast');
      } catch (err) {
        announce(`Not amended: ${(err as Error).message}`, 'error');
      }
    });
    cancel.addEventListener('click', () => {
      this.setReport(this.report!);
      this.build();
    });
    this.body.insertBefore(form, this.body.firstChild!.nextSibling);
    this.ta.focus();
  }

  private async redraft(): Promise<void> {
    if (this.mode !== 'edit') return;
    if (!(await confirmDialog('Ask the model for a new draft? Your current text stays until the new draft arrives; the new draft then replaces the AI sentences.', 'Request'))) return;
    try {
      await this.save();
      await api.redraft(this.uid);
      announce('A new AI draft was requested.', 'toast');
      this.waitForRedraft(this.report?.ai_draft?.version ?? this.report?.current_version ?? 0);
    } catch (e) {
      announce(`Not requested: ${(e as Error).message}`, 'error');
    }
  }

  /** Polls until the new AI draft is there, then reloads (unless the user typed meanwhile). */
  private waitForRedraft(oldVersion: number, tries = 0): void {
    if (this.destroyed || tries > 90) return;
    this.pollTimer = window.setTimeout(async () => {
      try {
        const rep = await api.getReport(this.uid, this.life.signal);
        if (this.destroyed) return;
        const v = rep.ai_draft?.version ?? 0;
        if (v > oldVersion) {
          if (this.dirty()) {
            announce('A new AI draft arrived; save or discard your changes to see it.', 'toast');
            return;
          }
          await this.load();
          announce('The new AI draft is loaded.', 'toast');
          return;
        }
      } catch {
        /* keep polling */
      }
      this.waitForRedraft(oldVersion, tries + 1);
    }, 2000);
  }

  // ---- second reader -------------------------------------------------------------------

  private async check(): Promise<void> {
    if (this.mode !== 'edit') return;
    await this.save();
    clear(this.checkEl);
    this.checkEl.append(h('p', { role: 'status' }, 'Second reader: comparing your text with the AI draft…'));
    // the differing sentences are known at once; the judge's counts follow
    const d = diffSentences(this.aiText(), this.text);
    const aiSp = splitSentences(this.aiText());
    const mySp = splitSentences(this.text);
    const diffList = h(
      'ul',
      { class: 'diff', 'data-testid': 'check-diff' },
      d.removed.map((i) => h('li', { class: 'only-theirs' }, h('span', { class: 'tag ai' }, 'AI only'), ` ${aiSp[i].text}`)),
      d.added.map((i) => h('li', { class: 'only-mine' }, h('span', { class: 'tag human' }, 'Yours only'), ` ${mySp[i].text}`)),
    );
    let res: api.CheckResult;
    try {
      res = await api.startCheck(this.uid, this.text);
      for (let i = 0; i < 60 && res.status !== 'done' && res.status !== 'failed' && !this.destroyed; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        res = await api.getCheck(this.uid, res.id, this.life.signal);
      }
    } catch (e) {
      if (this.destroyed) return;
      clear(this.checkEl);
      this.checkEl.append(
        h('h3', null, 'Second reader'),
        h('p', { class: 'muted small' }, `The judge could not run (${(e as Error).message}). Sentences that differ:`),
        diffList,
      );
      return;
    }
    clear(this.checkEl);
    if (res.differing_ai || res.differing_current) {
      // the judge's own view of which sentences differ (its sentence split)
      clear(diffList);
      for (const x of res.differing_ai ?? []) diffList.append(h('li', { class: 'only-theirs' }, h('span', { class: 'tag ai' }, 'AI only'), ` ${x.text}`));
      for (const x of res.differing_current ?? []) diffList.append(h('li', { class: 'only-mine' }, h('span', { class: 'tag human' }, 'Yours only'), ` ${x.text}`));
    }
    const sig = res.errors.filter((e) => e.significant);
    this.checkEl.append(
      h('h3', null, 'Second reader'),
      h(
        'p',
        { role: 'status' },
        res.status !== 'done'
          ? `The check is ${res.status}.`
          : sig.length === 0
            ? 'No clinically significant differences between the AI draft and your text.'
            : `${sig.reduce((n, e) => n + e.count, 0)} clinically significant difference(s) between the AI draft and your text.`,
        res.evaluator ? h('span', { class: 'muted small' }, ` (${res.evaluator})`) : null,
      ),
      res.errors.length
        ? h(
            'ul',
            { class: 'errors' },
            res.errors.map((e) =>
              h('li', { class: e.significant ? 'sig' : '' }, h('strong', null, `${e.type} ${ERROR_TYPES[e.type] ?? ''}`), ` ×${e.count}${e.significant ? ' (significant)' : ''}`, e.finding ? ` — ${e.finding}` : '', e.sentence ? ` — “${e.sentence}”` : ''),
            ),
          )
        : '',
      res.note ? h('p', { class: 'small muted' }, res.note) : '',
      diffList.childElementCount ? h('p', { class: 'small' }, 'Sentences that differ:') : h('p', { class: 'small muted' }, 'Your text has the same sentences as the AI draft.'),
      diffList,
    );
  }

  // ---- shortcuts ------------------------------------------------------------------------------

  private installShortcuts(): void {
    const E = 'Report editor';
    const list: Shortcut[] = [
      { keys: 'e', label: 'Edit the findings', group: E, match: key('e'), run: () => this.ta?.focus() },
      { keys: 'Esc', label: 'Leave the text field', group: E, inField: true, match: (e) => e.key === 'Escape' && document.activeElement === this.ta, run: () => this.ta.blur() },
      { keys: 'Ctrl+S', label: 'Save now', group: E, inField: true, match: key('s', { ctrl: true }), run: () => void this.save() },
      { keys: 'Ctrl+Enter', label: 'Sign', group: E, inField: true, match: key('enter', { ctrl: true }), run: () => void this.sign() },
      { keys: 'Alt+↓ / Alt+↑', label: 'Next / previous sentence', group: E, inField: true, match: (e) => e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp'), run: (e) => this.select(this.selected + (e.key === 'ArrowDown' ? 1 : -1), true) },
      { keys: 'Alt+A', label: 'Accept the selected AI sentence', group: E, inField: true, match: key('a', { alt: true, shift: false }), run: () => this.acceptAt(this.selected) },
      { keys: 'Alt+Shift+A', label: 'Accept every AI sentence', group: E, inField: true, match: key('a', { alt: true, shift: true }), run: () => this.acceptAll() },
      { keys: 'Alt+D', label: 'Delete the selected sentence', group: E, inField: true, match: key('d', { alt: true }), run: () => this.deleteAt(this.selected) },
      { keys: 'Alt+R', label: 'Second reader check', group: E, inField: true, match: key('r', { alt: true }), run: () => void this.check() },
      { keys: 'Alt+M', label: 'Amend a signed report', group: E, inField: true, match: key('m', { alt: true }), run: () => this.startAmend() },
    ];
    setViewShortcuts([...list, ...this.extra]);
  }
}

/** A modal yes/no dialog; resolves true on confirm. */
export function confirmDialog(message: string, okLabel: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ok = h('button', { class: 'btn primary', value: 'ok', 'data-testid': 'confirm-ok' }, okLabel);
    const dlg = h(
      'dialog',
      { class: 'confirm', 'aria-labelledby': 'confirm-msg' },
      h('form', { method: 'dialog' }, h('p', { id: 'confirm-msg' }, message), h('div', { class: 'actions' }, ok, h('button', { class: 'btn ghost', value: 'cancel' }, 'Cancel'))),
    ) as HTMLDialogElement;
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    ok.focus();
  });
}
