import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import type { RunSummary } from '../runtime/run-summary.js';
import { loadScenario, parseScenario } from '../scenario/load-scenario.js';
import type { Scenario } from '../scenario/schema.js';
import type { Recording } from './inspected-run.js';
import { INSPECTOR_PROTOCOL_VERSION, type RunState } from './protocol.js';

/** The `format` field of a trace file. */
export const TRACE_FORMAT = 'argosim-trace';

/**
 * A recorded run (`argosim run --record trace.json`; docs/inspector.md "Trace files"): the
 * scenario's text and every file it read, the seed and limits, the scheduler's choice at every
 * step — enough to re-run it exactly — and what the run did: each step's scheduling point, the
 * actors whose state it moved, and its hypercalls and VIRQs.
 *
 * @example
 * ```ts
 * const trace = readTraceFile('trace.json');
 * trace.steps[12].changes; // [['ring:db:5432:1', 'registered.holdingData']]
 * ```
 */
export interface TraceFile extends Recording {
  format: typeof TRACE_FORMAT;
  version: number;
  scenario: { file: string; name: string; text: string; files: Record<string, string> };
  seed: number;
  untilMs: number | null;
  maxSteps: number | null;
  end: RunState;
  choices: number[];
  summary: RunSummary | null;
}

/** A scenario as loaded for recording: the parsed scenario and the text of every file read. */
export interface RecordedScenario {
  scenario: Scenario;
  source: TraceFile['scenario'];
}

/**
 * Loads a scenario file, keeping its text and that of every file it reads (a FLASK policy file),
 * so a trace can carry the scenario with it.
 *
 * @example
 * ```ts
 * const { scenario, source } = loadScenarioForTrace('scenarios/default.yaml');
 * ```
 */
export function loadScenarioForTrace(path: string): RecordedScenario {
  const files: Record<string, string> = {};
  const readFile = (p: string) => (files[p] = readFileSync(p, 'utf8'));
  const scenario = loadScenario(path, { readFile });
  const text = files[path];
  delete files[path];
  return { scenario, source: { file: path, name: scenario.name, text, files } };
}

/**
 * Writes a trace file (JSON). Errors name the file.
 *
 * @example
 * ```ts
 * writeTraceFile('trace.json', trace);
 * ```
 */
export function writeTraceFile(path: string, trace: TraceFile): void {
  try {
    writeFileSync(path, JSON.stringify(trace));
  } catch (e) {
    throw new TraceFileError(path, `cannot write it: ${(e as Error).message}`);
  }
}

/** A trace file that cannot be read, with the file and how to fix it in the message. */
export class TraceFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TraceFileError';
  }
}

const logEntry = z.object({ step: z.number(), atMs: z.number(), type: z.enum(['hypercall', 'virq']), op: z.string(), domain: z.string() }).loose();
const traceSchema = z.object({
  format: z.literal(TRACE_FORMAT),
  version: z.literal(INSPECTOR_PROTOCOL_VERSION),
  scenario: z.object({ file: z.string(), name: z.string(), text: z.string(), files: z.record(z.string(), z.string()) }),
  seed: z.number().int(),
  untilMs: z.number().nullable(),
  maxSteps: z.number().int().nullable(),
  end: z.enum(['more', 'idle', 'until', 'maxSteps', 'halted']),
  choices: z.array(z.number().int().nonnegative()),
  actors: z.array(z.object({ id: z.string(), kind: z.string(), domain: z.string(), machine: z.string(), since: z.number() })),
  initial: z.array(z.tuple([z.string(), z.string()])),
  bootLog: z.array(logEntry),
  steps: z.array(
    z
      .object({
        step: z.number().int(),
        atMs: z.number(),
        choice: z.number().int(),
        enabled: z.number().int(),
        kind: z.string(),
        actor: z.string(),
        label: z.string(),
        changes: z.array(z.tuple([z.string(), z.string().nullable()])),
        log: z.array(logEntry),
      })
      .loose(),
  ),
  summary: z.unknown(),
});

/**
 * Reads and checks a trace file; anything wrong is a `TraceFileError` naming the file, the field
 * and the fix.
 *
 * @example
 * ```ts
 * const trace = readTraceFile('trace.json');
 * const scenario = scenarioOfTrace(trace);
 * ```
 */
export function readTraceFile(path: string): TraceFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TraceFileError(path, code === 'ENOENT' ? 'no such file; record one with `argosim run <scenario> --record <file>`' : `cannot read it: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new TraceFileError(path, `not JSON (${(e as Error).message}); a trace file is what \`argosim run --record\` writes`);
  }
  if (typeof json !== 'object' || json === null || (json as { format?: unknown }).format !== TRACE_FORMAT) {
    throw new TraceFileError(path, `not an argosim trace (no "format": "${TRACE_FORMAT}"); record one with \`argosim run <scenario> --record <file>\``);
  }
  const version = (json as { version?: unknown }).version;
  if (version !== INSPECTOR_PROTOCOL_VERSION) {
    throw new TraceFileError(path, `trace format version ${String(version)} is not the version this argosim reads (${INSPECTOR_PROTOCOL_VERSION}); record it again`);
  }
  const parsed = traceSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TraceFileError(path, `${issue.path.join('.') || '(top level)'}: ${issue.message}; the file is damaged — record it again`);
  }
  const trace = parsed.data as unknown as TraceFile;
  if (trace.steps.length !== trace.choices.length) {
    throw new TraceFileError(path, `it has ${trace.steps.length} steps but ${trace.choices.length} choices; the file is damaged — record it again`);
  }
  return trace;
}

/**
 * The scenario a trace was recorded from, parsed from the text it carries (not from the file, which
 * may have changed since). A policy file it read comes from the trace too.
 *
 * @example
 * ```ts
 * const run = new InspectedRun(scenarioOfTrace(trace), { seed: trace.seed, choices: trace.choices });
 * ```
 */
export function scenarioOfTrace(trace: TraceFile): Scenario {
  const base = dirname(resolve(trace.scenario.file));
  const readFile = (p: string) => {
    const text = trace.scenario.files[p] ?? trace.scenario.files[resolve(base, p)];
    if (text === undefined) throw new Error(`the trace does not carry ${p}`);
    return text;
  };
  return parseScenario(trace.scenario.text, trace.scenario.file, { readFile });
}
