import { describe, expect, it } from 'vitest';
import { scenarioPolicyAllows } from '../../src/parallel/policy-edge.js';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { XEN_ARGO_DOMID_ANY } from '../../src/argo/constants.js';
import { checkFlows } from '../../src/parallel/flow-check.js';
import { REC, type RunRecord } from '../../src/parallel/run-log.js';

const rec = (kind: number, stampA: number, stampB: number, ...f: number[]): RunRecord => ({ kind, stampA, stampB, f });
// ring (2, 10) registered by domain 2 for sender 1 as incarnation 1, at stamps 1–2
const registered = rec(REC.REGISTERED, 1, 2, 2, 10, 1, 1);
const sent = (at: number, digest: number) => rec(REC.SENT, at, at + 1, 1, 2, 10, 8, digest, 0);
const received = (at: number, digest: number, incarnation = 1) => rec(REC.RECEIVED, at, 0, 2, 10, incarnation, 1, 8, digest, 0);
const open = { policyAllows: () => true, drainable: () => true };

describe('the parallel flow check (issue #5 item 4)', () => {
  it('accepts every message delivered once, in order', () => {
    const r = checkFlows([registered, sent(3, 11), sent(5, 12), received(7, 11), received(8, 12)], open);
    expect(r.violations).toEqual([]);
    expect(r.messages).toMatchObject({ sent: 2, delivered: 2, lost: 0 });
  });

  it('flags reordered, duplicated and corrupted deliveries', () => {
    expect(checkFlows([registered, sent(3, 11), sent(5, 12), received(7, 12), received(8, 11)], open).messages.reordered).toBe(1);
    expect(checkFlows([registered, sent(3, 11), received(7, 11), received(8, 11)], open).messages.duplicated).toBe(1);
    expect(checkFlows([registered, sent(3, 11), received(7, 99)], open).messages.corrupted).toBe(1);
  });

  it('counts messages in a torn-down ring as lost, and flags one sent after the teardown but delivered from that ring', () => {
    const teardown = rec(REC.DOMAIN_TORN_DOWN, 9, 10, 2);
    const lost = checkFlows([registered, sent(3, 11), teardown], open);
    expect(lost.violations).toEqual([]);
    expect(lost.messages.lost).toBe(1);
    const late = checkFlows([registered, teardown, rec(REC.REGISTERED, 11, 12, 2, 10, 1, 2), sent(13, 11), received(15, 11, 1)], open);
    expect(late.messages.corrupted).toBe(1);
  });

  it('flags an accepted message never delivered from a ring that should have been drained, and a denied policy edge', () => {
    expect(checkFlows([registered, sent(3, 11)], open).violations[0]).toMatch(/accepted but never delivered/);
    expect(checkFlows([registered, sent(3, 11)], { policyAllows: () => false, drainable: () => false }).violations[0]).toMatch(/denied policy edge/);
  });

  it('monitor stale-domid (R15): a send meant for the domain that had the domid when the app looked it up, taken by a later domain with that domid, is named; the same domain is not', () => {
    // the server (domid 2) as domain identity 5, its ring registered; a later server, identity 9, same domid
    const ring = (identity: number, id: number, at: number) => rec(REC.REGISTERED, at, at + 1, 2, 10, 1, id, identity);
    const meant = (at: number, digest: number, identity: number) => rec(REC.SENT, at, at + 1, 1, 2, 10, 8, digest, 0, identity);
    const teardown = rec(REC.DOMAIN_TORN_DOWN, 5, 6, 2);
    const later = checkFlows([ring(5, 1, 1), teardown, ring(9, 2, 7), meant(9, 11, 5), received(11, 11, 2)], open);
    expect(later.violations).toEqual(['stamp 9: stale-domid: domain 1 sent to domid 2 meaning the domain that had it when its application started, and a later domain with that domid accepted it (ring 2:10)']);
    expect(later.messages.delivered).toBe(1);
    expect(checkFlows([ring(5, 1, 1), meant(3, 11, 5), received(5, 11)], open).violations).toEqual([]);
  });

  it('puts a send that raced a re-registration in the incarnation whose receiver saw it', () => {
    const wildcard = rec(REC.REGISTERED, 1, 2, 2, 10, XEN_ARGO_DOMID_ANY, 1);
    const records = [wildcard, rec(REC.UNREGISTERED, 4, 6, 1), rec(REC.REGISTERED, 7, 8, 2, 10, XEN_ARGO_DOMID_ANY, 2), rec(REC.SENT, 3, 9, 1, 2, 10, 8, 11, 0), received(10, 11, 2)];
    const r = checkFlows(records, open);
    expect(r.violations).toEqual([]);
    expect(r.messages.delivered).toBe(1);
  });
});

describe('the policy edges the flow check holds a run to (scenarioPolicyAllows)', () => {
  it('the Argo firewall, on <label, port> pairs: a message is across a denied edge when the firewall refuses it from every source port the sender uses for that ring', () => {
    const scenario = parseScenario(
      [
        'name: fw',
        'boot: { argo: true, macPermissive: true }',
        'xsm: { mode: dummy }',
        'firewall: |',
        '  default deny',
        '  allow guest_t -> dom0_t:514',
        'domains:',
        '  - { name: dom0, domid: 0, control: true, label: dom0_t }',
        '  - { name: g, domid: 1, label: guest_t }',
        'rings:',
        '  - { owner: dom0, port: 514, partner: any }',
        '  - { owner: dom0, port: 515, partner: any }',
        'workloads:',
        '  - { from: g, to: { domain: dom0, port: 514 }, count: 1 }',
        '  - { from: g, to: { domain: dom0, port: 515 }, count: 1 }',
        '',
      ].join('\n'),
      'fw.yaml',
    );
    const allows = scenarioPolicyAllows(scenario);
    expect(allows(1, 0, 514)).toBe(true);
    expect(allows(1, 0, 515)).toBe(false); // no rule for 515: default deny
    expect(allows(1, 0, 516)).toBe(true); // no workload sends there: nothing to hold it to
  });
});

