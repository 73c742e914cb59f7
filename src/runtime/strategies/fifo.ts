import type { Strategy } from '../strategy.js';

/**
 * Always the earliest enabled point: virtual-time order, ties in the order they were scheduled.
 * The baseline: no interleaving is explored.
 *
 * @example
 * ```ts
 * new Scheduler({ strategy: fifoStrategy() });
 * ```
 */
export function fifoStrategy(): Strategy {
  return { name: 'fifo', pick: () => 0 };
}
