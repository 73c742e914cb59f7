import { describe, expect, it } from 'vitest';
import { XenstoredConnections } from '../../src/runtime/xenstored-connections.js';

// xenstored's connections and its live update's re-connection (src/runtime/xenstored-connections.ts; R12).

describe('XenstoredConnections', () => {
  it('re-connects the domains of the saved state that are alive; tells of each other one whether its connection is still the saved one', () => {
    const xs = new XenstoredConnections();
    for (const d of [0, 1, 2, 3]) xs.introduced(d);
    const saved = xs.save();
    xs.released(2); // died and released during the update
    xs.released(3);
    xs.introduced(3); // domid 3 taken again by a new domain
    const failed: Array<[number, boolean]> = [];
    xs.restore(saved, (domid) => domid !== 1 && domid !== 2, (domid, current) => failed.push([domid, current]) > 0);
    // 1: dying, not yet released (current); 2: released; 3: another domain's now
    expect(failed).toEqual([[1, true], [2, false], [3, false]]);
  });

  it('stops at the first failure that xenstored does not survive', () => {
    const xs = new XenstoredConnections();
    for (const d of [1, 2, 3]) xs.introduced(d);
    const saved = xs.save();
    const tried: number[] = [];
    xs.restore(saved, () => false, (domid) => (tried.push(domid), false));
    expect(tried).toEqual([1]);
  });

  it('a live update with every domain alive re-connects them all', () => {
    const xs = new XenstoredConnections();
    xs.introduced(0);
    xs.introduced(5);
    const failed: number[] = [];
    xs.restore(xs.save(), () => true, (d) => failed.push(d) > 0);
    expect(failed).toEqual([]);
  });
});
