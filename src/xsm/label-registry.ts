/**
 * Security labels (XSM types) by number. A domain's label is stored in the shared domain table as
 * its sid; this registry maps sids back to names. Sid 0 is the hypervisor's `xen_t`. Every thread
 * that registers the same labels in the same order gets the same sids.
 *
 * @example
 * ```ts
 * const labels = new LabelRegistry();
 * labels.sidOf('domU_t'); // 1 (assigned on first use)
 * ```
 */
export class LabelRegistry {
  private readonly byName = new Map<string, number>();
  private readonly names: string[] = [];

  constructor(initial: Iterable<string> = []) {
    this.sidOf('xen_t');
    for (const name of initial) this.sidOf(name);
  }

  /** The sid of a label, assigned on first use. */
  sidOf(label: string): number {
    let sid = this.byName.get(label);
    if (sid === undefined) {
      sid = this.names.length;
      this.names.push(label);
      this.byName.set(label, sid);
    }
    return sid;
  }

  /** The label of a sid. */
  labelOf(sid: number): string {
    const name = this.names[sid];
    if (name === undefined) throw new RangeError(`no label with sid ${sid}`);
    return name;
  }

  /** Every label, in sid order. */
  all(): readonly string[] {
    return this.names;
  }
}
