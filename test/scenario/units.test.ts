import { describe, expect, it } from 'vitest';
import { DURATION_MS_MAX, parseDuration, parseRate, parseSize, UnitError } from '../../src/scenario/units.js';

describe('scenario units: sizes', () => {
  it.each([
    [4096, 4096],
    ['4096', 4096],
    ['64B', 64],
    ['1KiB', 1024],
    ['4MiB', 4 << 20],
    ['1GiB', 1 << 30],
    ['1.5KiB', 1536],
    [' 2 MiB ', 2 << 20],
    [0, 0],
  ])('%j is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each([
    ['4MB', '"4MB" is not a size; use bytes or a unit like 4MiB'],
    ['2KB', '"2KB" is not a size; use bytes or a unit like 2KiB'],
    ['1gb', '"1gb" is not a size; use bytes or a unit like 1GiB'],
    ['64bytes', '"64bytes" is not a size; use bytes or a unit like 64B'],
    ['lots', '"lots" is not a size; use bytes or a unit like 4MiB'],
    [true, 'true is not a size; use bytes or a unit like 4MiB'],
    [-1, '-1 is not a size; sizes are bytes, 0 or more'],
    ['-1KiB', '"-1KiB" is not a size; sizes are bytes, 0 or more'],
    [10.5, '10.5 is not a whole number of bytes'],
    ['1.1KiB', '"1.1KiB" is not a whole number of bytes'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseSize(text)).toThrow(new UnitError(message));
  });
});

describe('scenario units: durations in virtual milliseconds', () => {
  it.each([
    [1500, 1500],
    ['1500', 1500],
    ['10ms', 10],
    ['2s', 2000],
    ['500us', 0.5],
    ['500µs', 0.5],
    ['1.5s', 1500],
    ['2min', 120_000],
    [0, 0],
  ])('%j is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['10 sec', '"10 sec" is not a duration; use milliseconds or a unit like 10ms, 2s, 500us'],
    ['soon', '"soon" is not a duration; use milliseconds or a unit like 10ms, 2s, 500us'],
    [null, 'nothing (null) is not a duration; use milliseconds or a unit like 10ms, 2s, 500us'],
    ['-5ms', '"-5ms" is negative; virtual time starts at 0'],
    [-5, '-5 is negative; virtual time starts at 0'],
    [DURATION_MS_MAX + 1, `${DURATION_MS_MAX + 1} is longer than the ${DURATION_MS_MAX} ms a scenario may name`],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseDuration(text)).toThrow(new UnitError(message));
  });
});

describe('scenario units: rates as intervals', () => {
  it.each([
    ['1000/s', 1],
    ['4/ms', 0.25],
    ['60/min', 1000],
    ['2 / s', 500],
    ['2ms', 2],
    ['0ms', 0],
  ])('%j is one message every %d ms', (text, ms) => {
    expect(parseRate(text)).toBe(ms);
  });

  it.each([
    [1000, '1000 is ambiguous as a rate; write "1000/s" (messages per virtual second) or an interval like "1000ms"'],
    ['0/s', '"0/s" sends nothing; a rate needs more than 0 messages per unit'],
    ['10/h', '"10/h" is not a rate; per-unit rates use /s, /ms or /min'],
    ['fast', '"fast" is not a rate; use "N/s" (messages per virtual second) or an interval like "2ms"'],
    [[1], 'a list is not a rate; use "N/s" (messages per virtual second) or an interval like "2ms"'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseRate(text)).toThrow(new UnitError(message));
  });
});
