import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { createSystem } from '../../src/runtime/system.js';
import { HISTORICAL_BUGS, type HistoricalBug } from '../../src/xen/historical-bugs.js';

// Issue #7's judgement, for every race scenario at once: `argosim run scenarios/races/<r>.yaml
// --json` reports no invariant violation with its historical bug off, and at least one naming the
// bug's monitor with it on. Each scenario has its own test beside this one; this table makes sure no
// scenario and no switch is left out.

/** The switch each race scenario shows; null: a race with no historical-bug switch (docs/races.md). */
const SWITCH_OF: Record<string, HistoricalBug | null> = {
  'argo-pending-length.yaml': 'pendingLengthZero',
  'r01-ioreq-server-destroy.yaml': 'ioreqStateStuckAfterServerDestroy',
  'r02-checkpoint-resend.yaml': 'ioreqResentAfterShutdown',
  'r03-ioreq-state-backwards.yaml': 'ioreqStateUnchecked',
  'r04-broadcast-invalidate.yaml': 'broadcastWaitsForOneServer',
  'r05-zombie-emulator.yaml': null, // the zombie emulator is today's Xen (ccb42e0ca6), not a fixed bug
  'r06-unmapped-range.yaml': 'emulatorSkipsRangeCheck',
  'r07-devd-remove-during-add.yaml': 'devdAddSharesDevice',
  'r08-qmp-wedged.yaml': 'qmpDisconnectBeforeReply',
  'r09-dead-backend.yaml': 'deadBackendWaitsForClosed',
  'r10-frontend-paths.yaml': 'devicesFromFrontendPaths',
  'r11-dom0less-introduce.yaml': 'introduceNotifiesBeforeReset',
  'r12-live-update-dying.yaml': 'liveUpdateDyingDomainFatal',
  'r13-qemu-exits-on-poweroff.yaml': 'qemuExitsOnGuestPoweroff',
  'r14-suspend-ack-timeout.yaml': 'suspendAckLostOnTimeout',
  'r15-domid-reuse.yaml': 'domidReuseWithoutQuarantine',
  'r16-dm-start-timeout.yaml': 'halfBuiltDomainKept',
  'r17-destroy-dying.yaml': null, // domain_kill's restartable destroy: a rule, not a fix (docs/races.md R17)
  'r18-vq-stale-head.yaml': 'availIdxWithoutReadBarrier',
  'r19-xenstore-leak.yaml': 'deadDomainNodesToDom0',
};

const files = readdirSync('scenarios/races').filter((f) => f.endsWith('.yaml')).sort();

describe('every race scenario, both ways (issue #7 "How it is judged")', () => {
  it('the table names every scenario under scenarios/races, and every switch has a scenario but the sendv one (shown from default.yaml)', () => {
    expect(Object.keys(SWITCH_OF).sort()).toEqual(files);
    const shown = new Set(Object.values(SWITCH_OF));
    expect(Object.keys(HISTORICAL_BUGS).filter((b) => !shown.has(b as HistoricalBug))).toEqual(['sendvReturnsZeroWhenQueued']);
  });

  it.each(files)('%s: no violation with its switch off; with it on, one naming its monitor', (file) => {
    const scenario = loadScenario(`scenarios/races/${file}`);
    expect(createSystem(scenario).run().invariantViolations).toEqual([]);
    const bug = SWITCH_OF[file];
    if (bug === null) return;
    const monitor = HISTORICAL_BUGS[bug].monitor.split(':')[0];
    const on = createSystem(withBugs(scenario, [bug])).run().invariantViolations;
    expect(on.length).toBeGreaterThan(0);
    expect(on.some((v) => v.includes(`${monitor}:`))).toBe(true);
  }, 60_000);
});
