import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/index.js';
import { createSystem } from '../../src/runtime/system.js';

// The device model libxl starts, with its timeout, in runs (virtio-ioreq-lifecycle.md §6.4 create
// steps 4–5 and unpause, §7 case 39): a guest with a virtio-mmio device is created paused, its device
// model is spawned (QEMU -S), and only when it confirms (its answer to libxl's QMP query-status) are
// the devices attached and the guest unpaused, after QMP `cont`; no confirmation within
// LIBXL_DEVICE_MODEL_START_TIMEOUT (60 s), or a device model that dies starting, ends the create in
// ERROR_FAIL with the half-built domain destroyed.

const scenario = (dmStart: string, extra = '') =>
  parseScenario(`
name: dm-start
boot: { argo: true, macPermissive: true }
domains:
  - { name: dom0, domid: 0 }
  - { name: driverdom, domid: 1, memory: 8MiB }
  - { name: guest, domid: 2, memory: 4MiB }
devices:
  - { name: vda, type: virtio-blk, transport: mmio, frontend: guest, backend: driverdom, disk: 64KiB, requests: 40${dmStart} }
rings:
  - { owner: dom0, port: 514, partner: any, len: 4KiB }
workloads:
  - { name: log, from: guest, to: { domain: dom0, port: 514 }, count: 3, size: 64, rate: 1ms }
${extra}
`);

function run(text: ReturnType<typeof scenario>, seed = 1) {
  const system = createSystem(text, { seed });
  const summary = system.run();
  const toolstack = system.actors().find((a) => a.id === 'toolstack:guest')!.actor.getSnapshot();
  const labels = system.scheduler.trace.map((t) => `${t.atMs} ${t.label}`);
  return { system, summary, toolstack, labels, guest: summary.domains.find((d) => d.name === 'guest')! };
}

describe('the device model started by the toolstack, in runs', () => {
  it('§6.4 create step 4 and unpause: QEMU (-S) confirms over QMP; the device is attached; cont, then the guest is unpaused', () => {
    const { system, summary, toolstack, labels, guest } = run(scenario(''));
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create OK']);
    expect(toolstack.context.steps).toEqual(['domain_make', 'device model: spawn', 'device model: started', 'devices: attach', 'device model: cont', 'unpause']);
    // the device model's start, each QMP command and its answer are scheduling points, before the guest runs
    const order = ['0 device model: start', '0 qmp query-status', '0 qmp query-status: reply', '0 qmp cont', '0 qmp cont: reply'].map((l) => labels.indexOf(l));
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]))).toBe(true);
    expect(labels.indexOf('0 log #0')).toBeGreaterThan(order[4]);
    // QEMU says "running" once cont made it run (QEMU's state change, written to xenstore)
    expect(system.xenstore.read(0, '/local/domain/1/device-model/2/state')).toBe('running');
    expect(summary.devices![0]).toMatchObject({ name: 'vda', transport: 'mmio', requestsOk: 40 });
    expect(guest.sent).toBe(3);
  });

  it('R8 switch qmpDisconnectBeforeReply: xenstore "running" confirms, libxl drops QMP with query-status unread, the cont goes unanswered', () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const { summary, toolstack, guest, labels } = run(scenario('', 'bugs: { qmpDisconnectBeforeReply: true }\nuntil: 20s'), seed);
      expect(toolstack.context.steps.slice(0, 5), `seed ${seed}`).toEqual(['domain_make', 'device model: spawn', 'device model: started', 'devices: attach', 'device model: cont']);
      expect(labels, `seed ${seed}`).toContain('0 device-model state: running');
      if (summary.invariantViolations.length === 0) {
        // libxl read the answer before its xswait fired: a clean disconnect, the cont answered
        outcomes.add('clean');
        expect(toolstack.context.steps.at(-1)).toBe('unpause');
        expect(guest.sent).toBe(3);
        continue;
      }
      outcomes.add('wedged');
      expect(summary.invariantViolations).toEqual([
        '10000ms: qmp-answers: QMP "cont" got no answer within 10 s (QEMU\'s monitor wedged: libxl disconnected with the answer to "query-status" unread, when xenstore said "running")',
      ]);
      expect(toolstack.context.steps.at(-1)).toBe('unpause: the device model did not resume');
      expect(guest.state).toBe('createdPaused');
      expect(guest.sent).toBe(0);
    }
    expect(outcomes).toEqual(new Set(['clean', 'wedged']));
  });

  it('a device model taking 30 s: the guest stays paused, its device unattached, until it confirms; then everything runs', () => {
    const { summary, toolstack, system, guest } = run(scenario(', dmStart: { delay: 30s }'));
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create OK']);
    expect(toolstack.context.steps).toContain('device model: started');
    const firstLog = system.scheduler.trace.find((t) => t.label === 'log #0');
    expect(firstLog?.atMs).toBeGreaterThanOrEqual(30_000);
    expect(summary.devices![0].requestsOk).toBe(40);
  });

  it('§7.39 a device model taking 70 s: at 60 s the half-built domain is destroyed, ERROR_FAIL, domid quarantined; the late confirmation is ignored', () => {
    const { summary, toolstack, system, guest } = run(scenario(', dmStart: { delay: 70s }', 'until: 100s'));
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create ERROR_FAIL']);
    expect(guest.state).toBe('dead');
    expect(toolstack.context.quarantined).toEqual([2]);
    expect(toolstack.context.steps).toContain('device model: start timed out');
    expect(toolstack.context.steps).not.toContain('device model: started');
    expect(system.scheduler.trace.some((t) => t.atMs === 70_000 && t.label === 'device model: start')).toBe(true);
    expect(summary.devices![0].requestsOk).toBe(0);
    expect(guest.sent).toBe(0);
  });

  it('a device model that dies starting (dmStart.fails): libxl sees its child die and fails the create at once, not after 60 s', () => {
    const { summary, toolstack, system, guest } = run(scenario(', dmStart: { delay: 2s, fails: true }'));
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create ERROR_FAIL']);
    expect(toolstack.context.steps.slice(0, 3)).toEqual(['domain_make', 'device model: spawn', 'device model: died during startup']);
    expect(system.scheduler.trace.find((t) => t.label === 'device model: exited')?.atMs).toBe(2_000);
    expect(system.hv.life(2)).toBe('gone');
  });

  it('the dm_start_fail fault at 0 races the confirmation: the start fails (create ERROR_FAIL) or the next start would; never a violation', () => {
    const results = new Set<string>();
    const text = scenario('', 'faults:\n  - { at: 0ms, kind: dm_start_fail, domain: guest }');
    for (let seed = 1; seed <= 12; seed++) {
      const { summary, guest } = run(text, seed);
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]);
      results.add(guest.toolstack.join());
    }
    expect(results).toEqual(new Set(['create OK', 'create ERROR_FAIL']));
  });

  it('a dm_start_fail fault fails the next start: the guest reboots (on_reboot=restart) and its new create ends ERROR_FAIL', () => {
    const text = scenario('', 'faults:\n  - { at: 5ms, kind: dm_start_fail, domain: guest }\nlifecycle:\n  - { at: 10ms, op: reboot, domain: guest }\nuntil: 1s');
    const { summary, guest, system } = run(text);
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create OK', 'reboot OK', 'destroy OK', 'create ERROR_FAIL']);
    expect(system.hv.life(3)).toBe('gone');
  });

  it('a create that failed, then xl create again: the new domain runs, and the device built for the old one is not attached to it', () => {
    const text = scenario('', 'faults:\n  - { at: 0ms, kind: dm_start_fail, domain: guest }\nlifecycle:\n  - { at: 10ms, op: create, domain: guest }\nuntil: 1s');
    let checked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const { summary, guest, system } = run(text, seed);
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]);
      if (guest.toolstack[0] !== 'create ERROR_FAIL') continue; // the confirmation won the race
      checked++;
      expect(guest.toolstack, `seed ${seed}`).toEqual(['create ERROR_FAIL', 'create OK']);
      expect(guest.domid, `seed ${seed}`).toBe(3); // domid 2 quarantined
      expect(system.hv.life(3)).toBe('alive');
      expect(summary.devices![0].requestsOk, `seed ${seed}`).toBe(0);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('§6.4 destroy: a guest that powers off keeps its device model (-no-shutdown) until libxl kills it; no error', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const { summary, toolstack, guest, labels } = run(scenario('', 'lifecycle:\n  - { at: 5ms, op: guest_shutdown, domain: guest, reason: poweroff }\nuntil: 1s'), seed);
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]);
      expect(guest.toolstack, `seed ${seed}`).toEqual(['create OK', 'destroy OK']);
      expect(toolstack.context.steps, `seed ${seed}`).toContain('device model: kill');
      expect(toolstack.context.steps, `seed ${seed}`).not.toContain('device model: already exited');
      expect(labels.some((l) => l.endsWith('device model: guest powered off')), `seed ${seed}`).toBe(false);
    }
  });

  it('R13 switch qemuExitsOnGuestPoweroff: QEMU exits with its guest; a destroy that comes after finds it gone and logs an error', () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 16; seed++) {
      const { summary, toolstack, guest } = run(scenario('', 'bugs: { qemuExitsOnGuestPoweroff: true }\nlifecycle:\n  - { at: 5ms, op: guest_shutdown, domain: guest, reason: poweroff }\nuntil: 1s'), seed);
      expect(guest.toolstack, `seed ${seed}`).toEqual(['create OK', 'destroy OK']); // the destroy goes on
      if (summary.invariantViolations.length === 0) {
        outcomes.add('killed first'); // libxl's @releaseDomain ran before QEMU heard of the power-off
        expect(toolstack.context.steps).not.toContain('device model: already exited');
        continue;
      }
      outcomes.add('exited first');
      expect(summary.invariantViolations).toEqual([expect.stringMatching(/^5(\.\d+)?ms: destroy-clean: libxl's destroy of guest \(domain 2\) logged an error: its device model had already exited$/)]);
      expect(toolstack.context.steps).toContain('device model: already exited');
    }
    expect(outcomes).toEqual(new Set(['killed first', 'exited first']));
  });

  it('a device model whose domain is paused for 20 s: a late start waits, a late query-status is asked again (the start has 60 s), a late cont fails the unpause', () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const { summary, toolstack, guest, labels } = run(scenario(', dmStart: { delay: 1ms }', 'lifecycle:\n  - { at: 1ms, op: pause, domain: driverdom }\n  - { at: 20s, op: unpause, domain: driverdom }\nuntil: 30s'), seed);
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]); // a QEMU that cannot run is not a wedged one
      expect(guest.toolstack, `seed ${seed}`).toEqual(['create OK']);
      expect(toolstack.context.steps, `seed ${seed}`).not.toContain('device model: died during startup');
      if (toolstack.context.steps.at(-1) === 'unpause') {
        // the query-status caught by the pause: asked again every 10 s until QEMU answered at 20 s;
        // or the start itself waited for the domain to run
        outcomes.add(labels.filter((l) => l.endsWith(' qmp query-status')).length >= 2 ? 'query late' : 'start late');
        expect(guest.sent, `seed ${seed}`).toBe(3);
      } else {
        // the cont caught by it: libxl's unpause gave up after 10 s, the guest stays paused
        outcomes.add('cont late');
        expect(toolstack.context.steps.at(-1), `seed ${seed}`).toBe('unpause: the device model did not resume');
        expect(guest.state, `seed ${seed}`).toBe('createdPaused');
      }
    }
    expect(outcomes).toEqual(new Set(['start late', 'query late', 'cont late']));
  });

  it('virtio-transports.yaml: only the virtio-mmio guest has a device model to start', () => {
    const system = createSystem(loadScenario('scenarios/virtio-transports.yaml'));
    const steps = (name: string) => system.actors().find((a) => a.id === `toolstack:${name}`)!.actor.getSnapshot().context.steps;
    expect(steps('mmio-guest')).toEqual(['domain_make', 'device model: spawn']);
    expect(steps('argo-guest')).toEqual(['domain_make', 'devices: attach', 'unpause']);
  });
});
