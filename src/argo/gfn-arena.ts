import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { G, type ArgoTables } from './tables.js';

/**
 * Allocation of gfn-list space for mapped rings in the shared arena (Xen allocates each ring's
 * `mfn_mapping` array; here one fixed arena serves every ring). First-fit over a byte map, under
 * the arena spinlock. Returns -1 when no run of `count` entries is free: a mapping failure, ENOMEM.
 *
 * @example
 * ```ts
 * const at = arenaAllocate(tables, 3); // -1 or the first entry
 * arenaFree(tables, at, 3);
 * ```
 */
export function arenaAllocate(tables: ArgoTables, count: number): number {
  const used = tables.arenaUsed;
  spinLock(tables.global, G.ARENA_LOCK, 'gfn arena');
  try {
    let run = 0;
    for (let i = 0; i < used.length; i++) {
      if (used[i] !== 0) {
        run = 0;
        continue;
      }
      if (++run === count) {
        const at = i - count + 1;
        used.fill(1, at, at + count);
        return at;
      }
    }
    return -1;
  } finally {
    spinUnlock(tables.global, G.ARENA_LOCK);
  }
}

/** Frees a run returned by `arenaAllocate`; asserts it was in use. */
export function arenaFree(tables: ArgoTables, at: number, count: number): void {
  const used = tables.arenaUsed;
  spinLock(tables.global, G.ARENA_LOCK, 'gfn arena');
  try {
    for (let i = at; i < at + count; i++) {
      if (used[i] !== 1) throw new Error(`gfn arena: entry ${i} freed but not in use (run ${at}+${count})`);
      used[i] = 0;
    }
  } finally {
    spinUnlock(tables.global, G.ARENA_LOCK);
  }
}
