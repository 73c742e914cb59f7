import { describe, expect, it } from 'vitest';
import { LabelRegistry } from '../../src/xsm/label-registry.js';

describe('LabelRegistry', () => {
  it('gives xen_t sid 0 and assigns new labels in order', () => {
    const labels = new LabelRegistry(['dom0_t']);
    expect(labels.sidOf('xen_t')).toBe(0);
    expect(labels.sidOf('dom0_t')).toBe(1);
    expect(labels.sidOf('domU_t')).toBe(2);
    expect(labels.sidOf('domU_t')).toBe(2);
    expect(labels.labelOf(2)).toBe('domU_t');
  });

  it('is shared through its buffers: a second view sees labels either one adds', () => {
    const a = new LabelRegistry();
    const b = new LabelRegistry(a.buffers);
    const sid = a.sidOf('web_t');
    expect(b.labelOf(sid)).toBe('web_t');
    expect(b.sidOf('db_t')).toBe(sid + 1);
    expect(a.sidOf('db_t')).toBe(sid + 1);
    expect(a.all()).toEqual(['xen_t', 'web_t', 'db_t']);
  });

  it('rejects labels it cannot store and sids it does not know', () => {
    const labels = new LabelRegistry();
    expect(() => labels.sidOf('x'.repeat(64))).toThrow(/1 to 63 bytes/);
    expect(() => labels.labelOf(5)).toThrow(/no label with sid 5/);
  });
});
