import { PAGE_SIZE } from '../memory/constants.js';
import type { PageAllocator } from '../memory/page-allocator.js';

/**
 * Returns the pages of a contiguous run `allocateBytes(bytes)` gave at `gpa` (a vring, a buffer arena).
 *
 * @example
 * ```ts
 * const arena = pages.allocateBytes(bytes);
 * freeRun(pages, arena, bytes);
 * ```
 */
export function freeRun(pages: PageAllocator, gpa: number, bytes: number): void {
  const first = gpa / PAGE_SIZE;
  pages.free(Array.from({ length: Math.max(1, Math.ceil(bytes / PAGE_SIZE)) }, (_, i) => first + i));
}
