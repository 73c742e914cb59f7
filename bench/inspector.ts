// npm run bench:inspector — how responsive the inspector page is at scale: scenarios/inspector-500.yaml
// (100 domains, 802 actors) served by the inspector and opened in Debian's chromium (playwright-core;
// CHROMIUM_PATH to use another): the first layout, the time from a click on "step" until the page
// shows that step (20 single steps after one untimed), the page's last 50 render times while running
// at 1000 steps/s to step 1000, then 20 single steps more.
// Results go to docs/performance.md; the browser tests check only that a render redraws what changed.
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { chromium } from 'playwright-core';
import { startInspectorServer } from '../src/inspector/server.js';
import { InspectorSession } from '../src/inspector/session.js';
import { loadScenario } from '../src/scenario/load-scenario.js';
import { printTable } from './table.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FILE = 'scenarios/inspector-500.yaml';
const STEPS = 20;
/** How far the timed run goes (or to the run's end). */
const RUN_STEPS = 1000;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`bench:inspector: no chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  console.log(`argosim bench: inspector — ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}, ${FILE}\n`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  const server = await startInspectorServer(new InspectorSession({ scenario: loadScenario(FILE), file: FILE, startPaused: true }), { port: 0 });
  try {
    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const opened = performance.now();
    await page.goto(server.url);
    await page.waitForSelector('body[data-layout="ready"]', { timeout: 60_000 });
    const layoutMs = performance.now() - opened;
    // the buttons' own clicks, not playwright's: its actionability checks wait for the page's
    // animation frames to settle — about a second here, none of it the inspector's
    const press = (id: string) => page.evaluate(`document.getElementById('${id}').click()`);
    const actors = await page.evaluate<number>('window.argosimInspector.state.actors.size');
    const stepOnce = async () => {
      const at = Number(await page.locator('body').getAttribute('data-step'));
      const clicked = performance.now();
      await press('btn-step');
      await page.waitForFunction(`Number(document.body.dataset.step) > ${at}`, undefined, { timeout: 10_000, polling: 'raf' });
      return performance.now() - clicked;
    };
    const steps = async () => {
      const ms: number[] = [];
      for (let k = 0; k < STEPS; k++) ms.push(await stepOnce());
      if (process.env.BENCH_VERBOSE) console.log(ms.map((x) => x.toFixed(0)).join(' '));
      return ms;
    };
    await stepOnce(); // the first update after the layout: not timed
    const early = await steps();
    // the page keeps its last 50 render times: emptied here, so that what is read is the run's
    await page.evaluate('window.argosimInspector.renderTimes.length = 0');
    await page.selectOption('#speed', '1000');
    await press('btn-run');
    await page.waitForFunction(`Number(document.body.dataset.step) > ${RUN_STEPS} || window.argosimInspector.state.end !== 'more'`, undefined, { timeout: 120_000 });
    await press('btn-run');
    await page.waitForFunction('!window.argosimInspector.state.running', undefined, { timeout: 10_000 });
    const renders = await page.evaluate<number[]>('window.argosimInspector.renderTimes.slice()');
    const later = await steps();
    printTable(
      ['what', 'actors', 'samples', 'median', 'p95', 'max'],
      [
        ['first layout (page open → drawn)', String(actors), '1', ms(layoutMs), '—', '—'],
        ['one step from step 1 (click → shown)', String(actors), String(STEPS), ms(quantile(early, 0.5)), ms(quantile(early, 0.95)), ms(Math.max(...early))],
        [`render while running to step ${RUN_STEPS}, 1000 steps/s`, String(actors), String(renders.length), ms(quantile(renders, 0.5)), ms(quantile(renders, 0.95)), ms(Math.max(...renders))],
        [`one step after step ${RUN_STEPS} (click → shown)`, String(actors), String(STEPS), ms(quantile(later, 0.5)), ms(quantile(later, 0.95)), ms(Math.max(...later))],
      ],
    );
  } finally {
    await browser.close();
    await server.close();
  }
}

await main();
