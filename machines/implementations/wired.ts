import { createActor, type Actor, type ActorOptions, type AnyActorRef, type AnyStateMachine } from 'xstate';

/**
 * Actors of one provided machine, each with its own wire — what its implementations act on (a
 * hypervisor and a domid, a guest library). The implementations find the wire through the actor
 * running them (`self`); the machine is provided once, so its transitions are computed once for
 * all its actors, and no action creator (`assign`) is called when an actor is made — which may
 * happen inside another actor's action (a toolstack's domain_make).
 *
 * @example
 * ```ts
 * const createDomainActor = wiredActors('createDomainActor', (wireOf) =>
 *   domainMachine.provide({ actions: { domctlPause: ({ self }) => void wireOf(self).hv.domctl.pause(wireOf(self).domid) } }),
 * );
 * createDomainActor({ hv, domid: 1, options: {} }, { input: { domid: 1 } }).start();
 * ```
 */
export function wiredActors<TWire, TMachine extends AnyStateMachine>(
  name: string,
  provide: (wireOf: (self: AnyActorRef) => TWire) => TMachine,
): (wire: TWire, options: ActorOptions<TMachine>) => Actor<TMachine> {
  const wires = new WeakMap<AnyActorRef, TWire>();
  // the wire of the actor being made: its initial state's entry actions run inside createActor,
  // before the actor can be recorded (a stack: making one may make another)
  const making: TWire[] = [];
  const machine = provide((self) => {
    const wire = wires.get(self) ?? making.at(-1);
    if (wire === undefined) throw new Error(`${name}: this actor's machine runs only in actors that ${name} made`);
    return wire;
  });
  return (wire, options) => {
    making.push(wire);
    try {
      const actor = createActor(machine, options);
      wires.set(actor, wire);
      return actor;
    } finally {
      making.pop();
    }
  };
}
