import type { Scenario } from '../scenario/schema.js';
import { parseArgoFirewall } from '../xsm/argo-firewall.js';
import { DEFAULT_FLASK_POLICY, parseFlaskPolicy } from '../xsm/flask-policy.js';

/**
 * The scenario's own reading of its policy, independent of the hypervisor's XSM: may `src` send to
 * `dst` (at port `dstPort`)? FLASK: `argo:send` between the labels; SILO: one end is the control
 * domain, or both are the same domain; otherwise yes — and then the Argo firewall (docs/virtio-argo.md),
 * which decides on <label, port> pairs: a message to `dstPort` is across a denied edge when the
 * firewall refuses it from the source port of every workload of the sender to that ring. The parallel
 * runtime's flow check flags any message that crossed an edge this denies. `scenarioDomidOf` maps a
 * domid a domain was given by a restart to the domid it has in the scenario (its configuration, label
 * included, is the same).
 *
 * @example
 * ```ts
 * const allows = scenarioPolicyAllows(scenario);
 * allows(3, 2, 1); // false for default.yaml's sandbox → db
 * ```
 */
export function scenarioPolicyAllows(scenario: Scenario, scenarioDomidOf: (domid: number) => number = (d) => d): (src: number, dst: number, dstPort: number) => boolean {
  const byDomid = new Map(scenario.domains.map((d) => [d.domid, d]));
  const flask = scenario.xsm.mode === 'flask' && scenario.xsm.enforcing ? parseFlaskPolicy(scenario.xsm.policy ?? DEFAULT_FLASK_POLICY) : undefined;
  const firewall = scenario.firewall !== null ? parseArgoFirewall(scenario.firewall) : undefined;
  return (src, dst, dstPort) => {
    const a = byDomid.get(scenarioDomidOf(src));
    const b = byDomid.get(scenarioDomidOf(dst));
    if (!a || !b) return true;
    if (scenario.xsm.mode === 'silo') return a.control || b.control || a === b;
    if (flask && !flask.allows(a.label, b.label, 'send')) return false;
    if (!firewall) return true;
    const srcPorts = scenario.workloads.filter((w) => w.fromDomid === a.domid && w.to.domid === b.domid && w.to.port === dstPort).map((w) => w.srcPort);
    return srcPorts.length === 0 || srcPorts.some((port) => firewall.allows(a.label, port, b.label, dstPort));
  };
}
