/** Xen's page size: only 4 KiB pages are supported by Argo (argo.md §1). */
export const PAGE_SIZE = 4096;
/** log2 of `PAGE_SIZE`: gfn = gpa >> PAGE_SHIFT. */
export const PAGE_SHIFT = 12;
/** Largest guest memory one domain may have in this model (1 GiB): a loud limit, not silent growth. */
export const GUEST_MEMORY_BYTES_MAX = 1 << 30;
