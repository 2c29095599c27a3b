import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { splitSentences } from '../src/sentences';

// The same cases are checked against sentences.Split in Go (sentences/sentences_test.go).
const { cases } = JSON.parse(readFileSync(new URL('./sentence-cases.json', import.meta.url), 'utf8')) as {
  cases: { text: string; sentences: string[] }[];
};

describe('shared sentence cases', () => {
  for (const c of cases) {
    it(JSON.stringify(c.text).slice(0, 60), () => {
      const spans = splitSentences(c.text);
      expect(spans.map((s) => s.text)).toEqual(c.sentences);
      for (const s of spans) expect(c.text.slice(s.start, s.end)).toBe(s.text);
    });
  }
});
