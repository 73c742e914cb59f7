/**
 * Events through the deterministic runtime (issue #3 item 8): scheduling steps per second — each a
 * delivery (a workload's sendv, a VIRQ handler run, a toolstack operation, a fault) — for the example
 * scenarios, with XState inspection off and on. Each cell runs in its own process (seeded runs after
 * warm-up, until enough run time is measured), so one cell's JIT state cannot colour another's.
 *
 *   npm run bench:runtime
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSystem, loadScenario } from '../src/index.js';
import { printTable, si } from './table.js';

const SCENARIOS = ['default', 'lifecycle', 'stress-small'];
const WARMUP = 20;
const MEASURE_MS = 2000;

interface Cell {
  stepsPerSecond: number;
  steps: number;
  inspectionEvents: number;
}

/** Runs seeded runs until MEASURE_MS of run time is spent (after warm-up); steps over time spent in `run`. */
function measure(file: string, inspect: boolean): Cell {
  const scenario = loadScenario(`scenarios/${file}.yaml`);
  let events = 0;
  let steps = 0;
  let runMs = 0;
  let runs = 0;
  for (let i = 0; i < WARMUP || runMs < MEASURE_MS; i++) {
    let seen = 0;
    const system = createSystem(scenario, { seed: i, inspect: inspect ? () => seen++ : false });
    const start = performance.now();
    const summary = system.run();
    const ms = performance.now() - start;
    if (i < WARMUP) continue;
    runMs += ms;
    runs++;
    events += seen;
    steps += summary.steps;
  }
  return { stepsPerSecond: (steps / runMs) * 1000, steps: steps / runs, inspectionEvents: events / runs };
}

function main(): void {
  const at = process.argv.indexOf('--cell');
  if (at > 0) {
    console.log(JSON.stringify(measure(process.argv[at + 1], process.argv[at + 2] === 'on')));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const cell = (file: string, inspect: 'on' | 'off'): Cell =>
    JSON.parse(execFileSync(process.execPath, [self, '--cell', file, inspect], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  console.log(`argosim bench: deterministic runtime — ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`(each cell its own process: ${WARMUP} warm-up runs, then seeded runs until ${MEASURE_MS} ms of run time; steps over that time)\n`);
  printTable(
    ['scenario', 'steps/run', 'steps/s inspect off', 'steps/s inspect on', 'inspection events/run'],
    SCENARIOS.map((file) => {
      const off = cell(file, 'off');
      const on = cell(file, 'on');
      return [file, String(Math.round(off.steps)), si(off.stepsPerSecond), si(on.stepsPerSecond), String(Math.round(on.inspectionEvents))];
    }),
  );
}

main();
