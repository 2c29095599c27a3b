import { describe, expect, it } from 'vitest';
import { conflictReport, ApiError, letterOf, normCheck, normErrors, normFlag2, normReport, type Schemas } from '../src/api';

// Shapes as server/reports.go and server/qa.go answer them (the report typed
// by the API's schema, so it cannot drift from what the server documents).
const view: Schemas['Report'] = {
  id: 'r1',
  study_uid: '1.2.3',
  status: 'draft',
  current_version: 3,
  ai_version: 1,
  signed_version: null,
  updated_at: '2026-11-27T07:01:00Z',
  versions: [
    { version: 1, kind: 'ai_draft', author: 'ai', findings: 'A. B.', model_name: 'radraft-demo', model_version: '1', accepted_sentences: [], demo: true, created_at: '2026-11-27T07:00:00Z' },
    { version: 3, kind: 'edit', author: 'rad1', findings: 'A. C.', accepted_sentences: ['A.'], demo: false, created_at: '2026-11-27T07:01:00Z' },
  ],
  etag: '"v3"',
  ai_draft: { version: 1, kind: 'ai_draft', author: 'ai', findings: 'A. B.', model_name: 'radraft-demo', model_version: '1', accepted_sentences: [], demo: true, created_at: '2026-11-27T07:00:00Z' },
  current: { version: 3, kind: 'edit', author: 'rad1', findings: 'A. C.', accepted_sentences: ['A.'], demo: false, created_at: '2026-11-27T07:01:00Z' },
  sentences: [],
  ai_sentences: 0,
};

describe('normReport', () => {
  it('reads the report view', () => {
    const r = normReport(view, '"v3"');
    expect(r.findings).toBe('A. C.');
    expect(r.current_version).toBe(3);
    expect(r.accepted_sentences).toEqual(['A.']);
    expect(r.ai_draft?.findings).toBe('A. B.');
    expect(r.ai_draft?.demo).toBe(true); // the server's demo flag (model.json "demo")
    expect(r.ai_draft?.version).toBe(1);
    expect(r.etag).toBe('"v3"');
  });
  it('takes the ETag from the body when the header is missing', () => {
    expect(normReport(view, null).etag).toBe('"v3"');
  });
  it('a real model is not labelled demo, whatever its name', () => {
    const r = normReport({ ...view, ai_draft: { ...view.ai_draft!, model_name: 'my-demo-llava', demo: false } }, null);
    expect(r.ai_draft?.demo).toBe(false);
  });
  it('reads the current version out of a 412', () => {
    const e = new ApiError(412, 'version_conflict', 'changed', { error: { code: 'version_conflict' }, current: view }, '"v3"');
    const c = conflictReport(e);
    expect(c?.findings).toBe('A. C.');
    expect(c?.etag).toBe('"v3"');
  });
});

describe('errors', () => {
  it('maps type names to letters', () => {
    expect(letterOf('false_positive_finding')).toBe('A');
    expect(letterOf('omission_comparison')).toBe('F');
    expect(letterOf('B')).toBe('B');
  });
  it('reads an error list', () => {
    const e = normErrors({ errors: [{ type: 'B', name: 'omission_finding', significant: true, count: 1, sentence: 'x', reference_sentences: [2], candidate_sentences: [] }] });
    expect(e).toEqual([{ type: 'B', significant: true, count: 1, sentence: 'x', finding: undefined, explanation: undefined, reference_sentences: [2], candidate_sentences: [] }]);
  });
  it('reads per-type counts', () => {
    const e = normErrors({ clinically_significant: { omission_finding: 2, false_positive_finding: 0 }, clinically_insignificant: { incorrect_location: 1 } });
    expect(e).toEqual([
      { type: 'B', significant: true, count: 2 },
      { type: 'C', significant: false, count: 1 },
    ]);
  });
  it('reads the second reader answer', () => {
    const c = normCheck({ check: { status: 'done', evaluator: 'offline', errors: [], differing_current: [{ index: 1, text: 'x' }], differing_ai: [] } });
    expect(c.status).toBe('done');
    expect(c.differing_current).toEqual([{ index: 1, text: 'x' }]);
  });
  it('reads a flag', () => {
    const f = normFlag2({ id: 7, study_uid: 's', status: 'open', disposition: null, note: '', errors: [{ type: 'A', significant: true, count: 1 }], evaluation: { note: 'offline', engine: 'offline' } });
    expect(f.id).toBe('7');
    expect(f.errors[0].type).toBe('A');
    expect(f.judge_note).toBe('offline');
  });
});
