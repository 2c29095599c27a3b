// AI-text marking: which sentences of the current text are still the AI's.
//
// A sentence of the current text is the AI's while it is, word for word
// (see sentences.normalize), one of the AI draft's sentences that no earlier
// sentence of the current text has already matched, and the radiologist has
// not accepted it. Editing a sentence makes it the radiologist's; accepting
// it makes it the radiologist's without changing a word. Accepted sentences
// are kept as normalized texts (a multiset), so accepting survives edits
// elsewhere in the text.

import { Bag, normalize, removeSpan, splitSentences, type Span } from './sentences';

export type Owner = 'ai' | 'accepted' | 'human';

export interface MarkedSentence extends Span {
  owner: Owner;
  /** index among the current text's sentences */
  index: number;
}

export function markSentences(aiDraft: string, current: string, accepted: readonly string[] = []): MarkedSentence[] {
  const ai = new Bag(splitSentences(aiDraft).map((s) => normalize(s.text)));
  const acc = new Bag(accepted.map(normalize));
  return splitSentences(current).map((s, index) => {
    const key = normalize(s.text);
    let owner: Owner = 'human';
    if (ai.take(key)) owner = acc.take(key) ? 'accepted' : 'ai';
    return { ...s, owner, index };
  });
}

/** Share of the current sentences still the AI's (0 when empty). */
export function aiShare(marked: readonly MarkedSentence[]): number {
  if (marked.length === 0) return 0;
  return marked.filter((m) => m.owner === 'ai').length / marked.length;
}

/** Accepting sentence i: returns the new accepted list. */
export function accept(accepted: readonly string[], marked: readonly MarkedSentence[], i: number): string[] {
  const m = marked[i];
  if (!m || m.owner !== 'ai') return [...accepted];
  return [...accepted, normalize(m.text)];
}

/** Accepting every AI sentence. */
export function acceptAll(accepted: readonly string[], marked: readonly MarkedSentence[]): string[] {
  return [...accepted, ...marked.filter((m) => m.owner === 'ai').map((m) => normalize(m.text))];
}

/** Deleting sentence i from the text. */
export function deleteSentence(current: string, marked: readonly MarkedSentence[], i: number): string {
  const m = marked[i];
  if (!m) return current;
  return removeSpan(current, m);
}

/** Drops accepted entries that no longer match any AI sentence in the text
 * (keeps the list from growing with stale entries). */
export function pruneAccepted(aiDraft: string, current: string, accepted: readonly string[]): string[] {
  return markSentences(aiDraft, current, accepted)
    .filter((m) => m.owner === 'accepted')
    .map((m) => normalize(m.text));
}

/** The sentence containing the caret offset (or the nearest one before it). */
export function sentenceAt(marked: readonly MarkedSentence[], offset: number): number {
  let best = -1;
  for (const m of marked) {
    if (m.start <= offset) best = m.index;
    if (offset <= m.end && offset >= m.start) return m.index;
  }
  return best === -1 && marked.length > 0 ? 0 : best;
}

/** Whose the non-AI text of a report is, as the viewer should read it: the
 * signing radiologist's, else the last human author's; "you" when that is
 * the viewer (or when nobody but the AI has written yet). */
export function textOwner(
  signedBy: string | null | undefined,
  versions: { version: number; author: string; kind: string }[],
  me: string | null | undefined,
): { you: boolean; name: string; tag: string; legend: string } {
  let name = signedBy ?? '';
  if (!name) {
    const human = [...versions].filter((v) => v.kind !== 'ai_draft' && v.author !== 'ai').sort((a, b) => b.version - a.version)[0];
    name = human?.author ?? '';
  }
  const you = !name || name === me;
  return you
    ? { you, name: me ?? '', tag: 'Yours', legend: 'by you · plain text is yours.' }
    : { you, name, tag: `${name}'s`, legend: `by ${name} · plain text is ${name}'s.` };
}
