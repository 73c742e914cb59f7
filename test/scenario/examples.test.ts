import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';
import { EXAMPLE_POLICY } from '../../src/example/builtin-example.js';
import { parseFlaskPolicy } from '../../src/xsm/flask-policy.js';

const files = readdirSync('scenarios').filter((f) => f.endsWith('.yaml'));

describe('the example scenarios in scenarios/', () => {
  it('has the four examples of issue #3, each listed in scenarios/README.md', () => {
    expect(files).toEqual(expect.arrayContaining(['default.yaml', 'lifecycle.yaml', 'silo.yaml', 'stress-small.yaml']));
    const readme = readFileSync('scenarios/README.md', 'utf8');
    for (const f of files) expect(readme).toContain(`\`${f}\``);
  });

  it.each(files)('%s loads, and its name matches the file', (file) => {
    const scenario = loadScenario(`scenarios/${file}`);
    expect(scenario.name).toBe(file.replace(/\.yaml$/, ''));
    expect(scenario.domains.length).toBeGreaterThan(0);
    expect(scenario.source.file).toBe(`scenarios/${file}`);
  });

  it('default.yaml is the built-in example: dom0 + three guests under its FLASK policy', () => {
    const s = loadScenario('scenarios/default.yaml');
    expect(s.domains.map((d) => [d.name, d.domid, d.label])).toEqual([
      ['dom0', 0, 'dom0_t'],
      ['web', 1, 'web_t'],
      ['db', 2, 'db_t'],
      ['sandbox', 3, 'sandbox_t'],
    ]);
    expect(s.xsm.mode).toBe('flask');
    // the same policy as the code example, statement for statement
    const fromFile = parseFlaskPolicy(s.xsm.policy!);
    const fromCode = parseFlaskPolicy(EXAMPLE_POLICY);
    expect([...fromFile.argoAllow].sort()).toEqual([...fromCode.argoAllow].sort());
    expect(s.boot).toEqual({ argo: true, macPermissive: true });
    // web ⇄ db, the wildcard log ring, and the small metrics ring
    expect(s.rings.map((r) => [r.owner, r.port, r.partnerDomid, r.len])).toEqual(
      expect.arrayContaining([
        ['db', 5432, 1, 8192],
        ['web', 8080, 2, 4032],
        ['dom0', 514, 'any', 4032],
        ['dom0', 9100, 1, 256],
      ]),
    );
    // a flow the policy denies: sandbox_t may not send to db_t
    const denied = s.workloads.find((w) => w.name === 'denied')!;
    expect(fromFile.allows('sandbox_t', 'db_t', 'send')).toBe(false);
    expect([denied.from, denied.to.domain]).toEqual(['sandbox', 'db']);
    // the metrics flow sends back to back into a ring with room for three 64-byte messages
    const metrics = s.workloads.find((w) => w.name === 'metrics')!;
    expect(metrics.intervalMs).toBe(0);
    expect(metrics.count * (metrics.size.maxBytes + 16)).toBeGreaterThan(256);
  });

  it('lifecycle.yaml schedules the toolstack operations and a guest kexec during its workload', () => {
    const s = loadScenario('scenarios/lifecycle.yaml');
    expect(new Set(s.lifecycle.map((e) => e.op))).toEqual(new Set(['pause', 'unpause', 'suspend', 'resume', 'guest_shutdown', 'reboot', 'shutdown']));
    const times = s.lifecycle.map((e) => e.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(s.lifecycle.find((e) => e.op === 'guest_shutdown')!.reason!.name).toBe('soft_reset');
    expect(s.domains.find((d) => d.name === 'legacy')!.pvControl).toBe(false);
    expect(Math.max(...times)).toBeLessThan(s.untilMs!);
  });

  it('silo.yaml runs SILO with the boot option as command-line text', () => {
    const s = loadScenario('scenarios/silo.yaml');
    expect(s.xsm).toEqual({ mode: 'silo', policy: null, enforcing: true });
    expect(s.boot).toEqual({ argo: true, macPermissive: true });
  });

  it('stress-small.yaml has more domains, rings and seeded-size workloads than the default', () => {
    const s = loadScenario('scenarios/stress-small.yaml');
    const d = loadScenario('scenarios/default.yaml');
    expect(s.domains.length).toBeGreaterThan(d.domains.length);
    expect(s.rings.length).toBeGreaterThan(d.rings.length);
    expect(s.workloads.length).toBeGreaterThan(d.workloads.length);
    expect(s.workloads.filter((w) => w.size.minBytes < w.size.maxBytes).length).toBeGreaterThan(6);
    expect(s.faults.map((f) => f.kind)).toEqual(['unregister', 'virq_delay', 'virq_drop', 'soft_reset']);
  });

  it('the annotated example of docs/scenarios.md loads as written', () => {
    const doc = readFileSync('docs/scenarios.md', 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1];
    const s = parseScenario(example, 'docs/scenarios.md');
    expect(s.name).toBe('example');
    expect(s.domains.map((d) => d.domid)).toEqual([0, 1, 2]);
    expect(s.faults[1]).toMatchObject({ kind: 'virq_delay', atMs: null, delayMs: 0.5, weight: 2 });
  });
});
