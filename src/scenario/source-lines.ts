import { ScenarioError } from './scenario-error.js';
import type { ScenarioSource } from './schema.js';

/**
 * Pointing back into a loaded scenario's file: the line of a path, and errors found after loading
 * (by a runtime, a monitor) that name that line, as the loader's errors do.
 *
 * @example
 * ```ts
 * lineOf(scenario.source, 'workloads[0].rate'); // 46 in scenarios/default.yaml
 * throw scenarioErrorAt(scenario.source, 'rings[1]', 'dom0 refused the ring: EPERM');
 * ```
 */

/** `domains[2].memory` → `domains[2]` → `domains` → `''`. */
function parentPath(path: string): string {
  const m = /^(.*?)(?:\.[^.[\]]+|\[\d+\])$/.exec(path);
  return m ? m[1] : '';
}

/**
 * The 1-based line of `path` in the scenario file; a path the file does not spell out (a default,
 * such as an assigned `domains[1].domid`) gets the line of its nearest ancestor that it does.
 *
 * @example
 * ```ts
 * lineOf(scenario.source, 'domains[1].domid'); // the line of domains[1]
 * ```
 */
export function lineOf(source: ScenarioSource, path: string): number {
  for (let p = path; ; p = parentPath(p)) {
    const line = source.lines[p];
    if (line !== undefined) return line;
    if (p === '') return 1;
  }
}

/**
 * A `ScenarioError` at the line of `path`: `file:line: path: detail`.
 *
 * @example
 * ```ts
 * scenarioErrorAt(scenario.source, 'lifecycle[5]', 'soft_reset needs the domain shut down').message;
 * // 'scenarios/lifecycle.yaml:32: lifecycle[5]: soft_reset needs the domain shut down'
 * ```
 */
export function scenarioErrorAt(source: ScenarioSource, path: string, detail: string): ScenarioError {
  return new ScenarioError({ file: source.file, line: lineOf(source, path), path }, detail);
}
