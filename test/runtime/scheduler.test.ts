import { describe, expect, it } from 'vitest';
import { ArgoGuest, createHypervisor, platformOf } from '../../src/index.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { fifoStrategy } from '../../src/runtime/strategies/fifo.js';
import { randomStrategy } from '../../src/runtime/strategies/random.js';
import { ReplayDivergenceError, replayStrategy } from '../../src/runtime/strategies/replay.js';
import type { Strategy } from '../../src/runtime/strategy.js';

function log(scheduler: Scheduler, out: string[], label: string, delayMs = 0): number {
  return scheduler.schedule({ kind: 'message', actor: label[0], label, delayMs, run: () => out.push(`${label}@${scheduler.now()}`) });
}

describe('Scheduler', () => {
  it('runs points in virtual-time order, ties in scheduling order, jumping time forward', () => {
    const s = new Scheduler({ strategy: fifoStrategy() });
    const out: string[] = [];
    log(s, out, 'c', 20);
    log(s, out, 'a', 5);
    log(s, out, 'b', 5);
    expect(s.run()).toBe('idle');
    expect(out).toEqual(['a@5', 'b@5', 'c@20']);
    expect(s.trace.map((t) => [t.atMs, t.enabled, t.label])).toEqual([
      [5, 2, 'a'],
      [5, 1, 'b'],
      [20, 1, 'c'],
    ]);
  });

  it('stops at untilMs with time standing there, or after maxSteps', () => {
    const s = new Scheduler({ strategy: fifoStrategy() });
    const out: string[] = [];
    log(s, out, 'a', 10);
    log(s, out, 'b', 30);
    expect(s.run({ untilMs: 25 })).toBe('until');
    expect(s.now()).toBe(25);
    expect(out).toEqual(['a@10']);
    expect(s.run({ maxSteps: 0 })).toBe('maxSteps');
    expect(s.run()).toBe('idle');
    expect(out).toEqual(['a@10', 'b@30']);
  });

  it('is the injected Clock: timers are scheduling points and can be cancelled', () => {
    const s = new Scheduler({ strategy: fifoStrategy() });
    const out: string[] = [];
    s.setTimer(10, () => out.push(`t1@${s.now()}`));
    const cancel = s.setTimer(5, () => out.push('cancelled'));
    cancel();
    s.run();
    expect(out).toEqual(['t1@10']);
    expect(s.trace[0].kind).toBe('timer');
  });

  it('a seed reproduces a random interleaving exactly; other seeds explore others', () => {
    const runWith = (strategy: Strategy) => {
      const s = new Scheduler({ strategy });
      const out: string[] = [];
      for (const l of 'abcdefgh') log(s, out, l);
      s.run();
      return { out: out.join(','), choices: s.choices, trace: JSON.stringify(s.trace) };
    };
    const first = runWith(randomStrategy(7));
    expect(runWith(randomStrategy(7))).toEqual(first);
    const orders = new Set([1, 2, 3, 4, 5, 6].map((seed) => runWith(randomStrategy(seed)).out));
    expect(orders.size).toBeGreaterThan(3);
    const replayed = runWith(replayStrategy(first.choices));
    expect(replayed.out).toBe(first.out);
    expect(replayed.trace).toBe(first.trace.replaceAll('"random"', '"replay"'));
  });

  it('a replay that diverges fails loudly', () => {
    const s = new Scheduler({ strategy: replayStrategy([1]) });
    log(s, [], 'a');
    expect(() => s.step()).toThrow(ReplayDivergenceError);
    const short = new Scheduler({ strategy: replayStrategy([]) });
    log(short, [], 'a');
    expect(() => short.step()).toThrow(/ran out of recorded choices/);
  });

  it('a strategy returning a bad index is a loud error', () => {
    const s = new Scheduler({ strategy: { name: 'bad', pick: () => 3 } });
    log(s, [], 'a');
    expect(() => s.step()).toThrow(/picked 3 of 1 enabled points/);
  });

  it('drives guests over Argo: the seed decides the interleaving of two senders, and replays it', () => {
    const run = (strategy: Strategy) => {
      const hv = createHypervisor({ argo: { enabled: true, macPermissive: true } });
      for (const domid of [1, 2, 3]) hv.createDomain({ domid });
      const [a, b, c] = [1, 2, 3].map((d) => new ArgoGuest(platformOf(hv, d)));
      const ring = c.registerRing({ aport: 9, len: 4032 });
      const s = new Scheduler({ strategy });
      for (let i = 0; i < 4; i++) {
        for (const [g, name] of [[a, 'a'], [b, 'b']] as const) {
          s.schedule({ kind: 'guest', actor: name, label: `send ${i}`, run: () => g.sendNow({ domid: 3, aport: 9 }, new Uint8Array([i])) });
        }
      }
      s.run();
      return { order: c.consume(ring).map((m) => `${m.source.domid}:${m.payload[0]}`).join(' '), choices: s.choices };
    };
    const one = run(randomStrategy(3));
    expect(run(randomStrategy(3)).order).toBe(one.order);
    expect(run(replayStrategy(one.choices)).order).toBe(one.order);
    expect(one.order.split(' ')).toHaveLength(8);
  });
});
