import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const argosim = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'argosim-cli-'));

describe('argosim run --record and argosim replay', () => {
  it('a recorded run replays with every state matching, and a damaged trace is a clear error', () => {
    const trace = join(dir, 'trace.json');
    const run = argosim('run', 'scenarios/default.yaml', '--record', trace, '--json');
    expect(run.status).toBe(0);
    const steps = (JSON.parse(run.stdout) as { steps: number }).steps;
    const replay = argosim('replay', trace);
    expect(replay.status).toBe(0);
    expect(replay.stderr).toContain(`replayed ${steps} steps of default (seed 1): every actor's state matches the recording`);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[1, 2');
    const broken = argosim('replay', bad, '--ui');
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(new RegExp(`argosim: ${bad.replace(/[/.]/g, '\\$&')}: not JSON .*argosim run --record`));
  });

  it('inspect with a missing scenario or a bad port names it and exits', () => {
    const missing = argosim('inspect', 'scenarios/none.yaml');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('scenarios/none.yaml: cannot read the scenario: no such file');
    const port = argosim('inspect', '--port', 'http');
    expect(port.status).toBe(1);
    expect(port.stderr).toContain('--port takes a port number 0-65535, got "http"');
  });
});
