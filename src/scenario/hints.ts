/**
 * Words for scenario error messages: how a YAML value reads back to its author, and the known name
 * a misspelt one was probably meant to be.
 *
 * @example
 * ```ts
 * describeValue('4MB');                       // '"4MB"'
 * didYouMean('memroy', ['name', 'memory']);   // 'memory'
 * ```
 */

/**
 * A value as the scenario's author wrote it: strings quoted, collections by their YAML kind.
 *
 * @example
 * ```ts
 * describeValue(null);   // 'nothing (null)'
 * describeValue([1, 2]); // 'a list'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nothing (null)';
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** Suggestions further than this (edits per 3 characters of the word) are noise, not typos. */
const EDITS_PER_CHARS = 3;

/**
 * The known name closest to `word`, if it is close enough to be a typo (a case-only difference, or
 * about one edit per three characters); undefined otherwise.
 *
 * @example
 * ```ts
 * didYouMean('argo', ['ARGO', 'XSM']); // 'ARGO'
 * didYouMean('colour', ['name']);      // undefined
 * ```
 */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameButCase = known.find((k) => k.toLowerCase() === lower);
  if (sameButCase !== undefined) return sameButCase;
  const limit = Math.max(1, Math.floor(word.length / EDITS_PER_CHARS));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = editDistance(lower, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2] + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1];
}
