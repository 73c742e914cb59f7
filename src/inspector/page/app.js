// The inspector page: one WebSocket to the server; batched updates drive the topology, the
// selected actor's statechart/context/events, the event log or sequence diagram, and the metrics.
import { legendHtml, stateColour } from './colors.js';
import { drawSequence } from './sequence.js';
import { Statechart } from './statechart.js';
import { Topology, flashes } from './topology.js';

const LOG_KEPT = 3000;
const LOG_ROWS = 200;
const HISTORY = 60;
const $ = (id) => document.getElementById(id);

const elk = makeElk();
const state = {
  hello: null, actors: new Map(), log: [], step: 0, atMs: 0, end: 'more', running: false, stepsTotal: null,
  selected: null, detail: null, metrics: [], charts: new Map(), tab: 'log', dirty: { topo: false, log: false },
  changed: new Set(), changedAll: true,
};
const topology = new Topology($('topology'), elk, { onSelect: select, onLayout: () => { if (!state.fitted) { topology.fit(); state.fitted = true; } document.body.dataset.layout = 'ready'; $('layout-busy').classList.remove('on'); } });
const statechart = new Statechart($('statechart'), elk);
$('legend').innerHTML = legendHtml();

function makeElk() {
  try {
    return new ELK({ workerFactory: () => new Worker('/vendor/elk-worker.min.js') }); // layout off the main thread
  } catch {
    return new ELK();
  }
}

// ---- connection ----
let socket;
function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onmessage = (m) => receive(JSON.parse(m.data));
  socket.onclose = () => {
    $('mode').textContent = 'disconnected';
    $('mode').className = 'badge';
    setTimeout(connect, 1000);
  };
}
function send(message) {
  if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
connect();

function receive(m) {
  if (m.type === 'hello') return onHello(m);
  if (m.type === 'error') {
    $('run-end').textContent = m.message;
    $('run-end').className = 'small error';
    return;
  }
  if (m.type === 'update') onUpdate(m);
}

function onHello(h) {
  state.hello = h;
  state.actors.clear();
  $('scenario-name').textContent = h.scenario.name;
  $('scenario-desc').textContent = `${h.scenario.file} — ${h.scenario.description}`;
  $('mode').textContent = h.mode;
  $('mode').className = `badge ${h.mode}`;
  $('seed').textContent = `seed ${h.seed}`;
  document.body.dataset.mode = h.mode;
  const speed = $('speed');
  if (![...speed.options].some((o) => Number(o.value) === h.stepsPerSecond)) speed.add(new Option(`${h.stepsPerSecond} steps/s`, String(h.stepsPerSecond)));
  speed.value = String(h.stepsPerSecond);
  const domains = $('filter-domain');
  domains.replaceChildren(new Option('all', ''), ...h.domains.map((d) => new Option(`${d.name} (dom${d.domid})`, d.name)));
}

function onUpdate(u) {
  if (u.full) state.actors.clear();
  for (const a of u.actors) {
    state.actors.set(a.id, a);
    state.changed.add(a.id);
  }
  for (const id of u.removed) state.actors.delete(id);
  if (u.logReset) state.log = [];
  if (u.log.length) state.log.push(...u.log);
  if (state.log.length > LOG_KEPT) state.log.splice(0, state.log.length - LOG_KEPT);
  Object.assign(state, { step: u.step, atMs: u.atMs, end: u.end, running: u.running, stepsTotal: u.stepsTotal ?? null });
  if (u.selected !== undefined) state.detail = u.selected;
  if (u.metrics) {
    state.metrics.push(u.metrics);
    if (state.metrics.length > HISTORY) state.metrics.shift();
  }
  state.divergent = u.divergent;
  if (u.actors.length || u.removed.length || u.full) state.dirty.topo = true;
  if (u.removed.length || u.full) {
    state.changed.clear();
    state.changedAll = true;
  }
  if (u.metrics) state.dirty.metrics = true;
  if (u.selected !== undefined) state.dirty.detail = true;
  if (u.log.length || u.logReset) state.dirty.log = true;
  scheduleRender();
}

// ---- rendering, at most once a frame ----
let frame = 0;
function scheduleRender() {
  if (!frame) frame = requestAnimationFrame(render);
}
async function render() {
  frame = 0;
  const started = performance.now();
  renderHeader();
  if (state.dirty.topo) {
    state.dirty.topo = false;
    if (!document.body.dataset.layout) $('layout-busy').classList.add('on');
    const changed = state.changedAll ? undefined : [...state.changed];
    state.changed.clear();
    state.changedAll = false;
    redrawn.push(await topology.render(state.actors, state.hello?.hypervisor, changed));
    if (redrawn.length > 50) redrawn.shift();
    $('actor-count').textContent = `${state.actors.size} actors`;
  }
  if (state.dirty.log) {
    state.dirty.log = false;
    renderLog();
  }
  if (state.dirty.detail) {
    state.dirty.detail = false;
    await renderDetail();
  }
  if (state.dirty.metrics) {
    state.dirty.metrics = false;
    renderMetrics();
  }
  document.body.dataset.step = String(state.step);
  renderTimes.push(performance.now() - started);
  if (renderTimes.length > 50) renderTimes.shift();
}
/** How long the last renders took (ms), for `npm run bench:inspector`. */
const renderTimes = [];
/** How many actors' nodes each of the last topology renders redrew: the tests check that a step redraws only what changed. */
const redrawn = [];
window.argosimInspector = { renderTimes, redrawn, flashes, state };

function renderHeader() {
  $('step').textContent = String(state.step);
  $('steps-total').textContent = state.stepsTotal !== null ? ` / ${state.stepsTotal}` : '';
  $('vtime').textContent = `${formatMs(state.atMs)}`;
  const run = $('btn-run');
  run.textContent = state.running ? '⏸ Pause' : '▶ Run';
  run.classList.toggle('running', state.running);
  $('run-end').textContent = state.end === 'more' ? '' : `run ended: ${state.end}`;
  $('run-end').className = `small ${state.end === 'more' ? '' : 'dim'}`;
  const scrub = $('scrubber');
  const max = state.stepsTotal ?? state.step;
  scrub.max = String(max);
  if (document.activeElement !== scrub || !scrub.dataset.dragging) scrub.value = String(state.step);
  $('scrub-label').textContent = state.hello?.mode === 'replay' ? `replay: step ${state.step} of ${max}` : state.step < liveHead() ? `viewing step ${state.step} (▶ returns to live)` : 'live';
  const div = $('divergence');
  if (state.divergent === undefined) div.textContent = '';
  else if (state.divergent.length === 0) Object.assign(div, { textContent: '✓ states match the recording', className: 'small ok' });
  else Object.assign(div, { textContent: `✗ ${state.divergent.length} actors differ from the recording: ${state.divergent.slice(0, 3).join(', ')}`, className: 'small bad' });
}
let head = 0;
function liveHead() {
  if (state.divergent === undefined) head = state.step;
  return head;
}

function formatMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(3)} s` : `${ms.toFixed(3)} ms`;
}

// ---- the selected actor ----
function select(id) {
  state.selected = id;
  state.detail = undefined;
  topology.select(id);
  topology.drawFlows(state.actors);
  send({ type: 'select', id });
  renderDetail();
}

async function renderDetail() {
  const d = state.detail;
  $('detail-empty').hidden = !!state.selected;
  $('detail').hidden = !state.selected;
  $('detail-id').textContent = state.selected ?? '';
  if (!state.selected) return;
  if (!d) {
    $('detail-state').textContent = state.selected && !state.actors.has(state.selected) ? 'not present at this step' : '…';
    return;
  }
  $('detail-kind').textContent = `${d.kind} · machine ${d.machine}`;
  const pill = $('detail-state');
  pill.textContent = d.state;
  pill.style.background = stateColour(d.state);
  pill.dataset.state = d.state;
  $('detail-context').textContent = JSON.stringify(d.context, null, 2);
  const rows = d.events.slice(-60).reverse().map((e) => `<tr><td>${e.step < 0 ? 'boot' : e.step}</td><td>${e.dir === 'in' ? '⇐' : '⇒'}</td><td>${esc(e.type)}</td><td>${esc(e.peer)}</td><td class="dim">${esc(e.cause ?? '')}</td></tr>`);
  $('detail-events').tBodies[0].innerHTML = rows.join('') || '<tr><td colspan="5" class="dim">none yet (events are collected while the page is open)</td></tr>';
  let chart = state.charts.get(d.machine);
  if (!chart) {
    chart = await fetch(`/api/machines/${encodeURIComponent(d.machine)}`).then((r) => (r.ok ? r.json() : null));
    if (!chart) return;
    state.charts.set(d.machine, chart);
  }
  await statechart.show(d.machine, chart, d.state);
}

// ---- the event log and sequence diagram ----
function filtered() {
  const domain = $('filter-domain').value;
  const op = $('filter-op').value;
  const ring = $('filter-ring').value;
  const errors = $('filter-errors').checked;
  return state.log.filter((e) => (!domain || e.domain === domain || e.toDomain === domain) && (!op || e.op === op) && (!ring || e.to === ring) && (!errors || e.errno));
}

function renderLog() {
  const ops = $('filter-op');
  const known = new Set([...ops.options].map((o) => o.value));
  for (const e of state.log) if (!known.has(e.op)) { known.add(e.op); ops.add(new Option(e.op, e.op)); }
  const rings = $('filter-ring');
  const knownRings = new Set([...rings.options].map((o) => o.value));
  for (const e of state.log) if (e.to && !knownRings.has(e.to)) { knownRings.add(e.to); rings.add(new Option(e.to, e.to)); }
  const entries = filtered();
  if (state.tab === 'seq') {
    drawSequence($('sequence'), entries, state.hello?.domains.map((d) => d.name) ?? []);
    $('seq-view').scrollTop = $('seq-view').scrollHeight; // the newest at the bottom, in view
    return;
  }
  const rows = entries.slice(-LOG_ROWS).reverse().map((e) => {
    const result = e.errno ? `${e.result} ${e.errno}` : e.result ?? '';
    return `<tr class="${e.errno ? 'err' : ''}"><td>${e.step < 0 ? 'boot' : e.step}</td><td>${e.atMs.toFixed(3)}</td><td>${esc(e.domain)}</td><td class="op-${e.type === 'virq' ? 'virq' : e.op}">${esc(e.op)}</td><td>${esc(e.to ?? '')}</td><td>${esc(String(result))}</td></tr>`;
  });
  $('log-table').tBodies[0].innerHTML = rows.join('');
}

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
}

// ---- metrics ----
function renderMetrics() {
  const last = state.metrics[state.metrics.length - 1];
  if (!last) return;
  const spark = (f) => {
    const vs = state.metrics.map(f);
    const max = Math.max(1e-9, ...vs);
    const pts = vs.map((v, i) => `${(i / (HISTORY - 1)) * 100},${25 - (v / max) * 23}`).join(' ');
    return `<svg viewBox="0 0 100 26" preserveAspectRatio="none"><polyline points="${pts}" fill="none" stroke="#5aa9ff" stroke-width="1.5" vector-effect="non-scaling-stroke"/></svg>`;
  };
  const card = (name, label, value, f) => `<div class="metric" data-metric="${name}"><div class="l">${label}</div><div class="v">${value}</div>${spark(f)}</div>`;
  $('metrics').innerHTML = [
    card('steps', 'steps / s', Math.round(last.stepsPerSec), (m) => m.stepsPerSec),
    card('events', 'XState events / s', Math.round(last.eventsPerSec), (m) => m.eventsPerSec),
    card('mailbox', `mailbox depth${last.mailboxMax ? ` · max ${esc(last.mailboxMax.domain)} ${last.mailboxMax.depth}` : ''}`, last.mailboxDepth, (m) => m.mailboxDepth),
    card('fill', `ring fill · max ${last.ringFillMax ? `${Math.round(last.ringFillMax.fill * 100)}%` : '–'}`, `${(last.ringFillMean * 100).toFixed(1)}%`, (m) => m.ringFillMean),
  ].join('');
}

// ---- controls ----
$('btn-run').onclick = () => send({ type: state.running ? 'pause' : 'resume' });
$('btn-step').onclick = () => send({ type: 'step' });
$('btn-fwd').onclick = () => send({ type: 'step' });
$('btn-back').onclick = () => send({ type: 'seek', step: Math.max(0, state.step - 1) });
$('speed').onchange = (e) => send({ type: 'speed', stepsPerSecond: Number(e.target.value) });
const scrub = $('scrubber');
scrub.addEventListener('pointerdown', () => (scrub.dataset.dragging = '1'));
scrub.addEventListener('pointerup', () => delete scrub.dataset.dragging);
scrub.addEventListener('input', () => send({ type: 'seek', step: Number(scrub.value) }));
for (const id of ['filter-domain', 'filter-op', 'filter-ring', 'filter-errors']) $(id).addEventListener('change', renderLog);
for (const tab of ['log', 'seq']) {
  $(`tab-${tab}`).onclick = () => {
    state.tab = tab;
    $('tab-log').classList.toggle('active', tab === 'log');
    $('tab-seq').classList.toggle('active', tab === 'seq');
    $('log-view').hidden = tab !== 'log';
    $('seq-view').hidden = tab !== 'seq';
    renderLog();
  };
}
$('zoom-fit').onclick = () => topology.fit();
$('zoom-in').onclick = () => topology.zoomBy(1.25);
$('zoom-out').onclick = () => topology.zoomBy(0.8);
$('topology').addEventListener('click', () => select(null));
window.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
  if (e.key === ' ') { e.preventDefault(); $('btn-run').click(); }
  else if (e.key === 'ArrowRight' || e.key === 's') send({ type: 'step' });
  else if (e.key === 'ArrowLeft') send({ type: 'seek', step: Math.max(0, state.step - 1) });
});
