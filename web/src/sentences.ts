// Sentence logic shared by the editor's AI marking and the second-reader
// view. The splitting rule mirrors the server's (package sentences) so that the
// sentences the UI marks as the AI's are the ones the API reports:
//
//   A sentence ends after '.', '!' or '?' (with any closing quotes or
//   brackets right after it) when whitespace or the end of the text follows,
//   and at every line break. Leading/trailing whitespace is not part of a
//   sentence; empty sentences are dropped. Two sentences are the same when
//   their texts are equal after collapsing runs of whitespace to one space
//   (case and punctuation count).
//
// "1.5 cm" does not split (no whitespace after the dot).

export interface Span {
  /** offset of the first character in the text (UTF-16 code units) */
  start: number;
  /** offset just past the last character */
  end: number;
  text: string;
}

const TERMINAL = new Set(['.', '!', '?']);
const CLOSERS = new Set(['"', "'", ')', ']', '}', '\u201d', '\u2019']);

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\u00a0';
}

/** Splits text into sentence spans (see the rule above). */
export function splitSentences(text: string): Span[] {
  const out: Span[] = [];
  let segStart = 0;
  const push = (a: number, b: number) => {
    while (a < b && isSpace(text[a])) a++;
    while (b > a && isSpace(text[b - 1])) b--;
    if (b > a) out.push({ start: a, end: b, text: text.slice(a, b) });
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\n' || c === '\r') {
      push(segStart, i);
      i++;
      segStart = i;
      continue;
    }
    if (TERMINAL.has(c)) {
      let j = i + 1;
      while (j < text.length && (TERMINAL.has(text[j]) || CLOSERS.has(text[j]))) j++;
      if (j >= text.length || isSpace(text[j])) {
        push(segStart, j);
        segStart = j;
        i = j;
        continue;
      }
      i = j;
      continue;
    }
    i++;
  }
  push(segStart, text.length);
  return out;
}

/** The comparison key of a sentence: whitespace runs collapsed, trimmed. */
export function normalize(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** Sentences of text as normalized strings. */
export function sentences(text: string): string[] {
  return splitSentences(text).map((s) => normalize(s.text));
}

/** A multiset of strings. */
export class Bag {
  private m = new Map<string, number>();
  constructor(items: Iterable<string> = []) {
    for (const x of items) this.add(x);
  }
  add(x: string): void {
    this.m.set(x, (this.m.get(x) ?? 0) + 1);
  }
  /** Removes one x; false when none was there. */
  take(x: string): boolean {
    const n = this.m.get(x) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.m.delete(x);
    else this.m.set(x, n - 1);
    return true;
  }
  has(x: string): boolean {
    return (this.m.get(x) ?? 0) > 0;
  }
  toArray(): string[] {
    const out: string[] = [];
    for (const [k, n] of this.m) for (let i = 0; i < n; i++) out.push(k);
    return out;
  }
}

/** Removes the sentence span from text, joining its neighbours with one space
 * on the same line (a line break around it is kept). */
export function removeSpan(text: string, span: Span): string {
  let a = span.start;
  let b = span.end;
  // eat the spaces after it (but not a line break)
  while (b < text.length && (text[b] === ' ' || text[b] === '\t')) b++;
  // when it ends a line, eat the spaces before it instead
  if (b >= text.length || text[b] === '\n' || text[b] === '\r') {
    while (a > 0 && (text[a - 1] === ' ' || text[a - 1] === '\t')) a--;
  }
  return text.slice(0, a) + text.slice(b);
}

export interface Diff {
  /** sentences of `after` that are not in `before` (index into after's spans) */
  added: number[];
  /** sentences of `before` that are not in `after` (index into before's spans) */
  removed: number[];
}

/** Sentence-level difference by multiset of normalized sentences. */
export function diffSentences(before: string, after: string): Diff {
  const b = splitSentences(before);
  const a = splitSentences(after);
  const inAfter = new Bag(a.map((s) => normalize(s.text)));
  const inBefore = new Bag(b.map((s) => normalize(s.text)));
  const removed: number[] = [];
  b.forEach((s, i) => {
    if (!inAfter.take(normalize(s.text))) removed.push(i);
  });
  const added: number[] = [];
  a.forEach((s, i) => {
    if (!inBefore.take(normalize(s.text))) added.push(i);
  });
  return { added, removed };
}
