import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';
import { ScenarioError } from '../../src/scenario/scenario-error.js';

// Each error kind of the loader, with the exact place: file:line:column, then the path.
const FILE = 'scenarios/x.yaml';
const text = (...lines: string[]) => `${lines.join('\n')}\n`;

function errorOf(yaml: string, options: Parameters<typeof parseScenario>[2] = {}): ScenarioError {
  try {
    parseScenario(yaml, FILE, options);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('the scenario loaded, but an error was expected');
}

describe('scenario errors: YAML', () => {
  it('a syntax error names its line and column', () => {
    const e = errorOf(text('name: x', 'domains:', '  - { name: web', 'until: 1s'));
    expect(e.message).toMatch(/^scenarios\/x\.yaml:4:1: YAML syntax error: /);
    expect([e.line, e.column, e.path]).toEqual([4, 1, '']);
  });

  it('a key given twice is a syntax error at the second', () => {
    const e = errorOf(text('name: x', 'domains: [{ name: a }]', 'name: y'));
    expect(e.message).toMatch(/^scenarios\/x\.yaml:3:1: YAML syntax error: Map keys must be unique/);
  });

  it('an empty file is not a scenario', () => {
    expect(errorOf('').message).toBe(
      'scenarios/x.yaml:1:1: a scenario is a mapping with at least name and domains; expected a mapping, got nothing (null)',
    );
  });
});

describe('scenario errors: one field at a time', () => {
  it('an unknown field, with the close known one', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: web, memroy: 4MiB }')).message).toBe(
      'scenarios/x.yaml:3:18: domains[0].memroy: unknown field; did you mean "memory"?',
    );
  });

  it('an unknown field with no close one lists the fields', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'build:', '  CONFIG_FOO: true')).message).toBe(
      'scenarios/x.yaml:4:3: build.CONFIG_FOO: unknown field; the fields here are ARGO, XSM, IOREQ_SERVER',
    );
  });

  it('an unknown top-level field, with the close known one', () => {
    expect(errorOf(text('name: x', 'domians: [{ name: a }]')).message).toBe(
      'scenarios/x.yaml:2:1: domians: unknown field; did you mean "domains"?',
    );
  });

  it('a wrong type', () => {
    expect(errorOf(text('name: x', 'domains:', '  - name: web', '    vcpus: two')).message).toBe(
      'scenarios/x.yaml:4:12: domains[0].vcpus: expected a number, got "two"',
    );
  });

  it('a number out of range', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: web, vcpus: 129 }')).message).toBe(
      'scenarios/x.yaml:3:25: domains[0].vcpus: 129 is above the maximum 128',
    );
  });

  it('a required field that is missing points at its entry', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: a }', '  - { domid: 3 }')).message).toBe(
      'scenarios/x.yaml:4:5: domains[1].name: required, but missing',
    );
  });

  it('an unknown enum value, with the close one', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'lifecycle:', '  - { at: 1ms, op: pasue, domain: a }')).message).toBe(
      'scenarios/x.yaml:4:20: lifecycle[0].op: "pasue" is not one of create, pause, unpause, shutdown, reboot, suspend, resume, destroy, guest_shutdown, crash, detach; did you mean "pause"?',
    );
  });

  it('a bad size', () => {
    const e = errorOf(text('name: x', 'domains:', '  - { name: dom0 }', '  - { name: web }', '  - { name: db, memory: 4MB }'));
    expect(e.message).toBe('scenarios/x.yaml:5:25: domains[2].memory: "4MB" is not a size; use bytes or a unit like 4MiB');
    expect([e.file, e.line, e.column, e.path]).toEqual([FILE, 5, 25, 'domains[2].memory']);
  });

  it('a memory size that is not whole pages', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: a, memory: 5000 }')).message).toBe(
      'scenarios/x.yaml:3:24: domains[0].memory: 5000 bytes is not a whole number of 4 KiB pages; use a multiple of 4096 such as 8192',
    );
  });

  it('a bad duration', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'lifecycle:', '  - { at: 10 sec, op: pause, domain: a }')).message).toBe(
      'scenarios/x.yaml:4:11: lifecycle[0].at: "10 sec" is not a duration; use milliseconds or a unit like 10ms, 2s, 500us',
    );
  });

  it('a negative lifecycle time', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'lifecycle:', '  - { at: -5ms, op: pause, domain: a }')).message).toBe(
      'scenarios/x.yaml:4:11: lifecycle[0].at: "-5ms" is negative; virtual time starts at 0',
    );
  });

  it('a bare number as a rate', () => {
    expect(
      errorOf(text('name: x', 'domains: [{ name: a }]', 'workloads:', '  - from: a', '    to: { domain: a, port: 1 }', '    count: 1', '    rate: 1000')).message,
    ).toBe('scenarios/x.yaml:7:11: workloads[0].rate: 1000 is ambiguous as a rate; write "1000/s" (messages per virtual second) or an interval like "1000ms"');
  });

  it('a message size of the wrong kind, and a size range with a bad bound', () => {
    const w = (size: string) => text('name: x', 'domains: [{ name: a }]', 'workloads:', `  - { from: a, to: { domain: a, port: 1 }, count: 1, size: ${size} }`);
    expect(errorOf(w('true')).message).toBe(
      'scenarios/x.yaml:4:60: workloads[0].size: true is not a size; use bytes, a unit like 64B, or { min, max }',
    );
    expect(errorOf(w('{ min: 1, max: 4KB }')).message).toBe(
      'scenarios/x.yaml:4:75: workloads[0].size.max: "4KB" is not a size; use bytes or a unit like 4KiB',
    );
    expect(errorOf(w('{ min: 1, mxa: 4 }')).message).toBe('scenarios/x.yaml:4:70: workloads[0].size.mxa: unknown field; did you mean "max"?');
  });

  it('boot of the wrong kind, and boot text Xen would reject', () => {
    expect(errorOf(text('name: x', 'boot: { argo: 1 }', 'domains: [{ name: a }]')).message).toBe(
      'scenarios/x.yaml:2:15: boot.argo: expected true or false, got 1',
    );
    expect(errorOf(text('name: x', 'boot: "argo=1,mac-permisive=1"', 'domains: [{ name: a }]')).message).toBe(
      'scenarios/x.yaml:2:7: boot: argo: unknown sub-option "mac-permisive=1" (use a boolean and mac-permissive=<bool>); for example "argo=1,mac-permissive=1"',
    );
  });
});

describe('scenario errors: fields against each other', () => {
  it('a duplicate domain name points at the second and names the first', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: web }', '  - { name: db }', '  - { name: web }')).message).toBe(
      'scenarios/x.yaml:5:13: domains[2].name: "web" already names domains[0] (line 3); domain names must be unique',
    );
  });

  it('a duplicate domid', () => {
    expect(errorOf(text('name: x', 'domains:', '  - { name: a, domid: 4 }', '  - { name: b, domid: 4 }')).message).toBe(
      'scenarios/x.yaml:4:23: domains[1].domid: domid 4 is already domains[0] (line 3) (a); give each domain its own domid',
    );
  });

  it.each([
    ['rings', '  - { owner: dom0, port: 1, partner: wbe }', '3:38', 'rings[0].partner'],
    ['rings', '  - { owner: dbb, port: 1, partner: web }', '3:14', 'rings[0].owner'],
    ['workloads', '  - { from: web, to: { domain: dbb, port: 1 }, count: 1 }', '3:32', 'workloads[0].to.domain'],
    ['lifecycle', '  - { at: 0, op: pause, domain: wbe }', '3:33', 'lifecycle[0].domain'],
    ['faults', '  - { kind: crash, domain: wbe }', '3:28', 'faults[0].domain'],
  ])('an unknown domain in %s: %s', (list, entry, place, path) => {
    const e = errorOf(text('name: x', `${list}:`, entry, 'domains: [{ name: dom0 }, { name: web }, { name: db }]'));
    const name = /(wbe|dbb)/.exec(entry)![1];
    const guess = name === 'wbe' ? 'web' : 'db';
    expect(e.message).toBe(`scenarios/x.yaml:${place}: ${path}: no domain is named "${name}"; did you mean "${guess}"? (domains: dom0, web, db)`);
  });

  it.each([
    ['100', 'ring len 100 is not a multiple of 16; use 96 or 112'],
    ['32', 'ring len 32 is below the minimum 48 (a 16-byte message header and two 16-byte slots)'],
    ['16MiB', 'ring len 16777216 is above the maximum 16777152 (16 MiB less the 64-byte ring header)'],
  ])('a bad ring len %s', (len, detail) => {
    const e = errorOf(text('name: x', 'domains: [{ name: a, memory: 32MiB }]', 'rings:', `  - { owner: a, port: 1, partner: a, len: ${len} }`));
    expect(e.message).toBe(`scenarios/x.yaml:4:43: rings[0].len: ${detail}`);
  });

  it('rings that do not fit in their owner memory', () => {
    expect(
      errorOf(text('name: x', 'domains: [{ name: a, memory: 16KiB }]', 'rings:', '  - { owner: a, port: 1, partner: a, len: 4032 }', '  - { owner: a, port: 2, partner: a, len: 8KiB }')).message,
    ).toBe("scenarios/x.yaml:5:43: rings[1].len: a's rings need 4 pages with their headers, but its memory has 3 usable; raise its memory or shrink the rings");
  });

  it('the same ring twice', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }, { name: b }]', 'rings:', '  - { owner: a, port: 1, partner: b }', '  - { owner: a, port: 1, partner: b, len: 4032 }')).message).toBe(
      'scenarios/x.yaml:5:5: rings[1]: this ring (owner a, port 1, partner b) is already rings[0] (line 4); change its port or partner',
    );
  });

  it('a wildcard ring without mac-permissive points at the partner, with the fix', () => {
    const e = errorOf(text('name: x', 'boot: { argo: true }', 'domains: [{ name: dom0 }]', 'rings:', '  - { owner: dom0, port: 514, partner: any, len: 4032 }'));
    expect(e.message).toBe(
      'scenarios/x.yaml:5:40: rings[0].partner: a wildcard ring (partner: any) needs mac-permissive; set boot: { macPermissive: true } (or "argo=1,mac-permissive=1"), or name the partner domain',
    );
  });

  it('a size range upside down', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'workloads:', '  - { from: a, to: { domain: a, port: 1 }, count: 1, size: { min: 512, max: 16 } }')).message).toBe(
      'scenarios/x.yaml:4:77: workloads[0].size.max: max 16 is below min 512; swap them',
    );
  });

  it('two workloads with the same name', () => {
    expect(
      errorOf(text('name: x', 'domains: [{ name: a }]', 'workloads:', '  - { from: a, to: { domain: a, port: 1 }, count: 1 }', '  - { from: a, to: { domain: a, port: 1 }, count: 2 }')).message,
    ).toBe('scenarios/x.yaml:5:5: workloads[1]: workload "a->a:1" is already workloads[0] (line 4); give each workload its own name');
  });

  it('a reason on an op other than guest_shutdown (xl shutdown gets a hint)', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'lifecycle:', '  - { at: 0, op: shutdown, domain: a, reason: crash }')).message).toBe(
      "scenarios/x.yaml:4:47: lifecycle[0].reason: a reason applies only to op guest_shutdown (shutdown implies its own); remove it; for the guest's own SCHEDOP_shutdown with a reason use op guest_shutdown",
    );
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'lifecycle:', '  - { at: 0, op: pause, domain: a, reason: crash }')).message).toBe(
      'scenarios/x.yaml:4:44: lifecycle[0].reason: a reason applies only to op guest_shutdown (pause implies its own); remove it',
    );
  });

  it('faults: unregister of a ring nobody declared, and a kill without a domain', () => {
    const yaml = (fault: string) => text('name: x', 'domains: [{ name: a }, { name: b }]', 'rings: [{ owner: a, port: 1, partner: b }]', 'faults:', fault);
    expect(errorOf(yaml('  - { kind: unregister, ring: { owner: a, port: 2, partner: b } }')).message).toBe(
      'scenarios/x.yaml:5:31: faults[0].ring: no ring (owner a, port 2, partner b) is declared under rings',
    );
    expect(errorOf(yaml('  - { kind: kill, at: 1ms }')).message).toBe(
      'scenarios/x.yaml:5:5: faults[0].domain: a kill fault needs the domain it hits: add domain: <name>',
    );
  });

  it('until 0', () => {
    expect(errorOf(text('name: x', 'domains: [{ name: a }]', 'until: 0ms')).message).toBe(
      'scenarios/x.yaml:3:8: until: until 0 ends the run before it starts; use a positive duration or leave it out',
    );
  });
});

describe('scenario errors: XSM and policy', () => {
  it('a policy error is reported at its line inside the YAML literal block', () => {
    const e = errorOf(
      text(
        'name: x',
        'xsm:',
        '  mode: flask',
        '  policy: |',
        '    attribute domain_type;',
        '    type web_t, domain_type;',
        '',
        '    allow web_t xen_t:argo { sned };',
        'domains: [{ name: web, label: web_t }]',
      ),
    );
    expect(e.message).toBe(
      'scenarios/x.yaml:8:5: xsm.policy: unknown argo permission "sned": use enable, register_single_source, register_any_source, send\n' +
        '    allow web_t xen_t:argo { sned };',
    );
    expect([e.line, e.column, e.path]).toEqual([8, 5, 'xsm.policy']);
  });

  it('a policy error in a quoted policy names the policy line at the scalar', () => {
    expect(errorOf(text('name: x', 'xsm: { mode: flask, policy: "type a_t;\\nallow a_t xen_t:argo sned;" }', 'domains: [{ name: a, label: a_t }]')).message).toMatch(
      /^scenarios\/x\.yaml:2:29: xsm\.policy: policy line 2: unknown argo permission "sned"/,
    );
  });

  it('a policy error in a policyFile names the policy file and its line', () => {
    const e = errorOf(text('name: x', 'xsm: { mode: flask, policyFile: x.te }', 'domains: [{ name: a, label: a_t }]'), {
      readFile: () => 'type a_t;\n  allow a_t xen_t:argo bogus;\n',
    });
    expect(e.message).toMatch(/^scenarios\/x\.te:2:3: xsm\.policyFile: unknown argo permission "bogus"/);
  });

  it('a policyFile that is not there', () => {
    const e = errorOf(text('name: x', 'xsm: { mode: flask, policyFile: policies/missing.te }', 'domains: [{ name: a }]'));
    expect(e.message).toBe(
      'scenarios/x.yaml:2:33: xsm.policyFile: cannot read the policy file scenarios/policies/missing.te: no such file; give a path relative to the scenario file',
    );
  });

  it('detach: it names a virtio-mmio device of its domain, and only detach names a device', () => {
    const base = [
      'name: x',
      'domains: [{ name: dom0, domid: 0 }, { name: dd }, { name: g }, { name: h }]',
      'devices:',
      '  - { name: vda, type: virtio-blk, frontend: g, backend: dd, transport: mmio }',
      '  - { name: vdb, type: virtio-blk, frontend: g, backend: dd }',
      'lifecycle:',
    ];
    expect(errorOf(text(...base, '  - { at: 1ms, op: detach, domain: g }')).message).toBe(
      "scenarios/x.yaml:7:5: lifecycle[0]: op detach needs the device to remove: add device: <name of one of g's virtio-mmio devices>",
    );
    expect(errorOf(text(...base, '  - { at: 1ms, op: detach, domain: g, device: vdc }')).message).toBe(
      'scenarios/x.yaml:7:47: lifecycle[0].device: no device named "vdc" (devices: vda, vdb)',
    );
    expect(errorOf(text(...base, '  - { at: 1ms, op: detach, domain: h, device: vda }')).message).toBe(
      "scenarios/x.yaml:7:47: lifecycle[0].device: device vda is g's, not h's: detach it from domain g",
    );
    expect(errorOf(text(...base, '  - { at: 1ms, op: detach, domain: g, device: vdb }')).message).toBe(
      'scenarios/x.yaml:7:47: lifecycle[0].device: device vdb runs over VirtIO-Argo, which keeps no libxl device in xenstore to remove; detach applies to transport: mmio devices',
    );
    expect(errorOf(text(...base, '  - { at: 1ms, op: destroy, domain: g, device: vda }')).message).toBe(
      'scenarios/x.yaml:7:48: lifecycle[0].device: a device applies only to op detach; remove it',
    );
  });

  it('a virtio-net device needs a receive queue that holds a full-size echo', () => {
    const yaml = (qs: number) => text('name: x', 'domains: [{ name: dom0, domid: 0 }, { name: nd }, { name: g }]', 'devices:', `  - { name: eth0, type: virtio-net, frontend: g, backend: nd, queueSize: ${qs} }`);
    const e = errorOf(yaml(2));
    expect(e.message).toBe(
      'scenarios/x.yaml:4:74: devices[0].queueSize: a virtio-net device needs queueSize 4 or more: each echo of its workload\'s full-size frames takes three 512-byte receive buffers; use 4',
    );
    expect(parseScenario(yaml(4), FILE).devices[0].queueSize).toBe(4);
  });

  it('vifs: a driver domain serves them, not the frontend itself nor the control domain', () => {
    const base = ['name: x', 'domains: [{ name: dom0, domid: 0, control: true }, { name: nd }, { name: g }]', 'vifs:'];
    expect(errorOf(text(...base, '  - { frontend: g, backend: g }')).message).toBe(
      'scenarios/x.yaml:4:29: vifs[0].backend: the backend must be another domain than the frontend (g); name a driver domain',
    );
    expect(errorOf(text(...base, '  - { frontend: g, backend: dom0 }')).message).toBe(
      "scenarios/x.yaml:4:29: vifs[0].backend: dom0 is the control domain, where libxl runs a vif's hotplug scripts itself — not modelled; serve the vif from a driver domain (its xl devd runs them)",
    );
    expect(errorOf(text(...base, '  - { frontend: g, backend: nx }')).message).toMatch(/^scenarios\/x.yaml:4:29: vifs\[0\].backend: .*"nx"/);
    expect(parseScenario(text(...base, '  - { frontend: g, backend: nd }', '  - { frontend: g, backend: nd }'), FILE).vifs.map((v) => v.devid)).toEqual([0, 1]);
  });

  it('a label the FLASK policy does not declare', () => {
    const policy = ['  policy: |', '    type web_t;', '    type db_t;'];
    expect(errorOf(text('name: x', 'xsm:', '  mode: flask', ...policy, 'domains:', '  - { name: web, label: web_t }', '  - { name: db, label: dbt }')).message).toBe(
      'scenarios/x.yaml:9:24: domains[1].label: label "dbt" is not a type of the FLASK policy; did you mean "db_t"?',
    );
  });

  it('policy under a mode other than flask, and flask without XSM built', () => {
    expect(errorOf(text('name: x', 'xsm: { mode: silo, policy: "type a_t;" }', 'domains: [{ name: a }]')).message).toBe(
      'scenarios/x.yaml:2:28: xsm.policy: applies only to mode flask; set mode: flask or remove policy',
    );
    expect(errorOf(text('name: x', 'build: { XSM: false }', 'xsm: { mode: flask }', 'domains: [{ name: a }]')).message).toBe(
      'scenarios/x.yaml:3:14: xsm.mode: mode flask needs XSM built in; set build: { XSM: true } or use mode: dummy',
    );
  });
});

describe('scenario errors: files', () => {
  it('a scenario file that is not there', () => {
    const e = (() => {
      try {
        loadScenario('scenarios/no-such-scenario.yaml');
      } catch (err) {
        return err as ScenarioError;
      }
      throw new Error('loaded');
    })();
    expect(e).toBeInstanceOf(ScenarioError);
    expect(e.message).toBe('scenarios/no-such-scenario.yaml: cannot read the scenario: no such file');
  });
});
