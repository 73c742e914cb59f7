import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { createSystem } from '../../src/runtime/system.js';

// The same lifecycle operations in both runtimes end the same way: xl shutdown is acknowledged and
// followed by on_poweroff (destroy), a guest kexec by on_soft_reset, xl reboot by on_reboot=restart
// (destroy, then the same configuration as a new domain with a new domid, its memory attached in
// every worker, its kernel in the worker that hosted the old one).

const lifecycle = readFileSync('scenarios/lifecycle.yaml', 'utf8');
const rebootMidFlow = `name: reboot-mid-flow
seed: 3
boot: { argo: true, macPermissive: true }
xsm: { mode: dummy }
domains:
  - { name: sender, domid: 1, memory: 1MiB }
  - { name: receiver, domid: 2, memory: 1MiB }
rings:
  - { owner: receiver, port: 9, partner: any, len: 16KiB }
workloads:
  - { name: flow, from: sender, to: { domain: receiver, port: 9 }, count: 200, size: { min: 16, max: 200 }, rate: 1ms }
lifecycle:
  - { at: 60ms, op: reboot, domain: sender }
until: 400ms
`;
const outcome = (s: { domains: Array<{ name: string; domid: number; state: string }> }) => s.domains.map((d) => [d.name, d.domid, d.state]);

describe('lifecycle in the parallel runtime', () => {
  it('lifecycle.yaml: the domains end with the same domids and states in both runtimes, no violation', async () => {
    const scenario = parseScenario(lifecycle, 'lifecycle.yaml');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2 });
    expect(outcome(par)).toEqual(outcome(det));
    expect(par.invariantViolations).toEqual([]);
    expect(par.messages.duplicated + par.messages.corrupted + par.messages.reordered).toBe(0);
    expect(par.domains.find((d) => d.name === 'server')!.toolstack).toEqual(['pause', 'unpause', 'suspend', 'resume', 'guest_shutdown', 'reboot', 'shutdown']);
  });

  it('xl reboot (on_reboot=restart): the sender comes back with a new domid and its new kernel sends the rest', async () => {
    // 200 paced messages over 200 ms to a wildcard ring; the sender reboots at 60 ms, in the middle
    const scenario = parseScenario(rebootMidFlow, 'reboot-mid-flow.yaml');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2 });
    expect(outcome(par)).toEqual(outcome(det));
    expect(outcome(par)).toEqual([['sender', 3, 'running'], ['receiver', 2, 'running']]); // 1 quarantined, 2 in use
    for (const s of [det, par]) {
      // every message sent once — the old kernel's and, from where it stopped, the new one's — and delivered
      expect(s.messages).toMatchObject({ sent: 200, delivered: 200, refused: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 });
    }
    expect(par.invariantViolations).toEqual([]);
  });

  it('the same reboot on one worker: the old and new domain share the thread, same outcome', async () => {
    const scenario = parseScenario(lifecycle, 'lifecycle.yaml');
    const par = await runParallel(scenario, { workers: 1 });
    expect(outcome(par)).toEqual(outcome(createSystem(scenario).run()));
    expect(par.invariantViolations).toEqual([]);
  });

  it('the toolstack faults — a checkpoint (suspend, resumed `delay` later), xl shutdown, xl reboot — a stall and a crash end the same in both runtimes', async () => {
    const base = rebootMidFlow.replace('lifecycle:\n  - { at: 60ms, op: reboot, domain: sender }\n', '');
    const cases = [
      { faults: '  - { kind: suspend, domain: sender, at: 40ms, delay: 30ms }\n', end: [['sender', 1, 'running'], ['receiver', 2, 'running']], delivered: 200, fault: 'sender' },
      { faults: '  - { kind: shutdown, domain: receiver, at: 300ms }\n', end: [['sender', 1, 'running'], ['receiver', 2, 'dead']], delivered: 200, fault: 'receiver' },
      { faults: '  - { kind: reboot, domain: sender, at: 50ms }\n', end: [['sender', 3, 'running'], ['receiver', 2, 'running']], delivered: 200, fault: 'sender' },
      { faults: '  - { kind: stall, domain: receiver, at: 20ms, delay: 40ms }\n', end: [['sender', 1, 'running'], ['receiver', 2, 'running']], delivered: 200, fault: 'receiver' },
      // the guest crashes at the end of its flow: xl's on_crash (destroy) follows in both runtimes
      { faults: '  - { kind: crash, domain: receiver, at: 300ms }\n', end: [['sender', 1, 'running'], ['receiver', 2, 'dead']], delivered: 200, fault: 'receiver' },
    ];
    for (const c of cases) {
      const scenario = parseScenario(`${base}faults:\n${c.faults}`, 'toolstack-faults.yaml');
      const det = createSystem(scenario).run();
      const par = await runParallel(scenario, { workers: 2 });
      expect(outcome(det)).toEqual(c.end);
      expect(outcome(par)).toEqual(c.end);
      expect(det.faults).toEqual(par.faults);
      expect(Object.values(par.faults ?? {})).toEqual([1]); // the fault hit a live domain
      for (const s of [det, par]) {
        expect(s.messages).toMatchObject({ delivered: c.delivered, duplicated: 0, corrupted: 0, reordered: 0 });
        expect(s.invariantViolations).toEqual([]);
      }
    }
  }, 60_000);

  it('xl destroy, then xl create of the same configuration: a new domid (the old one quarantined), its new kernel sends the rest — the same in both runtimes', async () => {
    const text = rebootMidFlow.replace('  - { at: 60ms, op: reboot, domain: sender }\n', '  - { at: 60ms, op: destroy, domain: sender }\n  - { at: 90ms, op: create, domain: sender }\n');
    const scenario = parseScenario(text, 'destroy-create.yaml');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2 });
    expect(outcome(det)).toEqual([['sender', 3, 'running'], ['receiver', 2, 'running']]);
    expect(outcome(par)).toEqual(outcome(det));
    expect(par.domains.find((d) => d.name === 'sender')!.toolstack).toEqual(['destroy', 'create']);
    for (const s of [det, par]) {
      expect(s.messages).toMatchObject({ delivered: 200, duplicated: 0, corrupted: 0, reordered: 0 });
      expect(s.invariantViolations).toEqual([]);
    }
  }, 60_000);

  it('the receiver reboots, then the sender: the sender\'s new kernel looks the receiver\'s new domid up, and the flow check follows its sends there', async () => {
    // the records name where each sendv went (the domid the app looked up), not the scenario's domid:
    // the new kernel's messages are accepted by the new receiver's ring, none "accepted while no such
    // ring was registered", none corrupted
    const text = rebootMidFlow.replace('  - { at: 60ms, op: reboot, domain: sender }\n', '  - { at: 20ms, op: reboot, domain: receiver }\n  - { at: 60ms, op: reboot, domain: sender }\n');
    const scenario = parseScenario(text, 'both-reboot.yaml');
    const det = createSystem(scenario).run();
    for (const workers of [1, 2]) {
      const par = await runParallel(scenario, { workers });
      expect(par.invariantViolations).toEqual([]);
      expect(par.messages).toMatchObject({ duplicated: 0, corrupted: 0, reordered: 0 });
      // the old kernel's sends to the receiver's old domid are refused (ESRCH) until the sender's reboot; the new kernel's arrive
      expect(par.messages.delivered + par.messages.lost).toBe(par.messages.sent);
      expect(par.messages.delivered).toBeGreaterThan(100);
      const receiver = par.domains.find((d) => d.name === 'receiver')!;
      expect(receiver.domid).not.toBe(2);
      expect(receiver.received).toBe(par.messages.delivered);
      expect(par.domains.map((d) => d.state)).toEqual(det.domains.map((d) => d.state));
    }
  }, 60_000);

  it('xl reboot of a paused guest: its acknowledgement waits for the guest to run — the restart comes after the unpause, or never while it stays paused — as in the deterministic runtime', async () => {
    const withOps = (ops: string, until = '400ms') =>
      parseScenario(rebootMidFlow.replace('  - { at: 60ms, op: reboot, domain: sender }\n', ops).replace('until: 400ms', `until: ${until}`), 'paused-reboot.yaml');
    // unpaused at 90 ms: the guest acknowledges then, and comes back as domid 3
    const later = withOps('  - { at: 30ms, op: pause, domain: sender }\n  - { at: 60ms, op: reboot, domain: sender }\n  - { at: 90ms, op: unpause, domain: sender }\n');
    // never unpaused: no acknowledgement, no restart — still domid 1, paused
    const never = withOps('  - { at: 30ms, op: pause, domain: sender }\n  - { at: 60ms, op: reboot, domain: sender }\n');
    for (const [scenario, want] of [[later, [['sender', 3, 'running'], ['receiver', 2, 'running']]], [never, [['sender', 1, 'paused'], ['receiver', 2, 'running']]]] as const) {
      const det = createSystem(scenario).run();
      const par = await runParallel(scenario, { workers: 2 });
      expect(outcome(det)).toEqual(want);
      expect(outcome(par)).toEqual(want);
      expect(par.invariantViolations).toEqual([]);
      expect(par.messages).toMatchObject({ duplicated: 0, corrupted: 0, reordered: 0 });
    }
  }, 60_000);

  it('a paused guest that does not run within LIBXL_ACK_TIMEOUT never sees the request: the reboot ends in ERROR_TIMEDOUT, the domain goes on as it was; a second request while one waits is not taken', async () => {
    // scenario time 200× wall time: the 60 s timeout is 300 ms of wall time; unpaused at 70 s. The
    // timeout and the unpause are timed events, in scenario-time order however late the timers fire;
    // `until` leaves a loaded machine time to send the rest (the run ends, idle, once all are delivered)
    const text = rebootMidFlow
      .replace('  - { at: 60ms, op: reboot, domain: sender }\n', '  - { at: 30ms, op: pause, domain: sender }\n  - { at: 60ms, op: reboot, domain: sender }\n  - { at: 61ms, op: shutdown, domain: sender }\n  - { at: 70s, op: unpause, domain: sender }\n')
      .replace('until: 400ms', 'until: 400s');
    const scenario = parseScenario(text, 'ack-timeout.yaml');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2, timeScale: 1 / 200 });
    expect(outcome(det)).toEqual([['sender', 1, 'running'], ['receiver', 2, 'running']]);
    expect(outcome(par)).toEqual(outcome(det));
    expect(det.domains[0].toolstack).toContain('reboot ERROR_TIMEDOUT');
    expect(par.domains[0].toolstack).toEqual(['pause', 'reboot', 'shutdown', 'reboot: ERROR_TIMEDOUT (not acknowledged)', 'unpause']);
    expect(par.invariantViolations).toEqual([]);
    expect(par.messages).toMatchObject({ sent: 200, delivered: 200, lost: 0 });
  }, 60_000);
});
