import type { ActorRefLike, InspectionEvent } from 'xstate';
import type { ActorEvent } from './protocol.js';

/** How many events each actor keeps for the page. */
export const ACTOR_EVENTS_KEPT = 100;

/**
 * The events each actor sent and received, from XState's inspection events (`@xstate.event`): a
 * bounded window per actor, stamped with the step that was running. Collecting is off until
 * `enabled` is set — inspection costs on every actor event, so it runs only while a page watches.
 *
 * @example
 * ```ts
 * const log = new ActorEventLog(() => ({ step: scheduler.stepCount - 1, atMs: scheduler.now() }), idOf);
 * createSystem(scenario, { inspect: log.inspect });
 * log.enabled = true;
 * log.of('ring:db:5432:1'); // [{ step: 3, dir: 'in', type: 'RING_STATE', peer: 'runtime', … }]
 * ```
 */
export class ActorEventLog {
  enabled = false;
  /** Inspection events seen while enabled (for the events-per-second metric). */
  count = 0;
  private readonly byActor = new Map<string, ActorEvent[]>();

  constructor(
    private readonly now: () => { step: number; atMs: number; cause?: string },
    private readonly idOf: (ref: ActorRefLike) => string | undefined,
  ) {}

  /** The `inspect` callback to give `createSystem`. */
  readonly inspect = (event: InspectionEvent): void => {
    if (!this.enabled || event.type !== '@xstate.event') return;
    this.count++;
    const target = this.idOf(event.actorRef);
    const source = event.sourceRef ? this.idOf(event.sourceRef) : undefined;
    const { step, atMs, cause } = this.now();
    const type = event.event.type;
    if (target) this.push(target, { step, atMs, dir: 'in', type, peer: source ?? 'runtime', cause });
    if (source && source !== target) this.push(source, { step, atMs, dir: 'out', type, peer: target ?? 'runtime', cause });
  };

  /** The kept events of an actor, oldest first. */
  of(id: string): ActorEvent[] {
    return this.byActor.get(id) ?? [];
  }

  private push(id: string, e: ActorEvent): void {
    let list = this.byActor.get(id);
    if (!list) this.byActor.set(id, (list = []));
    list.push(e);
    if (list.length > ACTOR_EVENTS_KEPT) list.splice(0, list.length - ACTOR_EVENTS_KEPT);
  }
}
