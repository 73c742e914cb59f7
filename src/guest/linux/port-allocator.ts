import { ARGO_AUTO_PORT_MAX, ARGO_AUTO_PORT_MIN, ARGO_PORTS_EXHAUSTED } from './constants.js';
import type { RandomSource } from './random-source.js';

/**
 * `argo_random_port`: a random 32-bit value with the top bit set; values above 0xF0000000 are
 * brought down by 0x10000000, so the result lies in [0x80000000, 0xF0000000] (argo.md §10.2).
 *
 * @example
 * ```ts
 * randomPort({ u32: () => 0xffffffff }); // 0xefffffff
 * ```
 */
export function randomPort(random: RandomSource): number {
  let port = (random.u32() | ARGO_AUTO_PORT_MIN) >>> 0;
  if (port > ARGO_AUTO_PORT_MAX) port -= 0x10000000;
  return port;
}

/**
 * `argo_find_spare_port_number`: a random port (`randomPort`) unless some local ring already uses
 * it, in which case the largest port in use (at least 0x80000000) plus one. Answers
 * `ARGO_PORTS_EXHAUSTED` when that would reach 0xFFFFFFFF (the driver wraps past it). Like the driver, the fallback is not
 * checked again and may leave [0x80000000, 0xF0000000].
 *
 * @example
 * ```ts
 * findSparePort([0x90000000], { u32: () => 0x10000000 }); // 0x90000001
 * ```
 */
export function findSparePort(portsInUse: Iterable<number>, random: RandomSource): number {
  const port = randomPort(random);
  let max = ARGO_AUTO_PORT_MIN;
  let used = false;
  for (const p of portsInUse) {
    if (p === port) used = true;
    if (p > max) max = p;
  }
  if (!used) return port;
  return max + 1 >= ARGO_PORTS_EXHAUSTED ? ARGO_PORTS_EXHAUSTED : max + 1;
}
