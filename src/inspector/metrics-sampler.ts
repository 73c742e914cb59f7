import type { SchedulingPoint } from '../runtime/scheduling-point.js';
import type { ActorView, MetricsSample } from './protocol.js';

/** Metrics are sampled at most this often (wall ms): a page with 500 actors stays responsive. */
export const METRICS_INTERVAL_MS = 500;

/**
 * The metrics strip's figures, sampled: steps and inspection events per wall second since the
 * last sample, the scheduler's waiting points (the runtime's mailboxes: in total and the busiest
 * actor's), and ring fill (mean over registered rings and the fullest).
 *
 * @example
 * ```ts
 * const sampler = new MetricsSampler();
 * sampler.sample(performance.now(), { steps, events, pending: watch.points, actors: views }); // undefined until due
 * ```
 */
export class MetricsSampler {
  private last: { atMs: number; steps: number; events: number } | undefined;

  sample(
    nowMs: number,
    now: { steps: number; events: number; pending: readonly SchedulingPoint[]; actors: readonly ActorView[] },
  ): MetricsSample | undefined {
    const last = this.last;
    if (last && nowMs - last.atMs < METRICS_INTERVAL_MS) return undefined;
    this.last = { atMs: nowMs, steps: now.steps, events: now.events };
    const seconds = last ? (nowMs - last.atMs) / 1000 : 0;
    const rate = (n: number, before: number) => (seconds > 0 ? Math.max(0, n - before) / seconds : 0);
    return {
      stepsPerSec: last ? rate(now.steps, last.steps) : 0,
      eventsPerSec: last ? rate(now.events, last.events) : 0,
      mailboxDepth: now.pending.length,
      mailboxMax: busiest(now.pending),
      ...ringFill(now.actors),
      actors: now.actors.length,
    };
  }
}

function busiest(points: readonly SchedulingPoint[]): MetricsSample['mailboxMax'] {
  const depth = new Map<string, number>();
  let max: MetricsSample['mailboxMax'] = null;
  for (const p of points) {
    const n = (depth.get(p.actor) ?? 0) + 1;
    depth.set(p.actor, n);
    if (!max || n > max.depth) max = { domain: p.actor, depth: n };
  }
  return max;
}

function ringFill(actors: readonly ActorView[]): Pick<MetricsSample, 'ringFillMean' | 'ringFillMax'> {
  let sum = 0;
  let n = 0;
  let max: MetricsSample['ringFillMax'] = null;
  for (const a of actors) {
    if (!a.ring || !a.state.startsWith('registered')) continue;
    const fill = a.ring.len > 0 ? a.ring.pendingBytes / a.ring.len : 0;
    sum += fill;
    n++;
    if (!max || fill > max.fill) max = { id: a.id, fill };
  }
  return { ringFillMean: n > 0 ? sum / n : 0, ringFillMax: max };
}
