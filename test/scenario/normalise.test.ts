import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARGO_DEFAULT_RING_LEN, XEN_QUIRKS } from '../../src/index.js';
import { DEFAULT_FLASK_POLICY } from '../../src/xsm/flask-policy.js';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';
import { lineOf, scenarioErrorAt } from '../../src/scenario/source-lines.js';

const text = (...lines: string[]) => `${lines.join('\n')}\n`;

describe('scenario normalisation: defaults', () => {
  const minimal = parseScenario(text('name: minimal', 'domains:', '  - { name: dom0 }', '  - { name: web }'));

  it('fills in every top-level default', () => {
    expect(minimal).toMatchObject({
      name: 'minimal',
      description: '',
      seed: 1,
      build: { ARGO: true, XSM: true, IOREQ_SERVER: true },
      boot: { argo: true, macPermissive: false },
      xsm: { mode: 'dummy', policy: null, enforcing: true },
      quirks: { ...XEN_QUIRKS },
      openxt: { viptables: false },
      rings: [],
      workloads: [],
      lifecycle: [],
      faults: [],
      untilMs: null,
    });
  });

  it("gives domain 0 control and dom0_t, the others domU_t, 4 MiB, one vCPU, PV control, not dom0less, and xl's on_* defaults", () => {
    const xl = { poweroff: 'destroy', reboot: 'restart', crash: 'destroy', watchdog: 'destroy', soft_reset: 'soft-reset' };
    expect(minimal.domains).toEqual([
      { name: 'dom0', domid: 0, control: true, label: 'dom0_t', memoryBytes: 4 << 20, vcpus: 1, compat: false, pvControl: true, dom0less: false, onShutdown: xl, line: 3 },
      { name: 'web', domid: 1, control: false, label: 'domU_t', memoryBytes: 4 << 20, vcpus: 1, compat: false, pvControl: true, dom0less: false, onShutdown: xl, line: 4 },
    ]);
  });

  it('reads pvControl, dom0less and the on_* actions of a domain', () => {
    const s = parseScenario(text('name: x', 'domains:', '  - { name: a, pvControl: false, onReboot: destroy, onCrash: preserve, onPoweroff: restart }'));
    expect(s.domains[0].pvControl).toBe(false);
    expect(parseScenario(text('name: x', 'domains:', '  - { name: dom0 }', '  - { name: a, dom0less: true }')).domains[1].dom0less).toBe(true);
    expect(s.domains[0].onShutdown).toEqual({ poweroff: 'restart', reboot: 'destroy', crash: 'preserve', watchdog: 'destroy', soft_reset: 'soft-reset' });
  });

  it('assigns each missing domid the lowest id no entry names, in file order', () => {
    const s = parseScenario(
      text('name: ids', 'domains:', '  - { name: a }', '  - { name: b, domid: 0 }', '  - { name: c }', '  - { name: d, domid: 2 }', '  - { name: e }'),
    );
    expect(s.domains.map((d) => [d.name, d.domid, d.control])).toEqual([
      ['a', 1, false],
      ['b', 0, true],
      ['c', 3, false],
      ['d', 2, false],
      ['e', 4, false],
    ]);
  });

  it('reads units: sizes in bytes, times in ms, a rate as an interval', () => {
    const s = parseScenario(
      text(
        'name: units',
        'boot: { macPermissive: true }',
        'domains:',
        '  - { name: a, memory: 1MiB }',
        '  - { name: b, memory: 8192 }',
        'rings:',
        '  - { owner: a, port: 1, partner: any, len: 1KiB }',
        '  - { owner: a, port: 2, partner: b }',
        'workloads:',
        '  - { from: b, to: { domain: a, port: 1 }, count: 3, size: 64B, rate: 500/s, start: 1.5s }',
        '  - { name: w, from: a, to: { domain: a, port: 2 }, count: 1, size: { min: 1, max: 1KiB }, rate: 250us }',
        'lifecycle:',
        '  - { at: 2s, op: guest_shutdown, domain: b, reason: reboot }',
        '  - { at: 2500, op: crash, domain: b }',
        'until: 1min',
      ),
    );
    expect(s.domains.map((d) => d.memoryBytes)).toEqual([1 << 20, 8192]);
    expect(s.rings[0]).toEqual({ owner: 'a', ownerDomid: 0, port: 1, partner: 'any', partnerDomid: 'any', len: 1024, consume: 'all', line: 7 });
    expect(s.rings[1]).toMatchObject({ partner: 'b', partnerDomid: 1, len: ARGO_DEFAULT_RING_LEN });
    expect(s.workloads[0]).toEqual({
      name: 'b->a:1',
      from: 'b',
      fromDomid: 1,
      to: { domain: 'a', domid: 0, port: 1 },
      count: 3,
      size: { minBytes: 64, maxBytes: 64 },
      intervalMs: 2,
      messageType: 0,
      srcPort: 0,
      startMs: 1500,
      line: 10,
    });
    expect(s.workloads[1]).toMatchObject({ name: 'w', size: { minBytes: 1, maxBytes: 1024 }, intervalMs: 0.25, startMs: 0 });
    expect(s.lifecycle).toEqual([
      { atMs: 2000, op: 'guest_shutdown', domain: 'b', domid: 1, reason: { name: 'reboot', code: 1 }, device: null, line: 13 },
      { atMs: 2500, op: 'crash', domain: 'b', domid: 1, reason: null, device: null, line: 14 },
    ]);
    expect(s.untilMs).toBe(60_000);
  });

  it("a guest's shutdown without a reason is a poweroff (SHUTDOWN_poweroff, 0); the toolstack's ops carry none", () => {
    const s = parseScenario(text('name: x', 'domains: [{ name: a }]', 'lifecycle: [{ at: 0, op: guest_shutdown, domain: a }, { at: 1, op: shutdown, domain: a }]'));
    expect(s.lifecycle[0].reason).toEqual({ name: 'poweroff', code: 0 });
    expect(s.lifecycle[1].reason).toBeNull();
  });

  it('reads the boot option as Xen command-line text, off unless it says argo=1', () => {
    const on = parseScenario(text('name: x', 'boot: "argo=1,mac-permissive=1"', 'domains: [{ name: a }]'));
    const off = parseScenario(text('name: x', 'boot: "mac-permissive=1"', 'domains: [{ name: a }]'));
    expect(on.boot).toEqual({ argo: true, macPermissive: true });
    expect(off.boot).toEqual({ argo: false, macPermissive: true });
  });

  it('fills faults: the owner for unregister, 1 ms for virq_delay, weight 1, no time', () => {
    const s = parseScenario(
      text(
        'name: x',
        'domains: [{ name: a }, { name: b }]',
        'rings: [{ owner: a, port: 9, partner: b, len: 4032 }]',
        'faults:',
        '  - { kind: unregister, ring: { owner: a, port: 9, partner: b } }',
        '  - { kind: virq_delay, domain: b, at: 3ms }',
      ),
    );
    expect(s.faults).toEqual([
      {
        kind: 'unregister',
        atMs: null,
        domain: 'a',
        domid: 0,
        ring: { owner: 'a', ownerDomid: 0, port: 9, partner: 'b', partnerDomid: 1 },
        weight: 1,
        delayMs: null,
        line: 5,
      },
      { kind: 'virq_delay', atMs: 3, domain: 'b', domid: 1, ring: null, weight: 1, delayMs: 1, line: 6 },
    ]);
  });
});

describe('scenario normalisation: XSM and policy', () => {
  it('flask without a policy gets Xen default policy text, enforcing', () => {
    const s = parseScenario(text('name: x', 'xsm: { mode: flask }', 'domains: [{ name: dom0 }, { name: g }]'));
    expect(s.xsm).toEqual({ mode: 'flask', policy: DEFAULT_FLASK_POLICY, enforcing: true });
  });

  it('inlines a policyFile read relative to the scenario file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'argosim-scenario-'));
    const policy = 'type xen_t;\ntype g_t;\nallow g_t xen_t:argo enable;\n';
    writeFileSync(join(dir, 'g.te'), policy);
    writeFileSync(join(dir, 's.yaml'), text('name: x', 'xsm: { mode: flask, policyFile: g.te, enforcing: false }', 'domains: [{ name: g, label: g_t }]'));
    try {
      expect(loadScenario(join(dir, 's.yaml')).xsm).toEqual({ mode: 'flask', policy, enforcing: false });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('reads policy files through an injected reader', () => {
    const read: string[] = [];
    const s = parseScenario(text('name: x', 'xsm: { mode: flask, policyFile: p/g.te }', 'domains: [{ name: g, label: g_t }]'), 'dir/s.yaml', {
      readFile: (path) => {
        read.push(path);
        return 'type g_t;';
      },
    });
    expect(read).toEqual([join('dir', 'p/g.te')]);
    expect(s.xsm.policy).toBe('type g_t;');
  });
});

describe('scenario source lines', () => {
  const file = 'scenarios/lines.yaml';
  const s = parseScenario(
    text('name: lines', 'domains:', '  - name: dom0', '  - name: web', '    memory: 2MiB', 'workloads:', '  - { from: web, to: { domain: dom0, port: 1 }, count: 1 }'),
    file,
  );

  it('records the line of every value by path', () => {
    expect(s.source.file).toBe(file);
    expect(s.source.lines['']).toBe(1);
    expect(s.source.lines['domains[1]']).toBe(4);
    expect(s.source.lines['domains[1].memory']).toBe(5);
    expect(s.source.lines['workloads[0].to.port']).toBe(7);
  });

  it('lineOf falls back to the nearest ancestor the file spells out', () => {
    expect(lineOf(s.source, 'domains[1].memory')).toBe(5);
    expect(lineOf(s.source, 'domains[1].domid')).toBe(4);
    expect(lineOf(s.source, 'rings[0].len')).toBe(1);
    expect(s.workloads[0].line).toBe(lineOf(s.source, 'workloads[0]'));
  });

  it('scenarioErrorAt names the file, the line and the path', () => {
    expect(scenarioErrorAt(s.source, 'domains[1].vcpus', 'the run had no vCPU to give').message).toBe(
      'scenarios/lines.yaml:4: domains[1].vcpus: the run had no vCPU to give',
    );
  });
});
