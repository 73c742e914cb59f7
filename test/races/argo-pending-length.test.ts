import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// argo.md §4.3 (Xen 8966a3e9ab): a space-wait queued by sendv recorded length 0, so a notify fired it
// before the message fit. Seen with a poller that consumes one message at a time.

const scenario = loadScenario('scenarios/races/argo-pending-length.yaml');
const buggy = withBugs(scenario, ['pendingLengthZero']);

describe('Argo history: the pending length recorded as 0', () => {
  it('switch off: every wait fires only once its message fits — all 60 delivered in order, no violation, over many schedules', () => {
    const summary = createSystem(scenario).run();
    expect(summary.messages).toMatchObject({ sent: 60, delivered: 60, refused: 0 });
    expect(summary.invariantViolations).toEqual([]);
    expect(explore(scenario, { strategy: 'random', budget: 60, seed: 3 }).violating).toBe(0);
  });

  it('switch on: waits fire early — space-wait-early names them; the messages still arrive (the sender re-checks)', () => {
    const summary = createSystem(buggy).run();
    expect(summary.messages).toMatchObject({ sent: 60, delivered: 60 });
    expect(summary.invariantViolations.length).toBeGreaterThan(0);
    expect(summary.invariantViolations.every((v) => /space-wait-early: burst's wait on ring 2:9 fired with \d+ payload bytes free for a \d+-byte message/.test(v))).toBe(true);
    expect(explore(buggy, { strategy: 'pos', budget: 20, seed: 1 }).counterexample?.violations[0]).toMatch(/space-wait-early/);
  });
});
