import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { ScenarioError } from './scenario-error.js';

/** A path into a scenario document: map keys and list indices, e.g. `['domains', 2, 'memory']`. */
export type ScenarioPath = ReadonlyArray<string | number>;

/** A 1-based line and column in the scenario text. */
export interface Position {
  line: number;
  column: number;
}

/** The longest scenario text the loader reads (characters); a scenario is a page or two, not a data set. */
export const SCENARIO_TEXT_CHARS_MAX = 4 << 20;

/** Aliases a document may expand, against "billion laughs" documents. */
const MAX_ALIAS_COUNT = 100;

/**
 * A path as messages write it: `domains[2].memory`; the empty path is the document itself.
 *
 * @example
 * ```ts
 * formatPath(['domains', 2, 'memory']); // 'domains[2].memory'
 * ```
 */
export function formatPath(path: ScenarioPath): string {
  let out = '';
  for (const segment of path) out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  return out;
}

/**
 * A scenario's YAML text, parsed, with the position of every node: the loader asks it where a path
 * is, to name the line and column in its errors.
 *
 * @example
 * ```ts
 * const source = YamlSource.parse('name: x\ndomains:\n  - { name: web }\n', 'x.yaml');
 * source.positionOf(['domains', 0, 'name']); // { line: 3, column: 13 }
 * source.errorAt(['domains', 0, 'name'], 'bad').message; // 'x.yaml:3:13: domains[0].name: bad'
 * ```
 */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly text: string,
    private readonly doc: Document.Parsed,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Parses `text`; a YAML syntax error becomes a `ScenarioError` at its line and column. */
  static parse(text: string, file: string): YamlSource {
    if (text.length > SCENARIO_TEXT_CHARS_MAX) {
      throw new ScenarioError({ file }, `the file is ${text.length} characters; a scenario may have at most ${SCENARIO_TEXT_CHARS_MAX}`);
    }
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const source = new YamlSource(file, text, doc, lineCounter);
    const [error] = doc.errors;
    if (error) {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      throw new ScenarioError({ file, line, column: col }, `YAML syntax error: ${error.message}`);
    }
    return source;
  }

  /** The document as plain data (aliases expanded). */
  toJS(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      throw new ScenarioError({ file: this.file, line: 1, column: 1 }, `cannot expand the document: ${(e as Error).message}`);
    }
  }

  /** True when the document holds a node at exactly `path`. */
  has(path: ScenarioPath): boolean {
    return this.walk(path).depth === path.length;
  }

  /** The node at `path`, if the document holds one there. */
  nodeAt(path: ScenarioPath): Node | undefined {
    const found = this.walk(path);
    return found.depth === path.length ? (found.node as Node | undefined) : undefined;
  }

  /**
   * Where `path` is: its value, or with `key` the key of that name inside the mapping at `path`.
   * A path the document lacks (a missing field) resolves to its nearest ancestor that is present.
   */
  positionOf(path: ScenarioPath, key?: string): Position {
    const found = this.walk(path);
    let offset = found.offset;
    if (key !== undefined && found.depth === path.length && isMap(found.node)) {
      const pair = found.node.items.find((p) => keyText(p) === key);
      offset = (pair?.key as Node | undefined)?.range?.[0] ?? offset;
    }
    return this.position(offset);
  }

  /** The position of a character offset in the text. */
  position(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    return { line, column: col };
  }

  /** A `ScenarioError` at `path` (or at the key `key` inside it), naming the path. */
  errorAt(path: ScenarioPath, detail: string, key?: string): ScenarioError {
    const { line, column } = this.positionOf(path, key);
    const named = key === undefined ? path : [...path, key];
    return new ScenarioError({ file: this.file, line, column, path: formatPath(named) }, detail);
  }

  /** The line of every node, by formatted path (`''` for the document): what `Scenario.source.lines` holds. */
  lines(): Record<string, number> {
    const out: Record<string, number> = {};
    const visit = (node: unknown, path: Array<string | number>, fallback: number) => {
      const offset = (node as Node | null)?.range?.[0] ?? fallback;
      out[formatPath(path)] = this.position(offset).line;
      if (isMap(node)) {
        for (const pair of node.items) {
          const key = keyText(pair);
          if (key !== undefined) visit(pair.value, [...path, key], (pair.key as Node).range?.[0] ?? offset);
        }
      } else if (isSeq(node)) {
        node.items.forEach((item, i) => visit(item, [...path, i], offset));
      }
    };
    visit(this.doc.contents, [], 0);
    return out;
  }

  /** Follows `path` as far as the document goes: the deepest node reached, its depth and offset. */
  private walk(path: ScenarioPath): { node: unknown; depth: number; offset: number } {
    let node: unknown = this.doc.contents;
    let offset = (node as Node | null)?.range?.[0] ?? 0;
    for (let depth = 0; depth < path.length; depth++) {
      const segment = path[depth];
      let next: unknown;
      let nextOffset: number | undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => keyText(p) === String(segment));
        if (!pair) return { node, depth, offset };
        next = pair.value;
        nextOffset = (pair.value as Node | null)?.range?.[0] ?? (pair.key as Node | null)?.range?.[0];
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        next = node.items[segment];
        nextOffset = (next as Node | null)?.range?.[0];
      } else {
        return { node, depth, offset };
      }
      node = next;
      offset = nextOffset ?? offset;
    }
    return { node, depth: path.length, offset };
  }
}

function keyText(pair: Pair<unknown, unknown>): string | undefined {
  return isScalar(pair.key) ? String(pair.key.value) : undefined;
}
