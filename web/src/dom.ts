// Tiny DOM helpers: h() builds elements, announce() speaks to screen readers.

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs | null = null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        el.addEventListener(k.slice(2).toLowerCase(), v as EventListener);
      } else if (k === 'class') {
        el.className = String(v);
      } else if (k === 'dataset') {
        Object.assign(el.dataset, v as Record<string, string>);
      } else if (k === 'value' && 'value' in el) {
        (el as HTMLInputElement).value = String(v);
      } else if (k === 'checked' && 'checked' in el) {
        (el as HTMLInputElement).checked = !!v;
      } else if (v === true) {
        el.setAttribute(k, '');
      } else {
        el.setAttribute(k, String(v));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** svg element (namespace-aware). */
export function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

let live: HTMLElement | null = null;
/** Polite screen-reader announcement plus a visible toast. */
export function announce(msg: string, kind: 'info' | 'error' | 'toast' = 'info'): void {
  if (!live) live = document.getElementById('live');
  if (live) {
    live.textContent = '';
    live.textContent = msg;
  }
  const toasts = document.getElementById('toasts');
  if (toasts && kind !== 'info') {
    const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, msg);
    toasts.appendChild(t);
    setTimeout(() => t.remove(), kind === 'error' ? 8000 : 3500);
  }
}

export function fmtDate(v: string | null | undefined): string {
  if (!v) return '';
  const d = new Date(v);
  if (isNaN(d.getTime())) return v;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return v;
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}

/** Whether a key event comes from a text field (shortcuts then stay quiet). */
export function inTextField(e: KeyboardEvent): boolean {
  const t = e.target as HTMLElement | null;
  if (!t) return false;
  const tag = t.tagName;
  return tag === 'TEXTAREA' || (tag === 'INPUT' && !['checkbox', 'radio', 'button', 'submit'].includes((t as HTMLInputElement).type)) || tag === 'SELECT' || t.isContentEditable;
}

/** Human wording of an indication source ("hl7:OBR-31", "dicom:(0040,1002)"). */
export function sourceLabel(src: string | undefined | null): string {
  if (!src) return 'unknown source';
  if (src === 'hl7:OBR-31') return 'HL7 order, OBR-31 Reason for Study';
  if (src === 'hl7:OBR-13') return 'HL7 order, OBR-13 Relevant Clinical Info';
  if (src.startsWith('hl7:')) return `HL7 order, ${src.slice(4)}`;
  if (src.startsWith('dicom:')) return `DICOM header ${src.slice(6)}`;
  return src;
}

/** A DICOM PN (Family^Given^Middle^Prefix^Suffix) as people write it: "FAMILY, Given Middle". */
export function personName(pn: string): string {
  const [family = '', given = '', middle = ''] = pn.split('^').map((x) => x.trim());
  const first = [given, middle].filter(Boolean).join(' ');
  return family && first ? `${family}, ${first}` : family || first;
}
