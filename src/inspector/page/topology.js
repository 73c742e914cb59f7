// The topology: the hypervisor over its domains; inside each domain its rings, toolstack and
// applications; flows from each application to the ring it sends to. ELK lays it out.
import { el } from './svg.js';
import { stateColour } from './colors.js';

const SIZE = { ring: [178, 50], app: [168, 34], other: [168, 34] };
/** Up to this many domains, domains are layered along their flows; beyond, packed in a grid. */
const LAYERED_DOMAINS_MAX = 14;
const HV_HEIGHT = 44;
const HV_GAP = 40;


/** The ring an app sends to, by the ring ids of the system (unicast first, then wildcard: argo.md §6.1). */
export function ringOfApp(app, actors, domids) {
  if (!app.app?.toDomain) return undefined;
  const port = app.app.to.split(':')[1];
  const unicast = `ring:${app.app.toDomain}:${port}:${domids.get(app.domain)}`;
  if (actors.has(unicast)) return unicast;
  const wildcard = `ring:${app.app.toDomain}:${port}:any`;
  return actors.has(wildcard) ? wildcard : undefined;
}

export class Topology {
  constructor(svg, elk, { onSelect, onLayout }) {
    this.svg = svg;
    this.viewport = svg.querySelector('#viewport');
    this.elk = elk;
    this.onSelect = onSelect;
    this.onLayout = onLayout;
    this.nodes = new Map(); // id → { g, parts }
    this.positions = new Map(); // id → { x, y, w, h }
    this.layoutKey = '';
    this.layoutRun = 0;
    this.selected = null;
    this.hv = { xsm: '?', argo: true };
    this.zoom = { k: 1, x: 20, y: 20 };
    this.installPanZoom();
    const defs = el('defs', {}, svg);
    const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#7a8bb5' }, marker);
  }

  /**
   * Lays out anew when the set of actors changed (then redraws everything), else updates the
   * actors in `changed` (ids) only. Returns how many actors' nodes it redrew.
   */
  async render(actors, hv, changed) {
    this.hv = hv ?? this.hv;
    const key = [...actors.keys()].sort().join('|');
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      await this.layout(actors);
      changed = undefined;
    }
    let redrawn = 0;
    if (changed) {
      for (const id of changed) {
        if (!actors.has(id)) continue;
        this.update(actors.get(id));
        redrawn++;
      }
      return redrawn;
    }
    for (const a of actors.values()) this.update(a);
    this.drawFlows(actors);
    return actors.size;
  }

  async layout(actors) {
    const run = ++this.layoutRun;
    const byDomain = new Map();
    for (const a of actors.values()) {
      if (a.kind === 'hypervisor') continue; // drawn as the bar above the domains
      if (!byDomain.has(a.domain)) byDomain.set(a.domain, []);
      if (a.kind !== 'domain') byDomain.get(a.domain).push(a);
    }
    const layered = byDomain.size <= LAYERED_DOMAINS_MAX;
    const domids = domidsOf(actors);
    const edges = new Map();
    if (layered) {
      for (const a of actors.values()) {
        const ring = a.kind === 'app' ? ringOfApp(a, actors, domids) : undefined;
        const to = ring && actors.get(ring)?.domain;
        if (to && to !== a.domain) edges.set(`${a.domain}>${to}`, { id: `e:${a.domain}>${to}`, sources: [`g:${a.domain}`], targets: [`g:${to}`] });
      }
    }
    const order = (m) => (m.kind === 'ring' ? 0 : m.kind === 'toolstack' ? 1 : 2);
    const graph = {
      id: 'root',
      layoutOptions: layered
        ? { 'elk.algorithm': 'layered', 'elk.direction': 'RIGHT', 'elk.spacing.nodeNode': '36', 'elk.layered.spacing.nodeNodeBetweenLayers': '70', 'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES' }
        : { 'elk.algorithm': 'rectpacking', 'elk.aspectRatio': '1.9', 'elk.spacing.nodeNode': '18' },
      children: [...byDomain.entries()].map(([name, members]) => ({
        id: `g:${name}`,
        layoutOptions: { 'elk.algorithm': 'rectpacking', 'elk.aspectRatio': '1.3', 'elk.padding': '[top=36,left=10,bottom=10,right=10]', 'elk.spacing.nodeNode': '8' },
        children: members.sort((a, b) => order(a) - order(b) || a.id.localeCompare(b.id)).map((m) => {
          const [width, height] = SIZE[m.kind] ?? SIZE.other;
          return { id: m.id, width, height };
        }),
        width: 200,
        height: 60,
      })),
      edges: [...edges.values()],
    };
    const laid = await this.elk.layout(graph);
    if (run !== this.layoutRun) return; // a newer layout started
    this.positions.clear();
    for (const g of laid.children) {
      this.positions.set(g.id, { x: g.x, y: g.y, w: g.width, h: g.height });
      for (const c of g.children ?? []) this.positions.set(c.id, { x: g.x + c.x, y: g.y + c.y, w: c.width, h: c.height });
    }
    this.graphSize = { w: laid.width, h: laid.height };
    this.layered = layered;
    this.draw(actors, byDomain);
    this.onLayout?.();
  }

  draw(actors, byDomain) {
    this.viewport.replaceChildren();
    this.nodes.clear();
    const w = this.graphSize.w;
    const hvActor = [...actors.values()].find((a) => a.kind === 'hypervisor');
    const hv = el('g', { class: 'node hv', 'data-id': hvActor?.id ?? 'hypervisor' }, this.viewport);
    const hvBox = el('rect', { class: 'box', x: 0, y: -HV_HEIGHT - HV_GAP, width: Math.max(w, 400), height: HV_HEIGHT, rx: 8 }, hv);
    const hvText = el('text', { x: 14, y: -HV_GAP - 16 }, hv);
    const hvLabel = `Xen hypervisor · Argo ${this.hv.argo ? 'on' : 'off'} · XSM ${this.hv.xsm} · ${byDomain.size} domains`;
    hvText.textContent = hvLabel;
    if (hvActor) {
      hv.addEventListener('click', (e) => {
        e.stopPropagation();
        this.onSelect(hvActor.id);
      });
      this.nodes.set(hvActor.id, { g: hv, box: hvBox, title: hvText, label: hvLabel, kind: 'hypervisor' });
    }
    this.linkLayer = el('g', {}, this.viewport);
    this.flowLayer = el('g', {}, this.viewport);
    const nodeLayer = el('g', {}, this.viewport);
    for (const [name] of byDomain) {
      const p = this.positions.get(`g:${name}`);
      if (byDomain.size <= LAYERED_DOMAINS_MAX) el('line', { class: 'hvlink', x1: p.x + p.w / 2, y1: -HV_GAP, x2: p.x + p.w / 2, y2: p.y }, this.linkLayer);
      const domainActor = actors.get(`domain:${name}`);
      this.drawDomain(nodeLayer, name, p, domainActor);
    }
    for (const a of actors.values()) if (a.kind !== 'domain') this.drawMember(nodeLayer, a);
    this.select(this.selected);
  }

  drawDomain(layer, name, p, actor) {
    const id = actor?.id ?? `g:${name}`;
    const g = el('g', { class: 'node domain', 'data-id': id, transform: `translate(${p.x},${p.y})` }, layer);
    const box = el('rect', { class: 'box', width: p.w, height: p.h, rx: 10 }, g);
    const title = el('text', { class: 'title', x: 12, y: 21 }, g);
    title.textContent = name;
    const pill = el('rect', { x: p.w - 110, y: 6, width: 100, height: 16, rx: 8 }, g);
    const state = el('text', { x: p.w - 60, y: 18, 'text-anchor': 'middle', style: 'fill:#0f1420;font-weight:700;font-size:10.5px' }, g);
    const sub = el('text', { class: 'sub', x: 12, y: 32 }, g);
    g.addEventListener('click', (e) => {
      e.stopPropagation();
      if (actor) this.onSelect(actor.id);
    });
    this.nodes.set(id, { g, box, sub, pill, state, kind: 'domain' });
  }

  drawMember(layer, a) {
    const p = this.positions.get(a.id);
    if (!p) return;
    const g = el('g', { class: `node ${a.kind}`, 'data-id': a.id, transform: `translate(${p.x},${p.y})` }, layer);
    const box = el('rect', { class: 'box', width: p.w, height: p.h, rx: a.kind === 'ring' ? 6 : 14, fill: '#111827' }, g);
    const stripe = el('rect', { width: 5, height: p.h, rx: 2 }, g);
    const title = el('text', { x: 12, y: 15 }, g);
    const sub = el('text', { class: 'sub', x: 12, y: a.kind === 'ring' ? 29 : 28 }, g);
    const parts = { g, box, stripe, title, sub, kind: a.kind };
    if (a.kind === 'ring') {
      el('rect', { class: 'fillbar-bg', x: 12, y: 36, width: p.w - 60, height: 7, rx: 3 }, g);
      parts.fill = el('rect', { class: 'fillbar', x: 12, y: 36, width: 0, height: 7, rx: 3 }, g);
      parts.pct = el('text', { class: 'sub', x: p.w - 44, y: 43 }, g);
      parts.waiters = el('text', { class: 'waiters', x: p.w - 30, y: 15 }, g);
    }
    g.addEventListener('click', (e) => {
      e.stopPropagation();
      this.onSelect(a.id);
    });
    this.nodes.set(a.id, parts);
  }

  /** Updates one node to the actor's state. */
  update(a) {
    const n = this.nodes.get(a.id);
    if (!n) return;
    const colour = stateColour(a.state);
    const gone = a.status === 'stopped' || /tornDown|dead/.test(a.state);
    n.g.setAttribute('opacity', gone ? '0.55' : '1');
    if (n.g.dataset.state !== undefined && n.g.dataset.state !== a.state) flash(n.g);
    n.g.dataset.state = a.state;
    if (n.kind === 'hypervisor') {
      n.title.textContent = `${n.label} · ${a.state}`;
      n.g.setAttribute('opacity', '1');
      return;
    }
    if (n.kind === 'domain') {
      n.box.setAttribute('stroke', colour);
      n.pill.setAttribute('fill', colour);
      n.state.textContent = a.state.length > 14 ? `${a.state.slice(0, 13)}…` : a.state;
      n.sub.textContent = `dom${a.domid}${a.label ? ` · ${a.label}` : ''}${a.mailbox ? ` · ✉ ${a.mailbox}` : ''}`;
      return;
    }
    n.box.setAttribute('stroke', colour);
    n.stripe.setAttribute('fill', colour);
    if (a.kind === 'ring' && a.ring) {
      const r = a.ring;
      n.title.textContent = `ring :${r.aport} ← ${r.partner}`;
      n.sub.textContent = `${a.state.replace('registered.', '')} · ${r.len} B`;
      const fill = r.len > 0 ? Math.min(1, r.pendingBytes / r.len) : 0;
      n.fill.setAttribute('width', String((Number(n.box.getAttribute('width')) - 60) * fill));
      n.fill.classList.toggle('full', fill > 0.8 || r.waiters > 0);
      n.pct.textContent = `${Math.round(fill * 100)}%`;
      n.waiters.textContent = r.waiters > 0 ? `${r.waiters}w` : '';
    } else if (a.kind === 'app' && a.app) {
      n.title.textContent = `${a.id.slice(4)} → ${a.app.toDomain ?? a.app.to}`;
      n.sub.textContent = `${a.state} · ${a.app.sent}/${a.app.count} sent`;
    } else {
      n.title.textContent = a.id.replace(/:.*/, '');
      n.sub.textContent = a.state;
    }
  }

  /** Flows app → ring: all of them in a small system, else those of the selected actor's domain. */
  drawFlows(actors) {
    if (!this.flowLayer) return;
    this.flowLayer.replaceChildren();
    const domids = domidsOf(actors);
    const focus = this.selected ? actors.get(this.selected)?.domain : undefined;
    for (const a of actors.values()) {
      if (a.kind !== 'app') continue;
      const ring = ringOfApp(a, actors, domids);
      const from = this.positions.get(a.id);
      const to = ring && this.positions.get(ring);
      if (!from || !to) continue;
      const hot = focus !== undefined && (a.domain === focus || actors.get(ring).domain === focus);
      if (!this.layered && !hot) continue;
      const rightward = to.x >= from.x + from.w / 2;
      const x1 = rightward ? from.x + from.w : from.x;
      const y1 = from.y + from.h / 2;
      const x2 = rightward ? to.x : to.x + to.w;
      const y2 = to.y + to.h / 2;
      const dx = (rightward ? 1 : -1) * Math.max(40, Math.abs(x2 - x1) / 2);
      el('path', { class: `flow${hot ? ' hot' : ''}`, d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}` }, this.flowLayer);
    }
  }

  select(id) {
    this.selected = id;
    for (const [nid, n] of this.nodes) n.g.classList.toggle('selected', nid === id);
  }

  fit() {
    if (!this.graphSize) return;
    const { width } = this.svg.getBoundingClientRect();
    const legend = document.getElementById('legend')?.getBoundingClientRect().height ?? 0;
    const height = this.svg.getBoundingClientRect().height - legend - 10; // keep the legend clear
    const w = Math.max(this.graphSize.w, 400) + 40;
    const h = this.graphSize.h + HV_HEIGHT + HV_GAP + 40;
    const k = Math.min(width / w, height / h, 1.4);
    this.zoom = { k, x: (width - (w - 40) * k) / 2, y: (HV_HEIGHT + HV_GAP + 20) * k };
    this.applyZoom();
  }

  zoomBy(f, cx, cy) {
    const { width, height } = this.svg.getBoundingClientRect();
    cx ??= width / 2;
    cy ??= height / 2;
    const k = Math.min(4, Math.max(0.05, this.zoom.k * f));
    this.zoom.x = cx - ((cx - this.zoom.x) * k) / this.zoom.k;
    this.zoom.y = cy - ((cy - this.zoom.y) * k) / this.zoom.k;
    this.zoom.k = k;
    this.applyZoom();
  }

  applyZoom() {
    this.viewport.setAttribute('transform', `translate(${this.zoom.x},${this.zoom.y}) scale(${this.zoom.k})`);
  }

  installPanZoom() {
    let drag;
    this.svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(e.deltaY < 0 ? 1.15 : 1 / 1.15, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.svg.addEventListener('pointerdown', (e) => {
      drag = { x: e.clientX, y: e.clientY, zx: this.zoom.x, zy: this.zoom.y };
    });
    window.addEventListener('pointermove', (e) => {
      if (!drag) return;
      this.zoom.x = drag.zx + e.clientX - drag.x;
      this.zoom.y = drag.zy + e.clientY - drag.y;
      this.applyZoom();
    });
    window.addEventListener('pointerup', () => (drag = undefined));
  }
}

/** How long a state change stays highlighted (ms). */
const FLASH_MS = 1200;
/** Nodes highlighted now, and the timer that ends their highlight. */
const flashed = new Set();
let unflash = 0;
/** Highlights made so far (for the tests). */
export const flashes = { count: 0 };

/**
 * A state change is highlighted for a moment, so a step's effect is easy to find among many actors.
 * A class set now and taken off `FLASH_MS` later — two repaints — not an animation: an animated SVG
 * stroke repaints the whole topology every frame, and with 800 actors the page then answered each
 * step about 250 ms late (`npm run bench:inspector`, docs/performance.md).
 */
function flash(g) {
  flashes.count++;
  g.classList.add('flash');
  flashed.add(g);
  clearTimeout(unflash);
  unflash = setTimeout(() => {
    for (const f of flashed) f.classList.remove('flash');
    flashed.clear();
  }, FLASH_MS);
}

function domidsOf(actors) {
  const domids = new Map();
  for (const a of actors.values()) if (a.kind === 'domain') domids.set(a.domain, a.domid);
  return domids;
}
