import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/index.js';
import { createSystem } from '../../src/runtime/system.js';

// Lifecycle operations in runs go through each domain's toolstack actor (libxl), with the guest's
// PV shutdown handling and the @releaseDomain watch as scheduling points
// (spec/virtio-ioreq-lifecycle.md §6.2–§6.4).

const scenario = (domains: string, lifecycle: string, extra = '') =>
  parseScenario(`
name: toolstack
boot: { argo: true, macPermissive: false }
domains:
  - { name: dom0, domid: 0 }
${domains}
rings:
  - { owner: b, port: 1, partner: a, len: 4032 }
workloads:
  - { name: ab, from: a, to: { domain: b, port: 1 }, count: 40, size: 100, rate: 1000/s }
${extra}
lifecycle:
${lifecycle}
`);

const AB = '  - { name: a, domid: 1 }\n  - { name: b, domid: 2 }';

function run(text: ReturnType<typeof scenario>, seed = 1) {
  const system = createSystem(text, { seed });
  const summary = system.run();
  const domain = (name: string) => summary.domains.find((d) => d.name === name)!;
  const toolstack = (name: string) => system.actors().find((a) => a.id === `toolstack:${name}`)!.actor.getSnapshot();
  return { system, summary, domain, toolstack };
}

describe('toolstack operations in runs', () => {
  it('xl shutdown: the guest acknowledges, powers off, and on_poweroff=destroy destroys it', () => {
    const { summary, domain, toolstack, system } = run(scenario(AB, '  - { at: 10ms, op: shutdown, domain: b }'));
    expect(domain('b').toolstack).toEqual(['create OK', 'shutdown OK', 'destroy OK']);
    expect(domain('b').state).toBe('dead');
    expect(toolstack('b').context.reported).toEqual([
      { type: 'DOMAIN_SHUTDOWN', domid: 2, reason: 'poweroff' },
      { type: 'DOMAIN_DEATH', domid: 2 },
    ]);
    // xl shutdown, the guest's watch (acknowledge), libxl's watch on the node, the guest's
    // SCHEDOP_shutdown, then @releaseDomain for the shutdown and again for the death
    const labels = system.scheduler.trace.filter((t) => t.atMs === 10 && !/^(ab |VIRQ)/.test(t.label)).map((t) => t.label);
    // (the acknowledgement reaching libxl and the guest's shutdown are both enabled at once: the
    // strategy orders them)
    expect(labels.slice(0, 2)).toEqual(['shutdown', 'control/shutdown: poweroff']);
    expect([...labels].sort()).toEqual(['@releaseDomain', '@releaseDomain', 'SCHEDOP_shutdown poweroff', 'control/shutdown acknowledged', 'control/shutdown: poweroff', 'shutdown']);
    expect(labels.indexOf('SCHEDOP_shutdown poweroff')).toBeLessThan(labels.indexOf('@releaseDomain'));
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.errors.ESRCH).toBeGreaterThan(0); // a's later sends find no domain 2
    // the request went through xenstore: libxl wrote the node, the guest removed it, and domain 2's home is gone
    expect(system.xenstore.opsBy(2)).toBeGreaterThan(0);
    expect(system.xenstore.paths().filter((p) => p.startsWith('/local/domain/2'))).toEqual([]);
  });

  it('xl shutdown of a paused guest: no acknowledgement within LIBXL_ACK_TIMEOUT, ERROR_TIMEDOUT, and it stays up', () => {
    const { domain, summary } = run(
      scenario(AB, '  - { at: 5ms, op: pause, domain: b }\n  - { at: 6ms, op: shutdown, domain: b }\n  - { at: 70s, op: unpause, domain: b }'),
    );
    expect(domain('b').toolstack).toEqual(['create OK', 'shutdown ERROR_TIMEDOUT']);
    // unpaused after the timeout's transaction cleared the request: the guest finds nothing to do
    expect(domain('b').state).toBe('running');
    expect(summary.virtualTimeMs).toBeGreaterThanOrEqual(70_000);
    expect(summary.invariantViolations).toEqual([]);
  });

  it('a guest without PV control: xl shutdown fails with ERROR_NOPARAVIRT; suspend shuts it down directly; resume', () => {
    const { domain } = run(
      scenario(
        '  - { name: a, domid: 1 }\n  - { name: b, domid: 2, pvControl: false }',
        '  - { at: 5ms, op: shutdown, domain: b }\n  - { at: 6ms, op: suspend, domain: b }\n  - { at: 9ms, op: resume, domain: b }',
      ),
    );
    expect(domain('b').toolstack).toEqual(['create OK', 'shutdown ERROR_NOPARAVIRT', 'suspend OK']);
    expect(domain('b').state).toBe('running');
  });

  it('xl reboot: on_reboot=restart destroys and creates it again with a new domid; its kernel registers its rings again', () => {
    const { system, domain, toolstack } = run(scenario(AB, '  - { at: 10ms, op: reboot, domain: b }'));
    expect(domain('b').toolstack).toEqual(['create OK', 'reboot OK', 'destroy OK', 'create OK']);
    expect(domain('b').domid).toBe(3); // 2 is quarantined (LIBXL_DOMID_REUSE_TIMEOUT), 3 is free
    expect(domain('b').state).toBe('running');
    expect(toolstack('b').context.quarantined).toEqual([]); // expired 60 s later, when the run went idle
    expect(system.hv.argoState(3)!.rings.map((r) => [r.aport, r.partner])).toEqual([[1, 1]]);
    expect(system.hv.life(2)).toBe('gone');
    // the host actor re-read the domain table on VIRQ_DOM_EXC
    const host = system.actors().find((a) => a.kind === 'hypervisor')!.actor.getSnapshot();
    expect(host.context.domains).toEqual([
      { domid: 0, life: 'alive' },
      { domid: 1, life: 'alive' },
      { domid: 3, life: 'alive' },
    ]);
    expect(system.scheduler.trace.filter((t) => t.label === 'VIRQ_DOM_EXC').length).toBeGreaterThanOrEqual(2);
  });

  it('a guest kexec (SCHEDOP_shutdown soft_reset): on_soft_reset resets it, and the new kernel finishes the workload', () => {
    // argo_soft_reset also removes the rings partnered to the domain (argo.md §8.3): a unicast ring of
    // b for a is gone, and Xen tells b nothing; a's new kernel finds ECONNREFUSED there. A wildcard
    // ring of b stays, and takes the rest of a's messages.
    const text = (partner: string) =>
      parseScenario(`
name: kexec
boot: { argo: true, macPermissive: true }
domains: [{ name: dom0, domid: 0 }, { name: a, domid: 1 }, { name: b, domid: 2 }]
rings: [{ owner: b, port: 1, partner: ${partner}, len: 4032 }]
workloads: [{ name: ab, from: a, to: { domain: b, port: 1 }, count: 40, size: 100, rate: 1000/s }]
lifecycle: [{ at: 10500us, op: guest_shutdown, domain: a, reason: soft_reset }]
`);
    const wildcard = run(text('any'));
    expect(wildcard.domain('a').toolstack).toEqual(['create OK']); // on_* actions are not aos
    expect(wildcard.toolstack('a').context.steps).toContain('soft reset');
    expect(wildcard.domain('a').state).toBe('running');
    expect(wildcard.summary.messages).toMatchObject({ sent: 40, delivered: 40, refused: 0 });
    expect(wildcard.system.scheduler.trace.some((t) => t.label === 'kernel start')).toBe(true);
    const unicast = run(text('a'));
    expect(unicast.summary.messages).toMatchObject({ sent: 11, delivered: 11, refused: 29 });
    expect(unicast.summary.errors).toEqual({ ECONNREFUSED: 29 });
    for (const r of [wildcard, unicast]) expect(r.summary.invariantViolations).toEqual([]);
  });

  it('crash: on_crash=destroy by default, preserve keeps the crashed domain', () => {
    expect(run(scenario(AB, '  - { at: 10ms, op: crash, domain: b }')).domain('b').state).toBe('dead');
    const kept = run(scenario('  - { name: a, domid: 1 }\n  - { name: b, domid: 2, onCrash: preserve }', '  - { at: 10ms, op: crash, domain: b }'));
    expect(kept.domain('b').state).toBe('shutdown');
    expect(kept.toolstack('b').context.steps.at(-1)).toBe('preserve');
  });

  it('xl destroy then xl create: a new incarnation, with a new domid while the old one is quarantined', () => {
    const { domain } = run(scenario(AB, '  - { at: 10ms, op: destroy, domain: b }\n  - { at: 20ms, op: create, domain: b }'));
    expect(domain('b').toolstack).toEqual(['create OK', 'destroy OK', 'create OK']);
    expect(domain('b').domid).toBe(3);
  });
});
