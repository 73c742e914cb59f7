// State colours shared by the topology, the statechart pill and the legend.

/** Colour of a leaf state name, by what it means for the actor. */
const STATE_COLOURS = {
  // domain
  running: '#3ecf8e', createdPaused: '#9aa5bd', none: '#5b6478', paused: '#f5b942', shuttingDown: '#ff9f43',
  shutdown: '#ff9f43', destroying: '#ff6b6b', dying: '#ff6b6b', dead: '#4a5266',
  // ring
  unregistered: '#5b6478', empty: '#5aa9ff', holdingData: '#2dd4bf', fullWithWaiters: '#ff6b6b', tornDown: '#4a5266',
  // app
  idle: '#9aa5bd', starting: '#3ecf8e', sending: '#3ecf8e', ready: '#3ecf8e', blocked: '#f5b942', done: '#7f8cff', stopped: '#4a5266',
};

/** The legend: per kind, the states worth a swatch. */
export const LEGEND = {
  domain: ['running', 'paused', 'shutdown', 'dying', 'dead'],
  ring: ['empty', 'holdingData', 'fullWithWaiters', 'tornDown'],
  app: ['ready', 'blocked', 'done', 'idle'],
};

/** The colour of a state path (`registered.holdingData` → its leaf's). */
export function stateColour(state) {
  const leaf = String(state).split(/[.,() ]+/).filter(Boolean).pop() ?? '';
  if (STATE_COLOURS[leaf]) return STATE_COLOURS[leaf];
  let h = 0;
  for (const c of leaf) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360} 55% 62%)`;
}

export function legendHtml() {
  const rows = [];
  for (const [kind, states] of Object.entries(LEGEND)) {
    rows.push(`<div class="k">${kind}</div>`);
    for (const s of states) rows.push(`<div><span class="sw" style="background:${stateColour(s)}"></span>${s}</div>`);
    for (let pad = states.length; pad < 5; pad++) rows.push('<div></div>');
  }
  rows.push('<div class="k">ring</div><div><svg width="40" height="8"><rect width="40" height="8" fill="#0b0f18"/><rect width="24" height="8" fill="#5aa9ff"/></svg> fill</div><div><span style="color:#f5b942;font-weight:700">2w</span> waiters</div><div></div><div></div><div></div>');
  return rows.join('');
}
