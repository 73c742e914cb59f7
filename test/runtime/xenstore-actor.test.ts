import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { createSystem } from '../../src/runtime/system.js';

// issue #7 item 4: xenstored is an actor of every run, serving libxl's flows and the virtio-mmio path;
// the VirtIO-Argo path never reaches it (the design's claim that VirtIO-Argo frees guests of xenstore).

describe('xenstored in runs', () => {
  it('is an actor of the system, listed with the others; libxl\'s requests and the hypervisor\'s domain events reach it', () => {
    const system = createSystem(loadScenario('scenarios/virtio-transports.yaml'));
    const xenstored = system.actors().find((a) => a.id === 'xenstored')!;
    expect(xenstored).toMatchObject({ kind: 'xenstore', machine: 'xenstore', domain: 'dom0' });
    system.run();
    const context = xenstored.actor.getSnapshot().context;
    expect(context.domains).toBe(4); // every domain introduced, none released
    expect(context.requests).toBeGreaterThan(0);
    expect(context.requests).toBe(system.xenstore.opsBy(0) + system.xenstore.opsBy(1) + system.xenstore.opsBy(2) + system.xenstore.opsBy(3));
  });

  it('the VirtIO-Argo device\'s guest and its back end make no xenstore request; the virtio-mmio device\'s do', () => {
    const system = createSystem(loadScenario('scenarios/virtio-transports.yaml'));
    const summary = system.run();
    const domid = (name: string) => summary.domains.find((d) => d.name === name)!.domid;
    expect(summary.devices!.find((d) => d.transport === 'argo')!.xenstoreOps).toBe(0);
    expect(system.xenstore.opsBy(domid('argo-guest'))).toBe(0);
    expect(system.xenstore.opsBy(domid('driverdom'))).toBeGreaterThan(0); // the virtio-mmio back end reads its directory
  });

  it('a VirtIO-Argo-only run: no domain but dom0 (libxl) ever asks xenstored anything', () => {
    const system = createSystem(loadScenario('scenarios/virtio-argo.yaml'));
    const summary = system.run();
    expect(summary.devices!.every((d) => d.transport === 'argo' && d.xenstoreOps === 0)).toBe(true);
    for (const d of summary.domains.filter((d) => d.domid !== 0)) expect(system.xenstore.opsBy(d.domid), d.name).toBe(0);
  });
});
