import { describeValue } from './hints.js';

/**
 * Sizes, virtual durations and message rates as a scenario file writes them, read into bytes and
 * milliseconds of virtual time. A value that cannot be read throws a `UnitError` whose message says
 * what to write instead; the scenario loader adds the file, line and path.
 *
 * @example
 * ```ts
 * parseSize('4MiB');       // 4194304
 * parseDuration('500us');  // 0.5
 * parseRate('1000/s');     // 1 (ms between messages)
 * ```
 */

/** A size, duration or rate that cannot be read; the message names the value and the fix. */
export class UnitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitError';
  }
}

/** Binary size units; decimal ones (KB, MB) are refused, since 4MB would be ambiguous. */
export const SIZE_UNIT_BYTES = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;

/** Duration units in milliseconds; a bare number is milliseconds. */
export const DURATION_UNIT_MS = { us: 0.001, µs: 0.001, ms: 1, s: 1000, min: 60_000 } as const;

/** Rate units: messages per this many milliseconds. */
export const RATE_UNIT_MS = { ms: 1, s: 1000, min: 60_000 } as const;

/** The longest virtual duration a scenario may name: 10^9 ms, about 11.6 virtual days. */
export const DURATION_MS_MAX = 1_000_000_000;

const NUMBER_AND_UNIT = /^(\d+(?:\.\d+)?)\s*([A-Za-zµ]*)$/;
const RATE = /^(\d+(?:\.\d+)?)\s*\/\s*([A-Za-z]+)$/;

/**
 * Bytes from a size: a non-negative integer, or a string of a number and an optional binary unit
 * (`B`, `KiB`, `MiB`, `GiB`). The result is a whole number of bytes.
 *
 * @example
 * ```ts
 * parseSize(4096);     // 4096
 * parseSize('64B');    // 64
 * parseSize('1.5KiB'); // 1536
 * parseSize('4MB');    // throws UnitError: "4MB" is not a size; use bytes or a unit like 4MiB
 * ```
 */
export function parseSize(value: unknown): number {
  const bytes = typeof value === 'number' ? value : sizeFromText(value);
  if (!Number.isFinite(bytes) || bytes < 0) throw new UnitError(`${describeValue(value)} is not a size; sizes are bytes, 0 or more`);
  if (!Number.isInteger(bytes)) throw new UnitError(`${describeValue(value)} is not a whole number of bytes`);
  if (bytes > Number.MAX_SAFE_INTEGER) throw new UnitError(`${describeValue(value)} is too large a size`);
  return bytes;
}

function sizeFromText(value: unknown): number {
  const notASize = (like: string) => new UnitError(`${describeValue(value)} is not a size; use bytes or a unit like ${like}`);
  if (typeof value !== 'string') throw notASize('4MiB');
  const text = value.trim();
  if (text.startsWith('-')) throw new UnitError(`${describeValue(value)} is not a size; sizes are bytes, 0 or more`);
  const m = NUMBER_AND_UNIT.exec(text);
  if (!m) throw notASize('4MiB');
  const [, number, unit] = m;
  if (unit === '') return Number(number);
  if (unit in SIZE_UNIT_BYTES) return Number(number) * SIZE_UNIT_BYTES[unit as keyof typeof SIZE_UNIT_BYTES];
  throw notASize(`${number}${binaryUnitLike(unit)}`);
}

/** The binary unit a mistyped one most likely meant: KB → KiB, mb → MiB, bytes → B. */
function binaryUnitLike(unit: string): string {
  const first = unit[0].toLowerCase();
  if (first === 'k') return 'KiB';
  if (first === 'g') return 'GiB';
  if (first === 'b') return 'B';
  return 'MiB';
}

/**
 * Milliseconds of virtual time from a duration: a number (milliseconds) or a string of a number and
 * an optional unit (`us`, `ms`, `s`, `min`). Never negative, at most `DURATION_MS_MAX`.
 *
 * @example
 * ```ts
 * parseDuration(1500);    // 1500
 * parseDuration('2s');    // 2000
 * parseDuration('500us'); // 0.5
 * ```
 */
export function parseDuration(value: unknown): number {
  const ms = typeof value === 'number' ? value : durationFromText(value);
  if (!Number.isFinite(ms)) throw new UnitError(`${describeValue(value)} is not a duration; use milliseconds or a unit like 10ms, 2s, 500us`);
  if (ms < 0) throw new UnitError(`${describeValue(value)} is negative; virtual time starts at 0`);
  if (ms > DURATION_MS_MAX) throw new UnitError(`${describeValue(value)} is longer than the ${DURATION_MS_MAX} ms a scenario may name`);
  return ms;
}

function durationFromText(value: unknown): number {
  const notADuration = new UnitError(`${describeValue(value)} is not a duration; use milliseconds or a unit like 10ms, 2s, 500us`);
  if (typeof value !== 'string') throw notADuration;
  const text = value.trim();
  if (text.startsWith('-')) throw new UnitError(`${describeValue(value)} is negative; virtual time starts at 0`);
  const m = NUMBER_AND_UNIT.exec(text);
  if (!m) throw notADuration;
  const [, number, unit] = m;
  if (unit === '') return Number(number);
  if (unit in DURATION_UNIT_MS) return Number(number) * DURATION_UNIT_MS[unit as keyof typeof DURATION_UNIT_MS];
  throw notADuration;
}

/**
 * Milliseconds between messages from a rate: `"N/s"` (also `/ms`, `/min`) messages per unit of
 * virtual time, or an interval written as a duration string (`"2ms"`). A bare number is refused:
 * `1000` could mean 1000/s or 1000 ms.
 *
 * @example
 * ```ts
 * parseRate('1000/s'); // 1
 * parseRate('4/ms');   // 0.25
 * parseRate('2ms');    // 2
 * ```
 */
export function parseRate(value: unknown): number {
  if (typeof value === 'number') {
    throw new UnitError(`${value} is ambiguous as a rate; write "${value}/s" (messages per virtual second) or an interval like "${value}ms"`);
  }
  if (typeof value !== 'string') throw new UnitError(`${describeValue(value)} is not a rate; use "N/s" (messages per virtual second) or an interval like "2ms"`);
  const m = RATE.exec(value.trim());
  if (!m) {
    try {
      return parseDuration(value);
    } catch {
      throw new UnitError(`${describeValue(value)} is not a rate; use "N/s" (messages per virtual second) or an interval like "2ms"`);
    }
  }
  const [, number, unit] = m;
  if (!(unit in RATE_UNIT_MS)) throw new UnitError(`${describeValue(value)} is not a rate; per-unit rates use /s, /ms or /min`);
  const perMs = Number(number);
  if (perMs <= 0) throw new UnitError(`${describeValue(value)} sends nothing; a rate needs more than 0 messages per unit`);
  return RATE_UNIT_MS[unit as keyof typeof RATE_UNIT_MS] / perMs;
}
