import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../scenario/units.js';
import { isHistoricalBug, type HistoricalBug } from '../xen/historical-bugs.js';

/**
 * Parsers of command-line values shared by the commands: each rejects a bad value with a message
 * naming the flag and what it takes (commander prints it and exits 1).
 *
 * @example
 * ```ts
 * program.option('--until <time>', 'virtual time limit', parseUntil);
 * ```
 */
export function parseUntil(value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError(`--until takes a virtual time like 500ms or 2s: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** An integer value of `flag`. */
export function parseInteger(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} takes an integer, got "${value}"`);
    return n;
  };
}

/** An integer >= 1 value of `flag`. */
export function parseCount(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} takes an integer >= 1, got "${value}"`);
    return n;
  };
}

/** `--bugs a,b`: historical-bug switches (`argosim explore --list-bugs`). */
export function parseBugs(value: string): HistoricalBug[] {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const unknown = names.filter((n) => !isHistoricalBug(n));
  if (unknown.length > 0) throw new InvalidArgumentError(`--bugs: no historical bug "${unknown[0]}"; argosim explore --list-bugs prints them`);
  return names as HistoricalBug[];
}
