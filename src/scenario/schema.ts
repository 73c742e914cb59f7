import { HISTORICAL_BUGS, type HistoricalBug, type HistoricalBugs } from '../xen/historical-bugs.js';
import { z } from 'zod';
import {
  ARGO_DEFAULT_RING_LEN,
  ARGO_RING_HEADER_BYTES,
  ARGO_RING_LEN_MIN,
  MAX_ARGO_MESSAGE_SIZE,
  MAX_RINGS_PER_DOMAIN,
  XEN_ARGO_MAX_RING_SIZE,
  XEN_ARGO_MSG_SLOT_SIZE,
} from '../argo/constants.js';
import type { ArgoQuirks } from '../argo/host.js';
import { MAX_DOMAINS_DEFAULT, VCPUS_MAX } from '../domain/domain-table.js';
import {
  SHUTDOWN_crash,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_soft_reset,
  SHUTDOWN_suspend,
  SHUTDOWN_watchdog,
} from '../domain/lifecycle.js';
import { GUEST_MEMORY_BYTES_MAX, PAGE_SIZE } from '../memory/constants.js';
import { DOMID_FIRST_RESERVED } from '../xen/domid.js';
import type { XsmMode } from '../xsm/xsm.js';
import { describeValue, didYouMean } from './hints.js';
import { parseDuration, parseRate, parseSize, UnitError } from './units.js';

/**
 * The scenario file format (docs/scenarios.md): the zod schema of what a YAML scenario may say, and
 * the types of the normalised `Scenario` the loader makes of it, every default filled in. The schema
 * checks each field on its own (types, units, ranges, unknown keys); the loader checks the fields
 * against each other (names, references, ring rules, the policy).
 *
 * @example
 * ```ts
 * const parsed = scenarioFileSchema.safeParse({ name: 'x', domains: [{ name: 'dom0' }] });
 * parsed.success; // true
 * ```
 */

/** Bounds on a scenario, so a run stays bounded (ARCHITECTURE.md principle 6). */
export const SCENARIO_LIMITS = {
  /** The hypervisor's default domain table size. */
  domains: MAX_DOMAINS_DEFAULT,
  /** argo.c MAX_RINGS_PER_DOMAIN. */
  ringsPerDomain: MAX_RINGS_PER_DOMAIN,
  workloads: 1024,
  messagesPerWorkload: 10_000_000,
  lifecycleEvents: 4096,
  faults: 4096,
  devices: 64,
  /** PV vifs per frontend (libxl numbers them from 0). */
  vifsPerDomain: 8,
  nameChars: 64,
} as const;

/** Memory a domain gets when its entry names none (createDomain's default). */
export const DOMAIN_MEMORY_BYTES_DEFAULT = 4 << 20;
/** The smallest domain: frame 0 (never handed out: gpa 0 is NULL) and one usable page. */
export const DOMAIN_MEMORY_BYTES_MIN = 2 * PAGE_SIZE;
/** Ring `len` when a ring names none: the Linux driver's default. */
export const RING_LEN_DEFAULT = ARGO_DEFAULT_RING_LEN;
/** The largest ring `len`: its pages, header included, must fit the 16 MiB of XEN_ARGO_MAX_RING_SIZE. */
export const RING_LEN_MAX = XEN_ARGO_MAX_RING_SIZE - ARGO_RING_HEADER_BYTES;
/** Message size when a workload names none. */
export const MESSAGE_BYTES_DEFAULT = 64;
/** How late a `virq_delay` fault delivers a VIRQ when it names no delay. */
export const VIRQ_DELAY_MS_DEFAULT = 1;

/**
 * Lifecycle operations: the toolstack's (xl create, pause, unpause, shutdown, reboot, suspend, resume,
 * destroy, and `detach`: xl block-detach of one of the domain's virtio-mmio disks, named by `device`)
 * and the guest's own (`guest_shutdown`: SCHEDOP_shutdown with a reason; `crash`).
 */
export const LIFECYCLE_OPS = ['create', 'pause', 'unpause', 'shutdown', 'reboot', 'suspend', 'resume', 'destroy', 'guest_shutdown', 'crash', 'detach'] as const;
/** xl's on_poweroff / on_reboot / on_crash / on_watchdog / on_soft_reset actions (lifecycle §6.2). */
export const ON_SHUTDOWN_ACTIONS = ['destroy', 'restart', 'preserve', 'soft-reset'] as const;
/** Shutdown reasons (public/sched.h, lifecycle.md §6.2). */
export const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;
/**
 * Faults: failures (kill, unregister, soft_reset, crash, backend_death, VIRQs dropped or delayed) and
 * toolstack operations at a moment a strategy may pick (shutdown, reboot, and suspend with its resume
 * `delay` later), and `dm_start_fail`: the domain's device model dies before it confirms its start
 * (the start pending now, else the next one; lifecycle §6.4 create step 4); `dm_death`: the device
 * models serving the domain (or run by it) die — each exit destroys its IOREQ server — and are
 * started again `delay` later; `dm_misbehave`: their next answer moves an ioreq slot backwards
 * (R3); `xenstore_tamper`: a hostile guest deletes its own frontend device directories
 * (/local/domain/N/device: XSA-175's attack, lifecycle §6.7 R10); `balloon`: the guest's balloon
 * driver gives memory back, and Xen has every device model drop its mapcache (a broadcast INVALIDATE
 * ioreq, R4); `stall`: the guest gets no CPU (a host under load) until its toolstack's next timeout
 * falls due, so its answer races that timeout, or at the latest `delay` later;
 * `xenstored_live_update`: the administrator live-updates xenstored (`xenstore-control live-update`:
 * it re-executes with its state and re-connects to every domain it knew, R12; `domain:` names the
 * control domain, where xenstored runs) — the explorer injects any of them.
 */
export const FAULT_KINDS = ['kill', 'unregister', 'soft_reset', 'crash', 'backend_death', 'virq_drop', 'virq_delay', 'shutdown', 'reboot', 'suspend', 'dm_start_fail', 'dm_death', 'dm_misbehave', 'xenstore_tamper', 'balloon', 'stall', 'xenstored_live_update'] as const;
export const XSM_MODES = ['dummy', 'silo', 'flask'] as const satisfies readonly XsmMode[];

export type LifecycleOp = (typeof LIFECYCLE_OPS)[number];
export type OnShutdownActionName = (typeof ON_SHUTDOWN_ACTIONS)[number];
export type ShutdownReason = (typeof SHUTDOWN_REASONS)[number];
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The SHUTDOWN_* code of each reason. */
export const SHUTDOWN_REASON_CODE: Readonly<Record<ShutdownReason, number>> = {
  poweroff: SHUTDOWN_poweroff,
  reboot: SHUTDOWN_reboot,
  suspend: SHUTDOWN_suspend,
  crash: SHUTDOWN_crash,
  watchdog: SHUTDOWN_watchdog,
  soft_reset: SHUTDOWN_soft_reset,
};

// ------------------------------------------------------------------------------------------------
// Field schemas
// ------------------------------------------------------------------------------------------------

/** A mapping that refuses unknown keys, naming the closest known one. */
function strict<S extends z.ZodRawShape>(shape: S) {
  const fields = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code !== 'unrecognized_keys') return undefined;
      const guess = didYouMean(issue.keys[0], fields);
      return guess ? `unknown field; did you mean "${guess}"?` : `unknown field; the fields here are ${fields.join(', ')}`;
    },
  });
}

/** A value read by a unit parser; its UnitError becomes the issue's message. */
function unit<T>(parse: (value: unknown) => T) {
  return z.unknown().transform(readWith(parse));
}

function readWith<T>(parse: (value: unknown) => T) {
  return (value: unknown, ctx: z.core.$RefinementCtx<unknown>): T => {
    try {
      return parse(value);
    } catch (e) {
      if (!(e instanceof UnitError)) throw e;
      ctx.issues.push({ code: 'custom', message: e.message, input: value });
      return z.NEVER;
    }
  };
}

function parseMemory(value: unknown): number {
  const bytes = parseSize(value);
  if (bytes % PAGE_SIZE !== 0) {
    const up = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    throw new UnitError(`${bytes} bytes is not a whole number of 4 KiB pages; use a multiple of 4096 such as ${up}`);
  }
  if (bytes < DOMAIN_MEMORY_BYTES_MIN) {
    throw new UnitError(`${bytes} bytes is too little; a domain needs at least ${DOMAIN_MEMORY_BYTES_MIN} (two pages)`);
  }
  if (bytes > GUEST_MEMORY_BYTES_MAX) throw new UnitError(`${bytes} bytes is more than the ${GUEST_MEMORY_BYTES_MAX} (1 GiB) a domain may have`);
  return bytes;
}

/** argo.md §4.1 register_ring: len ≥ 48, a multiple of 16, its pages within XEN_ARGO_MAX_RING_SIZE. */
function parseRingLen(value: unknown): number {
  const len = parseSize(value);
  if (len < ARGO_RING_LEN_MIN) {
    throw new UnitError(`ring len ${len} is below the minimum ${ARGO_RING_LEN_MIN} (a 16-byte message header and two 16-byte slots)`);
  }
  if (len > RING_LEN_MAX) throw new UnitError(`ring len ${len} is above the maximum ${RING_LEN_MAX} (16 MiB less the 64-byte ring header)`);
  if (len % XEN_ARGO_MSG_SLOT_SIZE !== 0) {
    const down = len - (len % XEN_ARGO_MSG_SLOT_SIZE);
    throw new UnitError(`ring len ${len} is not a multiple of ${XEN_ARGO_MSG_SLOT_SIZE}; use ${down} or ${down + XEN_ARGO_MSG_SLOT_SIZE}`);
  }
  return len;
}

function parseMessageSize(value: unknown): number {
  const bytes = parseSize(value);
  if (bytes > MAX_ARGO_MESSAGE_SIZE) throw new UnitError(`${bytes} bytes is more than the largest Argo message, ${MAX_ARGO_MESSAGE_SIZE}`);
  return bytes;
}

const u32 = z.number().int().min(0).max(0xffff_ffff);
const reference = z.string({ error: (issue) => `expected a domain name, got ${describeValue(issue.input)}` }).min(1);
const partner = z.string({ error: (issue) => `expected a domain name or "any", got ${describeValue(issue.input)}` }).min(1);
const domainName = z
  .string()
  .max(SCENARIO_LIMITS.nameChars)
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: 'a domain name starts with a letter, then letters, digits, "_" or "-"' })
  .refine((n) => n !== 'any', { error: '"any" means the wildcard ring partner; give the domain another name' });
const label = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'a label is an XSM type name: letters, digits and "_", not starting with a digit' });

const ringRef = strict({ owner: reference, port: u32, partner });

/** A workload's message size: one size, or a `{ min, max }` range drawn with the run's seed. */
const messageSize = z
  .union(
    [
      strict({ min: unit(parseMessageSize), max: unit(parseMessageSize) }),
      z.union([z.number(), z.string()]).transform(readWith(parseMessageSize)),
    ],
    { error: (issue) => `${describeValue(issue.input)} is not a size; use bytes, a unit like 64B, or { min, max }` },
  )
  .transform((size) => (typeof size === 'number' ? { minBytes: size, maxBytes: size } : { minBytes: size.min, maxBytes: size.max }));

// ------------------------------------------------------------------------------------------------
// The file
// ------------------------------------------------------------------------------------------------

const domainSchema = strict({
  name: domainName,
  domid: z.number().int().min(0).max(DOMID_FIRST_RESERVED - 1).optional(),
  control: z.boolean().optional(),
  label: label.optional(),
  memory: unit(parseMemory).optional(),
  vcpus: z.number().int().min(1).max(VCPUS_MAX).optional(),
  compat: z.boolean().optional(),
  pvControl: z.boolean().optional(),
  dom0less: z.boolean().optional(),
  onPoweroff: z.enum(ON_SHUTDOWN_ACTIONS).optional(),
  onReboot: z.enum(ON_SHUTDOWN_ACTIONS).optional(),
  onCrash: z.enum(ON_SHUTDOWN_ACTIONS).optional(),
  onWatchdog: z.enum(ON_SHUTDOWN_ACTIONS).optional(),
  onSoftReset: z.enum(ON_SHUTDOWN_ACTIONS).optional(),
});

const ringSchema = strict({ owner: reference, port: u32, partner, len: unit(parseRingLen).optional(), consume: z.enum(['all', 'one']).optional() });

const workloadSchema = strict({
  name: z.string().min(1).max(SCENARIO_LIMITS.nameChars).optional(),
  from: reference,
  to: strict({ domain: reference, port: u32 }),
  count: z.number().int().min(1).max(SCENARIO_LIMITS.messagesPerWorkload),
  size: messageSize.optional(),
  rate: unit(parseRate).optional(),
  messageType: u32.optional(),
  srcPort: u32.optional(),
  start: unit(parseDuration).optional(),
});

/** The VirtIO device types a scenario can declare. */
export const DEVICE_TYPES = ['virtio-blk', 'virtio-net'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];
/** VirtIO-Argo (`argo`), or virtio-mmio over Xen's IOREQ servers with foreign mappings (`mmio`). */
export const DEVICE_TRANSPORTS = ['argo', 'mmio'] as const;

const deviceSchema = strict({
  name: domainName,
  type: z.enum(DEVICE_TYPES),
  transport: z.enum(DEVICE_TRANSPORTS).optional(),
  bridge: domainName.optional(),
  frontend: reference,
  backend: reference,
  port: u32.optional(),
  disk: unit(parseSize).optional(),
  readOnly: z.boolean().optional(),
  queueSize: z.number().int().min(1).max(32768).optional(),
  ringLen: unit(parseRingLen).optional(),
  requests: z.number().int().min(0).max(1_000_000).optional(),
  rate: unit(parseRate).optional(),
  start: unit(parseDuration).optional(),
  dmStart: strict({ delay: unit(parseDuration).optional(), fails: z.boolean().optional() }).optional(),
});

const vifSchema = strict({
  frontend: reference,
  backend: reference,
});

const lifecycleSchema = strict({
  at: unit(parseDuration),
  op: z.enum(LIFECYCLE_OPS),
  domain: reference,
  reason: z.enum(SHUTDOWN_REASONS).optional(),
  device: z.string().optional(),
});

const faultSchema = strict({
  at: unit(parseDuration).optional(),
  kind: z.enum(FAULT_KINDS),
  domain: reference.optional(),
  ring: ringRef.optional(),
  weight: z.number().positive().max(1_000_000).optional(),
  delay: unit(parseDuration).optional(),
});

const bootSchema = z.union([z.string(), strict({ argo: z.boolean().optional(), macPermissive: z.boolean().optional() })], {
  error: 'boot is a mapping { argo, macPermissive } or the command-line text "argo=1,mac-permissive=1"',
});

/** The schema of a scenario file, after YAML parsing. Units are read; defaults and references are the loader's. */
export const scenarioFileSchema = strict({
  name: z.string().min(1).max(SCENARIO_LIMITS.nameChars),
  description: z.string().optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
  build: strict({ ARGO: z.boolean().optional(), XSM: z.boolean().optional(), IOREQ_SERVER: z.boolean().optional() }).optional(),
  boot: bootSchema.optional(),
  xsm: strict({
    mode: z.enum(XSM_MODES),
    policy: z.string().optional(),
    policyFile: z.string().min(1).optional(),
    enforcing: z.boolean().optional(),
  }).optional(),
  quirks: strict({
    ringCountOnReregister: z.boolean().optional(),
    duplicateSendInfo: z.boolean().optional(),
    failedReregisterDeletes: z.boolean().optional(),
  }).optional(),
  openxt: strict({ viptables: z.boolean().optional() }).optional(),
  firewall: z.string().optional(),
  explore: strict({
    faults: strict(Object.fromEntries(FAULT_KINDS.map((k) => [k, z.number().min(0).max(1_000_000).optional()])) as Record<FaultKind, z.ZodOptional<z.ZodNumber>>).optional(),
  }).optional(),
  devices: z.array(deviceSchema).max(SCENARIO_LIMITS.devices).optional(),
  vifs: z.array(vifSchema).max(SCENARIO_LIMITS.domains * SCENARIO_LIMITS.vifsPerDomain).optional(),
  bugs: strict(Object.fromEntries(Object.keys(HISTORICAL_BUGS).map((name) => [name, z.boolean().optional()])) as Record<HistoricalBug, z.ZodOptional<z.ZodBoolean>>).optional(),
  domains: z.array(domainSchema).min(1).max(SCENARIO_LIMITS.domains),
  rings: z.array(ringSchema).max(SCENARIO_LIMITS.domains * SCENARIO_LIMITS.ringsPerDomain).optional(),
  workloads: z.array(workloadSchema).max(SCENARIO_LIMITS.workloads).optional(),
  lifecycle: z.array(lifecycleSchema).max(SCENARIO_LIMITS.lifecycleEvents).optional(),
  faults: z.array(faultSchema).max(SCENARIO_LIMITS.faults).optional(),
  until: unit(parseDuration).optional(),
});

/** A scenario file as the schema returns it: units read, defaults not yet filled in. */
export type ScenarioFile = z.output<typeof scenarioFileSchema>;

// ------------------------------------------------------------------------------------------------
// The normalised scenario
// ------------------------------------------------------------------------------------------------

/** Where the scenario came from, so later errors can point back at its lines. */
export interface ScenarioSource {
  /** The file as named to the loader (`'<inline>'` for text). */
  file: string;
  /** The 1-based line of every value in the file, by path (`domains[2].memory`; `''` is the document). */
  lines: Record<string, number>;
}

/** Kconfig-style build options: a hypercall of a feature not built answers ENOSYS. */
export interface ScenarioBuild {
  /** CONFIG_ARGO (default true). */
  ARGO: boolean;
  /** CONFIG_XSM (default true): without it only the dummy module exists. */
  XSM: boolean;
  /** CONFIG_IOREQ_SERVER (default true); carried for the IOREQ issue. */
  IOREQ_SERVER: boolean;
}

/** Xen's `argo=` boot option. */
export interface ScenarioBoot {
  argo: boolean;
  macPermissive: boolean;
}

export interface ScenarioXsm {
  mode: XsmMode;
  /** FLASK policy text (inline, read from `policyFile`, or Xen's default policy); null for dummy and silo. */
  policy: string | null;
  /** FLASK enforcing (false is `flask=permissive`); true for the other modes. */
  enforcing: boolean;
}

export interface ScenarioDomain {
  name: string;
  domid: number;
  control: boolean;
  label: string;
  memoryBytes: number;
  vcpus: number;
  compat: boolean;
  /** The guest acknowledges control/shutdown requests (PV drivers); without, xl shutdown fails with ERROR_NOPARAVIRT. */
  pvControl: boolean;
  /**
   * Built by Xen at boot (dom0less): its xenbus waits for xenstored's "ready" event, which comes once
   * dom0's init-dom0less has introduced it (XS_INTRODUCE), then makes its first request over its
   * xenstore ring (lifecycle §6.7 R11).
   */
  dom0less: boolean;
  /** xl's on_* actions by shutdown reason (defaults: xl's, lifecycle §6.2). */
  onShutdown: Record<'poweroff' | 'reboot' | 'crash' | 'watchdog' | 'soft_reset', OnShutdownActionName>;
  /** The line of the domain's entry. */
  line: number;
}

export interface ScenarioRing {
  owner: string;
  ownerDomid: number;
  port: number;
  /** A domain name, or `'any'` for a wildcard ring. */
  partner: string;
  /** The partner's domid, or `'any'` (registered as XEN_ARGO_DOMID_ANY). */
  partnerDomid: number | 'any';
  /** Ring data bytes (register_ring `len`), header excluded. */
  len: number;
  /**
   * How its receiving application consumes: every whole message on each VIRQ (`all`), or one per
   * poll, polling again while messages remain (`one`: a NAPI-style budget of one).
   */
  consume: 'all' | 'one';
  line: number;
}

/** The address of a declared ring, as a fault names it. */
export interface ScenarioRingRef {
  owner: string;
  ownerDomid: number;
  port: number;
  partner: string;
  partnerDomid: number | 'any';
}

export interface ScenarioWorkload {
  name: string;
  from: string;
  fromDomid: number;
  to: { domain: string; domid: number; port: number };
  count: number;
  /** Message payload sizes, drawn uniformly from [minBytes, maxBytes] with the run's seed. */
  size: { minBytes: number; maxBytes: number };
  /** Virtual milliseconds between sends; 0 sends as fast as the ring allows. */
  intervalMs: number;
  messageType: number;
  srcPort: number;
  startMs: number;
  line: number;
}

/**
 * A VirtIO device over VirtIO-Argo (docs/scenarios.md `devices[]`): its front end in a guest, its
 * back end and device model in a platform domain, and the I/O the guest's driver does.
 */
export interface ScenarioDevice {
  name: string;
  type: DeviceType;
  transport: (typeof DEVICE_TRANSPORTS)[number];
  /** virtio-net: the bridge in the back end's domain it is a port of (devices with the same back end and name share it). */
  bridge: string;
  frontend: string;
  backend: string;
  /** The Argo port both ends' rings are registered on. */
  port: number;
  /** virtio-blk: the disk's bytes (whole 512-byte sectors). */
  diskBytes: number;
  readOnly: boolean;
  queueSize: number;
  /** Each end's receive ring. */
  ringLen: number;
  /** Block requests the guest makes (reads, writes, flushes, drawn from the run's seed). */
  requests: number;
  /** Virtual milliseconds between batches of requests; 0: as fast as they complete. */
  intervalMs: number;
  startMs: number;
  /**
   * virtio-mmio only (null otherwise): how the device model serving it starts when libxl creates the
   * front end's domain (lifecycle §6.4 create step 4) — it confirms `delayMs` after the spawn, or,
   * with `fails`, dies then without confirming. Default `{ delayMs: 0, fails: false }`.
   */
  dmStart: { delayMs: number; fails: boolean } | null;
  line: number;
}

export interface ScenarioLifecycleEvent {
  atMs: number;
  op: LifecycleOp;
  domain: string;
  domid: number;
  /** For `guest_shutdown`: the reason and its SHUTDOWN_* code; null for the other ops. */
  reason: { name: ShutdownReason; code: number } | null;
  /** For `detach`: the scenario device (a virtio-mmio disk of the domain) to remove; null for the other ops. */
  device: string | null;
  line: number;
}

/**
 * A PV network interface (docs/scenarios.md `vifs[]`): netfront in `frontend`, netback in the
 * driver domain `backend`, whose xl devd runs its hotplug script; its control plane only.
 */
export interface ScenarioVif {
  frontend: string;
  backend: string;
  /** libxl's devid: the vif's index among its frontend's. */
  devid: number;
  line: number;
}

export interface ScenarioFault {
  kind: FaultKind;
  /** Virtual time the fault fires at; null lets the runtime's fault strategy pick the moment. */
  atMs: number | null;
  /** The domain it hits (the ring's owner for `unregister`). */
  domain: string;
  domid: number;
  /** For `unregister`: the ring; null otherwise. */
  ring: ScenarioRingRef | null;
  /** Relative likelihood when a strategy chooses among faults. */
  weight: number;
  /** For `virq_delay`: how long the VIRQ is held back; for `suspend`: when the resume comes; null otherwise. */
  delayMs: number | null;
  line: number;
}

/** A scenario with every default filled in: domids assigned, sizes in bytes, times in milliseconds. */
export interface Scenario {
  name: string;
  description: string;
  /** Default seed of a run (the CLI's --seed overrides). */
  seed: number;
  build: ScenarioBuild;
  boot: ScenarioBoot;
  xsm: ScenarioXsm;
  quirks: ArgoQuirks;
  /** Historical bugs switched back on (src/xen/historical-bugs.ts; all off by default). */
  bugs: HistoricalBugs;
  /**
   * `argosim explore`'s settings for this scenario: the weights of the fault kinds it adds (0: never;
   * `--faults` overrides; null: every kind at 1).
   */
  explore: { faultWeights: Partial<Record<FaultKind, number>> | null };
  /** The Argo firewall's policy text (docs/virtio-argo.md), or null for none. */
  firewall: string | null;
  devices: ScenarioDevice[];
  vifs: ScenarioVif[];
  openxt: { viptables: boolean };
  domains: ScenarioDomain[];
  rings: ScenarioRing[];
  workloads: ScenarioWorkload[];
  /** In file order; the runtime orders them by time. */
  lifecycle: ScenarioLifecycleEvent[];
  faults: ScenarioFault[];
  /** Virtual time limit of a run (the CLI's --until overrides); null runs until the workloads finish. */
  untilMs: number | null;
  source: ScenarioSource;
}
