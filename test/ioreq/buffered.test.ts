import { describe, expect, it } from 'vitest';
import { drainBuffered, bufferedPointers, BUFFERED_IOPAGE } from '../../src/ioreq/buffered-page.js';
import { HVM_IOREQSRV_BUFIOREQ_ATOMIC, HVM_IOREQSRV_BUFIOREQ_LEGACY, IOREQ_BUFFER_SLOT_NUM, IOREQ_TYPE_COPY, IOREQ_WRITE } from '../../src/ioreq/constants.js';
import { bringUp, TARGET, world } from './harness.js';

const write = (addr: number, size: 1 | 2 | 4 | 8, data: bigint) => ({ type: IOREQ_TYPE_COPY, addr, size, dir: IOREQ_WRITE, data });

describe('buffered ioreqs (virtio-ioreq-lifecycle.md §5.7)', () => {
  it('a write goes on the page byte-exactly (type, dir, size code, 20-bit addr, data), notifies the bufioreq port, blocks nobody', () => {
    const w = world();
    const emu = bringUp(w, { bufioreq: HVM_IOREQSRV_BUFIOREQ_LEGACY, first: 0xa0000, last: 0xbffff });
    expect(w.ioreq.sendBuffered(TARGET, write(0xa0010, 2, 0xbeefn))).toBe(true);
    const word = emu.bufPage!.view.getUint32(BUFFERED_IOPAGE.buf_ioreq, true);
    expect(word).toBe((IOREQ_TYPE_COPY | (0 << 9) | (1 << 10) | (0xa0010 << 12)) >>> 0);
    expect(emu.bufPage!.view.getUint32(BUFFERED_IOPAGE.buf_ioreq + 4, true)).toBe(0xbeef);
    expect(emu.heard).toEqual([emu.bufPort]);
    expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(false);
    expect(w.ioreq.sendBuffered(TARGET, write(0xa0020, 8, 0x1122334455667788n))).toBe(true); // two slots
    expect(bufferedPointers(emu.bufPage!)).toEqual({ readPointer: 0, writePointer: 3 });
    expect(drainBuffered(emu.bufPage!)).toEqual([
      { type: IOREQ_TYPE_COPY, dir: 0, size: 2, addr: 0xa0010, data: 0xbeefn },
      { type: IOREQ_TYPE_COPY, dir: 0, size: 8, addr: 0xa0020, data: 0x1122334455667788n },
    ]);
  });

  it('falls back (false) with no page, addr > 0xFFFFF, count ≠ 1, a data pointer, or a full queue (511 − qw)', () => {
    const w = world();
    bringUp(w, { first: 0xa0000, last: 0xbffff }); // no buffered page
    expect(w.ioreq.sendBuffered(TARGET, write(0xa0000, 4, 1n))).toBe(false);
    const w2 = world();
    const emu = bringUp(w2, { bufioreq: HVM_IOREQSRV_BUFIOREQ_LEGACY, first: 0xa0000, last: 0x1ffffff });
    expect(w2.ioreq.sendBuffered(TARGET, write(0x100000, 4, 1n))).toBe(false);
    expect(w2.ioreq.sendBuffered(TARGET, { ...write(0xa0000, 4, 1n), count: 2 })).toBe(false);
    expect(w2.ioreq.sendBuffered(TARGET, { ...write(0xa0000, 4, 1n), dataIsPtr: true })).toBe(false);
    for (let i = 0; i < IOREQ_BUFFER_SLOT_NUM - 1; i++) expect(w2.ioreq.sendBuffered(TARGET, write(0xa0000, 4, BigInt(i)))).toBe(true);
    expect(w2.ioreq.sendBuffered(TARGET, write(0xa0000, 8, 1n))).toBe(false); // needs 2 slots, 1 left
    expect(w2.ioreq.sendBuffered(TARGET, write(0xa0000, 4, 1n))).toBe(true);
    expect(w2.ioreq.sendBuffered(TARGET, write(0xa0000, 4, 1n))).toBe(false);
    expect(drainBuffered(emu.bufPage!)).toHaveLength(IOREQ_BUFFER_SLOT_NUM);
  });

  it('ATOMIC mode normalises both pointers below 511; LEGACY lets them grow', () => {
    for (const [mode, normalised] of [[HVM_IOREQSRV_BUFIOREQ_ATOMIC, true], [HVM_IOREQSRV_BUFIOREQ_LEGACY, false]] as const) {
      const w = world();
      const emu = bringUp(w, { bufioreq: mode, first: 0xa0000, last: 0xbffff });
      for (let i = 0; i < 700; i++) {
        w.ioreq.sendBuffered(TARGET, write(0xa0000, 4, BigInt(i)));
        expect(drainBuffered(emu.bufPage!)[0].data).toBe(BigInt(i));
      }
      w.ioreq.sendBuffered(TARGET, write(0xa0000, 4, 1n));
      const p = bufferedPointers(emu.bufPage!);
      expect(p.writePointer - p.readPointer).toBe(1);
      expect(p.readPointer < IOREQ_BUFFER_SLOT_NUM).toBe(normalised);
    }
  });
});
