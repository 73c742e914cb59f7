import { ERRNO } from '../xen/errno.js';
import type { XenstoreApi } from './xenstore-api.js';

/**
 * xenstored as the toolstack, the guests and the backends use it (docs/xenstore.md): a tree of
 * nodes with values and an owner, per-domain permissions (a domain writes only under its own
 * `/local/domain/<domid>`, and reads only there and what it was given; dom0 does anything), watches
 * (a path and its descendants; `@releaseDomain` and `@introduceDomain` are special watches fired by
 * the hypervisor's domain events), transactions with optimistic concurrency (a transaction that read
 * or wrote a node someone else changed since ends in EAGAIN, as `xs_transaction_end` does), and the
 * per-domain quota on nodes (xenstored's `quota-nb-entry-per-domain`, 1000 by default: ENOSPC past
 * it). Every operation a domain makes is counted (`opsBy`), so a run can report who used xenstore.
 * A node belongs to the domain that created it (xenstored's owner), except that what dom0 creates in a
 * domain's home belongs to that domain; a domain creates nodes outside its home only where it was
 * given write permission (`grantWrite`). When a domain is released, every node it owns goes with it,
 * wherever it is (virtio-ioreq-lifecycle.md §6.7 R19, Xen db471408ed) — or, with the historical bug
 * `deadDomainNodesToDom0`, the nodes outside its home are kept and given to dom0 (XSA-322's answer),
 * outside every quota (XSA-419).
 *
 * Results follow xenstored's wire protocol: a value or `true`, else a negative errno.
 *
 * @example
 * ```ts
 * const xs = new Xenstore();
 * xs.introduce(1);
 * xs.write(0, '/local/domain/1/control/shutdown', 'poweroff');
 * xs.watch(1, '/local/domain/1/control', 'ctl', (path) => console.log(path));
 * xs.rm(1, '/local/domain/1/control/shutdown'); // the guest acknowledges: the watch fires
 * ```
 */
export class Xenstore implements XenstoreApi {
  private readonly nodes = new Map<string, XsNode>();
  private readonly watches: XsWatch[] = [];
  private readonly transactions = new Map<number, XsTransaction>();
  private readonly ops = new Map<number, number>();
  private readonly owned = new Map<number, number>();
  private nextTransaction = 1;
  /** Bumped on every change: a node's `changed` is the generation of its last change. */
  private generation = 0;

  constructor(
    readonly quotaPerDomain = 1000,
    private readonly options: XenstoreOptions = {},
  ) {
    this.nodes.set('/', { value: '', owner: 0, readers: new Set(), writers: new Set(), changed: 0 });
  }

  /** A new domain: its home `/local/domain/<domid>`, owned by it, and `@introduceDomain` fires. */
  introduce(domid: number): void {
    const home = homeOf(domid);
    this.ensure(0, home);
    this.fire('@introduceDomain');
  }

  /**
   * A domain went away (dying, or shut down): its home is removed, then every node it owned elsewhere
   * (lifecycle §6.7 R19: deleted, Xen db471408ed; with `deadDomainNodesToDom0`, given to dom0 as
   * XSA-322 did, outside any quota), and `@releaseDomain` fires.
   */
  release(domid: number, removeHome = true): void {
    if (removeHome) {
      this.removeTree(homeOf(domid));
      for (const path of this.ownedBy(domid)) {
        const node = this.nodes.get(path);
        if (!node || node.owner !== domid) continue; // gone with a tree removed before it
        if (this.options.deadDomainNodesToDom0) this.chown(path, node, 0);
        else this.removeTree(path);
      }
    }
    this.fire('@releaseDomain');
  }

  /** Every path `domid` owns now (sorted). */
  ownedBy(domid: number): string[] {
    const out: string[] = [];
    for (const [path, node] of this.nodes) if (node.owner === domid && path !== '/') out.push(path);
    return out.sort();
  }

  /** The owner of `path`, or undefined when there is no such node (for monitors and tests: no access check). */
  ownerOf(path: string): number | undefined {
    return this.nodes.get(path)?.owner;
  }

  /** Nodes owned by `domid` now (what its quota counts). */
  nodesOwnedBy(domid: number): number {
    return this.owned.get(domid) ?? 0;
  }

  /** XS_READ: the value, or -ENOENT / -EACCES. */
  read(domid: number, path: string, tx = 0): string | number {
    this.count(domid);
    const bad = this.check(path);
    if (bad) return bad;
    const node = this.view(tx).get(path);
    if (!node) return -ERRNO.ENOENT;
    if (!this.mayRead(domid, path, node)) return -ERRNO.EACCES;
    this.transactions.get(tx)?.read.set(path, node.changed);
    return node.value;
  }

  /** XS_WRITE (parents made as needed): true, or -EACCES / -ENOSPC / -EINVAL. */
  write(domid: number, path: string, value: string, tx = 0): true | number {
    this.count(domid);
    const bad = this.check(path);
    if (bad) return bad;
    if (!this.mayWrite(domid, path)) return -ERRNO.EACCES;
    const t = this.transactions.get(tx);
    if (t) {
      t.writes.set(path, value);
      return true;
    }
    return this.ensure(domid, path, value);
  }

  /** XS_DIRECTORY: the children's names, sorted; -ENOENT / -EACCES. */
  directory(domid: number, path: string): string[] | number {
    this.count(domid);
    const bad = this.check(path);
    if (bad) return bad;
    const node = this.nodes.get(path);
    if (!node) return -ERRNO.ENOENT;
    if (!this.mayRead(domid, path, node)) return -ERRNO.EACCES;
    const prefix = path === '/' ? '/' : `${path}/`;
    const names = new Set<string>();
    for (const p of this.nodes.keys()) if (p.startsWith(prefix) && p !== path) names.add(p.slice(prefix.length).split('/')[0]);
    return [...names].sort();
  }

  /** XS_RM (the node and everything under it): true, or -ENOENT / -EACCES. */
  rm(domid: number, path: string, tx = 0): true | number {
    this.count(domid);
    const bad = this.check(path);
    if (bad) return bad;
    if (!this.view(tx).has(path)) return -ERRNO.ENOENT;
    if (!this.mayWrite(domid, path)) return -ERRNO.EACCES;
    const t = this.transactions.get(tx);
    if (t) {
      t.writes.set(path, null);
      return true;
    }
    this.removeTree(path);
    return true;
  }

  /** XS_SET_PERMS, simplified: `reader` may read the node (dom0 and the owner always may). */
  grantRead(domid: number, path: string, reader: number): true | number {
    this.count(domid);
    const node = this.nodes.get(path);
    if (!node) return -ERRNO.ENOENT;
    if (domid !== 0 && domid !== node.owner) return -ERRNO.EACCES;
    node.readers.add(reader);
    return true;
  }

  /**
   * XS_SET_PERMS, simplified: `writer` may write the node and create nodes under it (which it then
   * owns, within its quota). Only dom0 and the node's owner may grant.
   */
  grantWrite(domid: number, path: string, writer: number): true | number {
    this.count(domid);
    const node = this.nodes.get(path);
    if (!node) return -ERRNO.ENOENT;
    if (domid !== 0 && domid !== node.owner) return -ERRNO.EACCES;
    node.writers.add(writer);
    node.readers.add(writer);
    return true;
  }

  /**
   * XS_WATCH: `fn(path, token)` when `path` or a node under it changes (or the special event fires);
   * like xenstored, it fires once at once. Returns the unwatch function.
   */
  watch(domid: number, path: string, token: string, fn: (path: string, token: string) => void): () => void {
    this.count(domid);
    const w: XsWatch = { domid, path, token, fn };
    this.watches.push(w);
    fn(path, token);
    return () => {
      const at = this.watches.indexOf(w);
      if (at >= 0) this.watches.splice(at, 1);
    };
  }

  /** XS_TRANSACTION_START: a transaction id. */
  transactionStart(domid: number): number {
    this.count(domid);
    const id = this.nextTransaction++;
    this.transactions.set(id, { domid, read: new Map(), writes: new Map() });
    return id;
  }

  /**
   * XS_TRANSACTION_END: commit (or abort with `commit` false). -EAGAIN when a node the transaction
   * read or wrote changed since it did (retry the transaction), -ENOENT for an unknown id.
   */
  transactionEnd(domid: number, tx: number, commit = true): true | number {
    this.count(domid);
    const t = this.transactions.get(tx);
    if (!t || t.domid !== domid) return -ERRNO.ENOENT;
    this.transactions.delete(tx);
    if (!commit) return true;
    for (const [path, seen] of t.read) if ((this.nodes.get(path)?.changed ?? -1) !== seen) return -ERRNO.EAGAIN;
    for (const [path, value] of t.writes) {
      const r = value === null ? (this.nodes.has(path) ? (this.removeTree(path), true) : true) : this.ensure(domid, path, value);
      if (r !== true) return r;
    }
    return true;
  }

  /** Operations made by `domid` so far. */
  opsBy(domid: number): number {
    return this.ops.get(domid) ?? 0;
  }

  /** Every node's path (sorted), for tests and the inspector. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  private count(domid: number): void {
    this.ops.set(domid, (this.ops.get(domid) ?? 0) + 1);
  }

  private check(path: string): number | null {
    return path.startsWith('@') || !/^\/([A-Za-z0-9_\-@.]+(\/[A-Za-z0-9_\-@.]+)*)?$/.test(path) ? -ERRNO.EINVAL : null;
  }

  /** The nodes as a transaction sees them (its own writes not included: xenstored reads the snapshot). */
  private view(_tx: number): Map<string, XsNode> {
    return this.nodes;
  }

  private mayRead(domid: number, path: string, node: XsNode): boolean {
    return domid === 0 || node.owner === domid || node.readers.has(domid) || path === '/' || isUnder(path, homeOf(domid));
  }

  /** dom0; a domain in its home; elsewhere where the node, or the nearest existing ancestor, lets it write. */
  private mayWrite(domid: number, path: string): boolean {
    if (domid === 0 || isUnder(path, homeOf(domid))) return true;
    let p = path;
    while (p !== '/' && !this.nodes.has(p)) p = parentOf(p);
    return this.nodes.get(p)!.writers.has(domid);
  }

  /** Who owns a new node: its creator, except dom0 creating in a domain's home gives it to that domain. */
  private ownerFor(domid: number, path: string): number {
    const m = /^\/local\/domain\/(\d+)(\/|$)/.exec(path);
    if (domid === 0) return m ? Number(m[1]) : 0;
    return domid;
  }

  /** Gives `node` to `owner`, moving it between quotas. */
  private chown(path: string, node: XsNode, owner: number): void {
    this.owned.set(node.owner, (this.owned.get(node.owner) ?? 1) - 1);
    this.owned.set(owner, (this.owned.get(owner) ?? 0) + 1);
    node.owner = owner;
    node.changed = ++this.generation;
    this.fire(path);
  }

  /**
   * Writes `path` and its missing parents, each owned as `ownerFor` says (a domain's home and what
   * is under it by that domain, the rest by the writer), within each owner's quota.
   */
  private ensure(domid: number, path: string, value?: string): true | number {
    const missing: string[] = [];
    for (let p = path; p !== '/' && !this.nodes.has(p); p = parentOf(p)) missing.push(p);
    const adding = new Map<number, number>();
    for (const p of missing) adding.set(this.ownerFor(domid, p), (adding.get(this.ownerFor(domid, p)) ?? 0) + 1);
    for (const [owner, n] of adding) if (owner !== 0 && (this.owned.get(owner) ?? 0) + n > this.quotaPerDomain) return -ERRNO.ENOSPC;
    const generation = ++this.generation;
    for (const p of missing.reverse()) {
      const owner = this.ownerFor(domid, p);
      // xenstored: a new node takes its parent's permissions, with its creator as owner
      const parent = this.nodes.get(parentOf(p))!;
      this.nodes.set(p, { value: '', owner, readers: new Set(parent.readers), writers: new Set(parent.writers), changed: generation });
      this.owned.set(owner, (this.owned.get(owner) ?? 0) + 1);
    }
    const node = this.nodes.get(path)!;
    if (value !== undefined) node.value = value;
    node.changed = generation;
    this.fire(path);
    return true;
  }

  private removeTree(path: string): void {
    const gone = [...this.nodes.keys()].filter((p) => p === path || p.startsWith(`${path}/`));
    if (gone.length === 0) return;
    this.generation++;
    for (const p of gone) {
      const owner = this.nodes.get(p)!.owner;
      this.owned.set(owner, (this.owned.get(owner) ?? 1) - 1);
      this.nodes.delete(p);
    }
    this.fire(path, true);
  }

  /**
   * Fires the watches on `path`, its ancestors' watches (a change under a watched node), or a special
   * event's; for a removed tree also the watches on nodes inside it, each with its own path (xenstored
   * fires a watch on every node XS_RM deletes).
   */
  private fire(path: string, removed = false): void {
    for (const w of [...this.watches]) {
      if (w.path === path || (!path.startsWith('@') && isUnder(path, w.path))) w.fn(path, w.token);
      else if (removed && !w.path.startsWith('@') && isUnder(w.path, path)) w.fn(w.path, w.token);
    }
  }
}

interface XsNode {
  value: string;
  owner: number;
  readers: Set<number>;
  /** Domains given write permission (XS_SET_PERMS): they may write it and create under it. */
  writers: Set<number>;
  changed: number;
}

/**
 * Options of `new Xenstore(quota, options)`.
 *
 * @example
 * ```ts
 * const xs = new Xenstore(1000, { deadDomainNodesToDom0: true }); // xenstored before Xen db471408ed
 * ```
 */
export interface XenstoreOptions {
  /**
   * Historical bug R19 (virtio-ioreq-lifecycle.md §6.7; XSA-322, XSA-419; fixed by Xen db471408ed):
   * the nodes a released domain owned outside its home are kept and given to dom0, outside every
   * quota, instead of deleted.
   */
  deadDomainNodesToDom0?: boolean;
}

interface XsWatch {
  domid: number;
  path: string;
  token: string;
  fn: (path: string, token: string) => void;
}

interface XsTransaction {
  domid: number;
  /** Nodes read, with the generation seen. */
  read: Map<string, number>;
  /** Writes (null: removal), applied at commit. */
  writes: Map<string, string | null>;
}

/** A domain's home directory. */
export const homeOf = (domid: number): string => `/local/domain/${domid}`;

const parentOf = (path: string): string => path.slice(0, path.lastIndexOf('/')) || '/';

const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);
