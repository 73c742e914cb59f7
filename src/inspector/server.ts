import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ActorView, ClientMessage, ServerMessage } from './protocol.js';
import type { InspectorSession } from './session.js';

/** How often the server drives the session (wall ms). */
const TICK_MS = 16;
/** The least time between two updates of a running session (wall ms): batched for 500 actors. */
const UPDATE_INTERVAL_MS = 100;
/** Log entries one update carries at most. */
const UPDATE_LOG_MAX = 2000;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The page's files: beside this module in the source tree, or in `src/` next to `dist/`. */
function pageDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, 'page'), join(here, '..', '..', '..', 'src', 'inspector', 'page')]) {
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error(`the inspector page is missing: looked for src/inspector/page/index.html near ${here}`);
}

/** Files served under /vendor/: ELK (graph layout) from node_modules, so the page needs no network. */
function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  return {
    'elk.bundled.js': require.resolve('elkjs/lib/elk.bundled.js'),
    'elk-worker.min.js': require.resolve('elkjs/lib/elk-worker.min.js'),
  };
}

/** What the server remembers of each connected page. */
interface Page {
  socket: WebSocket;
  selected: string | null;
  /** The JSON of each actor as last sent. */
  sent: Map<string, string>;
  /** The step up to which the page has the log; -1: nothing yet. */
  logStep: number;
}

/** A running inspector server. */
export interface InspectorServer {
  url: string;
  port: number;
  session: InspectorSession;
  close(): Promise<void>;
}

/** A port that cannot be listened on, with the flag to change. */
export class InspectorPortError extends Error {
  constructor(port: number, code: string | undefined) {
    super(
      code === 'EADDRINUSE'
        ? `port ${port} is in use; pick another with --port <n> (--port 0 takes any free port)`
        : `cannot listen on 127.0.0.1:${port} (${code ?? 'unknown error'}); pick another with --port <n>`,
    );
    this.name = 'InspectorPortError';
  }
}

/**
 * Starts the inspector's HTTP + WebSocket server on localhost: the page at `/`, its data at
 * `/api/*` (docs/inspector.md), live updates on `/ws`. It drives the session while a page is
 * connected, and sends each page batched updates: the actors that changed, the new log entries,
 * sampled metrics and the page's selected actor in depth.
 *
 * @example
 * ```ts
 * const server = await startInspectorServer(new InspectorSession({ scenario, file }), { port: 0 });
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function startInspectorServer(session: InspectorSession, options: { port?: number } = {}): Promise<InspectorServer> {
  const dir = pageDir();
  const vendor = vendorFiles();
  const pages = new Set<Page>();
  /** A model error (a replay that diverges, a run past the recording limit) stops the run and is shown, never a crash. */
  const guarded = (work: () => void) => {
    try {
      work();
    } catch (e) {
      session.running = false;
      const text = JSON.stringify({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies ServerMessage);
      for (const page of pages) page.socket.send(text);
    }
  };
  const http = createServer((req, res) => {
    try {
      route(session, dir, vendor, req, res, () => guarded(() => broadcast(true)));
    } catch (e) {
      send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
  });
  const port = await listen(http, options.port ?? 7777); // before the WebSocket server, which would re-throw a listen error
  const wss = new WebSocketServer({ server: http, path: '/ws' });
  let lastUpdateMs = 0;
  let dirty = false;

  const broadcast = (force: boolean) => {
    const now = performance.now();
    if (pages.size === 0 || (!force && (!dirty || now - lastUpdateMs < UPDATE_INTERVAL_MS))) return;
    lastUpdateMs = now;
    dirty = false;
    const view = session.view();
    const json = new Map(view.actors.map((a) => [a.id, JSON.stringify(a)]));
    const metrics = session.sampleMetrics(now, view.actors);
    for (const page of pages) page.socket.send(JSON.stringify(updateFor(session, page, view, json, metrics)));
  };

  wss.on('connection', (socket) => {
    const page: Page = { socket, selected: null, sent: new Map(), logStep: -1 };
    pages.add(page);
    session.setWatched(true);
    socket.send(JSON.stringify(session.hello()));
    guarded(() => broadcast(true));
    socket.on('message', (data) => {
      const message = parseClientMessage(String(data));
      if (!message) return void socket.send(JSON.stringify({ type: 'error', message: 'unknown control message' } satisfies ServerMessage));
      if (message.type === 'select') page.selected = message.id;
      guarded(() => {
        if (message.type !== 'select') session.handle(message);
        broadcast(true);
      });
    });
    socket.on('close', () => {
      pages.delete(page);
      if (pages.size === 0) session.setWatched(false);
    });
  });

  const timer = setInterval(() => {
    guarded(() => {
      if (session.tick(performance.now())) dirty = true;
      broadcast(false);
    });
  }, TICK_MS);
  timer.unref();
  // a running session updates its metrics even when no step moved (a run that ended shows 0/s)
  const pulse = setInterval(() => {
    dirty = dirty || session.running;
  }, 500);
  pulse.unref();

  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    session,
    close: async () => {
      clearInterval(timer);
      clearInterval(pulse);
      for (const page of pages) page.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function listen(http: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', (e: NodeJS.ErrnoException) => reject(new InspectorPortError(port, e.code)));
    http.listen(port, '127.0.0.1', () => resolve((http.address() as AddressInfo).port));
  });
}

/** One page's update: the actors changed since it last heard, its new log, its selected actor. */
function updateFor(
  session: InspectorSession,
  page: Page,
  view: ReturnType<InspectorSession['view']>,
  json: ReadonlyMap<string, string>,
  metrics: ReturnType<InspectorSession['sampleMetrics']>,
): ServerMessage {
  const full = page.sent.size === 0;
  const actors: ActorView[] = [];
  for (const a of view.actors) {
    const text = json.get(a.id)!;
    if (page.sent.get(a.id) === text) continue;
    page.sent.set(a.id, text);
    actors.push(a);
  }
  const removed = [...page.sent.keys()].filter((id) => !json.has(id));
  for (const id of removed) page.sent.delete(id);
  const logReset = page.logStep < 0 || view.step < page.logStep;
  const log = logReset ? session.logBetween(0, view.step) : session.logBetween(page.logStep, view.step, UPDATE_LOG_MAX);
  page.logStep = view.step;
  return {
    type: 'update',
    step: view.step,
    atMs: view.atMs,
    end: view.end,
    running: view.running,
    full,
    actors,
    removed,
    log,
    logReset,
    metrics,
    selected: page.selected ? (session.detail(page.selected) ?? null) : undefined,
    divergent: view.divergent,
    stepsTotal: session.mode === 'replay' ? session.lastStep : null,
  };
}

/** A page's message, checked; undefined when it is not one. */
export function parseClientMessage(text: string): ClientMessage | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  const o = m as Record<string, unknown>;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  switch (o.type) {
    case 'pause':
    case 'resume':
      return { type: o.type };
    case 'step':
      return o.count === undefined || num(o.count) ? { type: 'step', count: o.count as number | undefined } : undefined;
    case 'seek':
      return num(o.step) ? { type: 'seek', step: o.step as number } : undefined;
    case 'speed':
      return num(o.stepsPerSecond) ? { type: 'speed', stepsPerSecond: o.stepsPerSecond as number } : undefined;
    case 'select':
      return o.id === null || typeof o.id === 'string' ? { type: 'select', id: o.id as string | null } : undefined;
    default:
      return undefined;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function serveFile(res: ServerResponse, path: string): void {
  const ext = path.slice(path.lastIndexOf('.'));
  res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' });
  res.end(readFileSync(path));
}

/** The HTTP routes (docs/inspector.md "API"). */
function route(session: InspectorSession, dir: string, vendor: Record<string, string>, req: IncomingMessage, res: ServerResponse, changed: () => void): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = decodeURIComponent(url.pathname);
  if (req.method === 'POST' && path === '/api/control') return control(session, req, res, changed);
  if (req.method !== 'GET') return send(res, 405, { error: 'only GET, and POST /api/control' });
  if (path === '/') return serveFile(res, join(dir, 'index.html'));
  if (path.startsWith('/vendor/') && vendor[path.slice(8)]) return serveFile(res, vendor[path.slice(8)]);
  if (/^\/[a-z0-9-]+\.(js|css|svg)$/.test(path) && existsSync(join(dir, path))) return serveFile(res, join(dir, path));
  if (path === '/api/session') {
    const view = session.view();
    return send(res, 200, { ...session.hello(), step: view.step, atMs: view.atMs, end: view.end, running: view.running, lastStep: session.lastStep });
  }
  if (path === '/api/actors') return send(res, 200, session.view().actors);
  if (path.startsWith('/api/actors/')) {
    const detail = session.detail(path.slice('/api/actors/'.length));
    return detail ? send(res, 200, detail) : send(res, 404, { error: `no actor ${path.slice(12)} at this step; GET /api/actors lists them` });
  }
  if (path.startsWith('/api/machines/')) {
    const chart = session.chart(path.slice('/api/machines/'.length));
    return chart ? send(res, 200, chart) : send(res, 404, { error: `no machine ${path.slice(14)} in this system` });
  }
  if (path === '/api/trace') {
    const from = Number(url.searchParams.get('from') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(limit) || limit < 0) {
      return send(res, 400, { error: 'from and limit are step counts: integers >= 0, e.g. /api/trace?from=100&limit=50' });
    }
    return send(res, 200, { from, total: session.steps.length, steps: session.trace(from, Math.min(limit, 10_000)) });
  }
  send(res, 404, { error: `no such path ${path}` });
}

function control(session: InspectorSession, req: IncomingMessage, res: ServerResponse, changed: () => void): void {
  let body = '';
  req.on('data', (chunk) => {
    body += String(chunk);
    if (body.length > 4096) req.destroy();
  });
  req.on('end', () => {
    const message = parseClientMessage(body);
    if (!message || message.type === 'select') return send(res, 400, { error: 'POST a control message: {"type":"pause"|"resume"|"step"|"seek"|"speed", …}' });
    try {
      session.handle(message);
    } catch (e) {
      session.running = false;
      return send(res, 500, { error: e instanceof Error ? e.message : String(e) });
    }
    changed();
    send(res, 200, { step: session.view().step });
  });
}
