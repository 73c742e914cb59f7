/**
 * virtio-console port 0 (virtio-ioreq-lifecycle.md §3.3): config, emerg_wr at any time, output and
 * input through the driver, and the device's answer to buffers of the wrong direction.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { ConsoleDriverAccess } from '../../src/virtio/console/console-access.js';
import { VirtioConsoleDriver } from '../../src/virtio/console/console-driver.js';
import { CONSOLE_CONFIG, VIRTIO_CONSOLE_F_EMERG_WRITE, VIRTIO_CONSOLE_F_MULTIPORT, VIRTIO_CONSOLE_F_SIZE } from '../../src/virtio/console/constants.js';
import { VirtioConsole } from '../../src/virtio/console/virtio-console.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';
import { xorshift } from './harness.js';

interface Tty {
  console: VirtioConsole;
  device: VirtioDevice;
  access: ConsoleDriverAccess;
  mem: GuestMemory;
  pages: PageAllocator;
  output: number[];
}

function tty(cols = 132, rows = 43): Tty {
  const output: number[] = [];
  const mem = new GuestMemory(1 << 21);
  const pages = new PageAllocator(mem.pages);
  const console = new VirtioConsole({ cols, rows, onOutput: (b) => output.push(...b), inputPendingMax: 64 });
  const device = new VirtioDevice(mem, console);
  return { console, device, access: new ConsoleDriverAccess(device, console), mem, pages, output };
}

function live(t: Tty): { rx: DriverQueue<number>; tx: DriverQueue<number>; driver: VirtioConsoleDriver } {
  const init = initialiseDevice(t.access, t.mem, t.pages, { wanted: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_CONSOLE_F_SIZE) | bit(VIRTIO_CONSOLE_F_EMERG_WRITE), queueSizes: [16, 16] });
  if (!init.ok) throw new Error(`virtio-console init failed at ${init.failedAt}`);
  const rx = new DriverQueue<number>(t.mem, init.rings[0], { pages: t.pages, notify: () => t.device.notify(0) });
  const tx = new DriverQueue<number>(t.mem, init.rings[1], { pages: t.pages, notify: () => t.device.notify(1) });
  return { rx, tx, driver: new VirtioConsoleDriver(t.mem, t.pages, rx, tx, { rxBufferBytes: 16, txSlots: 4, txSlotBytes: 32 }) };
}

describe('virtio-console device (§3.3)', () => {
  it('is device 3 with port 0 only: two queues, SIZE and EMERG_WRITE offered, MULTIPORT not; config cols, rows, max_nr_ports', () => {
    const t = tty();
    expect(t.device.model.deviceId).toBe(3);
    expect(t.device.queueSizeMax(1)).toBeGreaterThan(0);
    expect(t.device.queueSizeMax(2)).toBe(0);
    const offered = readFeatures(t.device);
    expect(offered & bit(VIRTIO_CONSOLE_F_SIZE)).toBe(bit(VIRTIO_CONSOLE_F_SIZE));
    expect(offered & bit(VIRTIO_CONSOLE_F_EMERG_WRITE)).toBe(bit(VIRTIO_CONSOLE_F_EMERG_WRITE));
    expect(offered & bit(VIRTIO_CONSOLE_F_MULTIPORT)).toBe(0n);
    expect([t.device.readConfig(CONSOLE_CONFIG.cols, 2), t.device.readConfig(CONSOLE_CONFIG.rows, 2), t.device.readConfig(CONSOLE_CONFIG.max_nr_ports, 4)]).toEqual([132, 43, 1]);
  });

  it('writing emerg_wr outputs its low byte at any time: before initialisation, and once live', () => {
    const t = tty();
    t.access.writeConfig(CONSOLE_CONFIG.emerg_wr, 4, 0x1234_5648); // 'H', status 0
    expect(t.output).toEqual([0x48]);
    const { driver } = live(t);
    t.access.writeConfig(CONSOLE_CONFIG.emerg_wr, 4, 0x69); // 'i'
    driver.write(new Uint8Array([0x21]));
    expect(t.output).toEqual([0x48, 0x69, 0x21]);
    expect(t.console.figures.emergencyBytes).toBe(2);
    t.access.writeConfig(CONSOLE_CONFIG.cols, 2, 1); // read-only
    expect(t.device.readConfig(CONSOLE_CONFIG.cols, 2)).toBe(132);
    expect(t.device.log.count('config-write-read-only')).toBe(1);
  });

  it('output and input of 3000 random bytes each through small buffers, in order; input waits for buffers within its bound', () => {
    const random = xorshift(3);
    const t = tty();
    const { driver } = live(t);
    const out = Uint8Array.from({ length: 3000 }, () => random() & 0xff);
    for (let at = 0; at < out.length; ) at += driver.write(out.subarray(at, at + 1 + (random() % 100)));
    expect(t.output).toEqual([...out]);
    t.console.input(new Uint8Array(300)); // no buffer posted yet: 64 kept, 236 dropped
    expect([t.console.pendingInputBytes, t.console.figures.inputDropped]).toEqual([64, 236]);
    const got: number[] = [...driver.read()];
    expect(got).toEqual([]);
    driver.postRx();
    got.push(...driver.read());
    expect(got).toEqual(new Array(64).fill(0));
    const input = Uint8Array.from({ length: 3000 }, () => random() & 0xff);
    const typed: number[] = [];
    for (let at = 0; at < input.length; at += 50) {
      t.console.input(input.subarray(at, at + 50));
      typed.push(...driver.read());
    }
    typed.push(...driver.read());
    expect(typed).toEqual([...input]);
    expect(t.device.log.entries).toEqual([]);
  });

  it('§3.3 MUST NOT: a readable buffer on receiveq is logged and returned unused; a writable buffer on transmitq is logged, its readable bytes output', () => {
    const t = tty();
    const { rx, tx } = live(t);
    const at = t.pages.allocateBytes(64);
    t.mem.write(at, new Uint8Array([0x61, 0x62]));
    rx.add([{ gpa: at, len: 2 }], [{ gpa: at + 32, len: 16 }], 7);
    rx.kick();
    expect(rx.getBuf()).toMatchObject({ token: 7, len: 0 });
    t.console.input(new Uint8Array([0x7a]));
    expect(t.mem.read(at + 32, 1)[0]).toBe(0); // never filled
    tx.add([{ gpa: at, len: 2 }], [{ gpa: at + 32, len: 16 }], 8);
    tx.kick();
    expect(tx.getBuf()).toMatchObject({ token: 8, len: 0 });
    expect(t.output).toEqual([0x61, 0x62]);
    expect(t.device.log.count('request-rule-broken')).toBe(2);
    expect(t.console.figures.wrongDirectionBuffers).toBe(2);
    expect(t.device.readStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(0); // the device stays live
  });
});
