import { ARGO_MSG_HEADER_BYTES, roundupMessage } from '../argo/constants.js';

/**
 * One operation on one Argo ring as a thread saw it: invoked and returned at stamps of a shared
 * clock. `send` is a sendv of message `id` of `size` bytes (`ok` or `EAGAIN`); `recv` is the
 * receiver taking the next message (its id and size) or finding the ring `empty`.
 */
export type RingOp =
  | { kind: 'send'; invoke: number; ret: number; id: number; size: number; result: 'ok' | 'EAGAIN' }
  | { kind: 'recv'; invoke: number; ret: number; result: { id: number; size: number } | 'empty' };

/** The sequential ring: Xen's pointers (argo.md §5.3–§5.5) and the messages between them. */
interface RingState {
  rx: number;
  tx: number;
  queue: Array<{ id: number; size: number }>;
}

/** Where each step of a linearizable history went, or why none exists. */
export type LinearizabilityResult = { ok: true; order: Array<[thread: number, index: number]> } | { ok: false; reason: string };

const EXPLORED_MAX = 2_000_000;

/**
 * A Knossos-style (Wing & Gong, with memoised configurations) linearizability checker for the
 * histories of concurrent operations on one ring of `len` data bytes, against the sequential core:
 * is there a total order of the operations, respecting each thread's program order and real time
 * (an operation that returned before another was invoked comes first), in which each result is what
 * the sequential ring gives? argo.md §8.6 semantics 1 and 4: operations on one ring are linearizable
 * and a receiver never sees a partial message. A configuration is (operations done per thread, ring
 * state), so histories of a few threads and thousands of operations check in milliseconds.
 *
 * @example
 * ```ts
 * checkRingHistory(256, [[{ kind: 'send', invoke: 1, ret: 2, id: 1, size: 10, result: 'ok' }], [{ kind: 'recv', invoke: 3, ret: 4, result: { id: 1, size: 10 } }]]);
 * // { ok: true, order: [[0, 0], [1, 0]] }
 * ```
 */
export function checkRingHistory(len: number, threads: RingOp[][]): LinearizabilityResult {
  threads.forEach((ops, t) =>
    ops.forEach((op, i) => {
      if (!(op.invoke < op.ret)) throw new RangeError(`thread ${t} op ${i}: invoke ${op.invoke} is not before return ${op.ret}`);
      if (i > 0 && !(ops[i - 1].ret < op.invoke)) throw new RangeError(`thread ${t} op ${i} overlaps the op before it`);
    }),
  );
  const failed = new Set<string>();
  const counts = threads.map(() => 0);
  const order: Array<[number, number]> = [];
  let explored = 0;
  const search = (state: RingState): boolean => {
    if (counts.every((c, t) => c === threads[t].length)) return true;
    const key = `${counts.join(',')}|${state.rx},${state.tx},${state.queue.map((m) => m.id).join(',')}`;
    if (failed.has(key)) return false;
    if (++explored > EXPLORED_MAX) throw new Error(`linearizability check gave up after ${EXPLORED_MAX} configurations`);
    let earliestReturn = Infinity;
    threads.forEach((ops, t) => {
      if (counts[t] < ops.length) earliestReturn = Math.min(earliestReturn, ops[counts[t]].ret);
    });
    for (let t = 0; t < threads.length; t++) {
      const op = threads[t][counts[t]];
      if (!op || op.invoke > earliestReturn) continue; // someone returned before it began: that one first
      const next = apply(len, state, op);
      if (!next) continue;
      counts[t]++;
      order.push([t, counts[t] - 1]);
      if (search(next)) return true;
      order.pop();
      counts[t]--;
    }
    failed.add(key);
    return false;
  };
  if (search({ rx: 0, tx: 0, queue: [] })) return { ok: true, order };
  return { ok: false, reason: `no linearization of ${threads.reduce((n, ops) => n + ops.length, 0)} operations matches the sequential ring (explored ${explored} configurations)` };
}

/** The sequential ring's answer to `op` from `state`: the next state if it gives op's result, else undefined. */
function apply(len: number, state: RingState, op: RingOp): RingState | undefined {
  const step = (size: number) => ARGO_MSG_HEADER_BYTES + roundupMessage(size);
  if (op.kind === 'send') {
    const free = state.rx === state.tx ? len : (state.rx - state.tx + len) % len; // §5.3
    const fits = roundupMessage(op.size) + ARGO_MSG_HEADER_BYTES < free; // §4.3 step 17, one slot always free
    if ((op.result === 'ok') !== fits) return undefined;
    if (!fits) return state;
    return { rx: state.rx, tx: (state.tx + step(op.size)) % len, queue: [...state.queue, { id: op.id, size: op.size }] };
  }
  const head = state.queue[0];
  if (op.result === 'empty') return head ? undefined : state;
  if (!head || head.id !== op.result.id || head.size !== op.result.size) return undefined;
  return { rx: (state.rx + step(head.size)) % len, tx: state.tx, queue: state.queue.slice(1) };
}
