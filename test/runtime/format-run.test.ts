import { describe, expect, it } from 'vitest';
import { formatRunSummary } from '../../src/cli/format-run.js';
import { loadScenario } from '../../src/index.js';
import { createSystem } from '../../src/runtime/system.js';

describe('argosim run: the readable summary', () => {
  it('shows each domain, the message counts, the invariants, and a devices table when there are devices', () => {
    const plain = formatRunSummary(createSystem(loadScenario('scenarios/default.yaml')).run());
    expect(plain).toMatch(/^argosim run: default \(seed 1, deterministic runtime, random strategy\)/);
    expect(plain).toMatch(/^web \(1\) +running +64 /m);
    expect(plain).toMatch(/messages: 112 sent, 112 delivered, 4 refused/);
    expect(plain).toMatch(/invariants: all held/);
    expect(plain).not.toMatch(/^device /m);
    const devices = formatRunSummary(createSystem(loadScenario('scenarios/virtio-transports.yaml')).run());
    expect(devices).toMatch(/^vda +argo +driverOk +1000 +\d+ +0 +0 +0$/m);
    expect(devices).toMatch(/^vdb +mmio +driverOk +1000 +\d+ +0 +\d+ +\d+$/m);
  });
});
