import { dirname, isAbsolute, join } from 'node:path';
import { isScalar } from 'yaml';
import { DEFAULT_FLASK_POLICY, FlaskPolicy, parseFlaskPolicy, PolicyError, XEN_TYPE } from '../xsm/flask-policy.js';
import { didYouMean } from './hints.js';
import { ScenarioError } from './scenario-error.js';
import type { ScenarioBuild, ScenarioDomain, ScenarioFile, ScenarioXsm } from './schema.js';
import type { YamlSource } from './yaml-source.js';

/**
 * A scenario's XSM section made whole: the mode checked against the build, the FLASK policy text
 * taken inline, from `policyFile` (relative to the scenario file) or Xen's default, and parsed, so a
 * policy mistake is reported at its line in the YAML file (or the policy file), and every domain
 * label checked against the policy's types.
 *
 * @example
 * ```ts
 * const { xsm, flask } = resolveXsm(file.xsm, build, source, (p) => readFileSync(p, 'utf8'));
 * xsm.policy; // the policy text, inlined
 * ```
 */

/** Reads a policy file; throws (as node:fs does) when it cannot. */
export type ReadText = (path: string) => string;

/** The name parseFlaskPolicy prefixes its messages with, stripped before re-reporting them. */
const POLICY_SOURCE = 'policy';

/**
 * The normalised XSM settings, and the parsed FLASK policy for mode flask (null otherwise).
 *
 * @example
 * ```ts
 * resolveXsm(undefined, build, source, readText).xsm; // { mode: 'dummy', policy: null, enforcing: true }
 * ```
 */
export function resolveXsm(
  xsm: ScenarioFile['xsm'],
  build: ScenarioBuild,
  source: YamlSource,
  readText: ReadText,
): { xsm: ScenarioXsm; flask: FlaskPolicy | null } {
  if (!xsm) return { xsm: { mode: 'dummy', policy: null, enforcing: true }, flask: null };
  if (!build.XSM && xsm.mode !== 'dummy') {
    throw source.errorAt(['xsm', 'mode'], `mode ${xsm.mode} needs XSM built in; set build: { XSM: true } or use mode: dummy`);
  }
  if (xsm.mode !== 'flask') {
    for (const key of ['policy', 'policyFile', 'enforcing'] as const) {
      if (xsm[key] !== undefined) throw source.errorAt(['xsm', key], `applies only to mode flask; set mode: flask or remove ${key}`);
    }
    return { xsm: { mode: xsm.mode, policy: null, enforcing: true }, flask: null };
  }
  if (xsm.policy !== undefined && xsm.policyFile !== undefined) {
    throw source.errorAt(['xsm', 'policyFile'], 'give the policy inline (policy) or in a file (policyFile), not both');
  }
  let text = DEFAULT_FLASK_POLICY;
  let flask: FlaskPolicy;
  if (xsm.policy !== undefined) {
    text = xsm.policy;
    flask = parseInline(text, source);
  } else if (xsm.policyFile !== undefined) {
    const path = policyPath(source.file, xsm.policyFile);
    text = readPolicyFile(path, source, readText);
    flask = parseFromFile(text, path);
  } else {
    flask = parseFlaskPolicy(text, POLICY_SOURCE);
  }
  return { xsm: { mode: 'flask', policy: text, enforcing: xsm.enforcing ?? true }, flask };
}

/**
 * Every domain's label must be a type of the FLASK policy: Xen refuses to create a domain whose
 * security context the policy does not know.
 *
 * @example
 * ```ts
 * checkLabels(domains, flask, source); // throws at domains[2].label for a label the policy lacks
 * ```
 */
export function checkLabels(domains: readonly ScenarioDomain[], flask: FlaskPolicy, source: YamlSource): void {
  const types = [...flask.types].filter((t) => t !== XEN_TYPE).sort();
  domains.forEach((domain, i) => {
    if (flask.types.has(domain.label)) return;
    const guess = didYouMean(domain.label, types);
    const fix = guess ? `did you mean "${guess}"?` : `declare it in the policy ("type ${domain.label}, domain_type;")`;
    throw source.errorAt(['domains', i, 'label'], `label "${domain.label}" is not a type of the FLASK policy; ${fix}`);
  });
}

/** A policyFile as the loader opens it: relative to the directory of the scenario file. */
function policyPath(scenarioFile: string, policyFile: string): string {
  return isAbsolute(policyFile) ? policyFile : join(dirname(scenarioFile), policyFile);
}

function readPolicyFile(path: string, source: YamlSource, readText: ReadText): string {
  try {
    return readText(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw source.errorAt(['xsm', 'policyFile'], `cannot read the policy file ${path}: ${reason}; give a path relative to the scenario file`);
  }
}

/** What a PolicyError says, without its parser's `source:N: ` prefix. */
function policyDetail(error: PolicyError): string {
  const prefix = `${error.source}:${error.line}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

/**
 * Parses inline policy text. In a literal block (`policy: |`) policy line N is N lines below the
 * `|`, so the error names that line of the YAML file; in any other scalar style the lines of the
 * text do not map onto the file's, and the error names the policy line instead.
 */
function parseInline(text: string, source: YamlSource): FlaskPolicy {
  try {
    return parseFlaskPolicy(text, POLICY_SOURCE);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    throw inlineTextError(source, ['xsm', 'policy'], e);
  }
}

/**
 * A policy error in a block of text inside the scenario (`xsm.policy`, `firewall`) as a ScenarioError
 * at its line in the YAML file (a block literal), else at the field with the policy's line.
 */
export function inlineTextError(source: YamlSource, path: Array<string | number>, e: PolicyError): ScenarioError {
  const node = source.nodeAt(path);
  if (isScalar(node) && node.type === 'BLOCK_LITERAL' && node.range) {
    const line = source.position(node.range[0]).line + e.line;
    const column = firstTextColumn(source.text, line);
    return new ScenarioError({ file: source.file, line, column, path: path.join('.') }, policyDetail(e));
  }
  return source.errorAt(path, `policy line ${e.line}: ${policyDetail(e)}`);
}

function parseFromFile(text: string, path: string): FlaskPolicy {
  try {
    return parseFlaskPolicy(text, POLICY_SOURCE);
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    throw new ScenarioError({ file: path, line: e.line, column: firstTextColumn(text, e.line), path: 'xsm.policyFile' }, policyDetail(e));
  }
}

/** The 1-based column of the first non-blank character of a line (1 for a blank line). */
function firstTextColumn(text: string, line: number): number {
  const content = text.split(/\r?\n/)[line - 1] ?? '';
  const at = content.search(/\S/);
  return at < 0 ? 1 : at + 1;
}
