import { isMap, isSeq, parseDocument } from 'yaml';
import type { ScenarioFault } from '../scenario/schema.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';

/**
 * The scenario text a counterexample ran: the original with the historical bugs it switched on
 * written under `bugs:`, and under `faults:` only the scenario's faults it kept (known by their
 * line) followed by the faults the explorer added (line 0), written out in full — every other
 * line, comments included, as it was. A trace of the counterexample carries this text, so re-running
 * it needs nothing but the file.
 *
 * @example
 * ```ts
 * counterexampleText(text, scenario.lines, { faults: cx.faults, bugs: ['sendvReturnsZeroWhenQueued'] });
 * ```
 */
export function counterexampleText(
  text: string,
  lines: Record<string, number>,
  change: { faults: readonly ScenarioFault[]; bugs: readonly HistoricalBug[] },
): string {
  const doc = parseDocument(text);
  for (const bug of change.bugs) doc.setIn(['bugs', bug], true);
  const bugs = doc.get('bugs');
  if (isMap(bugs)) bugs.flow = false;
  const keptLines = new Set(change.faults.filter((f) => f.line > 0).map((f) => f.line));
  const faults = doc.get('faults');
  if (isSeq(faults)) {
    for (let i = faults.items.length - 1; i >= 0; i--) if (!keptLines.has(lines[`faults[${i}]`])) faults.items.splice(i, 1);
  }
  const added = change.faults.filter((f) => f.line === 0).map(faultEntry);
  if (added.length > 0) {
    if (!isSeq(doc.get('faults'))) doc.set('faults', doc.createNode([]));
    const seq = doc.get('faults');
    if (isSeq(seq)) {
      for (const entry of added) {
        const node = doc.createNode(entry);
        if (isMap(node)) node.flow = true;
        seq.add(node);
      }
      seq.flow = false;
    }
  }
  if (isSeq(doc.get('faults')) && (doc.get('faults') as { items: unknown[] }).items.length === 0) doc.delete('faults');
  return doc.toString();
}

/** A fault as the scenario file writes it (docs/scenarios.md `faults[]`). */
function faultEntry(f: ScenarioFault): Record<string, unknown> {
  return {
    at: `${f.atMs}ms`,
    kind: f.kind,
    ...(f.ring ? { ring: { owner: f.ring.owner, port: f.ring.port, partner: f.ring.partner } } : { domain: f.domain }),
    ...(f.delayMs !== null ? { delay: `${f.delayMs}ms` } : {}),
  };
}
