import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

// each test spawns the CLI several times (tsx compiles it each time), two of them with worker
// threads: up to ~12 s idle here, so 60 s on a loaded two-core CI machine, not the default 20
describe('argosim explore (the command)', { timeout: 60_000 }, () => {
  it('finds the bug, writes a counterexample trace that argosim replay reproduces, and exits 2', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'argosim-explore-')), 'cx.json');
    const found = cli('explore', 'scenarios/default.yaml', '--strategy', 'pos', '--budget', '10', '--bugs', 'sendvReturnsZeroWhenQueued', '--out', out, '--json');
    expect(found.code).toBe(2);
    const report = JSON.parse(found.out);
    expect(report).toMatchObject({ strategy: 'pos', bugs: ['sendvReturnsZeroWhenQueued'], replayFile: out });
    expect(report.counterexample.violations[0]).toMatch(/sendv-result/);
    const trace = JSON.parse(readFileSync(out, 'utf8'));
    expect(trace.scenario.text).toMatch(/sendvReturnsZeroWhenQueued: true/);
    const replayed = cli('replay', out);
    expect(replayed.code).toBe(0);
    expect(replayed.err + replayed.out).toMatch(/every actor's state matches the recording/);
  });

  it('--list-bugs prints every switch; a bad flag names itself', () => {
    const list = cli('explore', '--list-bugs');
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^sendvReturnsZeroWhenQueued\targo\tXen 480800c769\t/m);
    const bad = cli('explore', '--bugs', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--bugs: no historical bug "nope"; argosim explore --list-bugs prints them/);
    expect(cli('explore', '--strategy', 'bfs').err).toMatch(/--strategy takes one of random, pct, pos, dfs, got "bfs"/);
  });

  it('argosim run --bugs: the parallel runtime takes the bugs it models and names the flag for the others', () => {
    const run = cli('run', 'scenarios/races/argo-pending-length.yaml', '--runtime', 'parallel', '--workers', '1', '--bugs', 'sendvReturnsZeroWhenQueued', '--json');
    expect(run.code).toBe(2); // the queued sends reported as delivered are lost: a violation
    expect(JSON.parse(run.out).messages.lost).toBeGreaterThan(0);
    // an IOREQ bug in threads: the device model writes the slot backwards, Xen waits on (12 of 12 runs under a CPU hog)
    const ioreq = cli('run', 'scenarios/races/r03-ioreq-state-backwards.yaml', '--runtime', 'parallel', '--workers', '2', '--bugs', 'ioreqStateUnchecked', '--json');
    expect(ioreq.code).toBe(2);
    expect(JSON.parse(ioreq.out).invariantViolations).toEqual([expect.stringMatching(/^ioreq-state-forward: vCPU 0 of guest \(domain 2\) keeps waiting on server 0 whose slot went from state 2 back to 1/)]);
    const other = cli('run', 'scenarios/tiny.yaml', '--runtime', 'parallel', '--bugs', 'suspendAckLostOnTimeout');
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/--bugs suspendAckLostOnTimeout: the parallel runtime does not model it \(it runs sendvReturnsZeroWhenQueued, .*\); run it with --runtime deterministic/);
    expect(cli('run', 'scenarios/tiny.yaml', '--record', '/tmp/never.json', '--bugs', 'halfBuiltDomainKept').err).toMatch(/--bugs goes with a plain run \(deterministic or parallel\) or argosim explore; for --inspect or --record write bugs/);
  });

  it('argosim run --time-scale: a parallel run of a minute of scenario time in a few seconds', () => {
    // r14: libxl's 60 s acknowledgement timeout and the guest's unpause at 60 011 ms
    const run = cli('run', 'scenarios/races/r14-suspend-ack-timeout.yaml', '--runtime', 'parallel', '--workers', '2', '--time-scale', '0.05', '--json');
    expect(run.code).toBe(0);
    const summary = JSON.parse(run.out);
    expect(summary.virtualTimeMs).toBeGreaterThanOrEqual(60_011);
    expect(summary.wallMs).toBeLessThan(20_000); // 3 s here; at scale 1 it is 60 s
    expect(summary.strategy).toBe('2 workers, round-robin placement, 0.05 s of wall time per scenario second');
    expect(summary.domains.find((d: { name: string }) => d.name === 'guest')).toMatchObject({ toolstack: ['pause', 'suspend', 'unpause'] });
    // how many of its 5 messages the guest sends before its pause (10 ms: half a millisecond of wall
    // time here) depends on how soon its thread runs; none is lost
    expect(summary.messages).toMatchObject({ delivered: summary.messages.sent, lost: 0, duplicated: 0 });
    expect(summary.invariantViolations).toEqual([]);
    expect(cli('run', 'scenarios/tiny.yaml', '--runtime', 'parallel', '--time-scale', '0').err).toMatch(/--time-scale takes a number from 0\.01 to 1000 \(wall time per unit of scenario time\), got "0"/);
    expect(cli('run', 'scenarios/tiny.yaml', '--runtime', 'parallel', '--time-scale', '0x10').err).toMatch(/--time-scale takes a number from/);
    expect(cli('run', 'scenarios/tiny.yaml', '--time-scale', '0.5').err).toMatch(/--time-scale goes with --runtime parallel: the deterministic runtime's time is virtual/);
    expect(cli('run', 'scenarios/tiny.yaml', '--workers', '3').err).toMatch(/--workers goes with --runtime parallel: the deterministic runtime runs in one thread/);
  });
});
