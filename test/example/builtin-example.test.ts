import { describe, expect, it } from 'vitest';
import { runBuiltinExample } from '../../src/example/builtin-example.js';
import { formatSummary } from '../../src/example/format-summary.js';

describe('built-in example', () => {
  it('delivers every message intact, denies the sandbox flow and shows a sender woken by notify', async () => {
    const s = await runBuiltinExample(1);
    const byName = Object.fromEntries(s.domains.map((d) => [d.name, d]));
    expect(s.corrupt).toBe(0);
    expect(s.intact).toBe(32 + 32 + 24 + 24);
    expect(s.denied).toEqual({ sends: 4, registers: 1 });
    expect(s.backpressure.eagain).toBeGreaterThan(0);
    expect(s.backpressure.wokenByNotify).toBe(s.backpressure.eagain);
    expect(byName.sandbox.errors.EACCES).toBe(5);
    expect(byName.dom0.messagesReceived).toBe(48);
    expect(s.finalState).toEqual({ rings: 4, waiters: 0, domainsAfterDestroy: 0 });
    expect(formatSummary(s)).toMatch(/112 intact and in order, 0 corrupt/);
  });

  it('is deterministic for a seed and varies with it', async () => {
    const a = await runBuiltinExample(5);
    const b = await runBuiltinExample(5);
    const c = await runBuiltinExample(6);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(c.domains.map((d) => d.bytesSent)).not.toEqual(a.domains.map((d) => d.bytesSent));
  });
});
