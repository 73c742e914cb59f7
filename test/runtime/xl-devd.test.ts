import { describe, expect, it } from 'vitest';
import { LIBXL_INIT_TIMEOUT_MS } from '../../machines/toolstack.js';
import { XlDevd } from '../../src/runtime/xl-devd.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';

// xl devd in a driver domain (libxl_device.c's devd, lifecycle §6.7 R7), on its own: a xenstore, a
// queue of devd's steps on a virtual clock, and scripted hotplug-script durations.

const DD = 1;
const FE = 3;
const BACK = `/local/domain/${DD}/backend/vif/${FE}/0`;

function world(options: { scripts: number[]; sharesDevice?: boolean }) {
  const store = new Xenstore();
  store.introduce(DD);
  store.introduce(FE);
  let now = 0;
  let seq = 0;
  const queue: Array<{ at: number; seq: number; label: string; run: () => void; cancelled?: boolean }> = [];
  const labels: string[] = [];
  const violations: string[] = [];
  const scripts = [...options.scripts];
  const push = (label: string, delayMs: number, run: () => void) => {
    const entry: { at: number; seq: number; label: string; run: () => void; cancelled?: boolean } = { at: now + delayMs, seq: seq++, label, run };
    queue.push(entry);
    return entry;
  };
  const devd = new XlDevd(
    DD,
    {
      store,
      step: (label, delayMs, work) => void push(label, delayMs, work),
      timer: (ms, run) => {
        const entry = push('timer', ms, run);
        return () => (entry.cancelled = true);
      },
      scriptMs: () => scripts.shift() ?? 5,
      nameOf: (domid) => (domid === DD ? 'netdom' : domid === FE ? 'guest' : String(domid)),
      violate: (what) => violations.push(`${now}ms: ${what}`),
    },
    { addSharesDevice: options.sharesDevice ?? false },
  );
  /** Runs devd's steps due up to `until` (ms), in time order. */
  const runUntil = (until = Infinity) => {
    for (;;) {
      queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = queue[0];
      if (!next || next.at > until) break;
      queue.shift();
      if (next.cancelled) continue;
      now = next.at;
      labels.push(next.label);
      next.run();
    }
    now = Math.max(now, until === Infinity ? now : until);
  };
  /** libxl in dom0 adds the vif (backend state Initialising, online 1); netback answers InitWait. */
  const addVif = () => {
    store.write(0, `${BACK}/online`, '1');
    store.write(0, `${BACK}/state`, '1');
  };
  const initWait = () => store.write(DD, `${BACK}/state`, '2');
  /** libxl's removal: online 0, Closing; netback answers Closed. */
  const remove = () => {
    store.write(0, `${BACK}/online`, '0');
    store.write(0, `${BACK}/state`, '5');
    store.write(DD, `${BACK}/state`, '6');
  };
  /** devd adds the vif, and 1 ms later libxl removes it; everything then runs out. */
  const addThenRemove = () => {
    devd.start();
    addVif();
    initWait();
    runUntil(1);
    remove();
    runUntil();
  };
  return { store, devd, runUntil, addVif, initWait, remove, addThenRemove, labels, violations, now: () => now };
}

describe('xl devd (libxl_device.c devd, R7)', () => {
  it('adds a vif: waits for InitWait, runs vif-bridge online, which reports hotplug-status=connected', () => {
    const w = world({ scripts: [7] });
    w.devd.start();
    w.addVif();
    w.runUntil(1);
    expect(w.devd.devices()).toEqual(['3/vif/0']);
    expect(w.store.read(0, `${BACK}/hotplug-status`)).toBe(-2); // ENOENT: no script before InitWait
    w.initWait();
    w.runUntil();
    expect(w.store.read(0, `${BACK}/hotplug-status`)).toBe('connected');
    expect(w.labels).toContain(`xl devd: vif-bridge online ${BACK} exits`);
    expect(w.now()).toBeCloseTo(8, 6);
    expect(w.violations).toEqual([]);
  });

  it('removes a vif whose backend is Closed with online=0: vif-bridge offline, then the backend path (the driver domain\'s to remove)', () => {
    const w = world({ scripts: [2, 3] });
    w.devd.start();
    w.addVif();
    w.initWait();
    w.runUntil();
    w.remove();
    w.runUntil();
    expect(w.labels).toContain(`xl devd: vif-bridge offline ${BACK} exits`);
    expect(w.store.paths().filter((p) => p.startsWith(`/local/domain/${DD}/backend/`))).toEqual([]);
    expect(w.devd.devices()).toEqual([]);
    expect(w.violations).toEqual([]);
  });

  it('a removal that completes while the add\'s script still runs: today each has its own copy; before fd519a5119 the add reads the freed record', () => {
    for (const sharesDevice of [false, true]) {
      // the add's script takes 20 ms, the removal's 2 ms
      const w = world({ scripts: [20, 2], sharesDevice });
      w.addThenRemove();
      expect(w.devd.devices()).toEqual([]);
      if (!sharesDevice) expect(w.violations).toEqual([]);
      else {
        expect(w.violations).toEqual([
          `20ms: devd-use-after-free: xl devd in domain netdom read the libxl__device of vif 0 of domain guest in device_hotplug_done of its add, after the removal's completion (device_complete) freed it: the device was removed while its add was still in flight`,
        ]);
      }
      // the add's script found its backend directory gone: it reported nothing
      expect(w.store.read(0, `${BACK}/hotplug-status`)).toBe(-2);
    }
  });

  it('the add that ends first leaves nothing to report, switch or no switch', () => {
    const w = world({ scripts: [2, 5], sharesDevice: true });
    w.addThenRemove();
    expect(w.violations).toEqual([]);
  });

  it('a backend that never reaches InitWait: the add gives up after LIBXL_INIT_TIMEOUT and runs no script', () => {
    const w = world({ scripts: [] });
    w.devd.start();
    w.addVif();
    w.runUntil();
    expect(w.now()).toBe(LIBXL_INIT_TIMEOUT_MS);
    expect(w.labels.filter((l) => l.includes('vif-bridge'))).toEqual([]);
    expect(w.store.read(0, `${BACK}/hotplug-status`)).toBe(-2);
  });

  it('at start it scans for devices already in InitWait; stopped, it does nothing more', () => {
    const w = world({ scripts: [4] });
    w.addVif();
    w.initWait();
    w.devd.start();
    w.runUntil(1);
    expect(w.devd.devices()).toEqual(['3/vif/0']);
    w.devd.stop();
    w.runUntil();
    expect(w.store.read(0, `${BACK}/hotplug-status`)).toBe(-2); // its script's exit came to no devd
  });
});
