import { describe, expect, it } from 'vitest';
import { ArgoDriver, ARGO_PORTS_EXHAUSTED, createHypervisor, findSparePort, platformOf, randomPort, VirtualClock } from '../../../src/index.js';

const fixed = (value: number) => ({ u32: () => value });

describe('Linux driver auto ports', () => {
  it('sets the top bit and folds values above 0xF0000000 down by 0x10000000', () => {
    expect(randomPort(fixed(0))).toBe(0x80000000);
    expect(randomPort(fixed(0x12345678))).toBe(0x92345678);
    expect(randomPort(fixed(0xf0000000))).toBe(0xf0000000);
    expect(randomPort(fixed(0xf0000001))).toBe(0xe0000001);
    expect(randomPort(fixed(0xffffffff))).toBe(0xefffffff);
  });

  it('falls back to the largest port in use + 1 when the random one is taken', () => {
    expect(findSparePort([5, 0x90000000], fixed(0x10000000))).toBe(0x90000000 + 1);
    expect(findSparePort([0x90000000], fixed(0x10000000))).toBe(0x90000001);
    expect(findSparePort([5], fixed(0x80000005))).toBe(0x80000005); // free: taken as is
    expect(findSparePort([0x80000000], fixed(0))).toBe(0x80000001); // max starts at 0x80000000
    expect(findSparePort([0x80000000, 0xfffffffe], fixed(0))).toBe(ARGO_PORTS_EXHAUSTED);
  });

  it('two auto binds with the same random value get distinct ports; exhaustion is ENOSPC', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const driver = new ArgoDriver(platformOf(hv, 1), { clock: new VirtualClock(), random: fixed(0x2000) });
    const bind = (aport = 0) => {
      const s = driver.openDgram();
      s.setRingSize(48);
      return s.bind({ partnerId: 2, aport }).aport;
    };
    expect(bind()).toBe(0x80002000);
    expect(bind()).toBe(0x80002001);
    bind(0xfffffffe);
    expect(bind(0x80002000 + 5)).toBe(0x80002005); // explicit ports are taken as given
    expect(() => bind()).toThrow(expect.objectContaining({ code: 'ENOSPC' }));
  });
});
