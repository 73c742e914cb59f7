import { D } from '../domain/domain-table.js';

/** `Atomics.waitAsync` (ES2024; in Node since 16), typed here because the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as {
  waitAsync(view: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;
import type { Hypervisor } from '../xen/hypervisor.js';
import { announceVirqWaiter, virqPendingField } from '../domain/event-channels.js';

/** How long one wait on a pending word may last before it is re-armed (every wait is bounded). */
export const VIRQ_WAIT_SLICE_MS = 50;
/** Looks at the pending word before a wait: a few microseconds. */
const HALT_POLLS = 1000;

/**
 * Carries a domain's VIRQ across threads: waits (`Atomics.waitAsync`, bounded) on the domain's
 * event-channel pending word in the shared domain table, and calls `deliver` on this thread's event
 * loop when `virq`'s pending bit is set — from whichever thread raised it. Raises coalesce in the
 * pending bit as event channels coalesce (argo.md §6.2): `deliver` acknowledges by clearing the bit,
 * and one delivery covers every raise before it. `deliver` returns false when it left the event
 * pending for later (a paused or held domain): the bridge looks again a millisecond on. After one
 * that took it, a bit set again is a new raise (another thread's, while the handler ran) and is
 * delivered on the next turn of the event loop. Returns the function that stops the bridge.
 *
 * `haltPoll` (default true): after a delivery, look at the word a few µs before sleeping, as Linux's
 * cpuidle-haltpoll does — worth it when the raises come from other threads busy at the same time;
 * pure loss when this thread's own domains make them (one worker: the thread that polls is the one
 * that would raise).
 *
 * @example
 * ```ts
 * const stop = bridgeVirq(hv, 3, VIRQ_ARGO, () => host.handleVirq()); // true: it took the event
 * ```
 */
export function bridgeVirq(hv: Hypervisor, domid: number, virq: number, deliver: () => boolean, haltPoll = true): () => void {
  return bridgePending(hv, domid, virqPendingField(virq), 1 << virq, deliver, true, haltPoll ? HALT_POLLS : 0);
}

/**
 * The same for a domain's interdomain event channels: `deliver` runs on this thread when any of the
 * ports in `ports` (a bitmask over ports 0–31) is pending; it takes the pending bits itself
 * (`hv.evtchnTakePending`) and returns true, or leaves them for later and returns false.
 *
 * @example
 * ```ts
 * const stop = bridgePorts(hv, 0, ~0, () => xenstored.serve()); // every port of dom0
 * ```
 */
export function bridgePorts(hv: Hypervisor, domid: number, ports: number, deliver: () => boolean): () => void {
  return bridgePending(hv, domid, D.EVTCHN_PENDING, ports, deliver);
}

/**
 * Waits on `field` of the domain's slot, delivering while any bit of `mask` is set there; `virq`: a
 * VIRQ pending word, where a waiter announces itself (`announceVirqWaiter`) for the raise to wake it;
 * `polls`: looks at the word after a delivery before sleeping.
 */
function bridgePending(hv: Hypervisor, domid: number, field: number, mask: number, deliver: () => boolean, virq = false, polls = HALT_POLLS): () => void {
  const table = hv.domainTable;
  const slot = table.slotOf(domid);
  if (slot < 0) throw new RangeError(`bridge: no domain ${domid}`);
  const word = table.at(slot, field);
  const bit = mask;
  let stopped = false;
  const deliverNow = (): void => {
    if (stopped) return;
    const took = deliver();
    // left for later (a paused or held domain): look again soon. Taken, and pending again: a raise
    // from another thread while the handler ran — `arm` delivers it on the next turn, not 1 ms on
    if (!took && Atomics.load(table.slots, word) & bit) setTimeout(arm, 1);
    else arm();
  };
  // `woken`: called back by the event loop (a wait ended), not from inside the caller of
  // `bridgeVirq` or of `deliver` — the handler may run at once instead of one more turn later
  const arm = (woken = false): void => {
    if (stopped) return;
    let seen = Atomics.load(table.slots, word);
    // after a delivery, look a while before sleeping (Linux's cpuidle-haltpoll): a busy peer's next
    // raise then lands on a word nobody sleeps on, and costs neither side a wake-up
    for (let i = 0; !woken && (seen & bit) === 0 && i < polls; i++) seen = Atomics.load(table.slots, word);
    if ((seen & bit) === 0 && virq) seen = announceVirqWaiter(table.slots, word);
    if (seen & bit) {
      if (woken) deliverNow();
      else setImmediate(deliverNow);
      return;
    }
    const wait = waitAsync(table.slots, word, seen, VIRQ_WAIT_SLICE_MS);
    if (wait.async) void (wait.value as Promise<string>).then(wake);
    else setImmediate(wake); // the word moved already
  };
  const wake = (): void => arm(true);
  arm();
  return () => {
    stopped = true;
  };
}

/**
 * Waits (`Atomics.waitAsync`, bounded) on a counter word another thread bumps at each event — an
 * IOREQ emulator's event count (`Ioreq.emulatorEventWord`) — and calls `deliver` on this thread's
 * event loop once it has moved (and once at the start, for what came before). One delivery covers
 * every bump before it. Returns the function that stops the bridge.
 *
 * @example
 * ```ts
 * const word = ioreq.emulatorEventWord(2)!;
 * const stop = bridgeCounter(word.words, word.index, () => ioreq.deliverEmulatorEvents(2));
 * ```
 */
export function bridgeCounter(words: Int32Array, index: number, deliver: () => void): () => void {
  let stopped = false;
  let seen = Atomics.load(words, index);
  const arm = (): void => {
    if (stopped) return;
    const now = Atomics.load(words, index);
    if (now !== seen) {
      seen = now;
      deliver();
      return void setImmediate(arm);
    }
    const wait = waitAsync(words, index, seen, VIRQ_WAIT_SLICE_MS);
    if (wait.async) void (wait.value as Promise<string>).then(arm);
    else setImmediate(arm);
  };
  setImmediate(() => {
    if (stopped) return;
    deliver();
    arm();
  });
  return () => {
    stopped = true;
  };
}
