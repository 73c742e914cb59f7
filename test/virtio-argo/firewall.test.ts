/**
 * The proposed XSM Argo firewall (argo.md §7.4, virtio-ioreq-lifecycle.md §4.8): its policy text,
 * its place in Xen's validation order (sendv step 9, register_ring step 7d), and what it does to a
 * VirtIO-Argo device — allowed, denied (case 47), and an edge removed at run time.
 */
import { describe, expect, it } from 'vitest';
import { XEN_ARGO_OP_sendv } from '../../src/argo/constants.js';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { ArgoError } from '../../src/guest/argo-error.js';
import { platformOf } from '../../src/guest/platform.js';
import { SECTOR_SIZE } from '../../src/virtio/blk/constants.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_NEEDS_RESET } from '../../src/virtio/constants.js';
import { VIRTIO_ARGO_PORT_BASE } from '../../src/virtio-argo/connect.js';
import { ERRNO } from '../../src/xen/errno.js';
import { PolicyError } from '../../src/xsm/flask-policy.js';
import { installArgoFirewall, parseArgoFirewall, uninstallArgoFirewall } from '../../src/xsm/argo-firewall.js';
import { BE, FE, blkDriver, blkPair, host } from './harness.js';

const PORT = VIRTIO_ARGO_PORT_BASE;
const ALLOW_BLK = `# the guest may reach its block back end, and only that
default deny
allow guest_t <-> blkback_t:${PORT}
`;

describe('firewall policy text', () => {
  it('first match decides; <-> gives both directions with each port kept at its label; default deny', () => {
    const p = parseArgoFirewall(`deny guest_t -> blkback_t:7\nallow guest_t:100-200 <-> blkback_t:0x10\nallow * -> netback_t`);
    expect(p.allows('guest_t', 150, 'blkback_t', 16)).toBe(true);
    expect(p.allows('blkback_t', 16, 'guest_t', 150)).toBe(true);
    expect(p.allows('blkback_t', 17, 'guest_t', 150)).toBe(false);
    expect(p.allows('guest_t', 99, 'blkback_t', 16)).toBe(false);
    expect(p.allows('guest_t', 150, 'blkback_t', 7)).toBe(false);
    expect(p.allows('anyone_t', 1, 'netback_t', 2)).toBe(true);
    expect(parseArgoFirewall('default allow').allows('a_t', 1, 'b_t', 2)).toBe(true);
  });

  it('registration: the sender port is not known yet, so a deny on particular source ports leaves it open', () => {
    const p = parseArgoFirewall(`deny guest_t:5 -> blkback_t\nallow guest_t:6 -> blkback_t:9\ndeny guest_t -> blkback_t:10`);
    expect(p.allowsRegistration('guest_t', 'blkback_t', 9)).toBe(true);
    expect(p.allowsRegistration('guest_t', 'blkback_t', 10)).toBe(false);
    expect(p.allowsRegistration('guest_t', 'blkback_t', 11)).toBe(false);
  });

  it.each([
    ['allow guest_t => blkback_t', /expected "allow LABEL\[:PORT\] -> LABEL\[:PORT\]"/],
    ['permit a_t -> b_t', /unknown rule "permit"/],
    ['allow a_t -> b_t:70000000000', /is not a port/],
    ['allow a_t -> b_t:9-3', /runs backwards/],
    ['allow a-t -> b_t', /not an XSM type name/],
    ['default maybe', /default allow/],
  ])('a bad line is a PolicyError naming the line: %s', (text, message) => {
    const read = () => parseArgoFirewall(`# header\n${text}`);
    expect(read).toThrow(PolicyError);
    expect(read).toThrow(message);
    expect(read).toThrow(/argo-firewall:2:/);
  });
});

describe('firewall hooks in Xen\'s validation order', () => {
  function guests() {
    const hv = host();
    return { hv, fe: new ArgoGuest(platformOf(hv, FE)), be: new ArgoGuest(platformOf(hv, BE)) };
  }

  it('sendv: a denied edge is EACCES before the ring lookup (step 9 precedes step 12: no ring yet, still EACCES)', () => {
    const { hv, fe } = guests();
    installArgoFirewall(hv, 'default deny');
    expect(fe.sendvRaw({ domid: BE, aport: 1 }, [])).toBe(-ERRNO.EACCES);
    uninstallArgoFirewall(hv);
    expect(fe.sendvRaw({ domid: BE, aport: 1 }, [])).toBe(-ERRNO.ECONNREFUSED);
  });

  it('sendv: a destination that does not exist is ESRCH first (step 8 precedes the firewall at step 9)', () => {
    const { hv, fe } = guests();
    installArgoFirewall(hv, 'default deny');
    expect(fe.sendvRaw({ domid: 9, aport: 1 }, [])).toBe(-ERRNO.ESRCH);
  });

  it('sendv: the XSM module\'s own argo_send runs first (SILO EPERM wins over the firewall\'s EACCES)', () => {
    const hv = host({ xsm: { mode: 'silo' } });
    const fe = new ArgoGuest(platformOf(hv, FE));
    installArgoFirewall(hv, 'default deny');
    expect(fe.sendvRaw({ domid: BE, aport: 1 }, [])).toBe(-ERRNO.EPERM);
  });

  it('register_ring: a single-source ring the policy forbids is EACCES at step 7d; allowed ones register', () => {
    const { hv, be } = guests();
    installArgoFirewall(hv, `allow guest_t -> blkback_t:${PORT}`);
    expect(() => be.registerRing({ aport: PORT + 1, partner: FE, len: 4032 })).toThrow(ArgoError);
    expect(be.registerRing({ aport: PORT, partner: FE, len: 4032 }).aport).toBe(PORT);
  });
});

describe('the firewall and a VirtIO-Argo device', () => {
  it('allowed: the device initialises and moves data; the firewall saw every send', () => {
    const hv = host();
    const fw = installArgoFirewall(hv, ALLOW_BLK);
    const { pair, image } = blkPair(hv);
    const { init, blk } = blkDriver(pair);
    expect(init.ok).toBe(true);
    blk!.write(3, new Uint8Array(SECTOR_SIZE).fill(9));
    blk!.kick();
    expect(image[3 * SECTOR_SIZE]).toBe(9);
    expect(fw.checks).toBeGreaterThan(10);
    expect(fw.denials).toBe(0);
  });

  it('case 47: the policy forbids this guest → registration and sends are refused, the device fails initialisation, no byte crosses', () => {
    const hv = host();
    hv.createDomain({ domid: 3, label: 'rogue_t' });
    const fw = installArgoFirewall(hv, ALLOW_BLK);
    const delivered: number[] = [];
    hv.onHypercall((c) => {
      if (c.cmd === XEN_ARGO_OP_sendv && c.result >= 0) delivered.push(c.caller);
    });
    const { pair } = blkPair(hv, { frontend: { domid: 3 } });
    expect(pair.registered).toEqual({ backend: -ERRNO.EACCES, frontend: -ERRNO.EACCES });
    const { init } = blkDriver(pair);
    expect(init.ok).toBe(false);
    expect([-ERRNO.EACCES, -ERRNO.ECONNREFUSED]).toContain(pair.frontend.linkError);
    expect(pair.frontend.readStatus() & VIRTIO_CONFIG_S_DRIVER_OK).toBe(0);
    expect(delivered).toEqual([]);
    expect(pair.backend.endpoint.counters.bytesReceived).toBe(0);
    expect(fw.denials).toBeGreaterThan(0);
  });

  it('case 47, rings already there: a send across a denied edge is EACCES and the device never goes live', () => {
    const hv = host();
    const { pair } = blkPair(hv); // rings registered before the policy
    installArgoFirewall(hv, 'default deny');
    const { init } = blkDriver(pair);
    expect(init.ok).toBe(false);
    expect(pair.frontend.linkError).toBe(-ERRNO.EACCES);
    expect(pair.backend.endpoint.counters.bytesReceived).toBe(0);
  });

  it('an edge removed at run time turns the live device to DEVICE_NEEDS_RESET; nothing crosses it afterwards', () => {
    const hv = host();
    const fw = installArgoFirewall(hv, ALLOW_BLK);
    const { pair, image } = blkPair(hv);
    const { blk } = blkDriver(pair);
    expect(pair.frontend.readStatus()).toBe(15);
    fw.setPolicy(fw.policy.without((r) => r.dst.label === 'blkback_t'));
    const received = pair.backend.endpoint.counters.bytesReceived;
    blk!.write(5, new Uint8Array(SECTOR_SIZE).fill(0x55));
    blk!.kick();
    expect(pair.frontend.linkError).toBe(-ERRNO.EACCES);
    expect(pair.frontend.readStatus()).toBe(15 | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(pair.backend.endpoint.counters.bytesReceived).toBe(received);
    expect(image[5 * SECTOR_SIZE]).toBe(0);
  });
});
