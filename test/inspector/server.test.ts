import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { InspectedRun } from '../../src/inspector/inspected-run.js';
import type { ActorView, RecordedStep, ServerMessage } from '../../src/inspector/protocol.js';
import { RecordedStates } from '../../src/inspector/recorded-states.js';
import { InspectorPortError, startInspectorServer, type InspectorServer } from '../../src/inspector/server.js';
import { InspectorSession } from '../../src/inspector/session.js';
import { recordRun } from '../../src/inspector/record-run.js';
import { loadScenarioForTrace } from '../../src/inspector/trace-file.js';
import { loadScenario } from '../../src/scenario/load-scenario.js';

const scenario = loadScenario('scenarios/default.yaml');
let server: InspectorServer;

const get = async <T>(path: string): Promise<T> => (await fetch(new URL(path, server.url))).json() as Promise<T>;
const control = (body: object) => fetch(new URL('/api/control', server.url), { method: 'POST', body: JSON.stringify(body) }).then((r) => r.json());

beforeAll(async () => {
  server = await startInspectorServer(new InspectorSession({ scenario, file: 'scenarios/default.yaml', startPaused: true }), { port: 0 });
});
afterAll(() => server.close());

describe('inspector server API', () => {
  it('GET /api/actors lists every actor with id, kind, machine and state', async () => {
    const actors = await get<ActorView[]>('/api/actors');
    for (const a of actors) expect(a).toEqual(expect.objectContaining({ id: expect.any(String), kind: expect.any(String), machine: expect.any(String), state: expect.any(String) }));
    const ids = actors.map((a) => a.id);
    for (const d of ['dom0', 'web', 'db', 'sandbox']) expect(ids).toContain(`domain:${d}`);
    expect(actors.filter((a) => a.kind === 'ring').map((a) => a.id).sort()).toEqual(['ring:db:5432:1', 'ring:dom0:514:any', 'ring:dom0:9100:1', 'ring:web:8080:2']);
    expect(actors.find((a) => a.id === 'ring:dom0:9100:1')?.ring).toEqual({ owner: 'dom0', aport: 9100, partner: 'web', len: 256, pendingBytes: 0, waiters: 0 });
  });

  it('a step runs one scheduling point, which GET /api/trace then returns', async () => {
    const before = (await get<{ steps: RecordedStep[]; total: number }>('/api/trace?from=0')).total;
    expect(await control({ type: 'step' })).toEqual({ step: before + 1 });
    const trace = await get<{ from: number; total: number; steps: RecordedStep[] }>(`/api/trace?from=${before}`);
    expect(trace.total).toBe(before + 1);
    expect(trace.steps[0]).toEqual(expect.objectContaining({ step: before, kind: expect.any(String), actor: expect.any(String), label: expect.any(String), changes: expect.any(Array), log: expect.any(Array) }));
  });

  it('seeking back shows exactly the states the run had then, and stepping on follows the run again', async () => {
    await control({ type: 'step', count: 60 });
    const head = (await get<{ step: number }>('/api/session')).step;
    await control({ type: 'seek', step: 20 });
    const past = await get<ActorView[]>('/api/actors');
    const fresh = new InspectedRun(scenario, {});
    fresh.advance(20);
    const expected = new Map(fresh.system.actors().map((a) => [a.id, (a.actor.getSnapshot() as { value: unknown }).value]));
    expect(past.map((a) => a.id).sort()).toEqual([...expected.keys()].sort());
    const { steps } = await get<{ steps: RecordedStep[] }>('/api/trace?from=0&limit=100000');
    const session = await get<{ step: number }>('/api/session');
    expect(session.step).toBe(20);
    const initial = new InspectedRun(scenario, { record: true }).recording!.initial; // the states after boot
    const recorded = new RecordedStates(initial, steps).at(20);
    for (const a of past) expect(a.state).toBe(recorded.get(a.id));
    await control({ type: 'step', count: head - 20 });
    expect((await get<{ step: number }>('/api/session')).step).toBe(head);
  });

  it('bad input gets a clear answer, not a crash', async () => {
    const bad = await fetch(new URL('/api/trace?from=-1', server.url));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/integers >= 0/);
    expect((await fetch(new URL('/api/actors/nope', server.url))).status).toBe(404);
    expect((await fetch(new URL('/api/control', server.url), { method: 'POST', body: 'nonsense' })).status).toBe(400);
    expect((await fetch(new URL('/../../package.json', server.url))).status).toBe(404);
  });

  it('a port in use is an error naming --port', async () => {
    const session = new InspectorSession({ scenario, file: 'scenarios/default.yaml' });
    await expect(startInspectorServer(session, { port: server.port })).rejects.toThrow(InspectorPortError);
    await expect(startInspectorServer(session, { port: server.port })).rejects.toThrow(/port \d+ is in use; pick another with --port <n>/);
  });

  it('inspection runs only while a page is connected; a page gets hello, then every actor', async () => {
    const session = server.session;
    expect(session.watched).toBe(false);
    const socket = new WebSocket(new URL('/ws', server.url.replace('http', 'ws')));
    const messages: ServerMessage[] = [];
    await new Promise<void>((resolve) => {
      socket.on('message', (data) => {
        messages.push(JSON.parse(String(data)) as ServerMessage);
        if (messages.length === 2) resolve();
      });
    });
    expect(session.watched).toBe(true);
    expect(messages[0]).toEqual(expect.objectContaining({ type: 'hello', mode: 'live', seed: 1 }));
    const update = messages[1];
    expect(update.type === 'update' && update.full && update.actors.length).toBe((await get<ActorView[]>('/api/actors')).length);
    await new Promise<void>((resolve) => {
      socket.on('close', () => resolve());
      socket.close();
    });
    await expect.poll(() => session.watched).toBe(false);
  });

  it('a replay whose choices the run cannot make says where it diverged, and the server goes on', async () => {
    const { trace } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), {});
    trace.choices[5] = 99; // no step has 100 points enabled
    const replay = await startInspectorServer(new InspectorSession({ scenario, file: 'scenarios/default.yaml', trace }), { port: 0 });
    try {
      const seek = await fetch(new URL('/api/control', replay.url), { method: 'POST', body: JSON.stringify({ type: 'seek', step: 50 }) });
      expect(seek.status).toBe(500);
      expect(((await seek.json()) as { error: string }).error).toMatch(/replay diverged at step 5: recorded choice 99/);
      expect((await fetch(new URL('/api/actors', replay.url))).status).toBe(200);
    } finally {
      await replay.close();
    }
  });
});
