import { errnoName, type ErrnoName } from '../xen/errno.js';

/**
 * A failed Argo operation as the guest library reports it: the errno (positive), its name and the
 * operation.
 *
 * @example
 * ```ts
 * try { guest.sendNow(dst, bytes); } catch (e) { if (e instanceof ArgoError && e.code === 'EAGAIN') ... }
 * ```
 */
export class ArgoError extends Error {
  readonly errno: number;
  readonly code: ErrnoName | 'UNKNOWN';

  constructor(
    readonly op: string,
    result: number,
    detail = '',
  ) {
    const errno = Math.abs(result);
    const code = errnoName(errno) ?? 'UNKNOWN';
    super(`${op}: ${code} (${errno})${detail ? `: ${detail}` : ''}`);
    this.name = 'ArgoError';
    this.errno = errno;
    this.code = code;
  }
}

/** Throws an ArgoError for a negative hypercall result; returns a non-negative one. */
export function check(op: string, result: number, detail?: string): number {
  if (result < 0) throw new ArgoError(op, result, detail);
  return result;
}
