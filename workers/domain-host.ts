// piscina worker entry of the parallel runtime (issue #5): one long task per worker, hosting its
// share of the domains until the main thread says finish. See src/parallel/domain-host.ts.
import { DomainHost, type DomainHostTask } from '../src/parallel/domain-host.js';
import type { WorkerFigures } from '../src/parallel/protocol.js';

export default function hostDomains(task: DomainHostTask): Promise<WorkerFigures> {
  return new DomainHost(task).run();
}
