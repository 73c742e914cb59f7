import type { Scenario } from '../scenario/schema.js';
import { DEFAULT_FLASK_POLICY, parseFlaskPolicy } from '../xsm/flask-policy.js';

/**
 * The scenario's own reading of its policy, independent of the hypervisor's XSM: may `src` send to
 * `dst`? (FLASK: `argo:send` between the labels; SILO: one end is the control domain, or both are the
 * same domain; otherwise yes.) The parallel runtime's flow check flags any message that crossed an
 * edge this denies. `scenarioDomidOf` maps a domid a domain was given by a restart to the domid it
 * has in the scenario (its configuration, label included, is the same).
 *
 * @example
 * ```ts
 * const allows = scenarioPolicyAllows(scenario);
 * allows(3, 2); // false for default.yaml's sandbox → db
 * ```
 */
export function scenarioPolicyAllows(scenario: Scenario, scenarioDomidOf: (domid: number) => number = (d) => d): (src: number, dst: number) => boolean {
  const byDomid = new Map(scenario.domains.map((d) => [d.domid, d]));
  const flask = scenario.xsm.mode === 'flask' && scenario.xsm.enforcing ? parseFlaskPolicy(scenario.xsm.policy ?? DEFAULT_FLASK_POLICY) : undefined;
  return (src, dst) => {
    const a = byDomid.get(scenarioDomidOf(src));
    const b = byDomid.get(scenarioDomidOf(dst));
    if (!a || !b) return true;
    if (scenario.xsm.mode === 'silo') return a.control || b.control || a === b;
    return flask ? flask.allows(a.label, b.label, 'send') : true;
  };
}
