import { describe, expect, it } from 'vitest';
import { createHypervisor, ERRNO, parseArgoBootOption, XEN_ARGO_OP_notify } from '../../src/index.js';

describe('argo= boot option (argo.md §7.1)', () => {
  it.each([
    ['argo=1,mac-permissive=1', true, true],
    ['argo=1', true, false],
    ['argo=0,mac-permissive=1', false, true],
    ['argo=true,no-mac-permissive', true, false],
    ['', false, false],
  ])('%j → enabled %s, mac-permissive %s', (text, enabled, macPermissive) => {
    expect(parseArgoBootOption(text)).toEqual({ enabled, macPermissive, errors: [] });
  });

  it('reports unknown sub-options but applies the recognised parts', () => {
    const parsed = parseArgoBootOption('argo=1,bogus,mac-permissive=maybe');
    expect(parsed.enabled).toBe(true);
    expect(parsed.macPermissive).toBe(false);
    expect(parsed.errors).toHaveLength(2);
  });

  it('createHypervisor accepts the command-line text', () => {
    const hv = createHypervisor({ argo: 'argo=1,mac-permissive=1,bogus' });
    expect(hv.argoOptions).toMatchObject({ enabled: true, macPermissive: true });
    expect(hv.bootWarnings).toHaveLength(1);
  });

  it('a hypervisor built without CONFIG_ARGO answers ENOSYS', () => {
    const hv = createHypervisor({ build: { argo: false }, argo: { enabled: true } });
    hv.createDomain({ domid: 1 });
    expect(hv.argoOp(1, XEN_ARGO_OP_notify, 0, 0, 0, 0)).toBe(-ERRNO.ENOSYS);
    expect(hv.hasArgo(1)).toBe(false);
  });
});
