import { isMap, isSeq, parseDocument } from 'yaml';
import type { HistoricalBug } from '../xen/historical-bugs.js';

/**
 * The scenario text a counterexample ran: the original with the historical bugs it switched on
 * written under `bugs:` and only the faults it kept under `faults:` — every other line, comments
 * included, as it was. A trace of the counterexample carries this text, so re-running it needs
 * nothing but the file.
 *
 * @example
 * ```ts
 * counterexampleText(text, { faults: [1], bugs: ['sendvReturnsZeroWhenQueued'] });
 * ```
 */
export function counterexampleText(text: string, change: { faults: readonly number[]; bugs: readonly HistoricalBug[] }): string {
  const doc = parseDocument(text);
  if (change.bugs.length > 0) {
    for (const bug of change.bugs) doc.setIn(['bugs', bug], true);
  }
  const faults = doc.get('faults');
  if (isSeq(faults)) {
    const keep = new Set(change.faults);
    for (let i = faults.items.length - 1; i >= 0; i--) if (!keep.has(i)) faults.items.splice(i, 1);
    if (faults.items.length === 0) doc.delete('faults');
  }
  const bugs = doc.get('bugs');
  if (isMap(bugs)) bugs.flow = false;
  return doc.toString();
}
