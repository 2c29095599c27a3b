import { describe, expect, it } from 'vitest';
import { accept, acceptAll, aiShare, deleteSentence, markSentences, pruneAccepted, sentenceAt } from '../src/marking';

const AI = 'The lungs are clear. There is no pleural effusion. Heart size is normal.';

describe('markSentences', () => {
  it('marks an untouched draft as all AI', () => {
    const m = markSentences(AI, AI);
    expect(m.map((x) => x.owner)).toEqual(['ai', 'ai', 'ai']);
    expect(aiShare(m)).toBe(1);
  });
  it('an edited sentence becomes human, the others stay AI', () => {
    const cur = 'The lungs are clear. There is a small left pleural effusion. Heart size is normal.';
    expect(markSentences(AI, cur).map((x) => x.owner)).toEqual(['ai', 'human', 'ai']);
  });
  it('a typed sentence is human even in the middle', () => {
    const cur = 'The lungs are clear. New line of mine. There is no pleural effusion. Heart size is normal.';
    expect(markSentences(AI, cur).map((x) => x.owner)).toEqual(['ai', 'human', 'ai', 'ai']);
  });
  it('whitespace-only changes keep AI marking', () => {
    const cur = 'The lungs  are clear.\nThere is no pleural effusion.   Heart size is normal.';
    expect(markSentences(AI, cur).map((x) => x.owner)).toEqual(['ai', 'ai', 'ai']);
  });
  it('a case or punctuation change is an edit', () => {
    const cur = 'the lungs are clear. There is no pleural effusion! Heart size is normal.';
    expect(markSentences(AI, cur).map((x) => x.owner)).toEqual(['human', 'human', 'ai']);
  });
  it('a duplicated AI sentence is AI only once', () => {
    const cur = 'The lungs are clear. The lungs are clear.';
    expect(markSentences(AI, cur).map((x) => x.owner)).toEqual(['ai', 'human']);
  });
  it('accepted sentences are marked accepted, not AI', () => {
    const m0 = markSentences(AI, AI);
    const acc = accept([], m0, 1);
    const m1 = markSentences(AI, AI, acc);
    expect(m1.map((x) => x.owner)).toEqual(['ai', 'accepted', 'ai']);
    expect(aiShare(m1)).toBeCloseTo(2 / 3);
  });
  it('accepting a human sentence does nothing', () => {
    const cur = 'Mine.';
    expect(accept([], markSentences(AI, cur), 0)).toEqual([]);
  });
  it('accept all', () => {
    const acc = acceptAll([], markSentences(AI, AI));
    expect(markSentences(AI, AI, acc).every((x) => x.owner === 'accepted')).toBe(true);
  });
  it('accepted entries survive edits elsewhere and prune when gone', () => {
    const acc = accept([], markSentences(AI, AI), 0);
    const cur = 'The lungs are clear. Changed. Heart size is normal.';
    expect(markSentences(AI, cur, acc).map((x) => x.owner)).toEqual(['accepted', 'human', 'ai']);
    expect(pruneAccepted(AI, 'Only mine.', acc)).toEqual([]);
    expect(pruneAccepted(AI, cur, acc)).toEqual(['The lungs are clear.']);
  });
  it('an empty draft marks everything human', () => {
    expect(markSentences('', 'Some text.').map((x) => x.owner)).toEqual(['human']);
    expect(aiShare([])).toBe(0);
  });
});

describe('deleteSentence', () => {
  it('deletes the chosen sentence', () => {
    const m = markSentences(AI, AI);
    expect(deleteSentence(AI, m, 1)).toBe('The lungs are clear. Heart size is normal.');
    expect(deleteSentence(AI, m, 2)).toBe('The lungs are clear. There is no pleural effusion.');
    expect(deleteSentence(AI, m, 9)).toBe(AI);
  });
});

describe('sentenceAt', () => {
  it('finds the sentence under the caret', () => {
    const m = markSentences(AI, AI);
    expect(sentenceAt(m, 0)).toBe(0);
    expect(sentenceAt(m, 25)).toBe(1);
    expect(sentenceAt(m, AI.length)).toBe(2);
    expect(sentenceAt([], 3)).toBe(-1);
  });
});
