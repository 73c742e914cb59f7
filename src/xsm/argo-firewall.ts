import { XEN_ARGO_PORT_ANY } from '../argo/constants.js';
import { D, type DomainTable } from '../domain/domain-table.js';
import { ERRNO } from '../xen/errno.js';
import { PolicyError } from './flask-policy.js';
import type { LabelRegistry } from './label-registry.js';
import type { ArgoFirewallHook, Xsm } from './xsm.js';

/**
 * The proposed XSM "Argo firewall" of VirtIO-Argo Phase 1 (argo.md §7.4, virtio-ioreq-lifecycle.md
 * §4.8; **proposed, not upstream**): a static policy over ⟨label, port⟩ endpoints, where a label is
 * the XSM type of the domain at that end. Text format (docs/argo-firewall.md), one rule a line, `#`
 * comments:
 *
 *   default allow|deny                      what no rule matches gets (default: deny)
 *   allow|deny SRC -> DST                   one direction: SRC may (not) send to DST
 *   allow|deny SRC <-> DST                  both directions, each port staying with its label
 *     endpoint := LABEL[:PORT]              LABEL: an XSM type or *; PORT: 80, 0x50, 100-200 or * (default)
 *
 * The first matching rule decides. A denial is EACCES, FLASK's answer.
 *
 * @example
 * ```ts
 * const policy = parseArgoFirewall('allow guest_t <-> blkback_t:0x56410000');
 * policy.allows('guest_t', 0x56410000, 'blkback_t', 0x56410000); // true
 * policy.allows('other_t', 0x56410000, 'blkback_t', 0x56410000); // false (default deny)
 * ```
 */
export class ArgoFirewallPolicy {
  constructor(
    readonly rules: readonly ArgoFirewallRule[],
    readonly defaultAllow: boolean,
  ) {}

  /** May `srcLabel:srcPort` send to `dstLabel:dstPort`? */
  allows(srcLabel: string, srcPort: number, dstLabel: string, dstPort: number): boolean {
    for (const r of this.rules) {
      if (matchLabel(r.src.label, srcLabel) && matchPort(r.src, srcPort) && matchLabel(r.dst.label, dstLabel) && matchPort(r.dst, dstPort)) return r.allow;
    }
    return this.defaultAllow;
  }

  /**
   * May a ring (owner `dstLabel`, port `dstPort`) be registered for `srcLabel` as its only sender?
   * The sender's port is not known yet, so the first rule on those labels and that port decides,
   * except a deny on particular source ports, which leaves other ports open.
   */
  allowsRegistration(srcLabel: string, dstLabel: string, dstPort: number): boolean {
    for (const r of this.rules) {
      if (!matchLabel(r.src.label, srcLabel) || !matchLabel(r.dst.label, dstLabel) || !matchPort(r.dst, dstPort)) continue;
      if (r.allow || isAnyPort(r.src)) return r.allow;
    }
    return this.defaultAllow;
  }

  /** The same policy without the rules `drop` picks: a run-time change of the static policy. */
  without(drop: (rule: ArgoFirewallRule) => boolean): ArgoFirewallPolicy {
    return new ArgoFirewallPolicy(this.rules.filter((r) => !drop(r)), this.defaultAllow);
  }
}

/** One endpoint pattern: a label (or `*`) and an inclusive port range. */
export interface ArgoEndpointPattern {
  label: string;
  portLo: number;
  portHi: number;
}

/** One directed rule (a `<->` line gives two). */
export interface ArgoFirewallRule {
  allow: boolean;
  src: ArgoEndpointPattern;
  dst: ArgoEndpointPattern;
  /** The policy line it came from (1-based). */
  line: number;
}

const matchLabel = (pattern: string, label: string) => pattern === '*' || pattern === label;
const matchPort = (p: ArgoEndpointPattern, port: number) => port >= p.portLo && port <= p.portHi;
const isAnyPort = (p: ArgoEndpointPattern) => p.portLo === 0 && p.portHi === XEN_ARGO_PORT_ANY;
const LABEL = /^(\*|[A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Parses firewall text; a line it cannot read throws a `PolicyError` naming the line and the fix.
 *
 * @example
 * ```ts
 * parseArgoFirewall('default deny\nallow guest_t -> blkback_t:100-199\nallow blkback_t:100-199 -> guest_t');
 * ```
 */
export function parseArgoFirewall(text: string, source = 'argo-firewall'): ArgoFirewallPolicy {
  const rules: ArgoFirewallRule[] = [];
  let defaultAllow = false;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const fail = (detail: string): never => {
      throw new PolicyError(i + 1, raw, detail, source);
    };
    const words = line.split(/\s+/);
    if (words[0] === 'default') {
      if (words.length !== 2 || (words[1] !== 'allow' && words[1] !== 'deny')) fail('expected "default allow" or "default deny"');
      defaultAllow = words[1] === 'allow';
      return;
    }
    if (words[0] !== 'allow' && words[0] !== 'deny') fail(`unknown rule "${words[0]}": use allow, deny or default`);
    if (words.length !== 4 || (words[2] !== '->' && words[2] !== '<->')) fail(`expected "${words[0]} LABEL[:PORT] -> LABEL[:PORT]" (or <-> for both directions)`);
    const allow = words[0] === 'allow';
    const src = endpoint(words[1], fail);
    const dst = endpoint(words[3], fail);
    rules.push({ allow, src, dst, line: i + 1 });
    if (words[2] === '<->') rules.push({ allow, src: dst, dst: src, line: i + 1 });
  });
  return new ArgoFirewallPolicy(rules, defaultAllow);
}

function endpoint(text: string, fail: (detail: string) => never): ArgoEndpointPattern {
  const colon = text.indexOf(':');
  const label = colon < 0 ? text : text.slice(0, colon);
  const ports = colon < 0 ? '*' : text.slice(colon + 1);
  if (!LABEL.test(label)) fail(`"${label}" is not an XSM type name or *`);
  if (ports === '*') return { label, portLo: 0, portHi: XEN_ARGO_PORT_ANY };
  const [lo, hi = lo] = ports.split('-').map((p) => port(p, fail));
  if (lo > hi) fail(`port range ${ports} runs backwards: write LOW-HIGH`);
  return { label, portLo: lo, portHi: hi };
}

function port(text: string, fail: (detail: string) => never): number {
  const value = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < 0 || value > XEN_ARGO_PORT_ANY) fail(`"${text}" is not a port: use a number 0..0xffffffff, a range LOW-HIGH or *`);
  return value;
}

/**
 * The firewall as the Argo hooks consult it, over a host's domain table and labels. `setPolicy`
 * changes the policy at run time; rings already registered stay (as a FLASK policy reload leaves
 * them), but every later send across a removed edge is refused.
 *
 * @example
 * ```ts
 * const fw = installArgoFirewall(hv, 'allow guest_t <-> blkback_t');
 * fw.setPolicy(fw.policy.without((r) => r.dst.label === 'blkback_t')); // the guest's next send: -EACCES
 * ```
 */
export class ArgoFirewall implements ArgoFirewallHook {
  /** Decisions made, and how many denied. */
  checks = 0;
  denials = 0;

  constructor(
    private readonly domains: DomainTable,
    private readonly labels: LabelRegistry,
    public policy: ArgoFirewallPolicy,
  ) {}

  setPolicy(policy: ArgoFirewallPolicy | string): void {
    this.policy = typeof policy === 'string' ? parseArgoFirewall(policy) : policy;
  }

  /** argo.md §4.3 step 9, after `argo_send`: d's message from `srcPort` (as the header claims it) to t's `dstPort`. */
  send(d: number, srcPort: number, t: number, dstPort: number): number {
    return this.verdict(this.policy.allows(this.labelOf(d), srcPort >>> 0, this.labelOf(t), dstPort >>> 0));
  }

  /** argo.md §4.1 step 7d, after `argo_register_single_source`: d registers (d, aport) for sender t. */
  registerSingleSource(d: number, aport: number, t: number): number {
    return this.verdict(this.policy.allowsRegistration(this.labelOf(t), this.labelOf(d), aport >>> 0));
  }

  private labelOf(slot: number): string {
    return this.labels.labelOf(this.domains.get(slot, D.SID));
  }

  private verdict(allowed: boolean): number {
    this.checks++;
    if (allowed) return 0;
    this.denials++;
    return -ERRNO.EACCES;
  }
}

/**
 * Installs the firewall in a host's XSM module (any mode: it is consulted after the module's own
 * hook allowed). Returns it for run-time changes; `uninstallArgoFirewall` takes it out. It lives in
 * this thread: a hypervisor attached in another thread does not see it.
 *
 * @example
 * ```ts
 * const fw = installArgoFirewall(hv, 'allow guest_t <-> blkback_t:0x56410000');
 * ```
 */
export function installArgoFirewall(host: { xsm: Xsm; domainTable: DomainTable; labels: LabelRegistry }, policy: ArgoFirewallPolicy | string): ArgoFirewall {
  const fw = new ArgoFirewall(host.domainTable, host.labels, typeof policy === 'string' ? parseArgoFirewall(policy) : policy);
  host.xsm.argoFirewall = fw;
  return fw;
}

/**
 * Removes the firewall: only the XSM module's own hooks decide again.
 *
 * @example
 * ```ts
 * uninstallArgoFirewall(hv);
 * ```
 */
export function uninstallArgoFirewall(host: { xsm: Xsm }): void {
  host.xsm.argoFirewall = undefined;
}
