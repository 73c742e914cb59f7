import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { normaliseScenario } from './normalise-scenario.js';
import { ScenarioError } from './scenario-error.js';
import type { ReadText } from './scenario-policy.js';
import { scenarioErrorMap, schemaProblems } from './schema-issues.js';
import { scenarioFileSchema, type Scenario } from './schema.js';
import { formatPath, YamlSource } from './yaml-source.js';

/** Options of `parseScenario` and `loadScenario`. */
export interface ScenarioLoadOptions {
  /** Reads the file an `xsm.policyFile` names (default: node:fs, UTF-8). */
  readFile?: ReadText;
}

const readText: ReadText = (path) => readFileSync(path, 'utf8');

/**
 * Reads a scenario from YAML text (docs/scenarios.md) into a normalised `Scenario`: every default
 * filled in, domids assigned, sizes in bytes, times in virtual milliseconds. `file` names the text in
 * errors, and a relative `xsm.policyFile` is read from its directory. Anything wrong is a
 * `ScenarioError` naming the file, line, column and path, and the fix.
 *
 * @example
 * ```ts
 * const scenario = parseScenario('name: two\ndomains:\n  - { name: dom0 }\n  - { name: web, memory: 2MiB }\n');
 * scenario.domains[1]; // { name: 'web', domid: 1, control: false, label: 'domU_t', memoryBytes: 2097152, vcpus: 1, compat: false, line: 4 }
 *
 * parseScenario('name: x\ndomains:\n  - { name: web, memory: 4MB }\n', 'x.yaml');
 * // throws ScenarioError: x.yaml:3:26: domains[0].memory: "4MB" is not a size; use bytes or a unit like 4MiB
 * ```
 */
export function parseScenario(text: string, file = '<inline>', options: ScenarioLoadOptions = {}): Scenario {
  const source = YamlSource.parse(text, file);
  const result = scenarioFileSchema.safeParse(source.toJS(), { error: scenarioErrorMap });
  if (!result.success) throw firstProblem(source, result.error.issues);
  return normaliseScenario(result.data, source, options.readFile ?? readText);
}

/**
 * Reads and parses the scenario file at `path` (see `parseScenario`); errors name `path` as given.
 *
 * @example
 * ```ts
 * const scenario = loadScenario('scenarios/default.yaml');
 * scenario.name; // 'default'
 * ```
 */
export function loadScenario(path: string, options: ScenarioLoadOptions = {}): Scenario {
  let text: string;
  try {
    text = (options.readFile ?? readText)(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new ScenarioError({ file: path }, `cannot read the scenario: ${reason}`);
  }
  return parseScenario(text, path, options);
}

/**
 * The schema problem that comes first in the file, as a located error. A missing field whose
 * mapping also holds an unknown key yields to that key: `mxa: 3` is the reason `max` is missing.
 */
function firstProblem(source: YamlSource, issues: readonly z.core.$ZodIssue[]): ScenarioError {
  const located = schemaProblems(issues).map((problem) => ({ problem, at: source.positionOf(problem.path, problem.key) }));
  located.sort((a, b) => a.at.line - b.at.line || a.at.column - b.at.column);
  let { problem } = located[0];
  const missing = problem.key === undefined && problem.path.length > 0 && !source.has(problem.path);
  if (missing) {
    const parent = formatPath(problem.path.slice(0, -1));
    problem = located.find(({ problem: p }) => p.key !== undefined && formatPath(p.path) === parent)?.problem ?? problem;
  }
  if (problem.key !== undefined) return source.errorAt(problem.path, problem.message, problem.key);
  if (problem.path.length === 0) return source.errorAt([], `a scenario is a mapping with at least name and domains; ${problem.message}`);
  if (missing) return source.errorAt(problem.path, 'required, but missing');
  return source.errorAt(problem.path, problem.message);
}
