import type { Xsm } from './xsm.js';

/**
 * The dummy XSM module (xen/include/xsm/dummy.h): every Argo hook allows.
 *
 * @example
 * ```ts
 * createDummyXsm().argoSend(1, 2); // 0
 * ```
 */
export function createDummyXsm(): Xsm {
  return {
    mode: 'dummy',
    argoEnable: () => 0,
    argoRegisterSingleSource: () => 0,
    argoRegisterAnySource: () => 0,
    argoSend: () => 0,
  };
}
