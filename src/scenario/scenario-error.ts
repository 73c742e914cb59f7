/** Where in a scenario file an error is: the file, and where known the 1-based line and column and the path. */
export interface ScenarioErrorPlace {
  /** The scenario file as it was named to the loader (or the policy file an error is in). */
  file: string;
  /** 1-based line; absent for an error about the whole file (it cannot be read). */
  line?: number;
  /** 1-based column; absent where only the line is known. */
  column?: number;
  /** The path of the offending value, e.g. `domains[2].memory`; empty for the file itself. */
  path?: string;
}

/**
 * A scenario that cannot be used (ARCHITECTURE.md principle 6: user input gets an error naming the
 * place and the fix). The message reads `file:line:column: path: what is wrong and how to fix it`.
 *
 * @example
 * ```ts
 * const e = new ScenarioError({ file: 'scenarios/x.yaml', line: 14, column: 13, path: 'domains[2].memory' },
 *   '"4MB" is not a size; use bytes or a unit like 4MiB');
 * e.message; // 'scenarios/x.yaml:14:13: domains[2].memory: "4MB" is not a size; use bytes or a unit like 4MiB'
 * ```
 */
export class ScenarioError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly path: string;
  /** What is wrong and how to fix it, without the place. */
  readonly detail: string;

  constructor(place: ScenarioErrorPlace, detail: string) {
    const where = [place.file, place.line, place.line === undefined ? undefined : place.column].filter((p) => p !== undefined).join(':');
    super(`${where}: ${place.path ? `${place.path}: ` : ''}${detail}`);
    this.name = 'ScenarioError';
    this.file = place.file;
    this.line = place.line;
    this.column = place.line === undefined ? undefined : place.column;
    this.path = place.path ?? '';
    this.detail = detail;
  }
}
