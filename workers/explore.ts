/**
 * The piscina worker of `argosim explore --workers N` (src/explore/explore-parallel.ts): parses the
 * scenario from its text (and the files it reads), then runs one range of the exploration's
 * schedules in this thread's own deterministic runtime and returns what it found, as plain data.
 */
import { exploreRange, type ExploreOptions, type ExplorePlan, type RangeResult } from '../src/explore/explorer.js';
import { withBugs } from '../src/explore/bugs.js';
import { parseScenario } from '../src/scenario/load-scenario.js';
import type { Scenario } from '../src/scenario/schema.js';
import type { HistoricalBug } from '../src/xen/historical-bugs.js';

/** One range of schedules to run. */
export interface ExploreTask {
  scenario: { file: string; text: string; files: Record<string, string> };
  bugs: HistoricalBug[];
  options: Omit<ExploreOptions, 'onSchedule'>;
  plan: ExplorePlan;
  from: number;
  to: number;
}

/** The last scenario this thread parsed: every range of one exploration brings the same text. */
let parsed: { key: string; scenario: Scenario } | null = null;

export default function runRange(task: ExploreTask): RangeResult {
  const key = JSON.stringify([task.scenario, task.bugs]);
  if (parsed?.key !== key) {
    const readFile = (path: string) => {
      const text = task.scenario.files[path];
      if (text === undefined) throw new Error(`explore worker: the scenario reads ${path}, which was not passed`);
      return text;
    };
    parsed = { key, scenario: withBugs(parseScenario(task.scenario.text, task.scenario.file, { readFile }), task.bugs) };
  }
  return exploreRange(parsed.scenario, task.options, task.plan, task.from, task.to);
}
