import { NO_BUGS } from '../xen/historical-bugs.js';
import { VIRTIO_ARGO_PORT_BASE } from '../virtio-argo/connect.js';
import { parseArgoFirewall } from '../xsm/argo-firewall.js';
import { PolicyError } from '../xsm/flask-policy.js';
import { inlineTextError } from './scenario-policy.js';
import { parseArgoBootOption } from '../argo/boot-option.js';
import { npagesRing } from '../argo/constants.js';
import { XEN_QUIRKS } from '../argo/host.js';
import { EVTCHN_PORTS } from '../domain/event-channels.js';
import { PAGE_SIZE } from '../memory/constants.js';
import { didYouMean } from './hints.js';
import { checkLabels, resolveXsm, type ReadText } from './scenario-policy.js';
import {
  DOMAIN_MEMORY_BYTES_DEFAULT,
  MESSAGE_BYTES_DEFAULT,
  RING_LEN_DEFAULT,
  SCENARIO_LIMITS,
  SHUTDOWN_REASON_CODE,
  VIRQ_DELAY_MS_DEFAULT,
  type Scenario,
  type ScenarioVif,
  type ScenarioBoot,
  type ScenarioBuild,
  type ScenarioDomain,
  type ScenarioFault,
  type ScenarioFile,
  type ScenarioDevice,
  type ScenarioLifecycleEvent,
  type ScenarioRing,
  type ScenarioWorkload,
} from './schema.js';
import { formatPath, type ScenarioPath, type YamlSource } from './yaml-source.js';

/**
 * The second half of loading: a scenario file that passed the schema, checked field against field
 * (unique names and domids, references to declared domains and rings, the ring rules, the policy)
 * and filled in with every default, as the `Scenario` the runtimes take.
 *
 * @example
 * ```ts
 * const scenario = normaliseScenario(parsedFile, source, (p) => readFileSync(p, 'utf8'));
 * scenario.domains[1].domid; // 1, assigned
 * ```
 */
export function normaliseScenario(file: ScenarioFile, source: YamlSource, readText: ReadText): Scenario {
  const build: ScenarioBuild = {
    ARGO: file.build?.ARGO ?? true,
    XSM: file.build?.XSM ?? true,
    IOREQ_SERVER: file.build?.IOREQ_SERVER ?? true,
  };
  if (file.until === 0) throw source.errorAt(['until'], 'until 0 ends the run before it starts; use a positive duration or leave it out');
  const boot = normaliseBoot(file.boot, source);
  const domains = normaliseDomains(file.domains, source);
  const { xsm, flask } = resolveXsm(file.xsm, build, source, readText);
  if (flask) checkLabels(domains, flask, source);
  const named = new DomainIndex(domains, source);
  const rings = normaliseRings(file.rings ?? [], named, boot, source);
  return {
    name: file.name,
    description: file.description ?? '',
    seed: file.seed ?? 1,
    build,
    boot,
    xsm,
    quirks: {
      ringCountOnReregister: file.quirks?.ringCountOnReregister ?? XEN_QUIRKS.ringCountOnReregister,
      duplicateSendInfo: file.quirks?.duplicateSendInfo ?? XEN_QUIRKS.duplicateSendInfo,
      failedReregisterDeletes: file.quirks?.failedReregisterDeletes ?? XEN_QUIRKS.failedReregisterDeletes,
    },
    openxt: { viptables: file.openxt?.viptables ?? false },
    bugs: { ...NO_BUGS, ...file.bugs },
    firewall: file.firewall === undefined ? null : checkFirewall(file.firewall, source),
    explore: { faultWeights: file.explore?.faults ? { ...file.explore.faults } : null },
    devices: normaliseDevices(file.devices ?? [], named, build, source),
    vifs: normaliseVifs(file.vifs ?? [], named, domains, source),
    domains,
    rings,
    workloads: normaliseWorkloads(file.workloads ?? [], named, source),
    lifecycle: normaliseLifecycle(file.lifecycle ?? [], named, file.devices ?? [], source),
    faults: checkLiveUpdates(checkDeviceModelFaults(normaliseFaults(file.faults ?? [], named, rings, source), file.devices ?? [], source), domains, source),
    untilMs: file.until ?? null,
    source: { file: source.file, lines: source.lines() },
  };
}

/** `boot` as a mapping (Argo on unless it says otherwise) or as Xen's command-line text (off unless it says `argo=1`). */
function normaliseBoot(boot: ScenarioFile['boot'], source: YamlSource): ScenarioBoot {
  if (typeof boot === 'string') {
    const parsed = parseArgoBootOption(boot);
    if (parsed.errors.length > 0) throw source.errorAt(['boot'], `${parsed.errors[0]}; for example "argo=1,mac-permissive=1"`);
    return { argo: parsed.enabled, macPermissive: parsed.macPermissive };
  }
  return { argo: boot?.argo ?? true, macPermissive: boot?.macPermissive ?? false };
}

/** Domains with domids assigned: an entry without one gets the lowest id that no entry names and none was given. */
function normaliseDomains(entries: ScenarioFile['domains'], source: YamlSource): ScenarioDomain[] {
  const byName = new Map<string, number>();
  const byDomid = new Map<number, number>();
  entries.forEach((d, i) => {
    const earlier = byName.get(d.name);
    if (earlier !== undefined) {
      throw source.errorAt(['domains', i, 'name'], `"${d.name}" already names ${entry(source, 'domains', earlier)}; domain names must be unique`);
    }
    byName.set(d.name, i);
    if (d.domid === undefined) return;
    const holder = byDomid.get(d.domid);
    if (holder !== undefined) {
      const other = `${entry(source, 'domains', holder)} (${entries[holder].name})`;
      throw source.errorAt(['domains', i, 'domid'], `domid ${d.domid} is already ${other}; give each domain its own domid`);
    }
    byDomid.set(d.domid, i);
  });
  let next = 0;
  const domains = entries.map((d, i) => {
    let domid = d.domid;
    if (domid === undefined) {
      while (byDomid.has(next)) next++;
      domid = next;
      byDomid.set(domid, i);
    }
    const control = d.control ?? domid === 0;
    if (control && d.dom0less) throw source.errorAt(['domains', i, 'dom0less'], `${d.name} is the control domain, which runs init-dom0less; dom0less is for a guest Xen builds at boot — remove it here`);
    // a dom0less guest's memory holds its xenstore page besides what its kernel needs: frame 0
    // (never handed out) and the Argo driver's two scratch pages (docs/parallel.md)
    const pagesNeeded = 3 + DOM0LESS_RESERVED_PAGES;
    if (d.dom0less && d.memory !== undefined && d.memory / PAGE_SIZE < pagesNeeded) {
      throw source.errorAt(['domains', i, 'memory'], `${d.name} has ${d.memory / PAGE_SIZE} pages; a dom0less guest needs ${pagesNeeded} (frame 0, two scratch pages, its xenstore page): give it at least ${pagesNeeded * 4}KiB`);
    }
    return {
      name: d.name,
      domid,
      control,
      label: d.label ?? (control ? 'dom0_t' : 'domU_t'),
      memoryBytes: d.memory ?? DOMAIN_MEMORY_BYTES_DEFAULT,
      vcpus: d.vcpus ?? 1,
      compat: d.compat ?? false,
      pvControl: d.pvControl ?? true,
      dom0less: d.dom0less ?? false,
      // xl's defaults (lifecycle §6.2)
      onShutdown: {
        poweroff: d.onPoweroff ?? 'destroy',
        reboot: d.onReboot ?? 'restart',
        crash: d.onCrash ?? 'destroy',
        watchdog: d.onWatchdog ?? 'destroy',
        soft_reset: d.onSoftReset ?? 'soft-reset',
      },
      line: source.positionOf(['domains', i]).line,
    };
  });
  // dom0less guests need xenstored, in the control domain, and one of its event-channel ports each
  const dom0less = domains.flatMap((d, i) => (d.dom0less ? [i] : []));
  if (dom0less.length > 0 && !domains.some((d) => d.control)) {
    throw source.errorAt(['domains', dom0less[0], 'dom0less'], `${domains[dom0less[0]].name} is dom0less, but no domain is the control domain (domid 0, or control: true), where xenstored and init-dom0less run; add one`);
  }
  if (dom0less.length >= EVTCHN_PORTS) {
    const i = dom0less[EVTCHN_PORTS - 1];
    throw source.errorAt(['domains', i, 'dom0less'], `${domains[i].name} would be dom0less guest number ${EVTCHN_PORTS}: xenstored's domain has ${EVTCHN_PORTS - 1} event-channel ports for them in this model; make fewer guests dom0less`);
  }
  return domains;
}

/** Pages of a dom0less guest's memory that are not its kernel's: its xenstore page. */
const DOM0LESS_RESERVED_PAGES = 1;

/** Rings with owner and partner resolved: wildcard rings need mac-permissive, each ring is declared once and fits its owner. */
function normaliseRings(entries: NonNullable<ScenarioFile['rings']>, named: DomainIndex, boot: ScenarioBoot, source: YamlSource): ScenarioRing[] {
  const seen = new Map<string, number>();
  const perOwner = new Map<number, { rings: number; pages: number }>();
  return entries.map((r, i) => {
    const owner = named.resolve(r.owner, ['rings', i, 'owner']);
    const partner = r.partner === 'any' ? 'any' : named.resolve(r.partner, ['rings', i, 'partner']);
    if (partner === 'any' && !boot.macPermissive) {
      throw source.errorAt(
        ['rings', i, 'partner'],
        'a wildcard ring (partner: any) needs mac-permissive; set boot: { macPermissive: true } (or "argo=1,mac-permissive=1"), or name the partner domain',
      );
    }
    const partnerDomid = partner === 'any' ? 'any' : partner.domid;
    const id = `${owner.domid}:${r.port}:${partnerDomid}`;
    const earlier = seen.get(id);
    if (earlier !== undefined) {
      const ring = `(owner ${owner.name}, port ${r.port}, partner ${r.partner})`;
      throw source.errorAt(['rings', i], `this ring ${ring} is already ${entry(source, 'rings', earlier)}; change its port or partner`);
    }
    seen.set(id, i);
    const len = r.len ?? RING_LEN_DEFAULT;
    const used = perOwner.get(owner.domid) ?? { rings: 0, pages: 0 };
    used.rings += 1;
    used.pages += npagesRing(len);
    perOwner.set(owner.domid, used);
    if (used.rings > SCENARIO_LIMITS.ringsPerDomain) {
      const limit = SCENARIO_LIMITS.ringsPerDomain;
      throw source.errorAt(['rings', i, 'owner'], `${owner.name} would own more than ${limit} rings (argo.c MAX_RINGS_PER_DOMAIN)`);
    }
    // frame 0 is never handed out (gpa 0 is NULL); a dom0less guest's last page is its xenstore page
    const usablePages = owner.memoryBytes / PAGE_SIZE - 1 - (owner.dom0less ? DOM0LESS_RESERVED_PAGES : 0);
    if (used.pages > usablePages) {
      throw source.errorAt(
        r.len === undefined ? ['rings', i] : ['rings', i, 'len'],
        `${owner.name}'s rings need ${used.pages} pages with their headers, but its memory has ${usablePages} usable; ` +
          'raise its memory or shrink the rings',
      );
    }
    const line = source.positionOf(['rings', i]).line;
    return { owner: owner.name, ownerDomid: owner.domid, port: r.port, partner: r.partner, partnerDomid, len, consume: r.consume ?? 'all', line };
  });
}

function normaliseWorkloads(entries: NonNullable<ScenarioFile['workloads']>, named: DomainIndex, source: YamlSource): ScenarioWorkload[] {
  const names = new Map<string, number>();
  return entries.map((w, i) => {
    const from = named.resolve(w.from, ['workloads', i, 'from']);
    const to = named.resolve(w.to.domain, ['workloads', i, 'to', 'domain']);
    const size = w.size ?? { minBytes: MESSAGE_BYTES_DEFAULT, maxBytes: MESSAGE_BYTES_DEFAULT };
    if (size.minBytes > size.maxBytes) {
      throw source.errorAt(['workloads', i, 'size', 'max'], `max ${size.maxBytes} is below min ${size.minBytes}; swap them`);
    }
    const name = w.name ?? `${from.name}->${to.name}:${w.to.port}`;
    const earlier = names.get(name);
    if (earlier !== undefined) {
      const at = w.name === undefined ? ['workloads', i] : ['workloads', i, 'name'];
      throw source.errorAt(at, `workload "${name}" is already ${entry(source, 'workloads', earlier)}; give each workload its own name`);
    }
    names.set(name, i);
    return {
      name,
      from: from.name,
      fromDomid: from.domid,
      to: { domain: to.name, domid: to.domid, port: w.to.port },
      count: w.count,
      size,
      intervalMs: w.rate ?? 0,
      messageType: w.messageType ?? 0,
      srcPort: w.srcPort ?? 0,
      startMs: w.start ?? 0,
      line: source.positionOf(['workloads', i]).line,
    };
  });
}

/** The smallest virtio-net queue (a power of 2) that holds one full-size frame of the workload's echoes. */
const NET_QUEUE_SIZE_MIN = 4;
/** Defaults of a `devices[]` entry. */
const DEVICE_DEFAULTS = { diskBytes: 1 << 20, queueSize: 64, ringLen: 128 * 1024 - 64, requests: 1000 };

/** Devices: ends resolved and distinct, names unique, sizes a driver and Xen accept. */
function normaliseDevices(entries: NonNullable<ScenarioFile['devices']>, named: DomainIndex, build: ScenarioBuild, source: YamlSource): ScenarioDevice[] {
  const names = new Map<string, number>();
  /** Per device-model domain (not the control domain), the guest it serves virtio-mmio devices of, and the first such device. */
  const targets = new Map<string, { guest: string; device: number }>();
  return entries.map((d, i) => {
    const frontend = named.resolve(d.frontend, ['devices', i, 'frontend']);
    const backend = named.resolve(d.backend, ['devices', i, 'backend']);
    if (frontend.name === backend.name) throw source.errorAt(['devices', i, 'backend'], `the back end must be another domain than the front end (${frontend.name}); name a platform domain`);
    // XEN_DOMCTL_set_target gives a device-model domain one target (Xen's d->target), and with it the
    // right to make DM ops over that guest: one domain cannot be the device model of two guests
    const target = targets.get(backend.name);
    if (d.transport === 'mmio' && !backend.control && target && target.guest !== frontend.name) {
      throw source.errorAt(
        ['devices', i, 'backend'],
        `${backend.name} is already the device model of ${target.guest} (${entry(source, 'devices', target.device)}), and XEN_DOMCTL_set_target gives a device-model domain one target (Xen's d->target); give ${frontend.name}'s device a device-model domain of its own, or serve it from the control domain`,
      );
    }
    if (d.transport === 'mmio' && !backend.control && !target) targets.set(backend.name, { guest: frontend.name, device: i });
    const earlier = names.get(d.name);
    if (earlier !== undefined) throw source.errorAt(['devices', i, 'name'], `"${d.name}" already names ${entry(source, 'devices', earlier)}; give each device its own name`);
    names.set(d.name, i);
    const diskBytes = d.disk ?? DEVICE_DEFAULTS.diskBytes;
    if (diskBytes < 4096 || diskBytes % 512 !== 0) throw source.errorAt(['devices', i, 'disk'], `a disk of ${diskBytes} bytes: give whole 512-byte sectors, at least 4096 bytes (e.g. 1MiB)`);
    // A virtio-mmio back end starts with XEN_DMOP_create_ioreq_server, which is -ENOSYS without
    // CONFIG_IOREQ_SERVER (dm-op.ts, virtio-ioreq-lifecycle.md §5); such a back end could never
    // come up, so the scenario is refused at the device's line rather than run with a dead device.
    if (d.transport === 'mmio' && !build.IOREQ_SERVER) throw source.errorAt(['devices', i, 'transport'], 'virtio-mmio needs IOREQ servers, and build.IOREQ_SERVER is false; set build: { IOREQ_SERVER: true } or use transport: argo');
    if (d.type === 'virtio-net') {
      if (d.transport === 'mmio') throw source.errorAt(['devices', i, 'transport'], 'virtio-net runs over VirtIO-Argo only so far; remove transport or use argo');
      for (const key of ['disk', 'readOnly'] as const) if (d[key] !== undefined) throw source.errorAt(['devices', i, key], `${key} applies to virtio-blk; remove it`);
    } else if (d.bridge !== undefined) throw source.errorAt(['devices', i, 'bridge'], 'bridge applies to virtio-net; remove it');
    if (d.dmStart !== undefined && d.transport !== 'mmio') {
      throw source.errorAt(['devices', i, 'dmStart'], 'dmStart is how the device model of a virtio-mmio device starts; this device has none (transport argo): remove dmStart or set transport: mmio');
    }
    const queueSize = d.queueSize ?? DEVICE_DEFAULTS.queueSize;
    if ((queueSize & (queueSize - 1)) !== 0) throw source.errorAt(['devices', i, 'queueSize'], `queue size ${queueSize} is not a power of 2 (virtio-ioreq-lifecycle.md §2.1); use e.g. ${2 ** Math.round(Math.log2(queueSize))}`);
    // the guest's network workload sends frames of up to 1414 bytes, each taking three 512-byte
    // mergeable receive buffers when it comes back: a receive queue of fewer could never take an echo
    if (d.type === 'virtio-net' && queueSize < NET_QUEUE_SIZE_MIN) throw source.errorAt(['devices', i, 'queueSize'], `a virtio-net device needs queueSize ${NET_QUEUE_SIZE_MIN} or more: each echo of its workload's full-size frames takes three 512-byte receive buffers; use ${NET_QUEUE_SIZE_MIN}`);
    return {
      name: d.name,
      type: d.type,
      transport: d.transport ?? 'argo',
      bridge: d.bridge ?? 'br0',
      frontend: frontend.name,
      backend: backend.name,
      port: d.port ?? VIRTIO_ARGO_PORT_BASE + i,
      diskBytes,
      readOnly: d.readOnly ?? false,
      queueSize,
      ringLen: d.ringLen ?? DEVICE_DEFAULTS.ringLen,
      requests: d.requests ?? DEVICE_DEFAULTS.requests,
      intervalMs: d.rate ?? 0,
      startMs: d.start ?? 0,
      dmStart: d.transport === 'mmio' ? { delayMs: d.dmStart?.delay ?? 0, fails: d.dmStart?.fails ?? false } : null,
      line: source.positionOf(['devices', i]).line,
    };
  });
}

/** The firewall's text, parsed now so a mistake is reported at its line in the scenario file. */
function checkFirewall(text: string, source: YamlSource): string {
  try {
    parseArgoFirewall(text, 'firewall');
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    throw inlineTextError(source, ['firewall'], e);
  }
  return text;
}

/**
 * PV vifs: netfront in the frontend, netback and xl devd in a driver domain (libxl numbers a
 * domain's vifs from 0). A vif served by the control domain — libxl running its hotplug scripts
 * itself — is not modelled.
 */
function normaliseVifs(entries: NonNullable<ScenarioFile['vifs']>, named: DomainIndex, domains: ScenarioDomain[], source: YamlSource): ScenarioVif[] {
  const count = new Map<string, number>();
  return entries.map((v, i) => {
    const frontend = named.resolve(v.frontend, ['vifs', i, 'frontend']);
    const backend = named.resolve(v.backend, ['vifs', i, 'backend']);
    if (frontend.name === backend.name) throw source.errorAt(['vifs', i, 'backend'], `the backend must be another domain than the frontend (${frontend.name}); name a driver domain`);
    if (domains.find((d) => d.name === backend.name)!.control) {
      throw source.errorAt(['vifs', i, 'backend'], `${backend.name} is the control domain, where libxl runs a vif's hotplug scripts itself — not modelled; serve the vif from a driver domain (its xl devd runs them)`);
    }
    const devid = count.get(frontend.name) ?? 0;
    if (devid >= SCENARIO_LIMITS.vifsPerDomain) throw source.errorAt(['vifs', i], `domain ${frontend.name} has ${SCENARIO_LIMITS.vifsPerDomain} vifs already; that is the most a domain may have here`);
    count.set(frontend.name, devid + 1);
    return { frontend: frontend.name, backend: backend.name, devid, line: source.positionOf(['vifs', i]).line };
  });
}

function normaliseLifecycle(entries: NonNullable<ScenarioFile['lifecycle']>, named: DomainIndex, devices: NonNullable<ScenarioFile['devices']>, source: YamlSource): ScenarioLifecycleEvent[] {
  return entries.map((e, i) => {
    const domain = named.resolve(e.domain, ['lifecycle', i, 'domain']);
    if (e.op !== 'guest_shutdown' && e.reason !== undefined) {
      const hint = e.op === 'shutdown' ? "; for the guest's own SCHEDOP_shutdown with a reason use op guest_shutdown" : '';
      throw source.errorAt(['lifecycle', i, 'reason'], `a reason applies only to op guest_shutdown (${e.op} implies its own); remove it${hint}`);
    }
    const reason = e.op === 'guest_shutdown' ? (e.reason ?? 'poweroff') : undefined;
    return {
      atMs: e.at,
      op: e.op,
      domain: domain.name,
      domid: domain.domid,
      reason: reason === undefined ? null : { name: reason, code: SHUTDOWN_REASON_CODE[reason] },
      device: detachedDevice(e, i, domain.name, devices, named, source),
      line: source.positionOf(['lifecycle', i]).line,
    };
  });
}

/**
 * `detach` names the device xl block-detach removes: a virtio-mmio disk whose front end is the
 * domain (a VirtIO-Argo device has no libxl device in xenstore to remove). Other ops name none.
 */
function detachedDevice(e: NonNullable<ScenarioFile['lifecycle']>[number], i: number, domain: string, devices: NonNullable<ScenarioFile['devices']>, named: DomainIndex, source: YamlSource): string | null {
  if (e.op !== 'detach') {
    if (e.device !== undefined) throw source.errorAt(['lifecycle', i, 'device'], `a device applies only to op detach; remove it`);
    return null;
  }
  if (e.device === undefined) throw source.errorAt(['lifecycle', i], `op detach needs the device to remove: add device: <name of one of ${domain}'s virtio-mmio devices>`);
  const index = devices.findIndex((d) => d.name === e.device);
  const device = devices[index];
  if (!device) throw source.errorAt(['lifecycle', i, 'device'], `no device named "${e.device}" (devices: ${devices.map((d) => d.name).join(', ') || 'none'})`);
  const frontend = named.resolve(device.frontend, ['devices', index, 'frontend']).name;
  if (frontend !== domain) throw source.errorAt(['lifecycle', i, 'device'], `device ${e.device} is ${frontend}'s, not ${domain}'s: detach it from domain ${frontend}`);
  if (device.transport !== 'mmio') {
    throw source.errorAt(['lifecycle', i, 'device'], `device ${e.device} runs over VirtIO-Argo, which keeps no libxl device in xenstore to remove; detach applies to transport: mmio devices`);
  }
  return device.name;
}

/** Faults: `unregister` names a declared ring (its owner is the domain); every other kind names a domain. */
function normaliseFaults(
  entries: NonNullable<ScenarioFile['faults']>,
  named: DomainIndex,
  rings: readonly ScenarioRing[],
  source: YamlSource,
): ScenarioFault[] {
  return entries.map((f, i): ScenarioFault => {
    const at = (key: string): ScenarioPath => ['faults', i, key];
    const delayed = f.kind === 'virq_delay' || f.kind === 'suspend' || f.kind === 'dm_death' || f.kind === 'stall' || f.kind === 'xenstored_live_update';
    if (f.delay !== undefined && !delayed) throw source.errorAt(at('delay'), `delay applies only to kinds virq_delay, suspend, dm_death, stall and xenstored_live_update; remove it`);
    const common = {
      kind: f.kind,
      atMs: f.at ?? null,
      weight: f.weight ?? 1,
      delayMs: delayed ? (f.delay ?? VIRQ_DELAY_MS_DEFAULT) : null,
      line: source.positionOf(['faults', i]).line,
    };
    if (f.kind !== 'unregister') {
      if (f.ring !== undefined) throw source.errorAt(at('ring'), `ring applies only to kind unregister; name the domain instead`);
      if (f.domain === undefined) throw source.errorAt(at('domain'), `a ${f.kind} fault needs the domain it hits: add domain: <name>`);
      const domain = named.resolve(f.domain, at('domain'));
      return { ...common, domain: domain.name, domid: domain.domid, ring: null };
    }
    const ref = f.ring;
    if (ref === undefined) throw source.errorAt(at('ring'), 'an unregister fault needs the ring: add ring: { owner, port, partner }');
    const owner = named.resolve(ref.owner, ['faults', i, 'ring', 'owner']);
    if (ref.partner !== 'any') named.resolve(ref.partner, ['faults', i, 'ring', 'partner']);
    const ring = rings.find((r) => r.owner === owner.name && r.port === ref.port && r.partner === ref.partner);
    if (!ring) throw source.errorAt(at('ring'), `no ring (owner ${ref.owner}, port ${ref.port}, partner ${ref.partner}) is declared under rings`);
    if (f.domain !== undefined && f.domain !== ring.owner) {
      throw source.errorAt(at('domain'), `an unregister fault hits the ring's owner, ${ring.owner}; remove domain or make it ${ring.owner}`);
    }
    const { owner: o, ownerDomid, port, partner, partnerDomid } = ring;
    return { ...common, domain: owner.name, domid: owner.domid, ring: { owner: o, ownerDomid, port, partner, partnerDomid } };
  });
}

/** A `dm_start_fail` fault hits a domain with a device model: the front end of a virtio-mmio device. */
function checkDeviceModelFaults(faults: ScenarioFault[], devices: NonNullable<ScenarioFile['devices']>, source: YamlSource): ScenarioFault[] {
  faults.forEach((f, i) => {
    if ((f.kind !== 'dm_start_fail' && f.kind !== 'balloon') || devices.some((d) => d.transport === 'mmio' && d.frontend === f.domain)) return;
    throw source.errorAt(['faults', i, 'domain'], `a ${f.kind} fault hits a domain with a device model (the front end of a transport: mmio device); ${f.domain} has none`);
  });
  faults.forEach((f, i) => {
    if (f.kind !== 'dm_death' && f.kind !== 'dm_misbehave') return;
    if (devices.some((d) => d.transport === 'mmio' && (d.frontend === f.domain || d.backend === f.domain))) return;
    throw source.errorAt(['faults', i, 'domain'], `a ${f.kind} fault hits the front end or the back end of a transport: mmio device; ${f.domain} is neither`);
  });
  return faults;
}

/** A `xenstored_live_update` names the control domain, where xenstored runs (R12). */
function checkLiveUpdates(faults: ScenarioFault[], domains: readonly ScenarioDomain[], source: YamlSource): ScenarioFault[] {
  faults.forEach((f, i) => {
    if (f.kind !== 'xenstored_live_update' || domains.find((d) => d.name === f.domain)?.control) return;
    const control = domains.find((d) => d.control);
    throw source.errorAt(['faults', i, 'domain'], `a xenstored_live_update fault names the control domain, where xenstored runs${control ? ` (${control.name})` : ''}; ${f.domain} is a guest`);
  });
  return faults;
}

/** Domains by name, for references; an unknown name is an error at the reference, with the closest name. */
class DomainIndex {
  private readonly byName: Map<string, ScenarioDomain>;

  constructor(
    private readonly domains: readonly ScenarioDomain[],
    private readonly source: YamlSource,
  ) {
    this.byName = new Map(domains.map((d) => [d.name, d]));
  }

  resolve(name: string, path: ScenarioPath): ScenarioDomain {
    const found = this.byName.get(name);
    if (found) return found;
    const names = this.domains.map((d) => d.name);
    const guess = didYouMean(name, names);
    const shown = names.length > 12 ? `${names.slice(0, 12).join(', ')}, …` : names.join(', ');
    throw this.source.errorAt(path, `no domain is named "${name}"${guess ? `; did you mean "${guess}"?` : ''} (domains: ${shown})`);
  }
}

/** `domains[1] (line 12)`: an earlier entry, for messages about duplicates. */
function entry(source: YamlSource, list: string, index: number): string {
  return `${formatPath([list, index])} (line ${source.positionOf([list, index]).line})`;
}
