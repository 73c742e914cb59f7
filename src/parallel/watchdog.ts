import { performance } from 'node:perf_hooks';
import { MAX_RINGS_PER_DOMAIN } from '../argo/constants.js';
import { A, G, R } from '../argo/tables.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { ACT, ACT_NAMES, WS, type RunBuffers } from './run-log.js';
import { brlockHolders } from '../sync/brlock.js';

/** A worker seen stuck: what it was doing, for how long, and which lock words were held then. */
export interface StuckReport {
  worker: number;
  activity: string;
  domid: number;
  peer: number;
  stuckMs: number;
  /** Lock words of argo.md §8.6 that were held (non-zero) when the report was made. */
  heldLocks: string[];
  message: string;
}

const POLL_MS = 20;

/**
 * The parallel runtime's deadlock detector: every worker bumps a heartbeat word whenever its event
 * loop turns and announces what guest code it runs (`ACT`); a worker busy in one activity whose
 * heartbeat has not moved for `stuckMs` is reported once per episode, with the §8.6 lock words that
 * are held (L1, each domain's rings_L2 / send_L2 / wildcard_L2, each ring's L3). The locks' own
 * bounded waits (`LockTimeoutError`) then end the wait; the report says where it was.
 *
 * @example
 * ```ts
 * const watchdog = new Watchdog(hv, buffers, 2, 2000, () => false, (r) => console.error(r.message));
 * ```
 */
export class Watchdog {
  readonly reports: StuckReport[] = [];
  private readonly status: Int32Array;
  private readonly seen: Array<{ beat: number; atMs: number; reported: boolean }>;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly hv: Hypervisor,
    buffers: RunBuffers,
    workers: number,
    private readonly stuckMs: number,
    private readonly ignored: (worker: number) => boolean,
    private readonly onStuck?: (report: StuckReport) => void,
  ) {
    this.status = new Int32Array(buffers.status);
    this.seen = Array.from({ length: workers }, () => ({ beat: -1, atMs: performance.now(), reported: false }));
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private poll(): void {
    const now = performance.now();
    this.seen.forEach((s, w) => {
      const at = w * WS.STRIDE;
      const beat = Atomics.load(this.status, at + WS.HEARTBEAT);
      if (beat !== s.beat) {
        Object.assign(s, { beat, atMs: now, reported: false });
        return;
      }
      const activity = Atomics.load(this.status, at + WS.ACTIVITY);
      if (s.reported || activity === ACT.IDLE || this.ignored(w) || now - s.atMs < this.stuckMs) return;
      s.reported = true;
      const report = this.report(w, activity, Math.round(now - s.atMs));
      this.reports.push(report);
      this.onStuck?.(report);
    });
  }

  private report(worker: number, activity: number, stuckMs: number): StuckReport {
    const at = worker * WS.STRIDE;
    const domid = Atomics.load(this.status, at + WS.DOMID);
    const peer = Atomics.load(this.status, at + WS.PEER);
    const heldLocks = heldLockWords(this.hv);
    const name = ACT_NAMES[activity] ?? `activity ${activity}`;
    const message = `watchdog: worker ${worker} stuck for ${stuckMs} ms in ${name} of domain ${domid}${peer ? ` (peer ${peer})` : ''}; held: ${heldLocks.join(', ') || 'no lock word'}`;
    return { worker, activity: name, domid, peer, stuckMs, heldLocks, message };
  }
}

/** Names of the §8.6 lock words that are non-zero now. */
export function heldLockWords(hv: Hypervisor): string[] {
  const t = hv.argoTables;
  const out: string[] = [];
  const l1 = brlockHolders(t.global, G.L1);
  if (l1 !== null) out.push(`L1: ${l1}`);
  for (let slot = 0; slot < t.maxDomains; slot++) {
    const base = t.domainBase(slot);
    for (const [name, word] of [['rings_L2', A.RINGS_L2], ['send_L2', A.SEND_L2], ['wildcard_L2', A.WILDCARD_L2]] as const) {
      const v = Atomics.load(t.domains, base + word);
      if (v !== 0) out.push(`${name}(slot ${slot})=${v}`);
    }
    for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) {
      const rb = t.ringBase(slot, i);
      if (Atomics.load(t.rings, rb + R.L3) !== 0) out.push(`L3(slot ${slot}, aport ${t.rings[rb + R.APORT]})`);
    }
  }
  return out;
}
