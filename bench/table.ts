/**
 * Prints rows as an aligned text table (benchmarks print tables, STYLE.md §9).
 *
 * @example
 * ```ts
 * printTable(['size', 'msg/s'], [['64 B', '1.2 M']]);
 * ```
 */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

/** 1234567 → "1.23 M". */
export function si(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(2)} k`;
  return value.toFixed(2);
}

/** Runs `step` (which returns how many items it did) for about `ms`, returning items per second. */
export function rate(ms: number, step: () => number): { perSecond: number; items: number; seconds: number } {
  const start = performance.now();
  let items = 0;
  let now = start;
  while (now - start < ms) {
    items += step();
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { perSecond: items / seconds, items, seconds };
}

/**
 * A bench flag's positive number (a whole one unless `whole` is false), or `fallback` when the flag
 * is absent; a message naming the bench and the flag otherwise.
 *
 * @example
 * ```ts
 * positiveFlag('bench:parallel', 'messages', args.messages, 20_000); // --messages 0 → an Error naming it
 * ```
 */
export function positiveFlag(bench: string, flag: string, text: string | undefined, fallback: number, whole = true): number {
  const n = text === undefined ? fallback : Number(text);
  if (!(n > 0) || (whole && !Number.isInteger(n))) throw new Error(`${bench}: --${flag} ${text} is not a positive ${whole ? 'whole ' : ''}number`);
  return n;
}
