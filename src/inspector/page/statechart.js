// A machine's statechart, from its definition (GET /api/machines/:id), laid out by ELK, with the
// actor's current state highlighted.
import { el } from './svg.js';
const CHAR_PX = 6.2;


/** ELK graph of a chart: compound states contain their children; one edge per (source, target, events). */
function elkGraph(chart) {
  const edges = new Map();
  const node = (n) => {
    const internal = n.transitions.filter((t) => t.targets.length === 0).map((t) => t.event);
    for (const t of n.transitions) {
      for (const target of t.targets) {
        if (target === n.path) continue;
        const key = `${n.path}>${target}`;
        if (!edges.has(key)) edges.set(key, { source: n.path, target, events: [] });
        const events = edges.get(key).events;
        if (!events.includes(t.event)) events.push(t.event);
      }
    }
    const label = n.key;
    const width = Math.max(90, label.length * 7.5 + 24, internal.length ? Math.min(220, internal.join(' ').length * 5.6 + 16) : 0);
    const base = {
      id: `s:${n.path}`,
      labels: [{ text: label }],
      internal,
      isFinal: n.type === 'final',
      isInitial: false,
    };
    if (n.children.length === 0) return { ...base, width, height: internal.length ? 40 : 28 };
    return {
      ...base,
      layoutOptions: { 'elk.padding': '[top=28,left=12,bottom=12,right=12]' },
      children: n.children.map(node),
    };
  };
  const root = node(chart);
  root.id = 'root';
  root.layoutOptions = {
    'elk.algorithm': 'layered',
    'elk.direction': 'DOWN',
    'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
    'elk.spacing.nodeNode': '22',
    'elk.layered.spacing.nodeNodeBetweenLayers': '34',
    'elk.edgeLabels.inline': 'false',
  };
  root.edges = [...edges.values()].map((e, i) => {
    // eventless transitions (guards on what the core reported) are drawn dashed, without a label
    const named = e.events.filter((x) => x !== 'always');
    const text = named.length > 2 ? `${named.slice(0, 2).join(', ')} …` : named.join(', ');
    const edge = { id: `t${i}`, sources: [`s:${e.source}`], targets: [`s:${e.target}`], eventless: named.length === 0 };
    if (text) edge.labels = [{ text, width: text.length * CHAR_PX, height: 11 }];
    return edge;
  });
  return root;
}

export class Statechart {
  constructor(svg, elk) {
    this.svg = svg;
    this.elk = elk;
    this.cache = new Map(); // machine → laid-out graph
    this.machine = null;
  }

  /** Draws `machine`'s chart (laid out once per machine) and highlights `state`. */
  async show(machine, chart, state) {
    if (this.machine !== machine) {
      this.machine = machine;
      let laid = this.cache.get(machine);
      if (!laid) {
        laid = await this.elk.layout(elkGraph(chart));
        this.cache.set(machine, laid);
      }
      if (this.machine !== machine) return;
      this.draw(laid);
    }
    this.highlight(state);
  }

  draw(laid) {
    this.svg.replaceChildren();
    const defs = el('defs', {}, this.svg);
    const marker = el('marker', { id: 'sc-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto-start-reverse' }, defs);
    el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8b9bc4' }, marker);
    this.svg.setAttribute('viewBox', `-6 -6 ${laid.width + 12} ${laid.height + 12}`);
    this.svg.style.height = `${Math.min(520, Math.max(160, laid.height * Math.min(1, 400 / laid.width) + 12))}px`;
    this.states = new Map();
    const drawNode = (n, ox, oy, parent) => {
      const x = ox + n.x;
      const y = oy + n.y;
      const path = n.id.slice(2);
      const g = el('g', { class: `sc-state${n.isFinal ? ' final' : ''}`, 'data-path': path }, parent);
      el('rect', { x, y, width: n.width, height: n.height, rx: n.children?.length ? 10 : 14 }, g);
      const t = el('text', { x: x + (n.children?.length ? 10 : n.width / 2), y: y + 17, 'text-anchor': n.children?.length ? 'start' : 'middle', 'font-weight': 600 }, g);
      t.textContent = n.labels[0].text;
      if (n.internal?.length && !n.children?.length) {
        const s = el('text', { x: x + n.width / 2, y: y + 31, 'text-anchor': 'middle', class: 'sc-label' }, g);
        const text = n.internal.join(' ');
        const fits = Math.floor((n.width - 12) / 5.4);
        s.textContent = text.length > fits ? `${text.slice(0, fits - 1)}…` : text;
        const tip = el('title', {}, g);
        tip.textContent = `handled here without leaving: ${n.internal.join(', ')}`;
      }
      this.states.set(path, g);
      for (const c of n.children ?? []) drawNode(c, x, y, parent);
    };
    const layer = el('g', {}, this.svg);
    for (const c of laid.children ?? []) drawNode(c, 0, 0, layer);
    const edgeLayer = el('g', {}, this.svg);
    for (const e of laid.edges ?? []) {
      const offset = this.containerOffset(laid, e.container);
      for (const s of e.sections ?? []) {
        const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${p.x + offset.x},${p.y + offset.y}`);
        el('polyline', { class: `sc-edge${e.eventless ? ' eventless' : ''}`, points: pts.join(' ') }, edgeLayer);
      }
      for (const l of e.labels ?? []) {
        const t = el('text', { class: 'sc-label', x: l.x + offset.x, y: l.y + offset.y + 9 }, edgeLayer);
        t.textContent = l.text;
      }
    }
  }

  /** ELK gives edge coordinates relative to the edge's container node. */
  containerOffset(laid, container) {
    if (!container || container === 'root') return { x: 0, y: 0 };
    const find = (n, ox, oy) => {
      for (const c of n.children ?? []) {
        if (c.id === container) return { x: ox + c.x, y: oy + c.y };
        const r = find(c, ox + c.x, oy + c.y);
        if (r) return r;
      }
      return undefined;
    };
    return find(laid, 0, 0) ?? { x: 0, y: 0 };
  }

  highlight(state) {
    const active = new Set();
    for (const region of String(state).split(', ')) {
      const parts = region.replace(/[()]/g, '').split('.');
      for (let i = 1; i <= parts.length; i++) active.add(parts.slice(0, i).join('.'));
    }
    const leaf = String(state).replace(/[()]/g, '');
    for (const [path, g] of this.states ?? []) {
      g.classList.toggle('active', path === leaf || (active.has(path) && ![...this.states.keys()].some((p) => p.startsWith(`${path}.`))));
      g.classList.toggle('active-parent', active.has(path) && [...this.states.keys()].some((p) => p.startsWith(`${path}.`)));
    }
  }
}
