/**
 * What a xenstore client (libxl, a guest's xenbus, a backend) asks of xenstored: the requests of the
 * wire protocol, each answered with a value or `true`, else a negative errno. `Xenstore` (the store
 * itself) answers them directly; `XenstoredPort` (machines/implementations/xenstore-core.ts) sends
 * each as an event to the xenstored actor, which answers from the same store.
 *
 * @example
 * ```ts
 * function clearShutdown(xs: XenstoreApi, domid: number) { return xs.rm(domid, `/local/domain/${domid}/control/shutdown`); }
 * ```
 */
export interface XenstoreApi {
  /** XS_READ. */
  read(domid: number, path: string, tx?: number): string | number;
  /** XS_WRITE (parents made as needed). */
  write(domid: number, path: string, value: string, tx?: number): true | number;
  /** XS_DIRECTORY. */
  directory(domid: number, path: string): string[] | number;
  /** XS_RM (the node and everything under it). */
  rm(domid: number, path: string, tx?: number): true | number;
  /** XS_SET_PERMS: `reader` may read the node. */
  grantRead(domid: number, path: string, reader: number): true | number;
  /** XS_SET_PERMS: `writer` may write the node and create under it. */
  grantWrite(domid: number, path: string, writer: number): true | number;
  /** XS_WATCH: `fn(path, token)` on a change at or under `path` (and once at once); returns XS_UNWATCH. */
  watch(domid: number, path: string, token: string, fn: (path: string, token: string) => void): () => void;
  /** XS_TRANSACTION_START. */
  transactionStart(domid: number): number;
  /** XS_TRANSACTION_END. */
  transactionEnd(domid: number, tx: number, commit?: boolean): true | number;
  /** Operations made by `domid` so far. */
  opsBy(domid: number): number;
}

/**
 * XS_READ as a value: the node's string, or null when it cannot be read (absent, or not allowed).
 *
 * @example
 * ```ts
 * xsRead(xs, 1, '/local/domain/1/backend/vif/3/0/state'); // '4', or null once it is gone
 * ```
 */
export function xsRead(store: XenstoreApi, domid: number, path: string): string | null {
  const value = store.read(domid, path);
  return typeof value === 'string' ? value : null;
}

/**
 * XS_DIRECTORY as a list: the node's children, none when it cannot be read.
 *
 * @example
 * ```ts
 * xsChildren(xs, 0, '/local/domain'); // ['0', '1', '3']
 * ```
 */
export function xsChildren(store: XenstoreApi, domid: number, path: string): string[] {
  const children = store.directory(domid, path);
  return typeof children === 'number' ? [] : children;
}
