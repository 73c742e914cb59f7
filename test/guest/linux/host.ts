import { ArgoDriver, createHypervisor, platformOf, VirtualClock, type Hypervisor } from '../../../src/index.js';
import { SeededRandom } from '../../../src/runtime/random.js';

/** A host with Argo on, domains 0 (control), 1, 2 and 3, and one Linux Argo driver per guest. */
export interface LinuxHost {
  hv: Hypervisor;
  clock: VirtualClock;
  a: ArgoDriver;
  b: ArgoDriver;
  c: ArgoDriver;
}

/** Builds the host; `macPermissive` allows the wildcard rings stream listeners use. */
export function linuxHost(options: { macPermissive?: boolean } = {}): LinuxHost {
  const hv = createHypervisor({ argo: { enabled: true, macPermissive: options.macPermissive ?? false } });
  for (const domid of [0, 1, 2, 3]) hv.createDomain({ domid });
  const clock = new VirtualClock();
  const driver = (domid: number) => new ArgoDriver(platformOf(hv, domid), { clock, random: new SeededRandom(domid) });
  return { hv, clock, a: driver(1), b: driver(2), c: driver(3) };
}

/**
 * Lets every queued microtask run — the drivers' deferred VIRQ work and the promise chains it
 * resolves — by waiting for the next macrotask turn. No virtual time passes.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** `promise`'s state after everything queued has run. */
export async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await settle();
  return done;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
