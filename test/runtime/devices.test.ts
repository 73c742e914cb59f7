import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/index.js';
import { createSystem } from '../../src/runtime/system.js';

// Scenario devices in runs (issue #6 item 8): virtio-blk over VirtIO-Argo between a guest and a
// driver domain, under the Argo firewall, with the guest's block workload checked byte for byte.

describe('VirtIO-Argo devices in runs', () => {
  it('virtio-argo.yaml: vda at DRIVER_OK with every request OK and every byte read verified, no shared mapping; the denied vdb never live', () => {
    const summary = createSystem(loadScenario('scenarios/virtio-argo.yaml')).run();
    const [vda, vdb, vif] = summary.devices!;
    // the NIC: every frame sent to the bridge's gateway came back whole and in order
    expect(vif).toMatchObject({ name: 'vif', state: 'driverOk', requestsOk: 1000, errors: 0, sharedMappings: 0, abandoned: 0 });
    expect(vif.bytesVerified).toBeGreaterThan(64 * 1000);
    expect(vda).toMatchObject({ name: 'vda', state: 'driverOk', status: 15, errors: 0, requestsOk: 2000, sharedMappings: 0, abandoned: 0 });
    expect(vda.bytesVerified).toBeGreaterThan(1 << 20);
    expect(vdb.name).toBe('vdb');
    expect(vdb.status & 4).toBe(0); // DRIVER_OK never set
    expect(vdb).toMatchObject({ requests: 0, completions: 0, bytes: 0 });
    expect(summary.sharedMappings).toBe(0);
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.messages).toMatchObject({ sent: 40, delivered: 40 }); // the logs to dom0 pass the firewall
  });

  it('the driver domain reboots mid-run: the front end finds the back end gone, re-initialises on the new domid, and the workload goes on with every byte verified', () => {
    const text = `
name: blk-reboot
boot: { argo: true }
domains:
  - { name: dom0, domid: 0 }
  - { name: blkback, domid: 1, memory: 8MiB }
  - { name: guest, domid: 2, memory: 4MiB }
devices:
  - { name: vda, type: virtio-blk, frontend: guest, backend: blkback, disk: 1MiB, requests: 600, rate: 1ms }
lifecycle:
  - { at: 20ms, op: reboot, domain: blkback }
`;
    const system = createSystem(parseScenario(text), { seed: 2 });
    const summary = system.run();
    const [vda] = summary.devices!;
    expect(summary.domains.find((d) => d.name === 'blkback')!.domid).toBe(3);
    expect(vda.state).toBe('driverOk');
    expect(vda.recoveries).toBe(1);
    expect(vda.requestsOk + vda.abandoned).toBeGreaterThanOrEqual(600 - 8);
    expect(vda.bytesVerified).toBeGreaterThan(0);
    expect(summary.sharedMappings).toBe(0);
    expect(summary.invariantViolations).toEqual([]);
    expect(system.actors().filter((a) => a.kind === 'device').map((a) => a.id)).toEqual(['device:vda:frontend', 'device:vda:backend']);
  });

  it('a device model started again while its guest is suspended: the driver probes it only once the guest runs again (a suspended vCPU executes nothing)', () => {
    const scenario = (resume: boolean) => `
name: dm-restart-suspended
boot: { argo: true, macPermissive: true }
domains:
  - { name: dom0, domid: 0 }
  - { name: driverdom, memory: 8MiB }
  - { name: guest, memory: 4MiB }
devices:
  - { name: vda, type: virtio-blk, transport: mmio, frontend: guest, backend: driverdom, disk: 512KiB, requests: 200 }
lifecycle:
  - { at: 20ms, op: suspend, domain: guest }
${resume ? '  - { at: 60ms, op: resume, domain: guest }\n' : ''}faults:
  - { at: 25ms, kind: dm_death, domain: guest, delay: 5ms }
until: 300ms
`;
    // resumed: the driver re-initialises against the new device model (before, it ran the probe on
    // the suspended vCPU at 30 ms, the probe's accesses were cut short, and the device stayed initialising)
    const resumed = createSystem(parseScenario(scenario(true)), { seed: 1 }).run();
    expect(resumed.devices![0]).toMatchObject({ state: 'driverOk', status: 15, recoveries: 1, errors: 0 });
    expect(resumed.invariantViolations).toEqual([]);
    // never resumed: nothing of the guest runs, so the new device model is never probed
    const suspended = createSystem(parseScenario(scenario(false)), { seed: 1 }).run();
    expect(suspended.domains.find((d) => d.name === 'guest')!.state).toBe('shutdown');
    expect(suspended.devices![0]).toMatchObject({ state: 'initialising', status: 0 });
  });

  it('virtio-transports.yaml: the same workload over VirtIO-Argo (nothing shared) and virtio-mmio over IOREQ (every foreign mapping counted)', () => {
    const summary = createSystem(loadScenario('scenarios/virtio-transports.yaml')).run();
    const [argo, mmio] = summary.devices!;
    // VirtIO-Argo frees guests of xenstore; the virtio-mmio path is announced through it by libxl
    expect(argo).toMatchObject({ transport: 'argo', state: 'driverOk', requestsOk: 1000, errors: 0, sharedMappings: 0, xenstoreOps: 0 });
    expect(mmio).toMatchObject({ transport: 'mmio', state: 'driverOk', requestsOk: 1000, errors: 0 });
    expect(mmio.xenstoreOps).toBeGreaterThan(10);
    expect(mmio.sharedMappings).toBeGreaterThan(1000); // the vrings, then each request's pages
    expect(mmio.bytesVerified).toBeGreaterThan(1 << 20);
    expect(summary.sharedMappings).toBe(mmio.sharedMappings);
    expect(summary.invariantViolations).toEqual([]);
  });

  it('bad device entries and firewall text are reported at their line', () => {
    const base = 'name: x\nboot: { argo: true }\ndomains: [{ name: a }, { name: b }]\n';
    expect(() => parseScenario(`${base}devices: [{ name: d, type: virtio-blk, frontend: a, backend: a }]\n`, 'x.yaml')).toThrow(
      /x\.yaml:4:.*devices\[0\]\.backend: the back end must be another domain than the front end \(a\)/,
    );
    expect(() => parseScenario(`${base}devices: [{ name: d, type: virtio-blk, frontend: a, backend: b, queueSize: 48 }]\n`, 'x.yaml')).toThrow(
      /queue size 48 is not a power of 2/,
    );
    expect(() => parseScenario(`${base}devices: [{ name: d, type: virtio-scsi, frontend: a, backend: b }]\n`, 'x.yaml')).toThrow(/virtio-blk, virtio-net/);
    expect(() => parseScenario(`${base}devices: [{ name: d, type: virtio-net, transport: mmio, frontend: a, backend: b }]\n`, 'x.yaml')).toThrow(/virtio-net runs over VirtIO-Argo only/);
    expect(() => parseScenario(`${base}devices: [{ name: d, type: virtio-net, frontend: a, backend: b, disk: 1MiB }]\n`, 'x.yaml')).toThrow(/disk applies to virtio-blk/);
    expect(() => parseScenario(`${base}build: { IOREQ_SERVER: false }\ndevices: [{ name: d, type: virtio-blk, transport: mmio, frontend: a, backend: b }]\n`, 'x.yaml')).toThrow(
      /x\.yaml:5:.*devices\[0\]\.transport: virtio-mmio needs IOREQ servers, and build\.IOREQ_SERVER is false/,
    );
    expect(() => parseScenario(`${base}firewall: |\n  default deny\n  permit a -> b\n`, 'x.yaml')).toThrow(/x\.yaml:6:3: firewall: unknown rule "permit": use allow, deny or default/);
  });
});
