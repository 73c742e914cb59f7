import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { sweepSeeds } from './seed-sweep.js';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { HVM_PARAM_STORE_PFN } from '../../src/xen/hypervisor.js';
import { ERRNO } from '../../src/xen/errno.js';
import { XS_ERROR, XS_IFACE } from '../../src/xenstore/xs-wire.js';

// R11 (virtio-ioreq-lifecycle.md §6.7, Xen e58bd71c09): xenstored's XS_INTRODUCE of a dom0less
// guest is two steps (introduce_domain, domain_conn_reset); today's xenstored tells the guest it is
// ready after the reset, and its first request is answered. With introduceNotifiesBeforeReset it
// tells it before, and a guest that writes in between loses its request: xenstore-connect names it.

const scenario = loadScenario('scenarios/races/r11-dom0less-introduce.yaml');
const buggy = withBugs(scenario, ['introduceNotifiesBeforeReset']);
const CONNECT = /^end: xenstore-connect: dom0less domain edge wrote 1 request\(s\) to its xenstore ring and got 0 answer\(s\); its xenbus waits for ever: 1 wiped by domain_conn_reset after xenstored had told the guest it was ready \(R11, fixed by Xen e58bd71c09\)$/;

function xenstoredSteps(system: ReturnType<typeof createSystem>): string[] {
  return system.scheduler.trace.filter((s) => s.actor === 'xenstored' || s.label.startsWith('xenbus')).map((s) => s.label);
}

describe('race R11: a dom0less guest\'s first xenstore request against XS_INTRODUCE', () => {
  it('switch off: the guest hears "ready" only after domain_conn_reset; its request is answered, no violation', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.messages.delivered).toBe(4);
    expect(xenstoredSteps(system)).toEqual(['XS_INTRODUCE edge: introduce_domain', 'XS_INTRODUCE edge: domain_conn_reset', 'xenbus: xenstore ready', 'xenstored: ring of edge']);
    // the exchange went over the guest's xenstore page, as in the parallel runtime: its request in
    // `req`, xenstored's XS_ERROR ENOENT in `rsp`, HVM_PARAM_STORE_PFN naming the page
    const memory = system.hv.domain(1)!.memory;
    const page = (memory.pages - 1) * 4096;
    expect(system.hv.hvmGetParam(1, HVM_PARAM_STORE_PFN)).toBe(memory.pages - 1);
    expect(memory.view.getUint32(page + XS_IFACE.req_prod, true)).toBe(16 + '/local/domain/1/device\0'.length);
    expect(new TextDecoder().decode(memory.u8.subarray(page + 16, page + 16 + 22))).toBe('/local/domain/1/device');
    expect(memory.view.getUint32(page + XS_IFACE.rsp, true)).toBe(XS_ERROR);
    expect(new TextDecoder().decode(memory.u8.subarray(page + XS_IFACE.rsp + 16, page + XS_IFACE.rsp + 22))).toBe('ENOENT');
  });

  it('switch on: "ready" from introduce_domain; the guest writes before the reset, which wipes it — xenstore-connect', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(CONNECT);
    expect(xenstoredSteps(system)).toEqual(['XS_INTRODUCE edge: introduce_domain', 'xenbus: xenstore ready', 'XS_INTRODUCE edge: domain_conn_reset', 'xenstored: ring of edge']);
    expect(summary.messages.delivered).toBe(4); // Argo needs no xenstore: the data path goes on
  });

  it('seeds 1–30: the order decides; with the switch on some show it, with it off none', () => {
    const shown = sweepSeeds(scenario, buggy, 30);
    for (const v of shown.flat()) expect(v).toMatch(CONNECT);
    expect(shown.length).toBeGreaterThanOrEqual(3);
  });

  it('switch on, seeds 1–60: exactly the runs where the guest heard "ready" before the reset show it — its request wiped, or xenstored\'s reply to it', () => {
    const kinds = { request: 0, reply: 0 };
    for (let seed = 1; seed <= 60; seed++) {
      const system = createSystem(buggy, { seed });
      const summary = system.run();
      const steps = xenstoredSteps(system);
      const reset = steps.indexOf('XS_INTRODUCE edge: domain_conn_reset');
      const toldFirst = steps.indexOf('xenbus: xenstore ready') < reset;
      expect(summary.invariantViolations.length, `seed ${seed}: ${steps.join(' > ')}`).toBe(toldFirst ? 1 : 0);
      if (!toldFirst) continue;
      expect(summary.invariantViolations[0]).toMatch(CONNECT);
      // xenstored read the request before the reset: its reply is what the reset wiped
      if (steps.indexOf('xenstored: ring of edge') < reset) kinds.reply++;
      else kinds.request++;
    }
    expect(kinds.request).toBeGreaterThan(0);
    expect(kinds.reply).toBeGreaterThan(0);
  });

  it('a dom0less guest soft-reset or killed: the connection of the kernel Xen booted is over, and nothing of it is judged', () => {
    for (const kind of ['soft_reset', 'kill']) {
      const text = readFileSync('scenarios/races/r11-dom0less-introduce.yaml', 'utf8');
      const faulted = withBugs(parseScenario(`${text}faults:\n  - { kind: ${kind}, domain: edge, at: 3ms }\n`, `${kind}.yaml`), ['introduceNotifiesBeforeReset']);
      for (let seed = 1; seed <= 20; seed++) {
        const system = createSystem(faulted, { seed });
        const summary = system.run();
        expect(summary.faults, `${kind} seed ${seed}`).toMatchObject({ [kind]: 1 });
        expect(summary.invariantViolations.filter((v) => v.includes('xenstore-connect')), `${kind} seed ${seed}`).toEqual([]);
        // xenstored closed its port to the guest (the only one of dom0's): a send on it is EINVAL, not dropped
        expect(system.hv.evtchnSend(0, 1), `${kind} seed ${seed}`).toBe(-ERRNO.EINVAL);
      }
    }
  });

  it('argosim explore finds it from the plain dom0less workload, the replay reproduces it, and nothing with the switch off', () => {
    const plain = loadScenario('scenarios/dom0less.yaml');
    const found = explore(withBugs(plain, ['introduceNotifiesBeforeReset']), { strategy: 'random', budget: 50, seed: 1 }).counterexample;
    expect(found?.violations[0]).toMatch(/^end: xenstore-connect: dom0less domain (sensor|controller) wrote 1 request/);
    const replay = runSchedule(withBugs(plain, ['introduceNotifiesBeforeReset']), { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
    expect(explore(plain, { strategy: 'random', budget: 100, seed: 1 }).violating).toBe(0);
  }, 60_000);

  it('dom0less is for guests: on the control domain, without one, or past xenstored\'s ports the scenario is refused at its line', async () => {
    const text = readFileSync('scenarios/races/r11-dom0less-introduce.yaml', 'utf8');
    expect(() => parseScenario(text.replace('{ name: dom0, domid: 0 }', '{ name: dom0, domid: 0, dom0less: true }'), 'x.yaml')).toThrow(/x\.yaml:\d+.*dom0 is the control domain, which runs init-dom0less; dom0less is for a guest Xen builds at boot/);
    // no control domain: no xenstored to introduce it — refused at its line, in both runtimes
    expect(() => parseScenario(text.replace('{ name: dom0, domid: 0 }', '{ name: dom0, domid: 0, control: false }'), 'nc.yaml')).toThrow(
      /nc\.yaml:\d+:\d+: domains\[1\]\.dom0less: edge is dom0less, but no domain is the control domain \(domid 0, or control: true\), where xenstored and init-dom0less run; add one/,
    );
    // more dom0less guests than xenstored's domain has ports
    const many = Array.from({ length: 32 }, (_, i) => `  - { name: g${i}, memory: 64KiB, dom0less: true }`).join('\n');
    expect(() => parseScenario(`name: many\ndomains:\n  - { name: dom0, domid: 0 }\n${many}\n`, 'many.yaml')).toThrow(/many\.yaml:\d+:\d+: domains\[32\]\.dom0less: g31 would be dom0less guest number 32: xenstored's domain has 31 event-channel ports/);
    await expect(runParallel(scenario, { workers: 1 })).resolves.toMatchObject({ invariantViolations: [] });
  });
});
