import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/xen/errno.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';

// virtio-ioreq-lifecycle.md §6.7 R19 (XSA-322, XSA-419, Xen db471408ed): nodes a domain owns outside
// its home, and what becomes of them when it is released.

function withNodeOutsideHome(options = {}) {
  const xs = new Xenstore(1000, options);
  xs.introduce(1);
  xs.write(0, '/local/domain/0/device-model/2', '');
  return xs;
}

describe('xenstore: write permission outside a home, ownership, and release (R19)', () => {
  it('a domain creates nodes outside its home only where it was given write permission; it owns them, within its quota', () => {
    const xs = withNodeOutsideHome();
    expect(xs.write(1, '/local/domain/0/device-model/2/state', 'running')).toBe(-ERRNO.EACCES);
    expect(xs.grantWrite(1, '/local/domain/0/device-model/2', 1)).toBe(-ERRNO.EACCES); // only dom0 or the owner grants
    expect(xs.grantWrite(0, '/local/domain/0/device-model/2', 1)).toBe(true);
    const before = xs.nodesOwnedBy(1);
    expect(xs.write(1, '/local/domain/0/device-model/2/state', 'running')).toBe(true);
    expect(xs.ownerOf('/local/domain/0/device-model/2/state')).toBe(1);
    expect(xs.ownerOf('/local/domain/0/device-model/2')).toBe(0);
    expect(xs.nodesOwnedBy(1)).toBe(before + 1);
    expect(xs.write(1, '/local/domain/0/other', 'x')).toBe(-ERRNO.EACCES); // the grant is for that directory only
  });

  it('today: a released domain\'s nodes go with it, wherever they are — a domain with its domid later finds nothing', () => {
    const xs = withNodeOutsideHome();
    xs.grantWrite(0, '/local/domain/0/device-model/2', 1);
    xs.write(1, '/local/domain/0/device-model/2/state', 'running');
    xs.release(1);
    expect(xs.ownerOf('/local/domain/0/device-model/2/state')).toBeUndefined();
    expect(xs.ownedBy(1)).toEqual([]);
    expect(xs.nodesOwnedBy(1)).toBe(0);
    expect(xs.ownerOf('/local/domain/0/device-model/2')).toBe(0); // dom0's directory stays
  });

  it('deadDomainNodesToDom0 (before db471408ed): the nodes survive as dom0\'s, outside every quota', () => {
    const xs = withNodeOutsideHome({ deadDomainNodesToDom0: true });
    xs.grantWrite(0, '/local/domain/0/device-model/2', 1);
    xs.write(1, '/local/domain/0/device-model/2/state', 'running');
    xs.release(1);
    expect(xs.ownerOf('/local/domain/0/device-model/2/state')).toBe(0);
    expect(xs.read(0, '/local/domain/0/device-model/2/state')).toBe('running');
    expect(xs.nodesOwnedBy(1)).toBe(0); // no longer on domain 1's quota, nor on anyone's
    expect(xs.paths().some((p) => p.startsWith('/local/domain/1'))).toBe(false); // the home goes either way
  });

  it('the quota counts nodes created outside the home: past it, ENOSPC there too', () => {
    const xs = new Xenstore(3);
    xs.introduce(1); // its home: 1 node
    xs.write(0, '/shared', '');
    xs.grantWrite(0, '/shared', 1);
    expect(xs.write(1, '/shared/a', 'x')).toBe(true);
    expect(xs.write(1, '/shared/b', 'x')).toBe(true);
    expect(xs.write(1, '/shared/c', 'x')).toBe(-ERRNO.ENOSPC);
  });

  it('a watch on a node inside a removed tree fires, with that node\'s path (xenstored fires one for every node XS_RM deletes)', () => {
    const xs = new Xenstore();
    xs.introduce(1);
    xs.write(0, '/local/domain/1/backend/virtio/2/vdb/state', '4');
    const seen: string[] = [];
    xs.watch(0, '/local/domain/1/backend/virtio/2/vdb/state', 'libxl', (path) => seen.push(path));
    xs.release(1);
    expect(seen).toEqual(['/local/domain/1/backend/virtio/2/vdb/state', '/local/domain/1/backend/virtio/2/vdb/state']);
  });
});
