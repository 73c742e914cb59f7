/**
 * Xen's `argo=` command-line option (docs/misc/xen-command-line.pandoc §argo, argo.md §7.1):
 * a comma list of a boolean (Argo on/off) and `mac-permissive=<bool>`. Unknown sub-options make the
 * parse report an error, but the recognised parts still apply, as in Xen.
 *
 * @example
 * ```ts
 * parseArgoBootOption('argo=1,mac-permissive=1');
 * // { enabled: true, macPermissive: true, errors: [] }
 * ```
 */
export interface ArgoBootOption {
  enabled: boolean;
  macPermissive: boolean;
  /** One message per sub-option Xen would reject (-EINVAL from the parser). */
  errors: string[];
}

const TRUE = new Set(['1', 'true', 'on', 'yes', 'enable']);
const FALSE = new Set(['0', 'false', 'off', 'no', 'disable']);

function parseBool(text: string): boolean | undefined {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  return undefined;
}

export function parseArgoBootOption(text: string): ArgoBootOption {
  const result: ArgoBootOption = { enabled: false, macPermissive: false, errors: [] };
  const value = text.startsWith('argo=') ? text.slice('argo='.length) : text;
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [key, arg] = item.includes('=') ? (item.split('=', 2) as [string, string]) : [item, undefined];
    const positive = arg === undefined && key.startsWith('no-') ? key.slice(3) : key;
    if (key === 'mac-permissive' || positive === 'mac-permissive') {
      const b = arg === undefined ? key === 'mac-permissive' : parseBool(arg);
      if (b === undefined) result.errors.push(`argo: bad value "${arg}" for mac-permissive (use 0 or 1)`);
      else result.macPermissive = b;
      continue;
    }
    const b = arg === undefined ? parseBool(key) : undefined;
    if (b === undefined) result.errors.push(`argo: unknown sub-option "${item}" (use a boolean and mac-permissive=<bool>)`);
    else result.enabled = b;
  }
  return result;
}
