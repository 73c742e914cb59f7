import type { IoreqHost, IoreqTarget } from './host.js';
import type { IoreqServer } from './server.js';

/**
 * Frees one server (§5.9): disabled, its vCPU ports and buffered port freed, its slot in the
 * target's table emptied, and its reference on the emulator dropped. A zombie emulator (reaped while
 * referenced, R5) is gone for good once its last reference goes.
 */
export function releaseServer(host: IoreqHost, t: IoreqTarget, s: IoreqServer): void {
  s.enabled = false;
  for (const sv of s.vcpus) {
    host.channels.free(t.domid, sv.port);
    sv.pending = false;
  }
  if (s.bufPort !== 0) host.channels.free(t.domid, s.bufPort);
  s.release();
  const { domid, generation } = s.emulator;
  if (!host.tables.releaseEmulator(domid, generation)) {
    throw new Error(`ioreq: server ${s.id} of domain ${t.domid} holds no reference on emulator ${domid}`);
  }
}

/**
 * `ioreq_server_destroy_all` (§5.9 row 3, §6.3 domain_kill → relinquish_resources): every server of
 * a dying target goes, with no pause and no wake (the domain is being torn down).
 */
export function destroyAllServers(host: IoreqHost, target: number): void {
  const t = host.tables.target(target);
  if (!t) return;
  for (const s of t.servers) if (s) releaseServer(host, t, s);
  host.tables.dropTarget(target);
}
