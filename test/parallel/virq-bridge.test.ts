import { afterEach, describe, expect, it, vi } from 'vitest';
import { bridgeVirq } from '../../src/parallel/virq-bridge.js';
import { createHypervisor } from '../../src/xen/hypervisor.js';
import { VIRQ_ARGO } from '../../src/xen/virq.js';

// The bridge that carries a VIRQ raised in one thread to a domain's handler in another. setTimeout is
// faked (never fires unless advanced), so a delivery that waits for a timer shows as one that never
// comes; setImmediate and Atomics.waitAsync stay real.

function dom0(): { hv: ReturnType<typeof createHypervisor>; raise: () => void } {
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 0 });
  expect(hv.bindVirq(0, VIRQ_ARGO, 0)).toBe(0);
  return { hv, raise: () => hv.events.raise(hv.domainTable.slotOf(0), VIRQ_ARGO) };
}

/** Turns of the event loop until `done`, at most `turns`. */
async function turnsUntil(done: () => boolean, turns = 50): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((r) => setImmediate(r));
}

describe('VIRQ bridge (src/parallel/virq-bridge.ts)', () => {
  afterEach(() => void vi.useRealTimers());

  // haltPoll false: one worker, whose own senders raise it (nothing to poll for)
  it.each([true, false])('a raise while the handler runs (another thread sending on) is delivered on the next turns, not after a 1 ms timer (halt-polling %s)', async (haltPoll) => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { hv, raise } = dom0();
    let calls = 0;
    const stop = bridgeVirq(hv, 0, VIRQ_ARGO, () => {
      calls++;
      hv.clearVirq(0, VIRQ_ARGO); // acknowledge, then the sender's next message raises it again
      if (calls < 3) raise();
      return true;
    }, haltPoll);
    raise();
    await turnsUntil(() => calls === 3);
    // asleep now (waitAsync): a raise from elsewhere still wakes it
    raise();
    await turnsUntil(() => calls === 4);
    stop();
    expect(calls).toBe(4);
    // before: each re-raise waited for setTimeout(arm, 1) — a millisecond per cycle of a sender and
    // receiver in two threads, 1 000 cycles a second at most
    expect(hv.virqPending(0, VIRQ_ARGO)).toBe(false);
  });

  it('a handler that leaves the VIRQ pending (a paused or held domain) is called again only when the timer comes', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { hv, raise } = dom0();
    let calls = 0;
    let held = true;
    const stop = bridgeVirq(hv, 0, VIRQ_ARGO, () => {
      calls++;
      if (held) return false;
      hv.clearVirq(0, VIRQ_ARGO);
      return true;
    });
    raise();
    await turnsUntil(() => calls === 1);
    await turnsUntil(() => calls > 1, 20); // no spinning on the event loop while it is held
    expect(calls).toBe(1);
    held = false;
    vi.advanceTimersByTime(1);
    await turnsUntil(() => calls === 2);
    stop();
    expect(calls).toBe(2);
    expect(hv.virqPending(0, VIRQ_ARGO)).toBe(false);
  });
});
