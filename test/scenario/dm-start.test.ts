import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { ScenarioError } from '../../src/scenario/scenario-error.js';

// devices[].dmStart and the dm_start_fail fault (virtio-ioreq-lifecycle.md §6.4 create step 4): a
// mistake is a ScenarioError naming the file, the line and the fix.

const FILE = 'scenarios/x.yaml';
const head = [
  'name: x',
  'domains: [{ name: dom0 }, { name: dd }, { name: g }, { name: h }]',
  'devices:',
];

function errorOf(...lines: string[]): ScenarioError {
  try {
    parseScenario(`${[...head, ...lines].join('\n')}\n`, FILE);
  } catch (e) {
    if (e instanceof ScenarioError) return e;
    throw e;
  }
  throw new Error('the scenario loaded, but an error was expected');
}

describe('scenario: dmStart and dm_start_fail', () => {
  it('dmStart is normalised for virtio-mmio devices (default: confirms at once) and null for the others', () => {
    const s = parseScenario(
      `${[...head, '  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dd, dmStart: { delay: 70s } }', '  - { name: b, type: virtio-blk, transport: mmio, frontend: h, backend: dom0 }', '  - { name: c, type: virtio-blk, frontend: h, backend: dd }'].join('\n')}\n`,
      FILE,
    );
    expect(s.devices.map((d) => d.dmStart)).toEqual([{ delayMs: 70_000, fails: false }, { delayMs: 0, fails: false }, null]);
  });

  it('one device-model domain for two guests: refused at the second device (XEN_DOMCTL_set_target gives it one target); dom0 serves any', () => {
    const e = errorOf('  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dd }', '  - { name: b, type: virtio-blk, transport: mmio, frontend: h, backend: dd }');
    expect(e.message).toMatch(/^scenarios\/x\.yaml:5:\d+: devices\[1\]\.backend: dd is already the device model of g \(devices\[0\] \(line 4\)\), and XEN_DOMCTL_set_target gives a device-model domain one target \(Xen's d->target\); give h's device a device-model domain of its own, or serve it from the control domain$/);
    const ok = parseScenario(`${[...head, '  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dom0 }', '  - { name: b, type: virtio-blk, transport: mmio, frontend: h, backend: dom0 }', '  - { name: c, type: virtio-blk, transport: mmio, frontend: g, backend: dd }', '  - { name: d, type: virtio-blk, transport: mmio, frontend: g, backend: dd }', '  - { name: e, type: virtio-blk, frontend: h, backend: dd }'].join('\n')}\n`, FILE);
    expect(ok.devices).toHaveLength(5); // dom0 for both guests, dd for two disks of one guest, and a VirtIO-Argo disk (no DM op) from dd
  });

  it('dmStart on a VirtIO-Argo device: no device model to start — refused at its line', () => {
    const e = errorOf('  - { name: a, type: virtio-blk, frontend: g, backend: dd, dmStart: { fails: true } }');
    expect(e.message).toBe(
      'scenarios/x.yaml:4:69: devices[0].dmStart: dmStart is how the device model of a virtio-mmio device starts; this device has none (transport argo): remove dmStart or set transport: mmio',
    );
  });

  it('a dmStart delay that is not a duration, and an unknown key, name the field', () => {
    expect(errorOf('  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dd, dmStart: { delay: soon } }').message).toMatch(
      /^scenarios\/x\.yaml:4:\d+: devices\[0\]\.dmStart\.delay: .*soon/,
    );
    expect(errorOf('  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dd, dmStart: { fail: true } }').message).toMatch(
      /^scenarios\/x\.yaml:4:\d+: devices\[0\]\.dmStart.*did you mean "fails"\?/,
    );
  });

  it('a dm_start_fail fault on a domain with no device model is refused at its line', () => {
    const e = errorOf(
      '  - { name: a, type: virtio-blk, transport: mmio, frontend: g, backend: dd }',
      'faults:',
      '  - { kind: dm_start_fail, domain: h }',
    );
    expect(e.message).toBe(
      'scenarios/x.yaml:6:36: faults[0].domain: a dm_start_fail fault hits a domain with a device model (the front end of a transport: mmio device); h has none',
    );
  });
});
