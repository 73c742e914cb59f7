// A sequence diagram of the filtered event log: one lane per domain; a sendv is an arrow from the
// caller to the ring's owner (labelled with the port and bytes, red with its errno when refused), a
// VIRQ a mark on the lane it is raised in, other hypercalls a mark on the caller's lane.
import { el } from './svg.js';
const LANE_PX = 120;
const ROW_PX = 20;
const LANES_MAX = 16;
const ROWS_MAX = 80;


export function drawSequence(svg, entries, domainOrder) {
  svg.replaceChildren();
  const rows = entries.slice(-ROWS_MAX);
  const used = new Set();
  for (const e of rows) {
    used.add(e.domain);
    if (e.toDomain) used.add(e.toDomain);
  }
  const lanes = domainOrder.filter((d) => used.has(d)).slice(0, LANES_MAX);
  const x = new Map(lanes.map((d, i) => [d, 70 + i * LANE_PX]));
  const height = 40 + rows.length * ROW_PX + 10;
  svg.setAttribute('width', String(90 + lanes.length * LANE_PX));
  svg.setAttribute('height', String(height));
  const defs = el('defs', {}, svg);
  const m = el('marker', { id: 'seq-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 6, markerHeight: 6, orient: 'auto' }, defs);
  el('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#5aa9ff' }, m);
  for (const d of lanes) {
    el('line', { class: 'lane', x1: x.get(d), y1: 28, x2: x.get(d), y2: height }, svg);
    const t = el('text', { class: 'lane-head', x: x.get(d), y: 18, 'text-anchor': 'middle' }, svg);
    t.textContent = d;
  }
  rows.forEach((e, i) => {
    const y = 44 + i * ROW_PX;
    const step = el('text', { class: 'seq-label', x: 4, y: y + 3 }, svg);
    step.textContent = `#${e.step}`;
    const from = x.get(e.domain);
    if (from === undefined) return;
    const to = e.toDomain !== undefined ? x.get(e.toDomain) : undefined;
    if (e.op === 'sendv' && to !== undefined && to !== from) {
      el('line', { class: `seq-msg${e.errno ? ' err' : ''}`, x1: from, y1: y, x2: to + (to > from ? -4 : 4), y2: y }, svg);
      const label = el('text', { class: 'seq-label', x: (from + to) / 2, y: y - 4, 'text-anchor': 'middle' }, svg);
      label.textContent = `sendv :${e.to.split(':')[1]} ${e.errno ?? `${e.bytes ?? ''}B`}`;
      return;
    }
    const cls = e.type === 'virq' ? 'seq-virq' : 'seq-self';
    el(e.type === 'virq' ? 'polygon' : 'circle', e.type === 'virq' ? { class: cls, points: `${from - 5},${y - 6} ${from + 5},${y - 6} ${from},${y + 5}` } : { class: cls, cx: from, cy: y, r: 4 }, svg);
    const label = el('text', { class: 'seq-label', x: from + 8, y: y + 3 }, svg);
    label.textContent = `${e.op}${e.to ? ` ${e.to}` : ''}${e.errno ? ` ${e.errno}` : ''}`;
  });
}
