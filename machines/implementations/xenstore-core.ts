import { assign, type AnyActorRef } from 'xstate';
import { ERRNO } from '../../src/xen/errno.js';
import type { Xenstore } from '../../src/xenstore/xenstore.js';
import type { XenstoreApi } from '../../src/xenstore/xenstore-api.js';
import { wiredActors } from './wired.js';
import { xenstoreMachine, type XenstoreEvent, type XenstoreReply, type XenstoreRequest, type XenstoreWatchEvent } from '../xenstore.js';

/**
 * What a xenstored actor serves from: the store, and the watches it set up in it (by domid and token).
 *
 * @example
 * ```ts
 * const wire: XenstoreWire = { store: new Xenstore(), unwatch: new Map() };
 * ```
 */
export interface XenstoreWire {
  store: Xenstore;
  unwatch: Map<string, () => void>;
}

/**
 * A xenstored actor (not started) over `wire.store`: `createXenstoreActor({ store, unwatch: new Map() }, options)`.
 *
 * @example
 * ```ts
 * const xs = createXenstoreActor({ store: new Xenstore(), unwatch: new Map() }, {}).start();
 * xs.send({ type: 'INTRODUCE', domid: 1 });
 * ```
 */
export const createXenstoreActor = wiredActors('createXenstoreActor', (wireOf: (self: AnyActorRef) => XenstoreWire) =>
  xenstoreMachine.provide({
    actions: { serve: assign(({ event, self }) => ({ reply: answer(wireOf(self), event, self) })) },
  }),
);

/** The xenstored actor's type. */
export type XenstoreActor = ReturnType<typeof createXenstoreActor>;

const watchKey = (domid: number, path: string, token: string) => `${domid} ${token} ${path}`;

/** The store's answer to one event; a watch firing is sent back to the actor as WATCH_FIRED. */
function answer(wire: XenstoreWire, event: XenstoreEvent, self: AnyActorRef): XenstoreReply {
  const { store } = wire;
  switch (event.type) {
    case 'XS_READ': return store.read(event.domid, event.path, event.tx);
    case 'XS_WRITE': return store.write(event.domid, event.path, event.value, event.tx);
    case 'XS_RM': return store.rm(event.domid, event.path, event.tx);
    case 'XS_DIRECTORY': return store.directory(event.domid, event.path);
    case 'XS_SET_PERMS': return event.write ? store.grantWrite(event.domid, event.path, event.grantee) : store.grantRead(event.domid, event.path, event.grantee);
    case 'XS_WATCH': {
      const { domid, token } = event;
      const key = watchKey(domid, event.path, token);
      if (wire.unwatch.has(key)) return -ERRNO.EEXIST; // the same watch twice
      wire.unwatch.set(key, store.watch(domid, event.path, token, (path) => self.send({ type: 'WATCH_FIRED', domid, path, token })));
      return true;
    }
    case 'XS_UNWATCH': {
      const key = watchKey(event.domid, event.path, event.token);
      const unwatch = wire.unwatch.get(key);
      if (!unwatch) return -ERRNO.ENOENT;
      wire.unwatch.delete(key);
      unwatch();
      return true;
    }
    case 'XS_TRANSACTION_START': return store.transactionStart(event.domid);
    case 'XS_TRANSACTION_END': return store.transactionEnd(event.domid, event.tx, event.commit);
    case 'INTRODUCE': return store.introduce(event.domid), true;
    case 'RELEASE': return store.release(event.domid), true;
    case 'WATCH_FIRED': return true;
  }
}

/**
 * A client's view of xenstored that goes through its actor (`XenstoreApi`): each call is a request
 * event, answered at once from the store. Watch callbacks are the actor's emitted `watch` events for
 * that domid and token, run once the request that caused them has been served (so a callback may make
 * requests of its own).
 *
 * @example
 * ```ts
 * const port = new XenstoredPort(actor, store);
 * port.write(0, '/local/domain/1/control/shutdown', 'poweroff'); // an XS_WRITE event to the actor
 * ```
 */
export class XenstoredPort implements XenstoreApi {
  private readonly callbacks = new Map<string, (path: string, token: string) => void>();
  private readonly fired: XenstoreWatchEvent[] = [];
  private delivering = false;

  constructor(
    readonly actor: XenstoreActor,
    private readonly store: Xenstore,
  ) {
    actor.on('watch', (e: XenstoreWatchEvent) => void this.fired.push(e));
  }

  read(domid: number, path: string, tx = 0): string | number {
    return this.ask({ type: 'XS_READ', domid, path, tx }) as string | number;
  }

  write(domid: number, path: string, value: string, tx = 0): true | number {
    return this.ask({ type: 'XS_WRITE', domid, path, value, tx }) as true | number;
  }

  directory(domid: number, path: string): string[] | number {
    return this.ask({ type: 'XS_DIRECTORY', domid, path }) as string[] | number;
  }

  rm(domid: number, path: string, tx = 0): true | number {
    return this.ask({ type: 'XS_RM', domid, path, tx }) as true | number;
  }

  grantRead(domid: number, path: string, reader: number): true | number {
    return this.ask({ type: 'XS_SET_PERMS', domid, path, grantee: reader, write: false }) as true | number;
  }

  grantWrite(domid: number, path: string, writer: number): true | number {
    return this.ask({ type: 'XS_SET_PERMS', domid, path, grantee: writer, write: true }) as true | number;
  }

  watch(domid: number, path: string, token: string, fn: (path: string, token: string) => void): () => void {
    const key = `${domid} ${token}`;
    const before = this.callbacks.get(key);
    this.callbacks.set(key, fn);
    if (this.ask({ type: 'XS_WATCH', domid, path, token }) !== true) {
      // refused (EEXIST: this connection has the token already): the watch that has it stays as it was
      if (before) this.callbacks.set(key, before);
      else this.callbacks.delete(key);
      return () => {};
    }
    return () => {
      this.callbacks.delete(key);
      this.ask({ type: 'XS_UNWATCH', domid, path, token });
    };
  }

  transactionStart(domid: number): number {
    return this.ask({ type: 'XS_TRANSACTION_START', domid }) as number;
  }

  transactionEnd(domid: number, tx: number, commit = true): true | number {
    return this.ask({ type: 'XS_TRANSACTION_END', domid, tx, commit }) as true | number;
  }

  opsBy(domid: number): number {
    return this.store.opsBy(domid);
  }

  /** The hypervisor's domain event (a domain created, or dead), then the watch callbacks it caused (`@releaseDomain`, the nodes it took). */
  domainEvent(event: { type: 'INTRODUCE' | 'RELEASE'; domid: number }): void {
    this.actor.send(event);
    this.deliver();
  }

  /** Sends the request, takes the actor's reply, then runs the watch callbacks it caused. */
  private ask(request: XenstoreRequest): XenstoreReply {
    const before = this.actor.getSnapshot().context.requests;
    this.actor.send(request);
    const { requests, reply } = this.actor.getSnapshot().context;
    if (requests !== before + 1 || reply === null) {
      throw new Error(`xenstored: ${request.type} from domain ${request.domid} was not served at once (made from inside the actor's own processing)`);
    }
    this.deliver();
    return reply;
  }

  private deliver(): void {
    if (this.delivering) return; // the outer delivery goes on with what this request fired
    this.delivering = true;
    try {
      for (let e = this.fired.shift(); e; e = this.fired.shift()) this.callbacks.get(`${e.domid} ${e.token}`)?.(e.path, e.token);
    } finally {
      this.delivering = false;
    }
  }
}
