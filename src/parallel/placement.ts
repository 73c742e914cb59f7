/**
 * Which worker hosts which domain: injected, as every source of nondeterminism is
 * (ARCHITECTURE.md principle 4). Given the domains in scenario order and the number of workers, a
 * placement returns a worker index for each.
 *
 * @example
 * ```ts
 * roundRobin([0, 1, 2, 3, 4], 2); // [0, 1, 0, 1, 0]
 * ```
 */
export type Placement = (domids: readonly number[], workers: number) => number[];

/** The default: domain i on worker i mod N. */
export const roundRobin: Placement = (domids, workers) => domids.map((_, i) => i % workers);

/**
 * Checks a placement's answer: one worker index in [0, workers) per domain. A bad placement is a
 * caller's bug, reported with the values.
 */
export function checkedPlacement(placement: Placement, domids: readonly number[], workers: number): number[] {
  const out = placement(domids, workers);
  if (out.length !== domids.length) throw new RangeError(`placement returned ${out.length} workers for ${domids.length} domains`);
  out.forEach((w, i) => {
    if (!Number.isInteger(w) || w < 0 || w >= workers) throw new RangeError(`placement put domain ${domids[i]} on worker ${w}, not in [0, ${workers})`);
  });
  return out;
}
