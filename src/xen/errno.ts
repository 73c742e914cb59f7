/**
 * Xen's public errno values (xen/include/public/errno.h; equal to Linux x86). Hypercalls return
 * `-ERRNO.X` on failure.
 *
 * @example
 * ```ts
 * if (hv.argoOp(1, XEN_ARGO_OP_notify, 0, 0, 0, 0) === -ERRNO.ENODEV) { ... }
 * ```
 */
export const ERRNO = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENOTTY: 25,
  ENOSPC: 28,
  EPIPE: 32,
  ERANGE: 34,
  EOVERFLOW: 75,
  /** Xen-internal: the hypercall was preempted and must be made again (a continuation). */
  ERESTART: 85,
  ENOSYS: 38,
  ENODATA: 61,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EINPROGRESS: 115,
} as const);

/** The name of an errno, e.g. `'EINVAL'`. */
export type ErrnoName = keyof typeof ERRNO;

const NAME_BY_VALUE = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, value]) => [value, name]),
);

/**
 * The name of a positive errno value, or of a negative hypercall result.
 *
 * @example
 * ```ts
 * errnoName(-22); // 'EINVAL'
 * ```
 */
export function errnoName(value: number): ErrnoName | undefined {
  return NAME_BY_VALUE.get(Math.abs(value));
}
