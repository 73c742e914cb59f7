import { describe, expect, it } from 'vitest';
import { assign, createActor, sendTo, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import { argoRingMachineFor, domainMachineFor } from '../../machines/index.js';
import { ArgoGuest, createHypervisor, platformOf, XEN_DOMINF_running } from '../../src/index.js';

// Embedding (issue #3 item 6): a user's own XState machine spawns argosim's domain and ring actors
// and drives them; argosim's actors call the hypervisor core, the user's machine only talks to actors.
describe("embedding argosim's actors in your own XState system", () => {
  it('a user machine boots two domains, opens a ring between them, and tears one down', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    const domainA = domainMachineFor(hv, 1);
    const domainB = domainMachineFor(hv, 2);

    const orchestrator = setup({
      types: {
        context: {} as { a?: ActorRefFrom<typeof domainA>; b?: ActorRefFrom<typeof domainB>; ring?: AnyActorRef },
        events: {} as { type: 'BOOT' } | { type: 'OPEN_RING' } | { type: 'DESTROY_A' },
      },
      actors: { domainA, domainB },
    }).createMachine({
      id: 'orchestrator',
      initial: 'idle',
      context: {},
      states: {
        idle: {
          on: {
            BOOT: {
              target: 'booted',
              actions: [
                assign({ a: ({ spawn }) => spawn('domainA', { id: 'dom1', input: { domid: 1 } }) }),
                assign({ b: ({ spawn }) => spawn('domainB', { id: 'dom2', input: { domid: 2 } }) }),
                sendTo('dom1', { type: 'CREATE' }),
                sendTo('dom2', { type: 'CREATE' }),
                sendTo('dom1', { type: 'UNPAUSE' }),
                sendTo('dom2', { type: 'UNPAUSE' }),
              ],
            },
          },
        },
        booted: {
          on: {
            OPEN_RING: {
              actions: assign({
                // the ring machine needs the owner's guest library, which exists once domain 2 does:
                // its logic is made here, so it is spawned as logic (and addressed by reference, not by name)
                ring: ({ spawn }) => {
                  const ringLogic = argoRingMachineFor(hv, new ArgoGuest(platformOf(hv, 2)));
                  return spawn(ringLogic, { input: { owner: 2, aport: 80, partner: 1, len: 4032 } }) as AnyActorRef;
                },
              }),
            },
            DESTROY_A: {
              actions: [sendTo('dom1', { type: 'DESTROY' }), sendTo('dom1', { type: 'KILL' }), sendTo('dom1', { type: 'TEARDOWN_DONE' }), sendTo(({ context }) => context.ring!, { type: 'PARTNER_DIED' })],
            },
          },
        },
      },
    });

    const system = createActor(orchestrator).start();
    system.send({ type: 'BOOT' });
    const { a, b } = system.getSnapshot().context;
    expect(a!.getSnapshot().value).toBe('running');
    expect(b!.getSnapshot().value).toBe('running');
    expect(hv.domctl.getInfo(1).flags & XEN_DOMINF_running).toBeTruthy();

    system.send({ type: 'OPEN_RING' });
    const ring = system.getSnapshot().context.ring!;
    ring.send({ type: 'REGISTER' });
    expect(ring.getSnapshot().matches('registered')).toBe(true);
    expect(hv.argoState(2)!.rings.map((r) => r.aport)).toEqual([80]);

    system.send({ type: 'DESTROY_A' });
    expect(a!.getSnapshot().value).toBe('dead');
    expect(hv.life(1)).toBe('gone');
    expect(ring.getSnapshot().value).toBe('tornDown');
    expect(ring.getSnapshot().context.reason).toBe('partnerDeath');
    expect(hv.argoState(2)!.rings).toEqual([]); // argo.md §8.2 step 2: the partner's death took it
  });
});
