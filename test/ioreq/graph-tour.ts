/**
 * The project's model-based pattern (test/machines/*.test.ts) for the IOREQ machines: one path per
 * edge of the machine's adjacency map (the shortest path to its source, then the edge), and the keys
 * of every declared transition, so a test can check each was taken when the paths replay on the core.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, EventObject, SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, serializeSnapshot, type StatePath, type TraversalOptions } from 'xstate/graph';

export interface EdgePath<S, E> {
  events: E[];
  expected: S[];
  edges: string[];
}

const edgeKey = (from: unknown, event: EventObject) => `${serializeSnapshot(from as never)} ${JSON.stringify(event)}`;

export function edgeTour<M extends AnyStateMachine, E extends EventObject>(
  machine: M,
  traversal: TraversalOptions<SnapshotFrom<M>, E, unknown>,
): { paths: EdgePath<SnapshotFrom<M>, E>[]; edges: Set<string> } {
  type S = SnapshotFrom<M>;
  const adjacency = getAdjacencyMap(machine, traversal as never);
  const heads = new Map<string, StatePath<S, E>>(getShortestPaths(machine, traversal as never).map((p) => [serializeSnapshot(p.state as never), p as unknown as StatePath<S, E>]));
  const paths: EdgePath<S, E>[] = [];
  const edges = new Set<string>();
  for (const { state: from, event, nextState } of adjacencyMapToArray(adjacency)) {
    const head = heads.get(serializeSnapshot(from as never));
    if (!head) throw new Error(`no shortest path to ${serializeSnapshot(from as never)}`);
    const steps = head.steps.slice(1); // steps[0] is xstate.init
    const before = [head.steps[0].state, ...steps.map((s) => s.state)];
    const events = [...steps.map((s) => s.event), event as E];
    edges.add(edgeKey(from, event as E));
    paths.push({ events, expected: [...steps.map((s) => s.state), nextState as S], edges: events.map((e, i) => edgeKey(before[i], e)) });
  }
  return { paths, edges };
}

export function transitionKey(t: AnyTransitionDefinition): string {
  const list: readonly AnyTransitionDefinition[] = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  return `${t.source.id} ${t.eventType || 'always'} #${list.indexOf(t)}`;
}

export function declaredTransitions(root: AnyStateNode): string[] {
  return [root, ...getStateNodes(root)].flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map(transitionKey));
}
