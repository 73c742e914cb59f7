/**
 * The XSM hooks Argo calls (argo.md §7.2). Each returns 0 to allow or a negative errno. Subjects
 * and objects are domain-table slots; modules read labels and the control flag from the table.
 *
 * @example
 * ```ts
 * const rc = xsm.argoSend(callerSlot, dstSlot); // 0, -EACCES (FLASK) or -EPERM (SILO)
 * ```
 */
export interface Xsm {
  readonly mode: XsmMode;
  /** d → xen `argo:enable`: at domain creation and on every hypercall. */
  argoEnable(d: number): number;
  /** d → t `argo:register_single_source`: register_ring with partner ≠ ANY. */
  argoRegisterSingleSource(d: number, t: number): number;
  /** d → xen `argo:register_any_source`: register_ring with partner ANY (mac-permissive only). */
  argoRegisterAnySource(d: number): number;
  /** d → t `argo:send`: sendv, and each notify entry. */
  argoSend(d: number, t: number): number;
  /**
   * The proposed label+port Argo firewall (argo.md §7.4; src/xsm/argo-firewall.ts), consulted after
   * `argoSend` in sendv and after `argoRegisterSingleSource` in register_ring; absent: no firewall.
   */
  argoFirewall?: ArgoFirewallHook;
}

/**
 * The port-aware checks of the Argo firewall: 0 to allow or a negative errno (EACCES).
 *
 * @example
 * ```ts
 * xsm.argoFirewall?.send(callerSlot, srcPort, dstSlot, dstPort); // 0 or -EACCES
 * ```
 */
export interface ArgoFirewallHook {
  send(d: number, srcPort: number, t: number, dstPort: number): number;
  registerSingleSource(d: number, aport: number, t: number): number;
}

/** The XSM module chosen at boot. */
export type XsmMode = 'dummy' | 'silo' | 'flask';

/** XSM configuration of `createHypervisor`. */
export interface XsmConfig {
  mode: XsmMode;
  /** FLASK policy text (see docs/api.md); defaults to Xen's guest_features policy. */
  policy?: string;
  /** FLASK enforcing (default true); permissive mode allows everything (Xen's `flask=permissive`). */
  enforcing?: boolean;
}
