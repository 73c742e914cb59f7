import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assign, createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, type StatePath } from 'xstate/graph';
import {
  ControlNodes,
  LIBXL_DOMID_REUSE_TIMEOUT_MS,
  releaseDomainEvent,
  toolstackMachine,
  toolstackMachineFor,
  TOOLSTACK_SHUTDOWN_REASONS,
  xstateClock,
  type DeviceModel,
  type ToolstackEvent,
  type ToolstackHost,
  type ToolstackInput,
} from '../../machines/index.js';
import {
  SHUTDOWN_COMPLETE,
  SHUTDOWN_crash,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_soft_reset,
  SHUTDOWN_suspend,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
} from '../../src/domain/lifecycle.js';
import { ArgoError, ArgoGuest, createHypervisor, fifoStrategy, platformOf, Scheduler, type Hypervisor } from '../../src/index.js';

// virtio-ioreq-lifecycle.md §6.4 (libxl ao operations) and §7 cases 38–45. Virtual time only: the
// deterministic Scheduler (fifo) is the actors' clock; guest and watch events are its points.

type Snapshot = SnapshotFrom<typeof toolstackMachine>;

const DOMID = 1;
const BACKEND = 2;

const PV: ToolstackInput = { domid: DOMID, deviceModel: false, pvControl: true };
const HVM_DM: ToolstackInput = { domid: DOMID, deviceModel: true, pvControl: true };

function world() {
  const hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 16, gfnArenaPages: 4096 });
  hv.createDomain({ domid: 0 });
  const scheduler = new Scheduler({ strategy: fifoStrategy() });
  const nodes = new ControlNodes();
  return { hv, scheduler, nodes };
}

type World = ReturnType<typeof world>;

function start({ hv, scheduler, nodes }: World, input: ToolstackInput, host: ToolstackHost = {}) {
  return createActor(toolstackMachineFor(hv, { controlNodes: nodes, ...host }), { input, clock: xstateClock(scheduler) }).start();
}

type Actor = ReturnType<typeof start>;

/** At `delayMs` from now the guest clears control/shutdown; its GUEST_ACK reaches the toolstack as a later point. */
function guestAcksAt(w: World, ts: Actor, delayMs: number, domid = DOMID): void {
  w.scheduler.schedule({
    kind: 'guest',
    actor: `domain-${domid}`,
    label: 'clear control/shutdown',
    delayMs,
    run: () => {
      if (w.nodes.acknowledge(domid)) {
        w.scheduler.schedule({ kind: 'message', actor: 'toolstack', label: 'GUEST_ACK', run: () => ts.send({ type: 'GUEST_ACK' }) });
      }
    },
  });
}

/** @releaseDomain fires: the toolstack gets what getdomaininfo shows. */
function watchFires(hv: Hypervisor, ts: Actor, domid = DOMID): void {
  const event = releaseDomainEvent(hv, domid);
  if (event) ts.send(event);
}

const results = (ts: Actor) => ts.getSnapshot().context.results;
const aoState = (ts: Actor) => (ts.getSnapshot().value as { active?: { ao: string } }).active?.ao;

const DM_NEVER_STARTS: DeviceModel = { start: () => {}, resume: () => {}, kill: () => true };

describe('toolstackMachine (lifecycle §6.4)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/toolstack.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('§7.38 domain_create leaves the domain paused, vCPUs not runnable, until the first toolstack unpause', () => {
    const w = world();
    const ts = start(w, PV);
    ts.send({ type: 'CREATE' });
    expect(ts.getSnapshot().matches({ active: { ao: 'idle', watch: 'alive' } })).toBe(true);
    expect(ts.getSnapshot().context).toMatchObject({ domid: DOMID, lastResult: 'OK', results: [{ op: 'create', result: 'OK' }] });
    const created = w.hv.domctl.getInfo(DOMID);
    expect(created.flags & XEN_DOMINF_paused).toBeTruthy();
    expect(created.flags & XEN_DOMINF_running).toBe(0);
    expect(created.creationFinished).toBe(false);
    // nothing unpauses it on its own, however long virtual time runs
    w.scheduler.run({ untilMs: 3_600_000 });
    expect(w.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_paused).toBeTruthy();
    ts.send({ type: 'UNPAUSE' });
    const running = w.hv.domctl.getInfo(DOMID);
    expect(running.flags & XEN_DOMINF_running).toBeTruthy();
    expect(running.creationFinished).toBe(true);

    // `xl create` without -p: unpaused once creation completes
    const w2 = world();
    const auto = start(w2, { ...HVM_DM, autoUnpause: true });
    auto.send({ type: 'CREATE' });
    expect(w2.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_running).toBeTruthy();
    // lifecycle §6.4 unpause: the device model is resumed (QMP cont) first
    expect(auto.getSnapshot().context.steps).toEqual(['domain_make', 'device model: spawn', 'device model: started', 'devices: attach', 'device model: cont', 'unpause']);
  });

  it('§7.39 a device model that never starts: after 60 virtual seconds the half-built domain is destroyed, ERROR_FAIL, domid quarantined 60 s, then reusable', () => {
    const w = world();
    let dmWorks = false;
    const killed: number[] = [];
    const dm: DeviceModel = { start: (_d, started) => void (dmWorks && started()), resume: (_d, done) => done(true), kill: (d) => killed.push(d) > 0 };
    const ts = start(w, HVM_DM, { deviceModel: dm });
    ts.send({ type: 'CREATE' });
    w.scheduler.run({ untilMs: 59_999 });
    expect(ts.getSnapshot().matches({ creating: 'startingDm' })).toBe(true);
    expect(w.hv.life(DOMID)).toBe('alive');
    expect(w.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_paused).toBeTruthy();

    w.scheduler.run({ untilMs: 60_000 });
    expect(ts.getSnapshot().value).toBe('idle');
    expect(w.hv.life(DOMID)).toBe('gone');
    expect(killed).toEqual([DOMID]);
    expect(ts.getSnapshot().context).toMatchObject({ lastResult: 'ERROR_FAIL', results: [{ op: 'create', result: 'ERROR_FAIL' }], quarantined: [DOMID] });
    expect(ts.getSnapshot().context.steps).toEqual([
      'domain_make',
      'device model: spawn',
      'device model: start timed out',
      'pci: remove',
      'pause',
      'device model: kill',
      'devices: none attached',
      'xenstore: remove /vm, /local/domain/N, /libxl/N',
      'xc_domain_destroy',
    ]);
    expect(ts.getSnapshot().context.reported).toEqual([{ type: 'DOMAIN_DEATH', domid: DOMID }]);

    dmWorks = true;
    w.scheduler.run({ untilMs: 60_000 + LIBXL_DOMID_REUSE_TIMEOUT_MS - 1 });
    ts.send({ type: 'CREATE', domid: DOMID });
    expect(ts.getSnapshot().value).toBe('idle');
    expect(w.hv.life(DOMID)).toBe('gone');
    expect(ts.getSnapshot().context.lastResult).toBe('ERROR_FAIL');
    expect(ts.getSnapshot().context.quarantined).toEqual([DOMID]);

    w.scheduler.run({ untilMs: 60_000 + LIBXL_DOMID_REUSE_TIMEOUT_MS });
    expect(ts.getSnapshot().context.quarantined).toEqual([]);
    ts.send({ type: 'CREATE', domid: DOMID });
    expect(ts.getSnapshot().matches('active')).toBe(true);
    expect(w.hv.life(DOMID)).toBe('alive');
    expect(ts.getSnapshot().context.results.map((r) => r.result)).toEqual(['ERROR_FAIL', 'ERROR_FAIL', 'OK']);
  });

  it('§7.39 a device model that dies during its start (libxl_exec.c spawn_middle_death): the half-built domain is destroyed at once, ERROR_FAIL, quarantined', () => {
    const w = world();
    let fail = () => {};
    const dm: DeviceModel = { start: (_d, _started, failed) => void (fail = failed), resume: () => {}, kill: () => true };
    const ts = start(w, HVM_DM, { deviceModel: dm });
    ts.send({ type: 'CREATE' });
    w.scheduler.run({ untilMs: 5_000 });
    expect(ts.getSnapshot().matches({ creating: 'startingDm' })).toBe(true);
    fail();
    expect(ts.getSnapshot().value).toBe('idle');
    expect(w.hv.life(DOMID)).toBe('gone');
    expect(ts.getSnapshot().context).toMatchObject({ lastResult: 'ERROR_FAIL', quarantined: [DOMID] });
    expect(ts.getSnapshot().context.steps.slice(0, 4)).toEqual(['domain_make', 'device model: spawn', 'device model: died during startup', 'pci: remove']);
    expect(ts.getSnapshot().context.steps).toContain('xc_domain_destroy');
    // the 60 s timeout is gone with the state: nothing more happens at 60 s
    w.scheduler.run({ untilMs: 70_000 });
    expect(ts.getSnapshot().context.results).toEqual([{ op: 'create', result: 'ERROR_FAIL' }]);
  });

  it('R16 switch halfBuiltDomainKept: the create still ends ERROR_FAIL, but the half-built domain is left, paused, its domid not quarantined', () => {
    for (const how of ['timeout', 'died'] as const) {
      const w = world();
      let fail = () => {};
      const killed: number[] = [];
      const dm: DeviceModel = { start: (_d, _started, failed) => void (fail = failed), resume: () => {}, kill: (d) => killed.push(d) > 0 };
      const ts = start(w, { ...HVM_DM, halfBuiltDomainKept: true }, { deviceModel: dm });
      ts.send({ type: 'CREATE' });
      if (how === 'died') fail();
      else w.scheduler.run({ untilMs: 60_000 });
      expect(ts.getSnapshot().value, how).toBe('idle');
      expect(ts.getSnapshot().context.results, how).toEqual([{ op: 'create', result: 'ERROR_FAIL' }]);
      expect(ts.getSnapshot().context.steps.at(-1), how).toBe('create: half-built domain left behind');
      expect(w.hv.life(DOMID), how).toBe('alive');
      expect(w.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_paused, how).toBeTruthy();
      expect(killed, how).toEqual([]);
      expect(ts.getSnapshot().context.quarantined, how).toEqual([]);
    }
  });

  it('§7.39 a CREATE naming no domid during the quarantine takes the next id neither quarantined nor in use', () => {
    const w = world();
    const ts = start(w, HVM_DM, { deviceModel: DM_NEVER_STARTS });
    ts.send({ type: 'CREATE' });
    w.scheduler.run({ untilMs: 60_000 });
    expect(ts.getSnapshot().context.quarantined).toEqual([DOMID]);
    w.hv.createDomain({ domid: 2 }); // id 2 in use: the allocator skips it as well as the quarantined 1
    ts.send({ type: 'CREATE' });
    expect(ts.getSnapshot().context.domid).toBe(3);
    expect(w.hv.life(3)).toBe('alive');
  });

  it('§7.40 shutdown without PV control is ERROR_NOPARAVIRT at once; a PV guest that never acknowledges → ERROR_TIMEDOUT after 60 s, the domain still running', () => {
    const w = world();
    const hvm = start(w, { domid: DOMID, deviceModel: true, pvControl: false });
    hvm.send({ type: 'CREATE' });
    hvm.send({ type: 'UNPAUSE' });
    hvm.send({ type: 'SHUTDOWN' });
    hvm.send({ type: 'REBOOT' });
    expect(results(hvm).slice(1)).toEqual([
      { op: 'shutdown', result: 'ERROR_NOPARAVIRT' },
      { op: 'reboot', result: 'ERROR_NOPARAVIRT' },
    ]);
    expect(aoState(hvm)).toBe('idle');
    expect(w.nodes.read(DOMID)).toBeUndefined();
    expect(w.scheduler.pending).toBe(0); // nothing waits

    const w2 = world();
    const pv = start(w2, PV);
    pv.send({ type: 'CREATE' });
    pv.send({ type: 'UNPAUSE' });
    pv.send({ type: 'SHUTDOWN' });
    expect(w2.nodes.read(DOMID)).toBe('poweroff');
    w2.scheduler.run({ untilMs: 59_999 });
    expect(aoState(pv)).toBe('awaitingAck');
    w2.scheduler.run({ untilMs: 60_000 });
    expect(aoState(pv)).toBe('idle');
    expect(pv.getSnapshot().context.lastResult).toBe('ERROR_TIMEDOUT');
    expect(results(pv).at(-1)).toEqual({ op: 'shutdown', result: 'ERROR_TIMEDOUT' });
    expect(w2.nodes.read(DOMID)).toBeUndefined(); // the transaction removed the request
    expect(w2.hv.life(DOMID)).toBe('alive');
    expect(w2.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_running).toBeTruthy();
    expect(pv.getSnapshot().matches({ active: { watch: 'alive' } })).toBe(true);
  });

  it('§6.4 shutdown/reboot complete on acknowledgement, not when the domain stops; the stop is reported by the watch', () => {
    const w = world();
    const ts = start(w, PV);
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'UNPAUSE' });
    ts.send({ type: 'REBOOT' });
    guestAcksAt(w, ts, 5_000);
    w.scheduler.run({ untilMs: 5_000 });
    expect(results(ts).at(-1)).toEqual({ op: 'reboot', result: 'OK' });
    expect(w.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_running).toBeTruthy(); // still running
    expect(ts.getSnapshot().context.reported).toEqual([]);
    // the guest reboots later; on_reboot=restart destroys it and creates the configuration again
    w.hv.shutdownDomain(DOMID, SHUTDOWN_reboot);
    watchFires(w.hv, ts);
    expect(ts.getSnapshot().matches({ destroying: 'devices' })).toBe(true);
    ts.send({ type: 'BACKEND_CLOSED' });
    const c = ts.getSnapshot().context;
    expect(c.reported).toEqual([
      { type: 'DOMAIN_SHUTDOWN', domid: DOMID, reason: 'reboot' },
      { type: 'DOMAIN_DEATH', domid: DOMID },
    ]);
    expect(w.hv.life(DOMID)).toBe('gone');
    expect(c.domid).toBe(2); // a new domid: 1 is quarantined
    expect(c.quarantined).toEqual([DOMID]);
    expect(w.hv.life(2)).toBe('alive');
    expect(w.hv.domctl.getInfo(2).flags & XEN_DOMINF_paused).toBeTruthy();
    expect(results(ts).map((r) => `${r.op} ${r.result}`)).toEqual(['create OK', 'reboot OK', 'destroy OK', 'create OK']);
    w.scheduler.run({ untilMs: 5_000 + LIBXL_DOMID_REUSE_TIMEOUT_MS });
    expect(ts.getSnapshot().context.quarantined).toEqual([]);
  });

  it('§7.41 suspend: acknowledged, then a shutdown with reason crash fails it; with reason suspend it proceeds to save', () => {
    const w = world();
    const ts = start(w, PV);
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'UNPAUSE' });
    ts.send({ type: 'SUSPEND' });
    expect(w.nodes.read(DOMID)).toBe('suspend');
    guestAcksAt(w, ts, 1_000);
    w.scheduler.run({ untilMs: 1_000 });
    expect(aoState(ts)).toBe('awaitingSuspend');
    w.hv.crashDomain(DOMID);
    watchFires(w.hv, ts);
    expect(ts.getSnapshot().matches({ destroying: 'devices' })).toBe(true); // on_crash=destroy: devices closing
    w.scheduler.run({ untilMs: 1_000 + 10_000 }); // no backend answers: forced after LIBXL_DESTROY_TIMEOUT
    expect(results(ts).at(-2)).toEqual({ op: 'suspend', result: 'ERROR_FAIL' });
    // on_crash=destroy followed
    expect(results(ts).at(-1)).toEqual({ op: 'destroy', result: 'OK' });
    expect(ts.getSnapshot().context.reported).toEqual([
      { type: 'DOMAIN_SHUTDOWN', domid: DOMID, reason: 'crash' },
      { type: 'DOMAIN_DEATH', domid: DOMID },
    ]);
    expect(w.hv.life(DOMID)).toBe('gone');

    const w2 = world();
    const ok = start(w2, PV);
    ok.send({ type: 'CREATE' });
    ok.send({ type: 'UNPAUSE' });
    ok.send({ type: 'SUSPEND' });
    guestAcksAt(w2, ok, 1_000);
    w2.scheduler.run({ untilMs: 1_000 });
    w2.hv.shutdownDomain(DOMID, SHUTDOWN_suspend);
    watchFires(w2.hv, ok);
    expect(results(ok).at(-1)).toEqual({ op: 'suspend', result: 'OK' });
    expect(ok.getSnapshot().context.steps.at(-1)).toBe('suspend: save device model and memory');
    // suspend has no on_* action: the domain stays, shut down with reason suspend, for the save
    expect(ok.getSnapshot().matches({ active: { ao: 'idle', watch: 'shutdown' } })).toBe(true);
    expect(w2.hv.domctl.getInfo(DOMID).shutdownState).toBe(SHUTDOWN_COMPLETE);

    // HVM without PV drivers: xc_domain_shutdown(SHUTDOWN_suspend) directly, no acknowledgement
    const w3 = world();
    const hvm = start(w3, { domid: DOMID, deviceModel: true, pvControl: false });
    hvm.send({ type: 'CREATE' });
    hvm.send({ type: 'UNPAUSE' });
    hvm.send({ type: 'SUSPEND' });
    expect(w3.nodes.read(DOMID)).toBeUndefined();
    watchFires(w3.hv, hvm);
    expect(results(hvm).at(-1)).toEqual({ op: 'suspend', result: 'OK' });
  });

  it('§7.42 the guest acknowledges suspend at the same moment as the 60 s timeout: the transaction counts it as acknowledged, no double failure', () => {
    const w = world();
    const ts = start(w, PV);
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'UNPAUSE' });
    guestAcksAt(w, ts, 60_000); // scheduled before the request, so it runs first at 60 s
    ts.send({ type: 'SUSPEND' });
    w.scheduler.run({ untilMs: 60_000 });
    expect(w.scheduler.trace.map((s) => [s.atMs, s.kind, s.label])).toEqual([
      [60_000, 'guest', 'clear control/shutdown'],
      [60_000, 'timer', 'timer +60000ms'],
      [60_000, 'message', 'GUEST_ACK'], // arrives after the timeout: ignored
    ]);
    expect(aoState(ts)).toBe('awaitingSuspend');
    expect(results(ts).filter((r) => r.op === 'suspend')).toEqual([]);
    expect(ts.getSnapshot().context.steps.slice(-3)).toEqual([
      'control/shutdown: suspend',
      'control/shutdown: timeout, transaction',
      'control/shutdown: acknowledged',
    ]);
    w.hv.shutdownDomain(DOMID, SHUTDOWN_suspend);
    watchFires(w.hv, ts);
    expect(results(ts).filter((r) => r.op === 'suspend')).toEqual([{ op: 'suspend', result: 'OK' }]);

    // one millisecond later is too late: one failure, and the late acknowledgement changes nothing
    const w2 = world();
    const late = start(w2, PV);
    late.send({ type: 'CREATE' });
    late.send({ type: 'SUSPEND' });
    guestAcksAt(w2, late, 60_001);
    w2.scheduler.run();
    expect(results(late).filter((r) => r.op === 'suspend')).toEqual([{ op: 'suspend', result: 'ERROR_TIMEDOUT' }]);
    expect(aoState(late)).toBe('idle');
  });

  it('§7.43 destroy with a device model: PCI removed → paused → DM killed → devices removed → xenstore cleaned → xc_domain_destroy', () => {
    const w = world();
    const seenAtKill: Array<{ paused: boolean; life: string }> = [];
    const dm: DeviceModel = {
      start: (_d, started) => started(),
      resume: (_d, done) => done(true),
      kill: (d) => seenAtKill.push({ paused: (w.hv.domctl.getInfo(d).flags & XEN_DOMINF_paused) !== 0, life: w.hv.life(d) }) > 0,
    };
    const ts = start(w, { ...HVM_DM, autoUnpause: true }, { deviceModel: dm, backendDomid: BACKEND });
    w.hv.createDomain({ domid: BACKEND });
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'DESTROY' });
    expect(ts.getSnapshot().matches({ destroying: 'devices' })).toBe(true);
    // the backend answers be/state=Closed a second later
    w.scheduler.schedule({ kind: 'message', actor: 'toolstack', label: 'be/state=Closed', delayMs: 1_000, run: () => ts.send({ type: 'BACKEND_CLOSED' }) });
    w.scheduler.run({ untilMs: 1_000 });
    expect(ts.getSnapshot().value).toBe('idle');
    expect(ts.getSnapshot().context.steps).toEqual([
      'domain_make',
      'device model: spawn',
      'device model: started',
      'devices: attach',
      'device model: cont',
      'unpause',
      'pci: remove',
      'pause',
      'device model: kill',
      'devices: remove (be/state=Closing)',
      'devices: be/state=Closed',
      'xenstore: remove /vm, /local/domain/N, /libxl/N',
      'xc_domain_destroy',
    ]);
    // the DM was killed while the domain was paused and before it was destroyed: no I/O could reach it
    expect(seenAtKill).toEqual([{ paused: true, life: 'alive' }]);
    expect(w.hv.life(DOMID)).toBe('gone');
    expect(results(ts).at(-1)).toEqual({ op: 'destroy', result: 'OK' });
  });

  it('§7.44 backend driver domain destroyed while the frontend is connected: removal does not wait for be/state=Closed', () => {
    const w = world();
    w.hv.createDomain({ domid: BACKEND });
    const ts = start(w, PV, { backendDomid: BACKEND });
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'UNPAUSE' });
    w.hv.destroyDomain(BACKEND);
    // the frontend sees the backend as gone
    const frontend = new ArgoGuest(platformOf(w.hv, DOMID));
    let code = '';
    try {
      frontend.sendNow({ domid: BACKEND, aport: 7 }, new Uint8Array(16));
    } catch (e) {
      if (!(e instanceof ArgoError)) throw e;
      code = e.code;
    }
    expect(['ECONNREFUSED', 'ESRCH']).toContain(code);
    ts.send({ type: 'DESTROY' });
    expect(ts.getSnapshot().value).toBe('idle'); // at once, virtual time 0
    expect(w.scheduler.now()).toBe(0);
    expect(ts.getSnapshot().context.steps).toContain('devices: backend gone, no wait');
    expect(w.hv.life(DOMID)).toBe('gone');

    // with the backend alive but silent, the removal waits LIBXL_DESTROY_TIMEOUT and is then forced
    const w2 = world();
    w2.hv.createDomain({ domid: BACKEND });
    const waits = start(w2, PV, { backendDomid: BACKEND });
    waits.send({ type: 'CREATE' });
    waits.send({ type: 'DESTROY' });
    w2.scheduler.run({ untilMs: 9_999 });
    expect(waits.getSnapshot().matches({ destroying: 'devices' })).toBe(true);
    w2.scheduler.run({ untilMs: 10_000 });
    expect(waits.getSnapshot().value).toBe('idle');
    expect(waits.getSnapshot().context.steps).toContain('devices: timed out, forced');

    // a backend reported gone (BACKEND_GONE) while the removal waits ends the wait at once
    const w3 = world();
    w3.hv.createDomain({ domid: BACKEND });
    const reported = start(w3, PV);
    reported.send({ type: 'CREATE' });
    reported.send({ type: 'DESTROY' });
    reported.send({ type: 'BACKEND_GONE' });
    expect(reported.getSnapshot().value).toBe('idle');
  });

  it('§7.45 @releaseDomain: DOMAIN_SHUTDOWN reported exactly once per shutdown even when the watch fires twice, then DOMAIN_DEATH', () => {
    const w = world();
    const ts = start(w, { ...PV, onShutdown: { poweroff: 'preserve' } });
    ts.send({ type: 'CREATE' });
    ts.send({ type: 'UNPAUSE' });
    watchFires(w.hv, ts); // nothing to report yet
    w.hv.shutdownDomain(DOMID, SHUTDOWN_soft_reset);
    watchFires(w.hv, ts);
    watchFires(w.hv, ts);
    // on_soft_reset=soft-reset: same domid, running again; a later shutdown is a new one
    expect(w.hv.domctl.getInfo(DOMID).flags & XEN_DOMINF_running).toBeTruthy();
    w.hv.shutdownDomain(DOMID, SHUTDOWN_poweroff);
    watchFires(w.hv, ts);
    watchFires(w.hv, ts);
    expect(ts.getSnapshot().matches({ active: { watch: 'shutdown' } })).toBe(true); // preserved
    ts.send({ type: 'DESTROY' });
    ts.send({ type: 'BACKEND_CLOSED' });
    watchFires(w.hv, ts); // the domain is gone: DOMAIN_DEATH, already reported by the destroy
    expect(ts.getSnapshot().context.reported).toEqual([
      { type: 'DOMAIN_SHUTDOWN', domid: DOMID, reason: 'soft_reset' },
      { type: 'DOMAIN_SHUTDOWN', domid: DOMID, reason: 'poweroff' },
      { type: 'DOMAIN_DEATH', domid: DOMID },
    ]);
    expect(ts.getSnapshot().context.steps.filter((s) => s === 'soft reset' || s === 'preserve')).toEqual(['soft reset', 'preserve']);

    // a domain killed behind the toolstack's back: DOMAIN_DEATH once, the configuration back to idle
    const w2 = world();
    const other = start(w2, PV);
    other.send({ type: 'CREATE' });
    w2.hv.crashDomain(DOMID);
    w2.hv.killDomain(DOMID);
    watchFires(w2.hv, other);
    watchFires(w2.hv, other);
    expect(other.getSnapshot().context.reported).toEqual([{ type: 'DOMAIN_DEATH', domid: DOMID }]);
    expect(other.getSnapshot().value).toBe('idle');
  });

  it('§6.2 default on_* actions: poweroff, crash and watchdog destroy', () => {
    for (const code of [SHUTDOWN_poweroff, SHUTDOWN_crash, 4]) {
      const w = world();
      const ts = start(w, PV);
      ts.send({ type: 'CREATE' });
      ts.send({ type: 'UNPAUSE' });
      w.hv.shutdownDomain(DOMID, code);
      watchFires(w.hv, ts);
      watchFires(w.hv, ts);
      w.scheduler.run({ untilMs: 10_000 });
      expect(w.hv.life(DOMID)).toBe('gone');
      expect(ts.getSnapshot().value).toBe('idle');
      expect(ts.getSnapshot().context.reported).toEqual([
        { type: 'DOMAIN_SHUTDOWN', domid: DOMID, reason: TOOLSTACK_SHUTDOWN_REASONS[code] },
        { type: 'DOMAIN_DEATH', domid: DOMID },
      ]);
    }
  });
});

// ---- coverage: every declared transition is taken on some path of the graph ----

const EVENTS: readonly ToolstackEvent[] = [
  { type: 'CREATE' },
  { type: 'CREATE', domid: DOMID },
  { type: 'DM_STARTED' },
  { type: 'DM_FAILED' },
  { type: 'DM_RESUMED', ok: true },
  { type: 'DM_RESUMED', ok: false },
  { type: 'PAUSE' },
  { type: 'UNPAUSE' },
  { type: 'SHUTDOWN' },
  { type: 'REBOOT' },
  { type: 'SUSPEND' },
  { type: 'GUEST_ACK' },
  { type: 'RESUME' },
  ...TOOLSTACK_SHUTDOWN_REASONS.map((reason) => ({ type: 'DOMAIN_SHUTDOWN' as const, reason })),
  { type: 'DOMAIN_DEATH' },
  { type: 'DESTROY' },
  { type: 'BACKEND_CLOSED' },
  { type: 'BACKEND_GONE' },
  { type: 'QUARANTINE_EXPIRED', domid: DOMID },
];

function transitionKey(t: AnyTransitionDefinition): string {
  const list: readonly AnyTransitionDefinition[] = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  return `${t.source.id} ${t.eventType || 'always'} #${list.indexOf(t)}`;
}

function declaredTransitions(root: AnyStateNode): string[] {
  return [root, ...getStateNodes(root)].flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map(transitionKey));
}

/** The delayed events (`xstate.after.…`), sent directly in the walk (the clock never fires there). */
const afterEvents = (root: AnyStateNode) =>
  [root, ...getStateNodes(root)].flatMap((node) => node.after.map((t) => ({ type: t.eventType }) as unknown as ToolstackEvent));

const serialize = (s: Snapshot) => {
  const c = s.context;
  return JSON.stringify([
    s.value,
    c.lastResult,
    c.request,
    c.acked,
    c.shutdownReason,
    c.deathReported,
    c.backendGone,
    c.destroyCause,
    c.quarantined.includes(DOMID),
    c.domid === null,
  ]);
};

/** A clock whose timers never fire: the walk sends the delayed events itself. */
const NEVER = { setTimeout: () => 0, clearTimeout: () => {} };

function walk(machine: typeof toolstackMachine, input: ToolstackInput, taken: Set<string>): number {
  const events = [...EVENTS, ...afterEvents(machine.root)];
  const traversal = {
    input,
    serializeState: serialize,
    events: (s: Snapshot) => events.filter((e) => s.can(e)),
  };
  const heads = new Map<string, StatePath<Snapshot, ToolstackEvent>>(getShortestPaths(machine, traversal).map((p) => [serialize(p.state), p]));
  const edges = adjacencyMapToArray(getAdjacencyMap(machine, traversal));
  for (const { state, event } of edges) {
    const head = heads.get(serialize(state))!;
    const actor = createActor(machine, {
      input,
      clock: NEVER,
      inspect: (e) => {
        if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
      },
    }).start();
    for (const s of head.steps.slice(1)) actor.send(s.event);
    actor.send(event);
    expect(actor.getSnapshot().status).toBe('active');
    actor.stop();
  }
  return edges.length;
}

describe('toolstackMachine graph', () => {
  it('every declared transition of the machine is taken by some path of the graph', () => {
    const taken = new Set<string>();
    const configs: ToolstackInput[] = [
      HVM_DM,
      { domid: DOMID, deviceModel: false, pvControl: false, autoUnpause: true, onShutdown: { poweroff: 'preserve', reboot: 'destroy' } },
    ];
    let edges = 0;
    for (const input of configs) edges += walk(toolstackMachine, input, taken);
    // R16's switch: a failed create keeps the half-built domain
    edges += walk(toolstackMachine, { ...HVM_DM, halfBuiltDomainKept: true }, taken);
    // the transaction finding a last-moment acknowledgement (the wiring reads it from ControlNodes)
    const ackedLate = toolstackMachine.provide({ actions: { controlNodeTransaction: assign({ acked: true }) } });
    edges += walk(ackedLate as unknown as typeof toolstackMachine, HVM_DM, taken);
    // the destroy's kill finding the device model already exited (R13; the wiring asks the device model)
    const dmGone = toolstackMachine.provide({ actions: { killDeviceModel: assign({ dmExited: true }) } });
    edges += walk(dmGone as unknown as typeof toolstackMachine, HVM_DM, taken);
    expect(edges).toBeGreaterThan(100);
    const declared = declaredTransitions(toolstackMachine.root);
    expect(declared.filter((t) => !taken.has(t))).toEqual([]);
    // 51, DM_FAILED and the start timeout each with the R16 switch, the suspend wait's timeout; the
    // unpause through the device model (UNPAUSE, DM_RESUMED answered or not) and the kill's outcome
    expect(declared.length).toBe(60);
  }, 120_000); // the walk takes ~10 s alone on a 2-core VM, several times that beside the rest of the suite
});
