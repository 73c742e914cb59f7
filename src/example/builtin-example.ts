import { ArgoError } from '../guest/argo-error.js';
import { ArgoGuest } from '../guest/argo-guest.js';
import type { ArgoRing } from '../guest/argo-ring.js';
import { platformOf } from '../guest/platform.js';
import { SeededRandom } from '../runtime/random.js';
import { createHypervisor } from '../xen/hypervisor.js';
import { countingPlatform, type HypercallTally } from './counting-platform.js';

/**
 * The built-in example (issue #2 item 9): a control domain and three guests under a FLASK policy.
 *
 *   web (1) ⇄ db (2)        unicast rings both ways: 32 queries, 32 replies
 *   web, db, sandbox → dom0  a wildcard "log" ring on dom0 (needs mac-permissive)
 *   web → dom0               a small unicast "metrics" ring: web is held back by the full ring
 *                            (EAGAIN), queues a space-wait, and is woken by dom0's notify
 *   sandbox → db             denied by policy (EACCES), as is sandbox registering a ring for db
 */
export const EXAMPLE_POLICY = `# argosim built-in example: who may talk to whom over Argo
attribute domain_type;
type xen_t;
type dom0_t, domain_type;
type web_t, domain_type;
type db_t, domain_type;
type sandbox_t, domain_type;
allow domain_type xen_t:argo enable;
allow dom0_t xen_t:argo register_any_source;
allow { web_t db_t sandbox_t } dom0_t:argo send;
allow dom0_t domain_type:argo { send register_single_source };
allow web_t db_t:argo { send register_single_source };
allow db_t web_t:argo { send register_single_source };
`;

const PORT = { log: 514, metrics: 9100, db: 5432, web: 8080 } as const;
const QUERIES = 32;
const LOG_LINES = 8;
const METRICS = 24;
const METRICS_BATCH = 3;
const DENIED_ATTEMPTS = 4;

/** One domain's line in the summary. */
export interface DomainSummary {
  domid: number;
  name: string;
  label: string;
  rings: number;
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  virqs: number;
  hypercalls: Record<string, number>;
  errors: Record<string, number>;
}

/** What the example did. */
export interface ExampleSummary {
  seed: number;
  domains: DomainSummary[];
  /** Messages that arrived intact, in order, from the expected source. */
  intact: number;
  corrupt: number;
  denied: { sends: number; registers: number };
  backpressure: { eagain: number; wokenByNotify: number };
  /** Rings and space-waiters still registered when the workload ended, and domains left after destroy. */
  finalState: { rings: number; waiters: number; domainsAfterDestroy: number };
}

/**
 * Resolves with `work`, or rejects if the workload stalls: every step of the example is driven by
 * hypercalls and VIRQ upcalls (microtasks), so once the microtask queue drains with work still
 * pending, nothing can ever wake it — a deadlock to report, not to hang on.
 */
function untilSettled<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  return new Promise<T>((resolve, reject) => {
    work.then(
      (v) => {
        settled = true;
        resolve(v);
      },
      (e) => {
        settled = true;
        reject(e);
      },
    );
    const watch = () => {
      if (!settled) reject(new Error('built-in example stalled: a guest waits for a VIRQ that can never come'));
    };
    setImmediate(watch);
  });
}

interface Actor {
  name: string;
  domid: number;
  label: string;
  guest: ArgoGuest;
  tally: HypercallTally;
  received: { messages: number; bytes: number };
}

/** A payload whose bytes encode (sender, sequence), so the receiver can check every byte. */
function payloadFor(rng: SeededRandom, sender: number, seq: number, min: number, max: number): Uint8Array {
  const out = new Uint8Array(rng.int(Math.max(min, 8), max));
  new DataView(out.buffer).setUint32(0, sender, true);
  new DataView(out.buffer).setUint32(4, seq, true);
  for (let i = 8; i < out.length; i++) out[i] = (sender * 31 + seq * 7 + i) & 0xff;
  return out;
}

function payloadIntact(bytes: Uint8Array, sender: number, seq: number): boolean {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || v.getUint32(0, true) !== sender || v.getUint32(4, true) !== seq) return false;
  for (let i = 8; i < bytes.length; i++) if (bytes[i] !== ((sender * 31 + seq * 7 + i) & 0xff)) return false;
  return true;
}

/**
 * Runs the built-in example with `seed` and returns its summary. Deterministic: the same seed
 * gives the same summary.
 *
 * @example
 * ```ts
 * const summary = await runBuiltinExample(1);
 * summary.denied.sends; // 4
 * ```
 */
export async function runBuiltinExample(seed: number): Promise<ExampleSummary> {
  const rng = new SeededRandom(seed);
  const hv = createHypervisor({
    argo: { enabled: true, macPermissive: true },
    xsm: { mode: 'flask', policy: EXAMPLE_POLICY },
  });
  const actors = [
    { name: 'dom0', domid: 0, label: 'dom0_t' },
    { name: 'web', domid: 1, label: 'web_t' },
    { name: 'db', domid: 2, label: 'db_t' },
    { name: 'sandbox', domid: 3, label: 'sandbox_t' },
  ].map(({ name, domid, label }): Actor => {
    hv.createDomain({ domid, label, memoryBytes: 2 << 20 });
    const { platform, tally } = countingPlatform(platformOf(hv, domid));
    return { name, domid, label, guest: new ArgoGuest(platform), tally, received: { messages: 0, bytes: 0 } };
  });
  const [dom0, web, db, sandbox] = actors;
  const stats = { intact: 0, corrupt: 0, deniedSends: 0, deniedRegisters: 0, eagain: 0, woken: 0 };

  const logRing = dom0.guest.registerRing({ aport: PORT.log, len: 4032 }); // wildcard
  const metricsRing = dom0.guest.registerRing({ aport: PORT.metrics, partner: web.domid, len: 256 });
  const dbRing = db.guest.registerRing({ aport: PORT.db, partner: web.domid, len: 8192 });
  const webRing = web.guest.registerRing({ aport: PORT.web, partner: db.domid, len: 4032 });

  const check = (actor: Actor, bytes: Uint8Array, sender: number, seq: number) => {
    actor.received.messages++;
    actor.received.bytes += bytes.length;
    if (payloadIntact(bytes, sender, seq)) stats.intact++;
    else stats.corrupt++;
  };

  // Receivers: wait for VIRQ_ARGO, consume, notify (argo.md §5.5), until everything expected came.
  const receive = async (
    actor: Actor,
    ring: ArgoRing,
    expected: number,
    onMessage: (m: { source: number; payload: Uint8Array }) => Promise<void> | void,
    batch = 1,
  ) => {
    let got = 0;
    while (got < expected) {
      const virqs = actor.guest.virqCount; // read before looking: a VIRQ after this wakes the wait below
      const waiting = ring.pendingMessages();
      if (waiting === 0 || (waiting < batch && got + waiting < expected)) {
        await actor.guest.waitVirq(virqs); // nothing yet, or let a batch build up
        continue;
      }
      for (const m of actor.guest.consume(ring)) {
        got++;
        await onMessage({ source: m.source.domid, payload: m.payload });
      }
    }
  };

  const logSeq = new Map<number, number>();
  const tasks: Array<Promise<unknown>> = [
    receive(dom0, logRing, LOG_LINES * 3, ({ source, payload }) => {
      const seq = logSeq.get(source) ?? 0;
      logSeq.set(source, seq + 1);
      check(dom0, payload, source, seq);
    }),
    (async () => {
      let seq = 0;
      await receive(dom0, metricsRing, METRICS, ({ source, payload }) => check(dom0, payload, source, 1000 + seq++), METRICS_BATCH);
    })(),
    (async () => {
      let seq = 0;
      await receive(db, dbRing, QUERIES, async ({ source, payload }) => {
        check(db, payload, source, seq);
        await db.guest.send({ domid: web.domid, aport: PORT.web }, payloadFor(rng, db.domid, seq, 32, 1024));
        seq++;
      });
    })(),
    (async () => {
      let seq = 0;
      await receive(web, webRing, QUERIES, ({ source, payload }) => check(web, payload, source, seq++));
    })(),
  ];

  // Senders.
  tasks.push(
    (async () => {
      for (let seq = 0; seq < QUERIES; seq++) {
        await web.guest.send({ domid: db.domid, aport: PORT.db }, payloadFor(rng, web.domid, seq, 16, 512));
      }
    })(),
    (async () => {
      for (let i = 0; i < METRICS; i++) {
        const payload = payloadFor(rng, web.domid, 1000 + i, 64, 64);
        try {
          web.guest.sendNow({ domid: dom0.domid, aport: PORT.metrics }, payload);
        } catch (e) {
          if (!(e instanceof ArgoError) || e.code !== 'EAGAIN') throw e;
          stats.eagain++; // held back by the full ring: wait for dom0's notify, then retry
          await web.guest.send({ domid: dom0.domid, aport: PORT.metrics }, payload);
          stats.woken++;
        }
      }
    })(),
    ...[web, db, sandbox].map(async (actor) => {
      for (let seq = 0; seq < LOG_LINES; seq++) {
        await actor.guest.send({ domid: dom0.domid, aport: PORT.log }, payloadFor(rng, actor.domid, seq, 24, 200));
      }
    }),
    (async () => {
      for (let i = 0; i < DENIED_ATTEMPTS; i++) {
        try {
          sandbox.guest.sendNow({ domid: db.domid, aport: PORT.db }, payloadFor(rng, sandbox.domid, i, 16, 64));
        } catch (e) {
          if (e instanceof ArgoError && e.code === 'EACCES') stats.deniedSends++;
          else throw e;
        }
      }
      try {
        sandbox.guest.registerRing({ aport: 7, partner: db.domid, len: 4032 });
      } catch (e) {
        if (e instanceof ArgoError && e.code === 'EACCES') stats.deniedRegisters++;
        else throw e;
      }
    })(),
  );
  await untilSettled(Promise.all(tasks));
  const states = actors.map((a) => hv.argoState(a.domid)!);
  const summary: ExampleSummary = {
    seed,
    domains: actors.map((a) => ({
      domid: a.domid,
      name: a.name,
      label: a.label,
      rings: hv.argoState(a.domid)!.rings.length,
      messagesSent: a.tally.messagesSent,
      bytesSent: a.tally.bytesSent,
      messagesReceived: a.received.messages,
      bytesReceived: a.received.bytes,
      virqs: a.tally.virqs,
      hypercalls: a.tally.calls,
      errors: a.tally.errors,
    })),
    intact: stats.intact,
    corrupt: stats.corrupt,
    denied: { sends: stats.deniedSends, registers: stats.deniedRegisters },
    backpressure: { eagain: stats.eagain, wokenByNotify: stats.woken },
    finalState: {
      rings: states.reduce((n, s) => n + s.rings.length, 0),
      waiters: states.reduce((n, s) => n + s.rings.reduce((w, r) => w + r.waiters.length, 0), 0),
      domainsAfterDestroy: 0,
    },
  };
  for (const a of actors) hv.destroyDomain(a.domid);
  summary.finalState.domainsAfterDestroy = hv.domainList().length;
  return summary;
}
