import { assign, type AnyActorRef } from 'xstate';
import { IOREQ_READ, IOREQ_TYPE_COPY } from '../../src/ioreq/constants.js';
import { answerRequest, takeRequest } from '../../src/ioreq/emulator-slot.js';
import { setSlotState, slotState } from '../../src/ioreq/ioreq-page.js';
import type { Ioreq } from '../../src/ioreq/ioreq.js';
import { SHUTDOWN_crash } from '../../src/domain/lifecycle.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { ioreqSlotMachine, type IoreqSlotContext } from '../ioreq-slot.js';
import { wiredActors } from './wired.js';

/**
 * What a wired slot actor acts on: the IOREQ core, and the emulator's side of the slot — its domain,
 * the synchronous page it mapped and its bound port for this vCPU — plus the value it answers reads with.
 *
 * @example
 * ```ts
 * const wire: IoreqSlotWire = { ioreq, emulator: 0, page, port: ports[0], answer: 0x74726976n };
 * ```
 */
export interface IoreqSlotWire {
  ioreq: Ioreq;
  emulator: number;
  page: GuestMemory;
  port: number;
  answer?: bigint;
}

/**
 * `ioreqSlotMachine` wired to the core: `SEND` traps a 4-byte MMIO read on the vCPU (`ioreq.access`),
 * `TAKE` / `RESPOND` are the emulator's moves in its mapped page (then EVTCHNOP_send), `WAKE` is the
 * vCPU's completion (`ioreq.resume`), `CORRUPT` writes the nibble raw; `readSlot` reads the page, the
 * vCPU's wait, the server's existence and whether the target crashed.
 *
 * @example
 * ```ts
 * const slot = createActor(ioreqSlotMachineFor({ ioreq, emulator: 0, page, port }), { input: { target: 1, vcpu: 0, server: 0, addr: 0x2000000 } }).start();
 * slot.send({ type: 'SEND' }); // the core's slot is READY and the vCPU blocked
 * ```
 */
export function ioreqSlotMachineFor(wire: IoreqSlotWire) {
  return provideIoreqSlot(() => wire);
}

/**
 * A slot actor (not started) over `wire`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * createIoreqSlotActor(wire, { input: { target: 1, vcpu: 0, server: 0, addr: 0x2000000 } }).start();
 * ```
 */
export const createIoreqSlotActor = wiredActors('createIoreqSlotActor', provideIoreqSlot);

function provideIoreqSlot(wireOf: (self: AnyActorRef) => IoreqSlotWire) {
  return ioreqSlotMachine.provide({
    actions: {
      send: ({ context: c, self }) => {
        const { ioreq } = wireOf(self);
        if (!ioreq.vcpuBlocked(c.target, c.vcpu)) ioreq.access(c.target, c.vcpu, { type: IOREQ_TYPE_COPY, addr: c.addr, size: 4, dir: IOREQ_READ });
      },
      take: ({ context: c, self }) => void takeRequest(wireOf(self).page, c.vcpu),
      respond: ({ context: c, self }) => {
        const w = wireOf(self);
        const state = slotState(w.page, c.vcpu);
        if (state !== 1 && state !== 2) return;
        answerRequest(w.page, c.vcpu, w.answer ?? 0n);
        w.ioreq.evtchnSend(w.emulator, w.port);
      },
      wake: ({ context: c, self }) => void wireOf(self).ioreq.resume(c.target, c.vcpu),
      corrupt: ({ context: c, self }, params: { state: number }) => {
        if (!c.serverGone) setSlotState(wireOf(self).page, c.vcpu, params.state);
      },
      serverGone: () => undefined, // the runtime destroyed it; readSlot sees it gone
      readSlot: assign(({ context, self }) => readSlot(wireOf(self), context)),
    },
  });
}

/** The slot as the core has it. */
function readSlot(w: IoreqSlotWire, c: IoreqSlotContext): Partial<IoreqSlotContext> {
  const server = w.ioreq.servers(c.target).find((s) => s.id === c.server);
  const crashed = w.ioreq.hv.life(c.target) === 'alive' && w.ioreq.hv.domctl.getInfo(c.target).shutdownCode === SHUTDOWN_crash;
  const vcpuBlocked = w.ioreq.vcpuBlocked(c.target, c.vcpu);
  if (!server) return { serverGone: true, seen: 0, crashed, vcpuBlocked };
  const sv = server.vcpus[c.vcpu];
  return { slotState: sv.slotState, seen: sv.seen, vcpuBlocked, crashed, serverGone: false };
}
