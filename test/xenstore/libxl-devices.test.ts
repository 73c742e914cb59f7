import { describe, expect, it } from 'vitest';
import { announceVirtioMmio } from '../../src/runtime/devices.js';
import { backendDirsOf, destroyLibxlDevice, libxlDevices } from '../../src/xenstore/libxl-devices.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';

// virtio-ioreq-lifecycle.md §6.4 destroy step 2 and §6.7 R10 (XSA-175): how libxl finds a domain's
// devices at destroy, and removes them.

function storeWithDisk() {
  const xs = new Xenstore();
  xs.introduce(1); // the driver domain
  xs.introduce(2); // the guest
  announceVirtioMmio(xs, 2, 1, 'vdb', 0x2000_0000);
  return xs;
}

describe('libxl device records and their enumeration (R10)', () => {
  it('device add writes libxl\'s own record under /libxl/<domid>/device, which the guest cannot write', () => {
    const xs = storeWithDisk();
    expect(xs.read(0, '/libxl/2/device/virtio/vdb/backend')).toBe('/local/domain/1/backend/virtio/2/vdb');
    expect(xs.write(2, '/libxl/2/device/virtio/vdb/backend', '/local/domain/1/backend/virtio/3/vdb')).toBeLessThan(0);
  });

  it('both enumerations agree while the guest leaves its paths alone', () => {
    const xs = storeWithDisk();
    const want = [{ type: 'virtio', name: 'vdb', frontend: '/local/domain/2/device/virtio/vdb', backend: '/local/domain/1/backend/virtio/2/vdb', backendDomid: 1 }];
    expect(libxlDevices(xs, 2, false)).toEqual(want);
    expect(libxlDevices(xs, 2, true)).toEqual(want);
  });

  it('after the guest removes its frontend directory, only libxl\'s record still finds the device', () => {
    const xs = storeWithDisk();
    expect(xs.rm(2, '/local/domain/2/device')).toBe(true);
    expect(libxlDevices(xs, 2, true)).toEqual([]);
    const [device] = libxlDevices(xs, 2, false);
    destroyLibxlDevice(xs, 2, device);
    expect(backendDirsOf(xs, 2)).toEqual([]);
    expect(xs.paths().filter((p) => p.startsWith('/local/domain/1/backend/') || p.startsWith('/libxl/2/device/'))).toEqual([]);
  });

  it('a guest that rewrites its backend node points the old enumeration at another device', () => {
    const xs = storeWithDisk();
    xs.introduce(3);
    announceVirtioMmio(xs, 3, 1, 'vdc', 0x2000_0000);
    xs.write(2, '/local/domain/2/device/virtio/vdb/backend', '/local/domain/1/backend/virtio/3/vdc');
    expect(libxlDevices(xs, 2, true)[0].backend).toBe('/local/domain/1/backend/virtio/3/vdc'); // another guest's disk
    expect(libxlDevices(xs, 2, false)[0].backend).toBe('/local/domain/1/backend/virtio/2/vdb');
  });
});
