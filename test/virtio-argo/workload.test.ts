/**
 * A whole virtio-blk workload over VirtIO-Argo (virtio-ioreq-lifecycle.md §3.2, §4.6): thousands of
 * seeded reads, writes and flushes submitted in bursts and kicked at random moments, every byte read
 * checked against a reference image, the whole disk checked at the end, and no memory shared.
 */
import { describe, expect, it } from 'vitest';
import { SECTOR_SIZE, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../../src/virtio/blk/constants.js';
import { DISK_SECTORS, blkDriver, blkPair, host, xorshift } from './harness.js';

const REQUESTS = 3000;
const SECTORS_MAX = 16;

describe('virtio-blk workload over VirtIO-Argo', () => {
  it.each([1, 0xbeef])('seed %i: every byte read matches the reference image; sharedMappings = 0', (seed) => {
    const rand = xorshift(seed);
    const pick = (n: number) => rand() % n;
    const hv = host();
    const { pair, image } = blkPair(hv);
    const { blk } = blkDriver(pair);
    if (blk === null) throw new Error('initialisation failed');
    const reference = new Uint8Array(image.length);
    const expected = new Map<number, Uint8Array | null>();
    let submitted = 0;
    let completed = 0;
    let bytesChecked = 0;
    const harvest = () => {
      for (const done of blk.harvest()) {
        expect(done.status).toBe(VIRTIO_BLK_S_OK);
        const want = expected.get(done.tag);
        if (done.type === VIRTIO_BLK_T_IN) {
          if (done.data === null || want == null || Buffer.compare(done.data, want) !== 0) expect(done.data, `read of sector ${done.sector}`).toEqual(want);
          bytesChecked += want?.length ?? 0;
        }
        expected.delete(done.tag);
        completed++;
      }
    };
    while (submitted < REQUESTS) {
      const sectors = 1 + pick(SECTORS_MAX);
      const sector = pick(DISK_SECTORS - sectors + 1);
      const kind = pick(20);
      let tag: number | null;
      if (kind === 0) tag = blk.flush();
      else if (kind < 10) {
        const data = new Uint8Array(sectors * SECTOR_SIZE);
        const words = new Uint32Array(data.buffer);
        for (let i = 0; i < words.length; i++) words[i] = rand();
        tag = blk.write(sector, data);
        if (tag !== null) reference.set(data, sector * SECTOR_SIZE); // served in ring order
      } else tag = blk.read(sector, sectors);
      if (tag === null) {
        blk.kick();
        harvest();
        continue;
      }
      expected.set(tag, kind >= 10 ? reference.slice(sector * SECTOR_SIZE, (sector + sectors) * SECTOR_SIZE) : null);
      submitted++;
      if (pick(8) === 0) {
        blk.kick();
        if (pick(2) === 0) harvest();
      }
    }
    blk.kick();
    harvest();
    expect(completed).toBe(REQUESTS);
    expect(bytesChecked).toBeGreaterThan(REQUESTS * SECTOR_SIZE);
    expect(Buffer.compare(image, reference)).toBe(0);
    const f = pair.figures();
    expect(f.frontend.requests).toBe(REQUESTS);
    expect(f.frontend.completions).toBe(REQUESTS);
    expect(f.backend.completions).toBe(REQUESTS);
    expect(f.frontend.errors + f.backend.errors).toBe(0);
    expect(pair.sharedMappings()).toBe(0);
    // at most one sendv per kick each way, and batching keeps it well under two per request (§4.6)
    const c = pair.frontend.endpoint.counters;
    expect(c.sendv / REQUESTS).toBeLessThan(1);
    expect(pair.backend.endpoint.counters.sendv).toBeLessThanOrEqual(c.sendv);
  });
});
