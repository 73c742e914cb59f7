import { describe, expect, it } from 'vitest';
import { LIBXL_QMP_CMD_TIMEOUT_MS, QmpMonitor, type QmpResult } from '../../src/runtime/qmp.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { fifoStrategy } from '../../src/runtime/strategies/fifo.js';

// QEMU's QMP monitor and libxl's connection to it (src/runtime/qmp.ts; docs/races.md R8, R13).

function setUp() {
  const scheduler = new Scheduler({ strategy: fifoStrategy(), record: true });
  const unanswered: string[] = [];
  const qmp = new QmpMonitor({
    qemu: (label, run) => void scheduler.schedule({ kind: 'guest', actor: 'qemu', label, run }),
    libxl: (label, run) => void scheduler.schedule({ kind: 'toolstack', actor: 'libxl', label, run }),
    timer: (ms, run) => scheduler.setTimer(ms, run),
    unanswered: (what) => unanswered.push(what),
  });
  return { scheduler, qmp, unanswered, labels: () => scheduler.trace.map((t) => `${t.atMs} ${t.actor} ${t.label}`) };
}

describe('QmpMonitor', () => {
  it('a command: QEMU does it and answers (its step), libxl reads the answer (its step); the timeout is cancelled', () => {
    const { scheduler, qmp, unanswered, labels } = setUp();
    const done: QmpResult[] = [];
    let effects = 0;
    qmp.command('cont', () => effects++, (ok) => done.push(ok));
    expect(scheduler.run()).toBe('idle');
    expect(labels()).toEqual(['0 qemu qmp cont', '0 libxl qmp cont: reply']);
    expect({ done, effects, unanswered }).toEqual({ done: ['answered'], effects: 1, unanswered: [] });
    expect(scheduler.now()).toBe(0); // no timer left to run the clock on
  });

  it('R8: libxl disconnects with an answer unread; the monitor is wedged and the next command times out, reported with the cause', () => {
    const { scheduler, qmp, unanswered } = setUp();
    const first: QmpResult[] = [];
    qmp.command('query-status', () => {}, (ok) => first.push(ok));
    qmp.disconnect('when xenstore said "running"');
    const second: QmpResult[] = [];
    let ran = 0;
    qmp.command('cont', () => ran++, (ok) => second.push(ok));
    scheduler.run();
    expect(first).toEqual([]); // dropped with the connection: neither answered nor failed
    expect(second).toEqual(['timeout']);
    expect(ran).toBe(0);
    expect(scheduler.now()).toBe(LIBXL_QMP_CMD_TIMEOUT_MS);
    expect(unanswered).toEqual(['qmp-answers: QMP "cont" got no answer within 10 s (QEMU\'s monitor wedged: libxl disconnected with the answer to "query-status" unread, when xenstore said "running")']);
  });

  it('two commands outstanding: a disconnect drops both and the first names the wedge; an exit fails both', () => {
    const a = setUp();
    const done: QmpResult[] = [];
    a.qmp.command('query-status', () => {}, (r) => done.push(r));
    a.qmp.command('query-cpus', () => {}, (r) => done.push(r));
    a.qmp.disconnect('first');
    a.qmp.disconnect('second');
    a.qmp.command('cont', () => {}, (r) => done.push(r));
    a.scheduler.run();
    expect(done).toEqual(['timeout']);
    expect(a.unanswered).toEqual(['qmp-answers: QMP "cont" got no answer within 10 s (QEMU\'s monitor wedged: libxl disconnected with the answer to "query-status" unread, first)']);
    const b = setUp();
    const ended: QmpResult[] = [];
    b.qmp.command('query-status', () => {}, (r) => ended.push(r));
    b.qmp.command('cont', () => {}, (r) => ended.push(r));
    b.qmp.close();
    b.scheduler.run();
    expect(ended).toEqual(['closed', 'closed']);
    expect(b.scheduler.now()).toBe(0);
  });

  it('a disconnect with every answer read leaves the monitor working', () => {
    const { scheduler, qmp, unanswered } = setUp();
    const done: QmpResult[] = [];
    qmp.command('query-status', () => {}, (ok) => done.push(ok));
    scheduler.run();
    qmp.disconnect('after query-status');
    qmp.command('cont', () => {}, (ok) => done.push(ok));
    scheduler.run();
    expect(done).toEqual(['answered', 'answered']);
    expect(unanswered).toEqual([]);
  });

  it('R13: QEMU exits — an outstanding command reads EOF at once, a later one is refused; no timeout, nothing reported', () => {
    const { scheduler, qmp, unanswered, labels } = setUp();
    const done: QmpResult[] = [];
    qmp.command('query-status', () => {}, (ok) => done.push(ok));
    qmp.close();
    qmp.command('cont', () => {}, (ok) => done.push(ok));
    scheduler.run();
    expect(done).toEqual(['closed', 'closed']);
    expect(labels()).toEqual(['0 qemu qmp query-status', '0 libxl qmp query-status: connection closed', '0 libxl qmp cont: connection refused']);
    expect(scheduler.now()).toBe(0);
    expect(unanswered).toEqual([]);
  });

  it('a QEMU that cannot run (its domain paused or gone) times out too, but that is not the bug: not reported', () => {
    const scheduler = new Scheduler({ strategy: fifoStrategy() });
    const unanswered: string[] = [];
    const qmp = new QmpMonitor({ qemu: () => {}, libxl: (label, run) => void scheduler.schedule({ kind: 'toolstack', actor: 'libxl', label, run }), timer: (ms, run) => scheduler.setTimer(ms, run), unanswered: (w) => unanswered.push(w) });
    const done: QmpResult[] = [];
    qmp.command('cont', () => {}, (ok) => done.push(ok));
    scheduler.run();
    expect(done).toEqual(['timeout']);
    expect(unanswered).toEqual([]);
  });
});
