import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { getStateNodes } from 'xstate/graph';

/**
 * Which (machine, state, event) triples of the running machines were reached (issue #8 item 6): a
 * triple is a state node and an event it has a transition for (`always` for its eventless ones,
 * `xstate.after.…` for delayed ones); it is reached when an actor took one of those transitions.
 * Collected from XState's inspection (`@xstate.microstep`), mergeable across runs and processes
 * (`toJSON` / `merge`).
 *
 * @example
 * ```ts
 * const coverage = new Coverage();
 * const system = createSystem(scenario, { inspect: coverage.observer });
 * coverage.declare(system.actors().map((a) => a.actor.logic));
 * system.run();
 * coverage.report().fraction; // 0.41
 * ```
 */
export class Coverage {
  /** Machine id → every triple it declares (`state event`). */
  private readonly declared = new Map<string, Set<string>>();
  /** Machine id → the triples reached. */
  private readonly reached = new Map<string, Set<string>>();
  private readonly known = new WeakSet<AnyStateMachine>();
  /**
   * The transitions already counted in `reached`. A machine's transitions are objects it builds once
   * (every actor of it, every run, takes the same ones), so after an exploration's first schedules
   * the observer only looks them up here instead of building each triple's string again.
   */
  private readonly counted = new WeakSet<object>();

  /** The inspection callback to give `createSystem` (or an actor). */
  readonly observer = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep') return;
    for (const t of event._transitions) {
      if (this.counted.has(t)) continue;
      this.counted.add(t);
      const machine = t.source.machine.id;
      let set = this.reached.get(machine);
      if (!set) this.reached.set(machine, (set = new Set()));
      set.add(tripleOf(t.source.id, t.eventType));
    }
  };

  /** Adds the triples of machines (each machine once, however many actors run it). */
  declare(machines: Iterable<unknown>): void {
    for (const logic of machines) {
      const machine = logic as AnyStateMachine;
      if (!machine?.root || this.known.has(machine)) continue;
      this.known.add(machine);
      let set = this.declared.get(machine.id);
      if (!set) this.declared.set(machine.id, (set = new Set()));
      for (const node of [machine.root, ...getStateNodes(machine.root)]) {
        for (const eventType of node.transitions.keys()) set.add(tripleOf(node.id, eventType));
        if ((node.always ?? []).length > 0) set.add(tripleOf(node.id, ''));
      }
    }
  }

  /** Adds another coverage (another run, another worker). */
  merge(other: Coverage | CoverageData): void {
    const data = other instanceof Coverage ? other.toJSON() : other;
    for (const [target, source] of [
      [this.declared, data.declared],
      [this.reached, data.reached],
    ] as const) {
      for (const [machine, triples] of Object.entries(source)) {
        let set = target.get(machine);
        if (!set) target.set(machine, (set = new Set()));
        for (const t of triples) set.add(t);
      }
    }
  }

  /** Per machine and in all: triples reached of those declared, and the ones never reached. */
  report(): CoverageReport {
    const machines = [...this.declared.keys()].sort().map((machine) => {
      const declared = this.declared.get(machine)!;
      const reached = this.reached.get(machine) ?? new Set<string>();
      const unreached = [...declared].filter((t) => !reached.has(t)).sort();
      return { machine, reached: declared.size - unreached.length, total: declared.size, unreached };
    });
    const reached = machines.reduce((n, m) => n + m.reached, 0);
    const total = machines.reduce((n, m) => n + m.total, 0);
    return { reached, total, fraction: total === 0 ? 0 : reached / total, machines };
  }

  /** Plain data, for a file or a worker's message. */
  toJSON(): CoverageData {
    const plain = (map: Map<string, Set<string>>) => Object.fromEntries([...map].map(([k, v]) => [k, [...v].sort()]));
    return { declared: plain(this.declared), reached: plain(this.reached) };
  }
}

/** `Coverage` as plain data. */
export interface CoverageData {
  declared: Record<string, string[]>;
  reached: Record<string, string[]>;
}

/** What `Coverage.report` returns. */
export interface CoverageReport {
  reached: number;
  total: number;
  fraction: number;
  machines: Array<{ machine: string; reached: number; total: number; unreached: string[] }>;
}

const tripleOf = (stateId: string, eventType: string) => `${stateId} ${eventType === '' ? 'always' : eventType}`;
