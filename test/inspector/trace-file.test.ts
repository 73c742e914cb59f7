import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordRun } from '../../src/inspector/record-run.js';
import { checkReplay } from '../../src/inspector/replay-check.js';
import { RecordedStates } from '../../src/inspector/recorded-states.js';
import { loadScenarioForTrace, readTraceFile, TraceFileError, writeTraceFile } from '../../src/inspector/trace-file.js';

const dir = mkdtempSync(join(tmpdir(), 'argosim-trace-'));

describe('trace files (argosim run --record, argosim replay)', () => {
  it('a recorded run of the default scenario replays with every actor in its recorded state at every step', () => {
    const { trace, summary } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), {});
    expect(trace.steps.length).toBe(summary.steps);
    expect(trace.choices.length).toBe(summary.steps);
    expect(trace.steps.some((s) => s.changes.length > 0)).toBe(true);
    expect(trace.steps.flatMap((s) => s.log).some((e) => e.op === 'sendv' && e.to === 'db:5432')).toBe(true);
    const path = join(dir, 'default.json');
    writeTraceFile(path, trace);
    const again = readTraceFile(path);
    expect(checkReplay(again)).toEqual({ steps: summary.steps, divergence: null });
  });

  it('a replay that leaves the recording names the step and the actors', () => {
    const { trace } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), {});
    const k = trace.steps.findIndex((s) => s.changes.length > 0);
    const [id] = trace.steps[k].changes[0];
    trace.steps[k].changes[0] = [id, 'somewhereElse'];
    const check = checkReplay(trace);
    expect(check.divergence?.step).toBe(k + 1);
    expect(check.divergence?.actors).toContainEqual(expect.objectContaining({ id, recorded: 'somewhereElse' }));
  });

  it('the recorded states fold to the same states with and without checkpoints', () => {
    const { trace } = recordRun(loadScenarioForTrace('scenarios/stress-small.yaml'), { untilMs: 20 });
    expect(trace.steps.length).toBeGreaterThan(600);
    const states = new RecordedStates(trace.initial, trace.steps);
    const slow = new Map(trace.initial);
    for (let k = 0; k < trace.steps.length; k += 1) {
      if (k % 97 === 0 || k === trace.steps.length - 1) expect(states.at(k)).toEqual(slow);
      for (const [id, s] of trace.steps[k].changes) s === null ? slow.delete(id) : slow.set(id, s);
    }
  });

  it.each([
    ['not JSON', '{ "format": ', /not JSON/],
    ['another JSON file', '{"name":"x"}', /not an argosim trace/],
    ['another version', '{"format":"argosim-trace","version":99}', /version 99/],
    ['a damaged field', null, /steps\.0\.changes: .*record it again/],
  ])('a malformed trace (%s) is an error naming the file and the fix', (_, text, message) => {
    const path = join(dir, 'bad.json');
    if (text === null) {
      const { trace } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), {});
      writeFileSync(path, JSON.stringify({ ...trace, steps: [{ ...trace.steps[0], changes: 'x' }, ...trace.steps.slice(1)] }));
    } else {
      writeFileSync(path, text);
    }
    expect(() => readTraceFile(path)).toThrow(TraceFileError);
    expect(() => readTraceFile(path)).toThrow(message);
    expect(() => readTraceFile(path)).toThrow(path);
  });

  it('a missing trace file says how to record one', () => {
    expect(() => readTraceFile(join(dir, 'none.json'))).toThrow(/no such file; record one with `argosim run <scenario> --record <file>`/);
  });

  it('the trace carries the scenario text, so a replay does not read the scenario file again', () => {
    const { trace } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), {});
    expect(trace.scenario.text).toBe(readFileSync('scenarios/default.yaml', 'utf8'));
    const moved = { ...trace, scenario: { ...trace.scenario, file: join(dir, 'gone.yaml') } };
    expect(checkReplay(moved).divergence).toBeNull();
  });
});
