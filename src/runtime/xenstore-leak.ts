import type { Xenstore } from '../xenstore/xenstore.js';

/**
 * xenstored's release of a dead domain, watched by the monitor `xenstore-leak`
 * (virtio-ioreq-lifecycle.md §6.7 R19): every node the domain owned — in its home and anywhere it was
 * given write permission — is gone after the release. Before Xen db471408ed the nodes outside its
 * home were given to dom0 (XSA-322), where no quota counts them (XSA-419): `violate` names them.
 * `release` makes the release (default: the store's own; a run sends RELEASE to its xenstored actor).
 *
 * @example
 * ```ts
 * releaseChecked(xs, 2, 'driverdom', (what) => violations.push(what));
 * ```
 */
export function releaseChecked(store: Xenstore, domid: number, name: string, violate: (what: string) => void, release = () => store.release(domid)): void {
  const owned = store.ownedBy(domid);
  release();
  const left = owned.filter((path) => store.ownerOf(path) !== undefined);
  if (left.length === 0) return;
  const owners = [...new Set(left.map((path) => store.ownerOf(path)))].map((d) => (d === 0 ? 'dom0, outside any quota' : `domain ${d}`)).join(', ');
  violate(`xenstore-leak: domain ${name} (${domid}) is dead, yet ${left.length} node${left.length === 1 ? '' : 's'} it owned survive${left.length === 1 ? 's' : ''} (now owned by ${owners}): ${left.join(', ')}`);
}
