import { describe, expect, it } from 'vitest';
import { createHypervisor, type LifecycleChange } from '../../src/xen/hypervisor.js';
import { DomainKill, RELINQUISH_PAGES_PER_CALL } from '../../src/xen/destroy-domain.js';
import { ERRNO } from '../../src/xen/errno.js';
import { SeededRandom } from '../../src/runtime/random.js';

// R17 (virtio-ioreq-lifecycle.md §6.7; §6.3 domain_kill): destroy of a domain that is already dying.
// domain_kill is restartable (-ERESTART: the caller makes the hypercall again), repeating it on a
// dying domain is idempotent — it goes on with the same teardown — and a dead domain is left alone.
// No historical-bug switch: no single Xen commit broke or fixed this rule (docs/races.md R17), so it
// is a conformance case of the core.

const MIB = 1 << 20;

function world(memoryBytes = 4 * MIB) {
  const hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 8, gfnArenaPages: 4096 });
  hv.createDomain({ domid: 0, control: true });
  hv.createDomain({ domid: 1, control: true }); // a second toolstack (another `xl destroy`)
  hv.createDomain({ domid: 3, memoryBytes });
  const changes: LifecycleChange[] = [];
  hv.onLifecycle((c) => {
    if (c.domid === 3 && (c.change === 'dying' || c.change === 'dead')) changes.push(c);
  });
  return { hv, kill: new DomainKill(hv), changes };
}

describe('R17: XEN_DOMCTL_destroydomain is restartable, idempotent on a dying domain, a no-op once dead', () => {
  it('§6.3 alive → dying at the first call (paused, Argo torn down), -ERESTART while pages are left, then dead', () => {
    const { hv, kill, changes } = world(4 * MIB); // 1024 pages: four calls of 256
    expect(kill.destroydomain(0, 3)).toBe(-ERRNO.ERESTART);
    expect(hv.life(3)).toBe('dying');
    expect(hv.hasArgo(3)).toBe(false);
    expect(kill.pagesLeft(3)).toBe(1024 - RELINQUISH_PAGES_PER_CALL);
    expect(kill.destroydomain(0, 3)).toBe(-ERRNO.ERESTART);
    expect(kill.destroydomain(0, 3)).toBe(-ERRNO.ERESTART);
    expect(kill.destroydomain(0, 3)).toBe(0);
    expect(hv.life(3)).toBe('gone');
    expect(changes.map((c) => c.change)).toEqual(['dying', 'dead']);
    // dead: nothing left to do; the domid no longer resolves
    expect(kill.destroydomain(0, 3)).toBe(-ERRNO.ESRCH);
    expect(changes.map((c) => c.change)).toEqual(['dying', 'dead']);
  });

  it('a second destroyer of the dying domain goes on with the same teardown: it dies once, after the same number of calls in all', () => {
    const { hv, kill, changes } = world(4 * MIB);
    const results = [kill.destroydomain(0, 3), kill.destroydomain(1, 3), kill.destroydomain(0, 3), kill.destroydomain(1, 3)];
    expect(results).toEqual([-ERRNO.ERESTART, -ERRNO.ERESTART, -ERRNO.ERESTART, 0]);
    expect(hv.life(3)).toBe('gone');
    // the first destroyer's continuation finds the domain gone: nothing done twice
    expect(kill.destroydomain(0, 3)).toBe(-ERRNO.ESRCH);
    expect(changes.map((c) => c.change)).toEqual(['dying', 'dead']);
  });

  it('any interleaving of three destroyers: every call answers 0, -ERESTART or -ESRCH; exactly one gets 0; the domain dies once', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const rng = new SeededRandom(seed);
      const memoryBytes = rng.int(2, 12) * MIB;
      const { hv, kill, changes } = world(memoryBytes);
      const callers = [0, 1, 0];
      const done = new Set<number>();
      let zeros = 0;
      let calls = 0;
      while (done.size < callers.length) {
        const who = rng.pick([0, 1, 2].filter((i) => !done.has(i)));
        const rc = kill.destroydomain(callers[who], 3);
        calls++;
        expect([0, -ERRNO.ERESTART, -ERRNO.ESRCH], `seed ${seed}`).toContain(rc);
        if (rc === 0) zeros++;
        if (rc !== -ERRNO.ERESTART) done.add(who);
      }
      expect(zeros, `seed ${seed}`).toBe(1);
      expect(hv.life(3)).toBe('gone');
      expect(changes.map((c) => c.change), `seed ${seed}`).toEqual(['dying', 'dead']);
      // the teardown's calls, shared, plus one -ESRCH for each destroyer that came after it ended
      expect(calls).toBeLessThanOrEqual(Math.ceil(memoryBytes / 4096 / RELINQUISH_PAGES_PER_CALL) + 2);
    }
  });

  it('domain_kill refuses the caller\'s own domain (-EINVAL); an unknown domid is -ESRCH', () => {
    const { hv, kill } = world();
    expect(kill.destroydomain(3, 3)).toBe(-ERRNO.EINVAL);
    expect(hv.life(3)).toBe('alive');
    expect(kill.destroydomain(0, 7)).toBe(-ERRNO.ESRCH);
  });
});
