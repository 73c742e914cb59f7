/**
 * One end's credit accounting of a vsock stream connection (virtio-ioreq-lifecycle.md §3.4): its own
 * receive buffer (`bufAlloc`, bytes queued, `fwdCnt` = bytes the application consumed) and what it
 * knows of the peer's (`peerBufAlloc`, `peerFwdCnt`), with `txCnt` = payload bytes it sent. Counters
 * are u32 and wrap, as on the wire.
 *
 * @example
 * ```ts
 * const credit = new VsockCredit(64 * 1024);
 * credit.updatePeer(hdr.buf_alloc, hdr.fwd_cnt);
 * if (credit.peerFree() >= payload.length) credit.sent(payload.length);
 * ```
 */
export class VsockCredit {
  fwdCnt = 0;
  txCnt = 0;
  peerBufAlloc = 0;
  peerFwdCnt = 0;
  /** Received payload bytes not yet consumed by the application. */
  rxQueued = 0;

  constructor(readonly bufAlloc: number) {
    if (!Number.isInteger(bufAlloc) || bufAlloc < 1 || bufAlloc > 0xffffffff) throw new RangeError(`VsockCredit: buf_alloc ${bufAlloc}`);
  }

  /** §3.4: peer_free = peer_buf_alloc − (tx_cnt − peer_fwd_cnt), the subtraction mod 2^32. */
  peerFree(): number {
    const inFlight = (this.txCnt - this.peerFwdCnt) >>> 0;
    return Math.max(0, this.peerBufAlloc - inFlight);
  }

  /** buf_alloc and fwd_cnt of any header from the peer. */
  updatePeer(bufAlloc: number, fwdCnt: number): void {
    this.peerBufAlloc = bufAlloc;
    this.peerFwdCnt = fwdCnt;
  }

  /** `n` payload bytes sent; the caller checked `peerFree` first. */
  sent(n: number): void {
    if (n > this.peerFree()) throw new RangeError(`vsock: sending ${n} bytes with peer_free ${this.peerFree()} (§3.4)`);
    this.txCnt = (this.txCnt + n) >>> 0;
  }

  /** Whether `n` received bytes fit in the receive buffer (a sender that kept §3.4 always fits). */
  fits(n: number): boolean {
    return this.rxQueued + n <= this.bufAlloc;
  }

  received(n: number): void {
    if (!this.fits(n)) throw new RangeError(`vsock: ${n} bytes received with ${this.bufAlloc - this.rxQueued} free`);
    this.rxQueued += n;
  }

  /** The application consumed `n` bytes: fwd_cnt moves. */
  consumed(n: number): void {
    if (n > this.rxQueued) throw new RangeError(`vsock: consuming ${n} of ${this.rxQueued} queued bytes`);
    this.rxQueued -= n;
    this.fwdCnt = (this.fwdCnt + n) >>> 0;
  }
}
