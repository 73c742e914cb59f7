import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/xen/errno.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';

describe('xenstore (keys, permissions, watches, transactions, quotas)', () => {
  it('a domain writes only under its home; dom0 anywhere, and what it writes in a home belongs to that domain', () => {
    const xs = new Xenstore();
    xs.introduce(1);
    xs.introduce(2);
    expect(xs.write(1, '/local/domain/1/data/x', 'a')).toBe(true);
    expect(xs.write(1, '/local/domain/2/data/x', 'a')).toBe(-ERRNO.EACCES);
    expect(xs.write(0, '/local/domain/2/control/shutdown', 'poweroff')).toBe(true);
    expect(xs.read(2, '/local/domain/2/control/shutdown')).toBe('poweroff');
    expect(xs.rm(2, '/local/domain/2/control/shutdown')).toBe(true); // the guest may clear its own node
    expect(xs.read(1, '/local/domain/2/data')).toBe(-ERRNO.ENOENT);
    expect(xs.write(0, '/vm/abc/name', 'guest')).toBe(true);
    expect(xs.read(1, '/vm/abc/name')).toBe(-ERRNO.EACCES);
    expect(xs.grantRead(0, '/vm/abc/name', 1)).toBe(true);
    expect(xs.read(1, '/vm/abc/name')).toBe('guest');
    expect(xs.read(0, 'no-slash')).toBe(-ERRNO.EINVAL);
    expect(xs.directory(0, '/local/domain')).toEqual(['1', '2']);
  });

  it('a watch fires once when set, then on a change at or under its path; special watches on domain events', () => {
    const xs = new Xenstore();
    xs.introduce(1);
    const seen: string[] = [];
    const unwatch = xs.watch(1, '/local/domain/1/control', 't', (p) => seen.push(p));
    xs.write(0, '/local/domain/1/control/shutdown', 'suspend');
    xs.write(0, '/local/domain/1/other', 'x');
    xs.rm(1, '/local/domain/1/control/shutdown');
    unwatch();
    xs.write(0, '/local/domain/1/control/shutdown', 'poweroff');
    expect(seen).toEqual(['/local/domain/1/control', '/local/domain/1/control/shutdown', '/local/domain/1/control/shutdown']);
    const released: string[] = [];
    xs.watch(0, '@releaseDomain', 'r', (p) => released.push(p));
    xs.release(1);
    expect(released).toEqual(['@releaseDomain', '@releaseDomain']);
    expect(xs.paths().some((p) => p.startsWith('/local/domain/1'))).toBe(false);
  });

  it('a transaction that read a node changed since ends in EAGAIN; a clean one commits its writes at the end', () => {
    const xs = new Xenstore();
    xs.introduce(3);
    xs.write(0, '/local/domain/3/control/shutdown', 'suspend');
    const tx = xs.transactionStart(0);
    expect(xs.read(0, '/local/domain/3/control/shutdown', tx)).toBe('suspend');
    expect(xs.rm(0, '/local/domain/3/control/shutdown', tx)).toBe(true);
    expect(xs.read(0, '/local/domain/3/control/shutdown')).toBe('suspend'); // not yet
    xs.rm(3, '/local/domain/3/control/shutdown'); // the guest acknowledges meanwhile
    expect(xs.transactionEnd(0, tx)).toBe(-ERRNO.EAGAIN);
    const again = xs.transactionStart(0);
    expect(xs.read(0, '/local/domain/3/control/shutdown', again)).toBe(-ERRNO.ENOENT);
    expect(xs.transactionEnd(0, again)).toBe(true);
    expect(xs.transactionEnd(0, 999)).toBe(-ERRNO.ENOENT);
  });

  it('quota: a domain may own so many nodes; past it ENOSPC, and removing frees them', () => {
    const xs = new Xenstore(5);
    xs.introduce(4); // /local/domain/4 is its first node
    for (let i = 0; i < 4; i++) expect(xs.write(4, `/local/domain/4/n${i}`, 'v')).toBe(true);
    expect(xs.write(4, '/local/domain/4/n4', 'v')).toBe(-ERRNO.ENOSPC);
    expect(xs.rm(4, '/local/domain/4/n0')).toBe(true);
    expect(xs.write(4, '/local/domain/4/n4', 'v')).toBe(true);
    expect(xs.opsBy(4)).toBe(7);
  });
});
