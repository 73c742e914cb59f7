// The explore worker when argosim runs as TypeScript (vitest, tsx): Node 20 ignores `--import tsx`
// in a worker's execArgv, so register tsx's loader here and re-export the real entry's handler for
// piscina. The compiled build runs dist/workers/explore.js directly (src/parallel/worker-file.ts).
import { register } from 'tsx/esm/api';

register();
const entry = await import(new URL('./explore.ts', import.meta.url).href);
export default entry.default;
