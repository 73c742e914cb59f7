/**
 * FLASK policy text: a subset of the Flask TE language (argo.md §7.2, hypercall-api.md), one
 * statement per line (the closing `;` may be left out), `#` comments:
 *
 *   type NAME [, ATTRIBUTE ...];
 *   attribute NAME;
 *   typeattribute TYPE ATTRIBUTE [, ATTRIBUTE ...];
 *   allow SOURCE TARGET:CLASS { PERM ... };      SOURCE/TARGET: type, attribute or { set }; TARGET may be `self`
 *
 * Only class `argo` is enforced by argosim; rules for other classes are parsed and kept aside.
 * What is not allowed is denied.
 *
 * @example
 * ```ts
 * const policy = parseFlaskPolicy('allow guest_t xen_t:argo { enable };');
 * policy.allows('guest_t', 'xen_t', 'enable'); // true
 * ```
 */

/** The `argo` class's permissions (xen/xsm/flask/policy/access_vectors). */
export const ARGO_PERMS = ['enable', 'register_single_source', 'register_any_source', 'send'] as const;
export type ArgoPerm = (typeof ARGO_PERMS)[number];
export const ARGO_PERM_BIT: Record<ArgoPerm, number> = {
  enable: 1,
  register_single_source: 2,
  register_any_source: 4,
  send: 8,
};

/** The hypervisor's own type. */
export const XEN_TYPE = 'xen_t';

/**
 * Xen's default policy for Argo (tools/flask/policy/modules/guest_features.te): every domain_type
 * may enable Argo and register wildcard rings, and send / register single-source rings to any other.
 */
export const DEFAULT_FLASK_POLICY = `# Xen default policy, argo parts (guest_features.te)
attribute domain_type;
type xen_t;
type dom0_t, domain_type;
type domU_t, domain_type;
allow domain_type xen_t:argo { enable register_any_source };
allow domain_type domain_type:argo { send register_single_source };
`;

/** A policy text error: names the line and how to fix it. */
export class PolicyError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    detail: string,
    readonly source = 'policy',
  ) {
    super(`${source}:${line}: ${detail}\n    ${text.trim()}`);
    this.name = 'PolicyError';
  }
}

/** A parsed policy: type names, attributes, and argo allow bits per (source, target) type pair. */
export class FlaskPolicy {
  readonly types = new Set<string>([XEN_TYPE]);
  readonly attributes = new Map<string, Set<string>>();
  /** "source target" → argo permission bits. */
  readonly argoAllow = new Map<string, number>();
  /** Allow rules of classes other than argo, kept as written. */
  readonly otherRules: string[] = [];

  /** True when `source` may `perm` on `target` in class argo. */
  allows(source: string, target: string, perm: ArgoPerm): boolean {
    return ((this.argoAllow.get(`${source} ${target}`) ?? 0) & ARGO_PERM_BIT[perm]) !== 0;
  }

  /** Argo permission bits of (source, target). */
  bits(source: string, target: string): number {
    return this.argoAllow.get(`${source} ${target}`) ?? 0;
  }
}

interface Pending {
  line: number;
  text: string;
  sources: string[];
  targets: string[];
  cls: string;
  perms: string[];
}

/** Parses policy text; throws a `PolicyError` naming the line on anything it cannot read. */
export function parseFlaskPolicy(text: string, source = 'policy'): FlaskPolicy {
  const policy = new FlaskPolicy();
  const allows: Pending[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const fail = (detail: string): never => {
      throw new PolicyError(i + 1, raw, detail, source);
    };
    // One statement per line, so the line ends it; Flask's ";" is accepted and optional.
    const body = (line.endsWith(';') ? line.slice(0, -1) : line).trim();
    if (body.includes(';')) fail('one statement per line: split it at ";"');
    const keyword = body.split(/\s+/, 1)[0];
    const rest = body.slice(keyword.length).trim();
    if (keyword === 'type') parseType(policy, rest, fail);
    else if (keyword === 'attribute') parseAttribute(policy, rest, fail);
    else if (keyword === 'typeattribute') parseTypeAttribute(policy, rest, fail);
    else if (keyword === 'allow') allows.push(parseAllow(rest, i + 1, raw, fail));
    else fail(`unknown statement "${keyword}": use type, attribute, typeattribute or allow`);
  });
  for (const rule of allows) applyAllow(policy, rule, source);
  return policy;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function names(list: string, fail: (d: string) => never, what: string): string[] {
  const out = list.split(',').map((s) => s.trim());
  for (const n of out) if (!NAME.test(n)) fail(`"${n}" is not a valid ${what} name`);
  return out;
}

function parseType(policy: FlaskPolicy, rest: string, fail: (d: string) => never): void {
  const [name, ...attrs] = names(rest, fail, 'type');
  policy.types.add(name);
  for (const attr of attrs) attributeMembers(policy, attr, fail).add(name);
}

function parseAttribute(policy: FlaskPolicy, rest: string, fail: (d: string) => never): void {
  const [name, ...extra] = names(rest, fail, 'attribute');
  if (extra.length) fail('attribute declares one name');
  if (!policy.attributes.has(name)) policy.attributes.set(name, new Set());
}

function parseTypeAttribute(policy: FlaskPolicy, rest: string, fail: (d: string) => never): void {
  const m = /^(\S+)\s+(.+)$/.exec(rest);
  if (!m) fail('expected "typeattribute TYPE ATTRIBUTE;"');
  const [type] = names(m![1], fail, 'type');
  policy.types.add(type);
  for (const attr of names(m![2], fail, 'attribute')) attributeMembers(policy, attr, fail).add(type);
}

function attributeMembers(policy: FlaskPolicy, attr: string, fail: (d: string) => never): Set<string> {
  const members = policy.attributes.get(attr);
  if (!members) fail(`attribute "${attr}" is not declared: add "attribute ${attr};" above this line`);
  return members!;
}

function parseAllow(rest: string, line: number, text: string, fail: (d: string) => never): Pending {
  const m = /^(\{[^}]*\}|\S+)\s+(\{[^}]*\}|[^\s:]+)\s*:\s*([A-Za-z_][A-Za-z0-9_]*)\s+(\{[^}]*\}|\S+)$/.exec(rest);
  if (!m) fail('expected "allow SOURCE TARGET:CLASS { PERM ... };"');
  const set = (s: string) => (s.startsWith('{') ? s.slice(1, -1).trim().split(/\s+/).filter(Boolean) : [s]);
  const rule = { line, text, sources: set(m![1]), targets: set(m![2]), cls: m![3], perms: set(m![4]) };
  if (rule.perms.length === 0) fail('an allow rule needs at least one permission');
  if (rule.cls === 'argo') {
    for (const p of rule.perms) {
      if (!(ARGO_PERMS as readonly string[]).includes(p)) {
        fail(`unknown argo permission "${p}": use ${ARGO_PERMS.join(', ')}`);
      }
    }
  }
  return rule;
}

function applyAllow(policy: FlaskPolicy, rule: Pending, source: string): void {
  const expand = (name: string, allowSelf: boolean): string[] => {
    if (allowSelf && name === 'self') return ['self'];
    const members = policy.attributes.get(name);
    if (members) return [...members];
    if (!NAME.test(name)) throw new PolicyError(rule.line, rule.text, `"${name}" is not a valid type name`, source);
    policy.types.add(name); // a type used in a rule is declared by it
    return [name];
  };
  if (rule.cls !== 'argo') {
    policy.otherRules.push(rule.text.trim());
    return;
  }
  const bits = rule.perms.reduce((b, p) => b | ARGO_PERM_BIT[p as ArgoPerm], 0);
  for (const s of rule.sources.flatMap((n) => expand(n, false))) {
    for (const t0 of rule.targets.flatMap((n) => expand(n, true))) {
      const t = t0 === 'self' ? s : t0;
      const key = `${s} ${t}`;
      policy.argoAllow.set(key, (policy.argoAllow.get(key) ?? 0) | bits);
    }
  }
}
