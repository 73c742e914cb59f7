import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { ChartNode } from './protocol.js';

/**
 * A machine's statechart as the page draws it: the state tree from the machine definition, each
 * state with its transitions (event → target paths). Eventless transitions are listed under
 * `always`, delayed ones under `after <ms>`; a targetless transition (an action on the state
 * itself) has no targets.
 *
 * @example
 * ```ts
 * const chart = machineChart(argoRingMachine);
 * chart.children.map((c) => c.key); // ['unregistered', 'registered', 'tornDown']
 * ```
 */
export function machineChart(machine: AnyStateMachine): ChartNode {
  return chartOf(machine.root);
}

function chartOf(node: AnyStateNode): ChartNode {
  const transitions: ChartNode['transitions'] = [];
  for (const [eventType, list] of node.transitions) {
    for (const t of list) transitions.push({ event: eventName(eventType), targets: (t.target ?? []).map((s: AnyStateNode) => s.path.join('.')) });
  }
  for (const t of node.always ?? []) transitions.push({ event: 'always', targets: (t.target ?? []).map((s: AnyStateNode) => s.path.join('.')) });
  const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
  return {
    path: node.path.join('.'),
    key: node.key,
    type: node.type,
    initial: initial ? initial.path.join('.') : undefined,
    description: node.description,
    children: Object.values(node.states as Record<string, AnyStateNode>).map(chartOf),
    transitions,
  };
}

/** XState names delayed transitions `xstate.after.<ms>.<id>`: shown as `after <ms>ms`. */
function eventName(eventType: string): string {
  const after = /^xstate\.after\.(\d+)\./.exec(eventType);
  return after ? `after ${after[1]}ms` : eventType;
}
