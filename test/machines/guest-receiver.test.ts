import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { guestReceiverMachine } from '../../machines/guest-receiver.js';
import { createGuestReceiverActor } from '../../machines/implementations/guest-receiver-core.js';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { platformOf } from '../../src/guest/platform.js';
import { createHypervisor } from '../../src/xen/hypervisor.js';

// argo.md §5.5 consumer: a receiving application takes every whole message on each VIRQ.

describe('guestReceiverMachine', () => {
  it('the machine definition imports xstate only; alone, its drain takes nothing', () => {
    const source = readFileSync(new URL('../../machines/guest-receiver.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
    const rx = createActor(guestReceiverMachine, { input: { owner: 2, aport: 80 } }).start();
    rx.send({ type: 'VIRQ' });
    expect(rx.getSnapshot().context).toMatchObject({ received: 0, bytes: 0, drains: 0 });
    rx.send({ type: 'STOP' });
    expect(rx.getSnapshot().status).toBe('done');
  });

  it('on a real ring: each VIRQ takes every whole message, in order, with its source; rx moves past them', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    for (const domid of [0, 1, 2]) hv.createDomain({ domid });
    const sender = new ArgoGuest(platformOf(hv, 1));
    const receiver = new ArgoGuest(platformOf(hv, 2));
    const ring = receiver.registerRing({ aport: 80, partner: 1, len: 4032 });
    const got: Array<[number, number[]]> = [];
    const rx = createGuestReceiverActor(
      { ring, scratch: new Uint8Array(ring.len), onMessage: (source, payload) => got.push([source, [...payload]]) },
      { input: { owner: 2, aport: 80 } },
    ).start();
    for (const n of [3, 1, 2]) sender.sendNow({ domid: 2, aport: 80 }, new Uint8Array(n).fill(n));
    rx.send({ type: 'VIRQ' });
    expect(got).toEqual([[1, [3, 3, 3]], [1, [1]], [1, [2, 2]]]);
    expect(rx.getSnapshot().context).toMatchObject({ received: 3, bytes: 6, drains: 1 });
    expect(ring.isEmpty()).toBe(true);
    rx.send({ type: 'VIRQ' }); // nothing new: no drain counted
    expect(rx.getSnapshot().context.drains).toBe(1);
  });
});
