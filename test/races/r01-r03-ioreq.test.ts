import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R1 and R3 (virtio-ioreq-lifecycle.md §6.7) in runs: a guest's virtio-mmio kicks are ioreq round
// trips across scheduling points (src/runtime/ioreq-vcpu.ts), so a device model can die (R1) or
// misbehave (R3) while the guest's vCPU waits on it.

const r1 = loadScenario('scenarios/races/r01-ioreq-server-destroy.yaml');
const r3 = loadScenario('scenarios/races/r03-ioreq-state-backwards.yaml');
const transports = loadScenario('scenarios/virtio-transports.yaml');

describe('race R1: a device model destroys its server while a vCPU waits (Xen f7039ee41b)', () => {
  it('switch off: the vCPU completes with nothing to read, the restarted device model serves the re-initialised device, no violation', () => {
    const summary = createSystem(r1).run();
    expect(summary.end).toBe('idle');
    expect(summary.invariantViolations).toEqual([]);
    const vda = summary.devices!.find((d) => d.name === 'vda')!;
    expect(vda.abandoned).toBeGreaterThan(0); // requests in flight when the device model died
    expect(vda.recoveries).toBe(1);
    expect(vda.state).toBe('driverOk');
    expect(vda.requestsOk + vda.abandoned).toBeGreaterThanOrEqual(600);
  });

  it('switch on: io.req.state stays READY after the completion — vcpu-io-state — and the restarted device is never reached again', () => {
    const summary = createSystem(withBugs(r1, ['ioreqStateStuckAfterServerDestroy'])).run();
    expect(summary.invariantViolations.length).toBeGreaterThan(0);
    expect(summary.invariantViolations[0]).toMatch(/vcpu-io-state: vCPU 0 of guest .* io\.req\.state 1, not NONE/);
    const vda = summary.devices!.find((d) => d.name === 'vda')!;
    expect(vda.state).not.toBe('driverOk');
    expect(vda.requestsOk).toBeLessThan(600);
  });

  it('argosim explore finds it from the plain virtio-transports workload (dm_death faults), and nothing with the switch off', () => {
    const found = explore(withBugs(transports, ['ioreqStateStuckAfterServerDestroy']), { strategy: 'random', budget: 400, seed: 1, faultWeights: { dm_death: 1 } });
    expect(found.counterexample?.violations[0]).toMatch(/vcpu-io-state/);
    expect(explore(transports, { strategy: 'random', budget: 10, seed: 1, faultWeights: { dm_death: 1, dm_misbehave: 1 } }).violating).toBe(0);
  }, 60_000);
});

describe('race R3: a device model moves a slot backwards (XSA-262, Xen 92938e5d14)', () => {
  it('switch off: Xen crashes the target; the vCPU is not left waiting, no violation', () => {
    const summary = createSystem(r3).run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.state).not.toBe('running');
  });

  it('switch on: the vCPU keeps waiting on a slot that went from INPROCESS back to READY — ioreq-state-forward', () => {
    const summary = createSystem(withBugs(r3, ['ioreqStateUnchecked'])).run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(/ioreq-state-forward: vCPU 0 of guest .* from state 2 back to 1/);
  });

  it('argosim explore finds it from the plain virtio-transports workload (dm_misbehave faults), and nothing with the switch off', () => {
    const found = explore(withBugs(transports, ['ioreqStateUnchecked']), { strategy: 'random', budget: 400, seed: 1, faultWeights: { dm_misbehave: 1 } });
    expect(found.counterexample?.violations[0]).toMatch(/ioreq-state-forward/);
    expect(explore(transports, { strategy: 'pct', budget: 10, seed: 1, faultWeights: { dm_misbehave: 1 } }).violating).toBe(0);
  }, 60_000);
});

describe('R5 (Xen ccb42e0ca6) in runs: the device model dies with its domain', () => {
  it('the guest vCPU waiting on it stays blocked, holding its shutdown deferral; a later xl shutdown stays in progress, and no monitor calls that a bug', () => {
    const text = readFileSync('scenarios/races/r01-ioreq-server-destroy.yaml', 'utf8').replace(
      /faults:[\s\S]*$/,
      'faults:\n  - { kind: backend_death, domain: driverdom, at: 1.61ms }\n  - { kind: shutdown, domain: guest, at: 4ms }\n',
    );
    const system = createSystem(parseScenario(text, 'r05.yaml'));
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.state).toBe('shuttingDown');
  });
});

describe('race R4: a broadcast INVALIDATE waits for one server only (Xen da20c93108)', () => {
  const r4 = loadScenario('scenarios/races/r04-broadcast-invalidate.yaml');
  const plain = loadScenario('scenarios/two-device-models.yaml');

  it('switch off: the vCPU waits for both device models; both disks complete every request, no violation', () => {
    const summary = createSystem(r4).run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.devices!.map((d) => [d.name, d.state, d.requestsOk])).toEqual([['xvda', 'driverOk', 200], ['xvdb', 'driverOk', 200]]);
  });

  it('switch on: the vCPU runs on after the first answer — broadcast-completes, once — and the other disk\'s next kick is dropped', () => {
    const summary = createSystem(withBugs(r4, ['broadcastWaitsForOneServer'])).run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(/broadcast-completes: vCPU 0 of guest .* server 0 \(device model in domain 1\) has not answered/);
    expect(summary.devices!.find((d) => d.name === 'xvda')!.requestsOk).toBeLessThan(200);
  });

  it('argosim explore finds it from the plain two-device-models workload (balloon faults), and nothing with the switch off', () => {
    const found = explore(withBugs(plain, ['broadcastWaitsForOneServer']), { strategy: 'random', budget: 200, seed: 1, faultWeights: { balloon: 1 } });
    expect(found.counterexample?.violations[0]).toMatch(/broadcast-completes/);
    expect(explore(plain, { strategy: 'pos', budget: 20, seed: 1, faultWeights: { balloon: 1, dm_death: 1 } }).violating).toBe(0);
  }, 60_000);
});

describe('R5 and libxl: an acknowledged suspend the guest cannot finish', () => {
  it('the guest acknowledges xl suspend but a vCPU waits on a dead device model: libxl gives up after 60 s with ERROR_GUEST_TIMEDOUT, no monitor fires', () => {
    const text = readFileSync('scenarios/races/r01-ioreq-server-destroy.yaml', 'utf8').replace(
      /faults:[\s\S]*$/,
      'faults:\n  - { kind: backend_death, domain: driverdom, at: 1.61ms }\n  - { kind: suspend, domain: guest, at: 4ms, delay: 100s }\n',
    );
    const summary = createSystem(parseScenario(text, 'r05-suspend.yaml')).run();
    expect(summary.invariantViolations).toEqual([]);
    const guest = summary.domains.find((d) => d.name === 'guest')!;
    expect(guest.toolstack).toContain('suspend ERROR_GUEST_TIMEDOUT');
  });
});

describe('a soft reset of a guest whose vCPU waits on an ioreq', () => {
  it('the vCPU still completes the old kernel\'s request, so a later reboot of the guest shuts it down (found by a clean exploration of virtio-transports.yaml)', () => {
    const text = `${readFileSync('scenarios/virtio-transports.yaml', 'utf8')}\nfaults:\n  - { kind: soft_reset, domain: mmio-guest, at: 8.703ms }\n  - { kind: reboot, domain: mmio-guest, at: 10.19ms }\n`;
    const summary = createSystem(parseScenario(text, 'soft-reset-then-reboot.yaml'), { seed: 1 }).run();
    expect(summary.invariantViolations).toEqual([]);
    const guest = summary.domains.find((d) => d.name === 'mmio-guest')!;
    expect(guest.toolstack).toEqual(['create OK', 'destroy OK', 'create OK']); // on_reboot=restart
    expect(guest.state).toBe('running');
  });
});
