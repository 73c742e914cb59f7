import { describe, expect, it } from 'vitest';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, VIRQ_ARGO, VIRQ_DOM_EXC } from '../../src/index.js';
import {
  SHUTDOWN_CODE_INVALID,
  SHUTDOWN_COMPLETE,
  SHUTDOWN_crash,
  SHUTDOWN_IN_PROGRESS,
  SHUTDOWN_NONE,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_soft_reset,
  SHUTDOWN_suspend,
  XEN_DOMINF_dying,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownshift,
} from '../../src/domain/lifecycle.js';

// virtio-ioreq-lifecycle.md §6.1–§6.3 at the hypervisor level (the toolstack and machines build on it).
function host(vcpus = 2) {
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 0 });
  hv.createDomain({ domid: 1, vcpus });
  expect(hv.bindVirq(0, VIRQ_DOM_EXC, 0)).toBe(0);
  return hv;
}

describe('domain lifecycle (lifecycle spec §6)', () => {
  it('§7.38 a new domain exists paused; the first toolstack unpause finishes creation', () => {
    const hv = host();
    const info = hv.domctl.getInfo(1);
    expect(info.flags & XEN_DOMINF_paused).toBeTruthy();
    expect(info.flags & XEN_DOMINF_running).toBe(0);
    expect(info.controllerPauseCount).toBe(1);
    expect(info.creationFinished).toBe(false);
    expect(hv.domctl.unpause(1)).toBe(0);
    expect(hv.domctl.getInfo(1)).toMatchObject({ creationFinished: true, pauseCount: 0 });
    expect(hv.domctl.getInfo(1).flags & XEN_DOMINF_running).toBeTruthy();
  });

  it('§6.1 toolstack pauses are reference-counted, capped at 255, and cannot go below zero', () => {
    const hv = host();
    expect(hv.domctl.unpause(1)).toBe(0);
    expect(hv.domctl.unpause(1)).toBe(-ERRNO.EINVAL);
    for (let i = 0; i < 255; i++) expect(hv.domctl.pause(1)).toBe(0);
    expect(hv.domctl.pause(1)).toBe(-ERRNO.EOVERFLOW);
    for (let i = 0; i < 254; i++) expect(hv.domctl.unpause(1)).toBe(0);
    expect(hv.domctl.getInfo(1).flags & XEN_DOMINF_paused).toBeTruthy(); // one reference left
    expect(hv.domctl.unpause(1)).toBe(0);
    expect(hv.domctl.getInfo(1).flags & XEN_DOMINF_paused).toBe(0);
  });

  it('§6.3 shutdown: the first reason wins; complete when every vCPU stops; VIRQ_DOM_EXC to the control domain', () => {
    const hv = host();
    hv.domctl.unpause(1);
    hv.clearVirq(0, VIRQ_DOM_EXC);
    expect(hv.shutdownDomain(1, SHUTDOWN_reboot)).toBe(0);
    expect(hv.shutdownDomain(1, SHUTDOWN_poweroff)).toBe(0); // a no-op
    const info = hv.domctl.getInfo(1);
    expect(info.shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(info.shutdownCode).toBe(SHUTDOWN_reboot);
    expect(info.flags & XEN_DOMINF_shutdown).toBeTruthy();
    expect((info.flags >> XEN_DOMINF_shutdownshift) & 255).toBe(SHUTDOWN_reboot);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(true);
    expect(hv.shutdownDomain(1, 9)).toBe(-ERRNO.EINVAL);
  });

  it('§6.3 a vCPU holding a deferral keeps the shutdown IN_PROGRESS until it ends it; a crash cancels deferrals', () => {
    const hv = host(2);
    hv.domctl.unpause(1);
    expect(hv.domctl.startShutdownDeferral(1, 1)).toBe(true); // vCPU 1 waits on an ioreq
    hv.clearVirq(0, VIRQ_DOM_EXC);
    hv.shutdownDomain(1, SHUTDOWN_poweroff);
    expect(hv.domctl.getInfo(1).shutdownState).toBe(SHUTDOWN_IN_PROGRESS);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(false);
    hv.domctl.endShutdownDeferral(1, 1);
    expect(hv.domctl.getInfo(1).shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(true);

    const crash = host(2);
    crash.domctl.unpause(1);
    crash.domctl.startShutdownDeferral(1, 0);
    crash.crashDomain(1);
    expect(crash.domctl.getInfo(1)).toMatchObject({ shutdownState: SHUTDOWN_COMPLETE, shutdownCode: SHUTDOWN_crash });
  });

  it('§6.3 a vCPU already holding a deferral keeps it when it asks again during a shutdown', () => {
    const hv = host(2);
    expect(hv.domctl.startShutdownDeferral(1, 1)).toBe(true);
    hv.shutdownDomain(1, SHUTDOWN_poweroff);
    expect(hv.domctl.startShutdownDeferral(1, 1)).toBe(true);
    expect(hv.domctl.getVcpuInfo(1, 1)).toEqual({ deferShutdown: true, pausedForShutdown: false });
    expect(hv.domctl.getVcpuInfo(1, 0)).toEqual({ deferShutdown: false, pausedForShutdown: true });
    expect(hv.domctl.getInfo(1).shutdownState).toBe(SHUTDOWN_IN_PROGRESS);
    expect(() => hv.domctl.getVcpuInfo(1, 2)).toThrow(/no vCPU 2/);
  });

  it('§6.3 a deferral asked for after the shutdown began is refused and the vCPU stops', () => {
    const hv = host(1);
    hv.domctl.startShutdownDeferral(1, 0);
    hv.shutdownDomain(1, SHUTDOWN_suspend);
    hv.domctl.endShutdownDeferral(1, 0);
    expect(hv.domctl.getInfo(1).shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(hv.domctl.startShutdownDeferral(1, 0)).toBe(false);
  });

  it('§6.3 resume after a suspend: state NONE, reason INVALID, running again', () => {
    const hv = host();
    hv.domctl.unpause(1);
    hv.shutdownDomain(1, SHUTDOWN_suspend);
    expect(hv.domctl.resume(1)).toBe(0);
    const info = hv.domctl.getInfo(1);
    expect(info).toMatchObject({ shutdownState: SHUTDOWN_NONE, shutdownCode: SHUTDOWN_CODE_INVALID });
    expect(info.flags & XEN_DOMINF_running).toBeTruthy();
    expect(hv.shutdownDomain(1, SHUTDOWN_poweroff)).toBe(0); // a new shutdown records its own reason
    expect(hv.domctl.getInfo(1).shutdownCode).toBe(SHUTDOWN_poweroff);
  });

  it('§6.3 domain_soft_reset needs every vCPU stopped; it resets event channels and Argo, then resumes', () => {
    const hv = host();
    hv.domctl.unpause(1);
    const guest = new ArgoGuest(platformOf(hv, 1)); // binds VIRQ_ARGO
    guest.registerRing({ aport: 1, partner: 0, len: 4032 });
    expect(hv.domctl.softReset(1)).toBe(-ERRNO.EINVAL); // still running
    hv.shutdownDomain(1, SHUTDOWN_soft_reset);
    expect(hv.domctl.softReset(1)).toBe(0);
    expect(hv.argoState(1)!.rings).toEqual([]);
    expect(hv.argoState(1)!.hasArgo).toBe(true);
    expect(hv.bindVirq(1, VIRQ_ARGO, 0)).toBe(0); // the old binding is gone
    expect(hv.domctl.getInfo(1)).toMatchObject({ shutdownState: SHUTDOWN_NONE, shutdownCode: SHUTDOWN_CODE_INVALID });
  });

  it('§6.3 kill: dying and paused at once; reap: gone, and VIRQ_DOM_EXC tells the toolstack', () => {
    const hv = host();
    hv.domctl.unpause(1);
    hv.killDomain(1);
    const info = hv.domctl.getInfo(1);
    expect(info.flags & XEN_DOMINF_dying).toBeTruthy();
    expect(info.flags & XEN_DOMINF_running).toBe(0);
    expect(hv.domctl.pause(1)).toBe(-ERRNO.EINVAL);
    hv.clearVirq(0, VIRQ_DOM_EXC);
    hv.reapDomain(1);
    expect(hv.life(1)).toBe('gone');
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(true);
  });
});
