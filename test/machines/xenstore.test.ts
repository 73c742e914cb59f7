import { readFileSync } from 'node:fs';
import { assign, createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { describe, expect, it } from 'vitest';
import { createXenstoreActor, XenstoredPort } from '../../machines/implementations/xenstore-core.js';
import { xenstoreMachine } from '../../machines/xenstore.js';
import { ERRNO } from '../../src/xen/errno.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';

// xenstored as an actor (issue #7 item 4): requests are its events, watch firings its emitted events.

function xenstored() {
  const store = new Xenstore();
  const actor = createXenstoreActor({ store, unwatch: new Map() }, {}).start();
  return { store, actor, port: new XenstoredPort(actor, store) };
}

describe('xenstoreMachine', () => {
  it('the definition imports xstate only', () => {
    const imports = [...readFileSync('machines/xenstore.ts', 'utf8').matchAll(/^import .* from '([^']+)'/gm)].map((m) => m[1]);
    expect(imports).toEqual(['xstate']);
  });

  it('alone it answers every request ENOSYS and counts it as an error', () => {
    const actor = createActor(xenstoreMachine).start();
    actor.send({ type: 'XS_READ', domid: 1, path: '/x' });
    expect(actor.getSnapshot().context).toMatchObject({ requests: 1, errors: 1, reply: -ERRNO.ENOSYS });
  });

  it('wired: each call of the port is a request event, answered from the store, its errors counted', () => {
    const { actor, port, store } = xenstored();
    actor.send({ type: 'INTRODUCE', domid: 1 });
    expect(port.write(0, '/local/domain/1/control/shutdown', 'poweroff')).toBe(true);
    expect(port.read(1, '/local/domain/1/control/shutdown')).toBe('poweroff');
    expect(port.write(1, '/local/domain/2/x', 'y')).toBe(-ERRNO.EACCES);
    expect(port.directory(0, '/local/domain')).toEqual(['1']);
    expect(actor.getSnapshot().context).toMatchObject({ requests: 4, errors: 1, domains: 1 });
    expect(store.opsBy(1)).toBe(port.opsBy(1));
    actor.send({ type: 'RELEASE', domid: 1 });
    expect(store.paths().some((p) => p.startsWith('/local/domain/1'))).toBe(false);
    expect(actor.getSnapshot().context.domains).toBe(0);
  });

  it('watch firings are the actor\'s emitted events: once when set, then on each change under the path', () => {
    const { actor, port } = xenstored();
    actor.send({ type: 'INTRODUCE', domid: 1 });
    const emitted: string[] = [];
    actor.on('watch', (e) => emitted.push(`${e.domid} ${e.token} ${e.path}`));
    const seen: string[] = [];
    const unwatch = port.watch(0, '/local/domain/1/control', 'ctl', (path) => seen.push(path));
    port.write(0, '/local/domain/1/control/shutdown', 'suspend');
    port.rm(1, '/local/domain/1/control/shutdown');
    unwatch();
    port.write(0, '/local/domain/1/control/shutdown', 'poweroff');
    expect(seen).toEqual(['/local/domain/1/control', '/local/domain/1/control/shutdown', '/local/domain/1/control/shutdown']);
    expect(emitted).toEqual(seen.map((p) => `0 ctl ${p}`));
    expect(actor.getSnapshot().context.watchEvents).toBe(3);
    expect(port.transactionEnd(0, 99)).toBe(-ERRNO.ENOENT);
  });

  it('transactions: inTransaction while one is open; EAGAIN when a node it read changed meanwhile', () => {
    const { actor, port } = xenstored();
    actor.send({ type: 'INTRODUCE', domid: 3 });
    port.write(0, '/local/domain/3/control/shutdown', 'suspend');
    const tx = port.transactionStart(0);
    expect(actor.getSnapshot().matches({ serving: 'inTransaction' })).toBe(true);
    expect(port.read(0, '/local/domain/3/control/shutdown', tx)).toBe('suspend');
    port.rm(3, '/local/domain/3/control/shutdown');
    expect(port.transactionEnd(0, tx)).toBe(-ERRNO.EAGAIN);
    expect(actor.getSnapshot().matches({ serving: 'idle' })).toBe(true);
  });

  it('a watch callback may make requests: it runs once the request that fired it was served', () => {
    const { actor, port } = xenstored();
    actor.send({ type: 'INTRODUCE', domid: 1 });
    const read: Array<string | number> = [];
    port.watch(0, '/local/domain/1/control', 't', (path) => read.push(port.read(0, path)));
    port.write(0, '/local/domain/1/control/shutdown', 'reboot');
    expect(read).toEqual([-ERRNO.ENOENT, 'reboot']); // once when set (no node yet), then the write
  });

  it('a watch refused (EEXIST: the token is taken) leaves the watch that has it firing, and unwatching the refused one is a no-op', () => {
    const { port } = xenstored();
    const first: string[] = [];
    const second: string[] = [];
    const unwatch = port.watch(0, '/a', 'same', (path) => first.push(path));
    const refused = port.watch(0, '/a', 'same', (path) => second.push(path));
    refused();
    port.write(0, '/a/b', '1');
    expect(first).toEqual(['/a', '/a/b']); // once when set, then the change
    expect(second).toEqual([]);
    unwatch();
    port.write(0, '/a/c', '1');
    expect(first).toHaveLength(2);
  });

  it('every state is reachable in the graph', () => {
    // states by value and open transactions (the counters grow without bound)
    const paths = getShortestPaths(xenstoreMachine.provide({ actions: { serve: assign(({ event }) => ({ reply: event.type === 'XS_TRANSACTION_START' ? 1 : true })) } }), {
      events: [{ type: 'XS_TRANSACTION_START', domid: 0 }, { type: 'XS_TRANSACTION_END', domid: 0, tx: 1, commit: true }],
      serializeState: (state) => `${JSON.stringify(state.value)} ${Math.min(2, state.context.transactionsOpen)}`,
    });
    const states = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    expect(states).toEqual(new Set([JSON.stringify({ serving: 'idle' }), JSON.stringify({ serving: 'inTransaction' })]));
  });
});
