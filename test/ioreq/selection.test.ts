import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_TYPE_PCI_CONFIG, IOREQ_WRITE, pciSbdf, XEN_DMOP_IO_RANGE_MEMORY, XEN_DMOP_IO_RANGE_PCI } from '../../src/ioreq/constants.js';
import { Rangeset } from '../../src/ioreq/rangeset.js';
import { accessSpan, selectServer } from '../../src/ioreq/select-server.js';
import { bringUp, DOM0, MMIO_BASE, MMIO_LAST, TARGET, world } from './harness.js';

const MEM = XEN_DMOP_IO_RANGE_MEMORY;

describe('server selection (virtio-ioreq-lifecycle.md §5.6)', () => {
  it('case 28: an access to a range of a disabled server is not delivered (x86 read ~0, write dropped; Arm abort); after enable it is', () => {
    const w = world();
    const emu = bringUp(w, { enable: false });
    const read = { type: IOREQ_TYPE_COPY, addr: MMIO_BASE + 4, size: 4, dir: IOREQ_READ } as const;
    expect(w.ioreq.access(TARGET, 0, read)).toEqual({ kind: 'ignored', data: 0xffffffffn, reason: 'no-server' });
    expect(w.ioreq.access(TARGET, 0, { ...read, dir: IOREQ_WRITE, data: 5n })).toEqual({ kind: 'ignored', data: 0n, reason: 'no-server' });
    expect(emu.heard).toEqual([]);
    w.ioreq.setServerState(DOM0, TARGET, emu.id, true);
    expect(w.ioreq.access(TARGET, 0, read)).toEqual({ kind: 'blocked', server: emu.id });
    const arm = world({ arch: 'arm' });
    bringUp(arm, { enable: false });
    expect(arm.ioreq.access(TARGET, 0, read)).toEqual({ kind: 'abort', reason: 'no-server' });
  });

  it('case 29: an access spanning the end of a mapped range is not delivered to that server', () => {
    const w = world();
    const emu = bringUp(w);
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: MMIO_LAST - 1, size: 4, dir: IOREQ_READ }).kind).toBe('ignored');
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: MMIO_LAST - 3, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    // a rep access is selected on its whole span: 3 × 4 bytes from 0x1f8 run past 0x1ff
    expect(accessSpan({ type: IOREQ_TYPE_COPY, addr: MMIO_LAST - 7, size: 4, count: 3, df: false })).toEqual({ first: MMIO_LAST - 7, last: MMIO_LAST + 4 });
    expect(emu.heard).toHaveLength(1);
  });

  it('§5.1 newest first: overlapping servers, the higher id wins; a disabled newer server is skipped', () => {
    const w = world();
    const older = bringUp(w);
    const newer = bringUp(w, { first: MMIO_BASE + 0x100, last: MMIO_BASE + 0x1ff });
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: MMIO_BASE + 0x100, size: 4, dir: IOREQ_READ })).toEqual({ kind: 'blocked', server: newer.id });
    expect(w.ioreq.access(TARGET, 1, { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4, dir: IOREQ_READ })).toEqual({ kind: 'blocked', server: older.id });
    w.ioreq.setServerState(DOM0, TARGET, newer.id, false);
    const servers = w.ioreq.servers(TARGET).map((s) => ({ ...s, ranges: s.ranges }));
    const chosen = selectServer(
      servers.map((s) => ({ id: s.id, enabled: s.enabled, ranges: s.ranges.map((list) => rangesetOf(list)) })),
      { type: IOREQ_TYPE_COPY, addr: MMIO_BASE + 0x100, size: 4, count: 1, df: false },
    );
    expect(chosen?.id).toBe(older.id);
  });

  it('§5.6 PCI: a config access is matched by its SBDF (addr >> 32)', () => {
    const w = world();
    const emu = bringUp(w, { enable: false });
    const sbdf = pciSbdf(0, 0, 3, 0);
    w.ioreq.mapIoRange(DOM0, TARGET, emu.id, XEN_DMOP_IO_RANGE_PCI, sbdf, sbdf);
    w.ioreq.setServerState(DOM0, TARGET, emu.id, true);
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_PCI_CONFIG, addr: sbdf * 2 ** 32 + 0x10, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    expect(w.ioreq.access(TARGET, 1, { type: IOREQ_TYPE_PCI_CONFIG, addr: (sbdf + 8) * 2 ** 32, size: 4, dir: IOREQ_READ }).kind).toBe('ignored');
  });

  const server = fc.record({
    enabled: fc.boolean(),
    ranges: fc.array(fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 200 })), { maxLength: 6 }),
  });
  fcTest.prop([fc.array(fc.option(server, { nil: undefined }), { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 4300 }), fc.constantFrom(1, 2, 4, 8), fc.integer({ min: 1, max: 4 })])(
    'property: the newest enabled server whose one range covers the whole access is chosen, else none',
    (specs, addr, size, count) => {
      const servers = specs.map((spec, id) => {
        if (!spec) return undefined;
        const ranges = [new Rangeset(), new Rangeset(), new Rangeset()];
        for (const [s, len] of spec.ranges) if (!ranges[MEM].overlaps(s, s + len)) ranges[MEM].add(s, s + len);
        return { id, enabled: spec.enabled, ranges };
      });
      const access = { type: IOREQ_TYPE_COPY, addr, size, count, df: false };
      const last = addr + size * count - 1;
      // reference: the merged ranges, searched from the highest id down
      const expected = [...servers].reverse().find((s) => s?.enabled && s.ranges[MEM].list().some((r) => r.start <= addr && last <= r.end));
      expect(selectServer(servers, access)?.id).toBe(expected?.id);
    },
  );
});

function rangesetOf(list: Array<{ start: number; end: number }>): Rangeset {
  const set = new Rangeset();
  for (const r of list) set.add(r.start, r.end);
  return set;
}
