import { describe, expect, it } from 'vitest';
import { diffSentences, normalize, removeSpan, sentences, splitSentences } from '../src/sentences';

describe('splitSentences', () => {
  it('splits on terminal punctuation followed by whitespace', () => {
    expect(sentences('The lungs are clear. No effusion! Heart size normal?')).toEqual([
      'The lungs are clear.',
      'No effusion!',
      'Heart size normal?',
    ]);
  });
  it('keeps decimals and dotted tokens inside a sentence', () => {
    expect(sentences('A 1.5 cm nodule. Lines v1.2 noted.')).toEqual(['A 1.5 cm nodule.', 'Lines v1.2 noted.']);
  });
  it('splits at line breaks and drops empty sentences', () => {
    expect(sentences('Findings:\nClear lungs\n\n  \r\nNo pneumothorax.')).toEqual([
      'Findings:',
      'Clear lungs',
      'No pneumothorax.',
    ]);
  });
  it('keeps closing quotes and brackets with the sentence', () => {
    expect(sentences('Stable (unchanged.) Next "quoted." End')).toEqual(['Stable (unchanged.)', 'Next "quoted."', 'End']);
  });
  it('treats runs of terminals as one end', () => {
    expect(sentences('Really?! Yes...  ok')).toEqual(['Really?!', 'Yes...', 'ok']);
  });
  it('gives offsets into the original text', () => {
    const t = '  One.   Two.\nThree';
    for (const s of splitSentences(t)) expect(t.slice(s.start, s.end)).toBe(s.text);
    expect(splitSentences(t).map((s) => s.start)).toEqual([2, 9, 14]);
  });
  it('handles empty and whitespace-only text', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences(' \n\t ')).toEqual([]);
  });
  it('does not split without whitespace after the dot', () => {
    expect(sentences('end.Next')).toEqual(['end.Next']);
  });
});

describe('normalize', () => {
  it('collapses whitespace but keeps case and punctuation', () => {
    expect(normalize('  No   acute\tprocess. ')).toBe('No acute process.');
    expect(normalize('no acute process.')).not.toBe(normalize('No acute process.'));
  });
});

describe('removeSpan', () => {
  it('removes a middle sentence and one space', () => {
    const t = 'A. B. C.';
    expect(removeSpan(t, splitSentences(t)[1])).toBe('A. C.');
  });
  it('removes a last sentence and the spaces before it', () => {
    const t = 'A. B.';
    expect(removeSpan(t, splitSentences(t)[1])).toBe('A.');
  });
  it('keeps line breaks', () => {
    const t = 'A. B.\nC.';
    expect(removeSpan(t, splitSentences(t)[1])).toBe('A.\nC.');
  });
});

describe('diffSentences', () => {
  it('lists added and removed sentences', () => {
    const d = diffSentences('A. B. C.', 'A. C changed. D.');
    expect(d.removed).toEqual([1, 2]);
    expect(d.added).toEqual([1, 2]);
  });
  it('matches duplicates one to one', () => {
    const d = diffSentences('A. A.', 'A.');
    expect(d.removed).toEqual([1]);
    expect(d.added).toEqual([]);
  });
});
