import { fileURLToPath } from 'node:url';

/**
 * The file a piscina pool runs for a worker entry under `workers/`: the compiled `.js` in `dist/`
 * (production), or — when this module itself runs as TypeScript (tests under vitest or tsx) — a
 * small `.mjs` bootstrap beside the entry that registers tsx in the worker and re-exports the
 * entry's handler, since Node 20 ignores `--import tsx` in a worker's execArgv.
 *
 * @example
 * ```ts
 * new Piscina({ filename: workerFile('domain-host') });
 * ```
 */
export function workerFile(entry: string): string {
  const typescript = import.meta.url.endsWith('.ts');
  const name = typescript ? `${entry}.tsx-bootstrap.mjs` : `${entry}.js`;
  // src/parallel/ → workers/ in the source tree; dist/src/parallel/ → dist/workers/ when compiled
  return fileURLToPath(new URL(`../../workers/${name}`, import.meta.url));
}
