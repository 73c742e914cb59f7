import { describe, expect, it } from 'vitest';
import { filter } from 'rxjs';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, SHUTDOWN_poweroff, SHUTDOWN_suspend, VIRQ_ARGO } from '../../src/index.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { fifoStrategy } from '../../src/runtime/strategies/fifo.js';
import { lifecycle$ } from '../../src/streams/lifecycle-stream.js';
import { trace$ } from '../../src/streams/trace-stream.js';
import { virq$ } from '../../src/streams/virq-stream.js';

function collect<T>(source: { subscribe(fn: (v: T) => void): { unsubscribe(): void } }): { values: T[]; stop(): void } {
  const values: T[] = [];
  const sub = source.subscribe((v) => values.push(v));
  return { values, stop: () => sub.unsubscribe() };
}

describe('hypervisor streams', () => {
  it('trace$ reports each hypercall decoded, with its result and errno, stamped with virtual time', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const scheduler = new Scheduler({ strategy: fifoStrategy() });
    const trace = collect(trace$(hv, scheduler));
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    b.registerRing({ aport: 7, partner: 1, len: 48 });
    scheduler.schedule({ kind: 'guest', actor: 'a', label: 'send', delayMs: 5, run: () => a.sendvRaw({ domid: 2, aport: 7 }, [{ gpa: 0x9000, len: 16 }], { messageType: 3 }) });
    scheduler.schedule({ kind: 'guest', actor: 'a', label: 'send', delayMs: 6, run: () => a.sendvRaw({ domid: 2, aport: 7 }, [{ gpa: 0x9000, len: 16 }]) });
    scheduler.run();
    a.query({ domid: 2, aport: 7 }, 8);
    trace.stop();
    const [register, ok, full, query] = trace.values;
    expect(register.args).toMatchObject({ op: 'register_ring', ring: { aport: 7, partner: 1, len: 48 }, npage: 1 });
    expect(ok).toMatchObject({ caller: 1, result: 16, atMs: 5, args: { op: 'sendv', dst: { domid: 2, aport: 7 }, iovs: [{ gpa: 0x9000, len: 16 }], messageType: 3 } });
    expect(full).toMatchObject({ result: -ERRNO.EAGAIN, errno: 'EAGAIN', atMs: 6 });
    expect(query.args).toMatchObject({ op: 'notify', entries: [{ domid: 2, aport: 7, spaceRequired: 8, maxMessageSize: 16 }] });
    a.sendvRaw({ domid: 2, aport: 7 }, []);
    expect(trace.values).toHaveLength(4); // unsubscribed: nothing more
  });

  it('virq$ reports upcalls; lifecycle$ reports every state change with its reason', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    const changes = collect(lifecycle$(hv));
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const virqs = collect(virq$(hv).pipe(filter((e) => e.virq === VIRQ_ARGO)));
    const b = new ArgoGuest(platformOf(hv, 2));
    b.registerRing({ aport: 7, partner: 1, len: 4032 });
    new ArgoGuest(platformOf(hv, 1)).sendNow({ domid: 2, aport: 7 }, new Uint8Array(4));
    virqs.stop();
    expect(virqs.values.map((e) => e.domid)).toEqual([2]);
    hv.domctl.unpause(1);
    hv.shutdownDomain(1, SHUTDOWN_suspend);
    hv.shutdownDomain(1, SHUTDOWN_poweroff); // first reason wins: no change
    hv.domctl.resume(1);
    hv.destroyDomain(1);
    changes.stop();
    expect(changes.values.map((c) => [c.domid, c.change, c.reason])).toEqual([
      [1, 'created', undefined],
      [2, 'created', undefined],
      [1, 'unpaused', undefined],
      [1, 'shutting_down', SHUTDOWN_suspend],
      [1, 'shutdown', SHUTDOWN_suspend],
      [1, 'resumed', undefined],
      [1, 'dying', undefined],
      [1, 'dead', undefined],
    ]);
  });
});
