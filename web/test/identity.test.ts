import { describe, expect, it } from 'vitest';
import { textOwner } from '../src/marking';

describe('textOwner', () => {
  const versions = [
    { version: 1, author: 'ai', kind: 'ai_draft' },
    { version: 2, author: 'rad1', kind: 'edit' },
  ];
  it('names the signing radiologist to anyone else', () => {
    const o = textOwner('rad1', versions, 'qa1');
    expect(o.you).toBe(false);
    expect(o.tag).toBe("rad1's");
    expect(o.legend).toBe("by rad1 · plain text is rad1's.");
  });
  it('says yours to the author', () => {
    expect(textOwner(null, versions, 'rad1').tag).toBe('Yours');
  });
  it('names the last human editor of an unsigned report', () => {
    expect(textOwner(null, [...versions, { version: 3, author: 'rad2', kind: 'edit' }], 'rad1').tag).toBe("rad2's");
  });
  it('is yours when only the AI has written', () => {
    expect(textOwner(null, versions.slice(0, 1), 'rad1').you).toBe(true);
  });
});
