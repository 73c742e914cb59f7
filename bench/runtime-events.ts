/**
 * Events through the deterministic runtime (issue #3 item 8): scheduling steps per second — each a
 * delivery (a workload's sendv, a VIRQ handler run, a toolstack operation, a fault) — for the example
 * scenarios, with XState inspection off and on. Each cell runs in its own process (median of runs
 * after warm-up), so one cell's JIT state cannot colour another's.
 *
 *   npm run bench:runtime
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createSystem, loadScenario } from '../src/index.js';
import { printTable, si } from './table.js';

const SCENARIOS = ['default', 'lifecycle', 'stress-small'];
const RUNS = 15;
const WARMUP = 10;

interface Cell {
  stepsPerSecond: number;
  steps: number;
  inspectionEvents: number;
}

function measure(file: string, inspect: boolean): Cell {
  const scenario = loadScenario(`scenarios/${file}.yaml`);
  const rates: number[] = [];
  let events = 0;
  let steps = 0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    let seen = 0;
    const system = createSystem(scenario, { seed: i, inspect: inspect ? () => seen++ : false });
    const start = performance.now();
    const summary = system.run();
    const ms = performance.now() - start;
    if (i < WARMUP) continue;
    rates.push((summary.steps / ms) * 1000);
    events += seen;
    steps += summary.steps;
  }
  rates.sort((a, b) => a - b);
  return { stepsPerSecond: rates[Math.floor(rates.length / 2)], steps: steps / RUNS, inspectionEvents: events / RUNS };
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
  console.log(`(each cell its own process: median of ${RUNS} seeded runs after ${WARMUP} warm-up runs)\n`);
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
