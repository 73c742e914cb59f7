import { assign, type AnyActorRef } from 'xstate';
import type { Ioreq } from '../../src/ioreq/ioreq.js';
import { ioreqRangeKey, ioreqServerMachine, type IoreqServerContext } from '../ioreq-server.js';
import { wiredActors } from './wired.js';

/**
 * What a wired server actor acts on: the IOREQ core.
 *
 * @example
 * ```ts
 * const wire: IoreqServerWire = { ioreq: createIoreq(hv) };
 * ```
 */
export interface IoreqServerWire {
  ioreq: Ioreq;
}

/**
 * `ioreqServerMachine` wired to the core: each DM op is the emulator's call on `ioreq` (an errno is
 * recorded in `context.errno`), and `readServer` reads the server from `ioreq.servers(target)`.
 *
 * @example
 * ```ts
 * const server = createActor(ioreqServerMachineFor({ ioreq }), { input: { target: 1, emulator: 0, handleBufioreq: 0 } }).start();
 * server.send({ type: 'CREATE' }); // ioreq.servers(1) has it, disabled
 * ```
 */
export function ioreqServerMachineFor(wire: IoreqServerWire) {
  return provideIoreqServer(() => wire);
}

/**
 * A server actor (not started) over `wire`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * createIoreqServerActor({ ioreq }, { input: { target: 1, emulator: 0, handleBufioreq: 0 } }).start();
 * ```
 */
export const createIoreqServerActor = wiredActors('createIoreqServerActor', provideIoreqServer);

const outcome = (rc: number) => ({ errno: rc < 0 ? rc : null });

function provideIoreqServer(wireOf: (self: AnyActorRef) => IoreqServerWire) {
  return ioreqServerMachine.provide({
    actions: {
      create: assign(({ context: c, self }) => {
        const id = wireOf(self).ioreq.createServer(c.emulator, c.target, c.handleBufioreq);
        return id < 0 ? { errno: id } : { id, errno: null };
      }),
      mapRange: assign(({ context: c, self }, p: { rangeType: number; start: number; end: number }) =>
        outcome(wireOf(self).ioreq.mapIoRange(c.emulator, c.target, c.id ?? -1, p.rangeType, p.start, p.end)),
      ),
      unmapRange: assign(({ context: c, self }, p: { rangeType: number; start: number; end: number }) =>
        outcome(wireOf(self).ioreq.unmapIoRange(c.emulator, c.target, c.id ?? -1, p.rangeType, p.start, p.end)),
      ),
      enable: assign(({ context: c, self }) => outcome(wireOf(self).ioreq.setServerState(c.emulator, c.target, c.id ?? -1, true))),
      disable: assign(({ context: c, self }) => outcome(wireOf(self).ioreq.setServerState(c.emulator, c.target, c.id ?? -1, false))),
      destroy: assign(({ context: c, self }) => outcome(wireOf(self).ioreq.destroyServer(c.emulator, c.target, c.id ?? -1))),
      recordRequests: () => undefined, // readServer counts them in the core
      recordTargetDeath: () => undefined,
      recordEmulatorDeath: () => undefined,
      readServer: assign(({ context, self }) => readServer(wireOf(self).ioreq, context)),
    },
  });
}

/** The server as the core has it. */
function readServer(ioreq: Ioreq, c: IoreqServerContext): Partial<IoreqServerContext> {
  const emulatorAlive = ioreq.hv.life(c.emulator) === 'alive';
  const s = c.id === null ? undefined : ioreq.servers(c.target).find((v) => v.id === c.id);
  if (!s) return { exists: false, gone: c.id !== null, enabled: false, pending: 0, mapped: [], emulatorAlive };
  const mapped = s.ranges.flatMap((list, type) => list.map((r) => ioreqRangeKey(type, r.start, r.end))).sort();
  return { exists: true, gone: false, enabled: s.enabled, pending: s.vcpus.filter((v) => v.pending).length, mapped, emulatorAlive };
}
