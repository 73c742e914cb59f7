import { SeededRandom } from '../runtime/random.js';
import { FAULT_KINDS, type FaultKind, type Scenario, type ScenarioFault } from '../scenario/schema.js';

/** Relative weights of the fault kinds the explorer injects (0: never). */
export type FaultWeights = Partial<Record<FaultKind, number>>;

/** Every kind at weight 1. */
export const DEFAULT_FAULT_WEIGHTS: FaultWeights = Object.fromEntries(FAULT_KINDS.map((k) => [k, 1]));

/** Faults the explorer adds to one schedule at most. */
const GENERATED_MAX = 3;

/**
 * Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each schedule gets its own mix of
 * faults, drawn from its seed — each of the scenario's own faults on with probability ½, and up to
 * three more of the kinds with weight > 0, each kind in the mix with probability ½ (so one kind cannot
 * crowd out another in every run), at a moment drawn from [0, `horizonMs`) of virtual time, on a
 * guest (never the control domain: its death is the host's) or, for `unregister`, a scenario ring.
 * A generated fault has `line` 0.
 *
 * Half of the generated faults (a draw of their own, so the kinds, targets and delays are those of
 * the uniform draw) land instead on one of `instants` — the moments at which the plan's run took a
 * scheduling step: a fault *at a scheduling point*, due together with the steps of that instant, so
 * the strategy orders it among them. A moment drawn uniformly from the horizon almost never meets a
 * step (steps fall on a few thousand instants of a horizon of millions of microseconds), and the
 * races that need a fault between two steps of one instant — R2's shutdown between a vCPU's send and
 * its return — would be out of reach.
 *
 * @example
 * ```ts
 * const faults = swarmFaults(scenario, seed, { kill: 2, virq_drop: 1 }, 50);
 * ```
 */
export function swarmFaults(scenario: Scenario, seed: number, weights: FaultWeights, horizonMs: number, instants: readonly number[] = []): ScenarioFault[] {
  const rng = new SeededRandom(seed ^ 0x5bd1e995);
  const atPoint = new SeededRandom(seed ^ 0x27d4eb2f);
  const own = scenario.faults.filter(() => rng.chance(0.5));
  const targets = faultTargets(scenario);
  const { guests, dmEnds, dmGuests } = targets;
  // each kind's coin is drawn in this order (xenstore_tamper's only where it applies, the others'
  // whether or not they do), so every scenario draws as it did before a kind was added
  const lands = (k: FaultKind) => whyNot(scenario, targets, k) === null;
  const kinds = FAULT_KINDS.filter((k) => (weights[k] ?? 0) > 0 && k !== 'xenstored_live_update' && (k !== 'xenstore_tamper' || lands(k)) && rng.chance(0.5) && lands(k));
  const liveUpdate = liveUpdateOf(scenario, seed, weights, horizonMs, instants);
  if (kinds.length === 0) return [...own, ...liveUpdate];
  const total = kinds.reduce((n, k) => n + weights[k]!, 0);
  const generated: ScenarioFault[] = [];
  for (let i = rng.int(0, GENERATED_MAX); i > 0; i--) {
    let pick = rng.int(0, 1_000_000) / 1_000_000 * total;
    const kind = kinds.find((k) => (pick -= weights[k]!) < 0) ?? kinds[kinds.length - 1];
    let atMs = Math.round(rng.int(0, Math.max(0, Math.floor(horizonMs * 1000) - 1))) / 1000;
    if (instants.length > 0 && atPoint.chance(0.5)) atMs = instants[atPoint.int(0, instants.length - 1)];
    // a device model failing to start: present at boot half the time (it races the first start's
    // confirmation at time 0), else from a moment on (the next start: a restart)
    if (kind === 'dm_start_fail' && rng.chance(0.5)) atMs = 0;
    if (kind === 'unregister') {
      const r = rng.pick(scenario.rings);
      const ring = { owner: r.owner, ownerDomid: r.ownerDomid, port: r.port, partner: r.partner, partnerDomid: r.partnerDomid };
      generated.push({ kind, atMs, domain: r.owner, domid: r.ownerDomid, ring, weight: 1, delayMs: null, line: 0 });
      continue;
    }
    const d = rng.pick(kind === 'dm_death' || kind === 'dm_misbehave' ? dmEnds : kind === 'dm_start_fail' || kind === 'xenstore_tamper' || kind === 'balloon' ? dmGuests : guests);
    const delayMs = kind === 'virq_delay' ? rng.int(10, 2000) / 1000 : kind === 'suspend' ? rng.int(100, 20_000) / 1000 : kind === 'dm_death' ? rng.int(100, 5_000) / 1000 : kind === 'stall' ? rng.int(10_000, 300_000) / 1000 : null;
    generated.push({ kind, atMs, domain: d.name, domid: d.domid, ring: null, weight: 1, delayMs, line: 0 });
  }
  return [...own, ...generated, ...liveUpdate];
}

/** The domains each fault kind can land on. */
interface FaultTargets {
  /** Every domain but the control domain (its death is the host's). */
  guests: Scenario['domains'];
  /** The front and back ends of virtio-mmio devices (a device model's death or misbehaviour). */
  dmEnds: Scenario['domains'];
  /** The front ends of virtio-mmio devices (a device model's failed start, a balloon, a tamper). */
  dmGuests: Scenario['domains'];
}

function faultTargets(scenario: Scenario): FaultTargets {
  const mmio = scenario.devices.filter((v) => v.transport === 'mmio');
  const guests = scenario.domains.filter((d) => !d.control);
  return {
    guests,
    dmEnds: guests.filter((d) => mmio.some((v) => v.frontend === d.name || v.backend === d.name)),
    dmGuests: guests.filter((d) => mmio.some((v) => v.frontend === d.name)),
  };
}

/**
 * Why the explorer can never add fault `kind` to `scenario` (it has nothing the kind lands on), or
 * null when it can. An exploration's sometimes-assertions leave such kinds out: never exercised
 * there says nothing about the exploration.
 *
 * @example
 * ```ts
 * cannotHit(tiny, 'dm_death'); // 'no virtio-mmio device'
 * cannotHit(tiny, 'kill');     // null
 * ```
 */
export function cannotHit(scenario: Scenario, kind: FaultKind): string | null {
  return whyNot(scenario, faultTargets(scenario), kind);
}

function whyNot(scenario: Scenario, { guests, dmEnds, dmGuests }: FaultTargets, kind: FaultKind): string | null {
  if (kind === 'xenstored_live_update') return scenario.domains.some((d) => d.control) ? null : 'no control domain (xenstored runs there)';
  if (guests.length === 0) return 'no guest domain';
  if (kind === 'unregister') return scenario.rings.length > 0 ? null : 'no ring in the scenario';
  if (kind === 'dm_death' || kind === 'dm_misbehave') return dmEnds.length > 0 ? null : 'no virtio-mmio device';
  if (kind === 'dm_start_fail' || kind === 'balloon' || kind === 'xenstore_tamper') return dmGuests.length > 0 ? null : 'no virtio-mmio device';
  return null;
}

/**
 * The swarm's `xenstored_live_update`: at most one a schedule (an administrator's rare act, not a
 * failure that repeats), in half the schedules when its weight is not 0, on the control domain; drawn
 * from a generator of its own, so the other kinds' draws are what they were before it existed.
 */
function liveUpdateOf(scenario: Scenario, seed: number, weights: FaultWeights, horizonMs: number, instants: readonly number[]): ScenarioFault[] {
  const dom0 = scenario.domains.find((d) => d.control);
  const rng = new SeededRandom(seed ^ 0x6a09e667);
  for (let i = 0; i < 4; i++) rng.u32(); // xoroshiro128+'s first outputs follow nearby seeds closely
  if (!dom0 || (weights.xenstored_live_update ?? 0) <= 0 || !rng.chance(0.5)) return [];
  const atMs = instants.length > 0 && rng.chance(0.5) ? instants[rng.int(0, instants.length - 1)] : rng.int(0, Math.max(0, Math.floor(horizonMs * 1000) - 1)) / 1000;
  return [{ kind: 'xenstored_live_update', atMs, domain: dom0.name, domid: dom0.domid, ring: null, weight: 1, delayMs: null, line: 0 }];
}

/** The scenario with exactly `faults`. */
export function withFaults(scenario: Scenario, faults: readonly ScenarioFault[]): Scenario {
  return faults === scenario.faults ? scenario : { ...scenario, faults: [...faults] };
}
