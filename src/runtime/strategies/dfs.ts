import type { Strategy } from '../strategy.js';

/**
 * Bounded depth-first search over schedules, for small scenarios: every sequence of choices in the
 * first `depth` steps, in lexicographic order, each run continuing with the earliest point after
 * `depth`. One `DfsSearch` hands out one strategy per run (`next`); after each run it backtracks to
 * the deepest step with an alternative left. `done` once every sequence was run (the search is
 * complete up to `depth`: systematic, as in CHESS and P's exhaustive mode, without partial-order
 * reduction).
 *
 * @example
 * ```ts
 * const search = new DfsSearch(12);
 * for (let s = search.next(); s; s = search.next()) createSystem(scenario, { seed, strategy: s }).run();
 * ```
 */
export class DfsSearch {
  /** The choices of the run being made, and how many points were enabled at each of its steps. */
  private prefix: number[] = [];
  private enabledAt: number[] = [];
  private started = false;
  private exhausted = false;
  /** Runs handed out. */
  runs = 0;

  constructor(readonly depth: number) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`dfs depth ${depth} must be an integer >= 1`);
  }

  /** True when every schedule up to `depth` has been run. */
  get done(): boolean {
    return this.exhausted;
  }

  /** The strategy of the next run, or null when the search is complete. */
  next(): Strategy | null {
    if (this.started && !this.backtrack()) {
      this.exhausted = true;
      return null;
    }
    this.started = true;
    this.runs++;
    const prefix = this.prefix;
    const enabledAt: number[] = [];
    this.enabledAt = enabledAt;
    return {
      name: 'dfs',
      pick: (_points, enabled, step) => {
        if (step < this.depth) enabledAt[step] = enabled;
        const choice = step < prefix.length ? prefix[step] : 0;
        return choice < enabled ? choice : 0;
      },
    };
  }

  /** The next prefix: the deepest step below `depth` whose choice can grow; false when none can. */
  private backtrack(): boolean {
    const steps = Math.min(this.depth, this.enabledAt.length);
    const choices = Array.from({ length: steps }, (_, i) => this.prefix[i] ?? 0);
    for (let i = steps - 1; i >= 0; i--) {
      if (choices[i] + 1 < this.enabledAt[i]) {
        this.prefix = [...choices.slice(0, i), choices[i] + 1];
        return true;
      }
    }
    return false;
  }
}
