import { describe, expect, it } from 'vitest';
import { DomainTable } from '../../src/domain/domain-table.js';

describe('DomainTable.identityOf', () => {
  it('names the domain holding a domid: another domain given the same domid later has another identity; none is -1', () => {
    const table = new DomainTable(4);
    expect(table.identityOf(2)).toBe(-1);
    const first = table.claim(2);
    table.publish(first);
    const meant = table.identityOf(2);
    expect(meant).toBeGreaterThan(0);
    table.release(first);
    expect(table.identityOf(2)).toBe(-1);
    const again = table.claim(2); // the same slot, its generation one more
    table.publish(again);
    expect(again).toBe(first);
    expect(table.identityOf(2)).toBeGreaterThan(0);
    expect(table.identityOf(2)).not.toBe(meant);
  });
});
