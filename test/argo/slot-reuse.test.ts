import { describe, expect, it } from 'vitest';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, VIRQ_ARGO } from '../../src/index.js';

// A lookup made before L1 is taken (sendv's destination, register's partner) must still be about the
// same domain once L1 is held: Xen pins the domain with an RCU reference; argosim re-checks the slot's
// generation under R(L1), and domains are published and retired only under W(L1).
describe('domain slot reuse between lookup and L1 (§8.6)', () => {
  function setup() {
    const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 3 });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const a = new ArgoGuest(platformOf(hv, 1));
    new ArgoGuest(platformOf(hv, 2)).registerRing({ aport: 7, partner: 1, len: 4032 });
    return { hv, a };
  }

  /** Runs `during` once, from inside the next XSM hook of kind `hook` (before L1 is taken). */
  function interleave(hv: ReturnType<typeof setup>['hv'], hook: 'argoSend' | 'argoRegisterSingleSource', during: () => void) {
    const xsm = hv.xsm as unknown as Record<string, (...args: number[]) => number>;
    const original = xsm[hook];
    xsm[hook] = (...args: number[]) => {
      xsm[hook] = original;
      during();
      return original(...args);
    };
  }

  it('a send whose destination is reaped and its slot reused never lands in the new domain', () => {
    const { hv, a } = setup();
    let impostor: ArgoGuest | undefined;
    interleave(hv, 'argoSend', () => {
      hv.destroyDomain(2);
      hv.createDomain({ domid: 34 }); // takes slot of domain 2 (only 3 slots)
      impostor = new ArgoGuest(platformOf(hv, 34));
      impostor.registerRing({ aport: 7, partner: 1, len: 4032 });
    });
    expect(a.sendvRaw({ domid: 2, aport: 7 }, [{ gpa: 0, len: 0 }])).toBe(-ERRNO.ECONNREFUSED);
    expect(hv.argoState(34)!.rings[0].tx).toBe(0);
    expect(hv.virqPending(34, VIRQ_ARGO)).toBe(false);
    expect(impostor).toBeDefined();
  });

  it('a register whose partner is reaped and its slot reused fails as a partner without Argo state', () => {
    const { hv } = setup();
    hv.createDomain({ domid: 3 });
    const c = new ArgoGuest(platformOf(hv, 3));
    interleave(hv, 'argoRegisterSingleSource', () => {
      hv.destroyDomain(1);
      hv.createDomain({ domid: 35 });
    });
    expect(() => c.registerRing({ aport: 9, partner: 1, len: 4032 })).toThrow(expect.objectContaining({ code: 'ECONNREFUSED' }));
    expect(hv.argoState(35)!.sendInfo).toEqual([]);
    expect(hv.argoState(3)!.rings).toEqual([]);
  });
});
