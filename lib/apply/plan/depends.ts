// Stacks built on stacks. A stack whose lower, data layer, upper, work or
// image file lies at or beneath another stack's target is built on that
// stack; so is one whose target lies inside another's. From these relations
// apply orders its steps: a base is switched before the stacks on it are
// built, and the stacks on a base are taken away before the base goes. A
// stack on a base that changes is rebuilt with it, so none is left on the
// bare directory or on a base that was detached. Pure, apart from resolving
// symlinks in the paths it compares.
import { invalid } from '../../core/errors';
import type { NativeMountRequest } from '../../core/native';
import { inStack } from './declaration';
import { atOrBeneath, comparablePath } from './paths';
import type { PlannedAction } from './plan';

type Relation = 'nested' | 'layer';

interface Node {
  action: PlannedAction;
  target: string;
  paths: string[];
  declared: boolean;
}

function requestOf(a: PlannedAction): Partial<NativeMountRequest> {
  if (a.stack) return a.stack.request;
  try {
    return JSON.parse(a.recorded?.key ?? '{}') as Partial<NativeMountRequest>;
  } catch {
    return {};
  }
}

function nodeOf(a: PlannedAction): Node {
  const r = requestOf(a);
  const layers = [...(r.lower ?? []), ...(r.data ?? []), ...(r.upper !== undefined ? [r.upper] : []), ...(r.work !== undefined ? [r.work] : [])];
  return { action: a, target: comparablePath(a.target), paths: layers.filter((p) => typeof p === 'string').map(comparablePath), declared: a.stack !== undefined };
}

/** How `x` is built on `y`, if it is. */
function relation(x: Node, y: Node): Relation | undefined {
  if (x === y) return undefined;
  if (x.target !== y.target && atOrBeneath(x.target, y.target)) return 'nested';
  return x.paths.some((p) => atOrBeneath(p, y.target)) ? 'layer' : undefined;
}

function changes(a: PlannedAction): boolean {
  return a.action !== 'keep';
}

/** The first cycle among the declared stacks, as the names around it, or undefined. */
function findCycle(nodes: Node[], on: Map<Node, Node[]>): string[] | undefined {
  const state = new Map<Node, 'open' | 'done'>();
  const trail: Node[] = [];
  const visit = (n: Node): string[] | undefined => {
    state.set(n, 'open');
    trail.push(n);
    for (const base of on.get(n) ?? []) {
      if (state.get(base) === 'open') return [...trail.slice(trail.indexOf(base)), base].map((m) => m.action.name);
      if (state.get(base) === undefined) {
        const found = visit(base);
        if (found) return found;
      }
    }
    trail.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of nodes) {
    if (state.get(n) === undefined) {
      const found = visit(n);
      if (found) return found;
    }
  }
  return undefined;
}

const ENOSYS = 38;
const ELOOP = 40;

function what(a: PlannedAction): string {
  return a.action === 'unmount' ? 'unmounted' : a.action === 'mount' ? 'mounted' : 'replaced';
}

/**
 * Orders a plan's actions by the stacks they are built on, in place: every
 * action gets the phase (`level`) of its switch; a stack whose target lies
 * in a stack that changes is taken away first (`takeAway`, an unmount in an
 * earlier phase) and mounted again on the new one; a kept stack whose base
 * changes becomes a replace. Refuses a cycle (ELOOP, naming the stacks)
 * and a rebuild this kernel cannot do atomically (ENOSYS).
 */
export function orderPlan(actions: PlannedAction[], canReplace: () => boolean): void {
  const nodes = actions.map(nodeOf);
  const on = new Map<Node, Array<{ base: Node; how: Relation }>>();
  for (const x of nodes) on.set(x, nodes.flatMap((y) => (relation(x, y) ? [{ base: y, how: relation(x, y) as Relation }] : [])));
  const declared = nodes.filter((n) => n.declared);
  const cycle = findCycle(declared, new Map(declared.map((n) => [n, (on.get(n) ?? []).filter((e) => e.base.declared).map((e) => e.base)])));
  if (cycle) {
    throw invalid('stacks', `the stacks ${cycle.map((n) => `'${n}'`).join(' -> ')} are built on each other in a cycle (a layer or target of each lies in the next one's target); nothing was changed`, ELOOP);
  }

  // A stack on a base that changes changes too, transitively.
  for (let settled = false; !settled; ) {
    settled = true;
    for (const x of declared) {
      for (const { base, how } of on.get(x) ?? []) {
        if (!changes(base.action)) continue;
        const a = x.action;
        const why = how === 'nested' ? `its target lies in '${base.action.name}', which is ${what(base.action)}` : `it is built on '${base.action.name}', which is ${what(base.action)}`;
        if (how === 'nested' && a.action !== 'mount' && !a.takeAway) {
          a.takeAway = { level: 0 };
          a.action = 'replace';
          a.reason = a.reason === 'unchanged' ? why : `${a.reason}; ${why}`;
          settled = false;
        } else if (a.action === 'keep') {
          if (!canReplace()) {
            throw inStack(
              invalid('', `${why}, so it must be rebuilt, which needs move_mount with MOVE_MOUNT_BENEATH (Linux 6.5+) and \`lowerdir+\` (6.8+); this kernel lacks them, so nothing was changed`, ENOSYS, a.target),
              a.stack!.index,
              a.name,
            );
          }
          a.action = 'replace';
          a.reason = why;
          settled = false;
        }
      }
    }
  }

  // The steps: S (build and switch) for each stack mounted or replaced, U for each unmount and take-away.
  type Step = { node: Node; kind: 'S' | 'U'; after: Step[] };
  const sStep = new Map<Node, Step>();
  const uStep = new Map<Node, Step>();
  for (const n of nodes) {
    const a = n.action;
    if (a.action === 'mount' || a.action === 'replace') sStep.set(n, { node: n, kind: 'S', after: [] });
    if (a.action === 'unmount' || a.takeAway) uStep.set(n, { node: n, kind: 'U', after: [] });
  }
  for (const n of nodes) {
    const u = uStep.get(n);
    const s = sStep.get(n);
    if (u && s) s.after.push(u);
    for (const { base } of on.get(n) ?? []) {
      const baseS = sStep.get(base);
      const baseU = uStep.get(base);
      // Built after the base is in place (or gone).
      if (s && baseS) s.after.push(baseS);
      if (s && baseU) s.after.push(baseU);
      // Taken away before the base changes.
      if (u && baseS) baseS.after.push(u);
      if (u && baseU) baseU.after.push(u);
    }
  }
  const level = new Map<Step, number>();
  const open = new Set<Step>();
  const depth = (st: Step): number => {
    const known = level.get(st);
    if (known !== undefined) return known;
    if (open.has(st)) {
      throw invalid('stacks', `the stacks ${[...open].map((o) => `'${o.node.action.name}'`).join(', ')} must each change before the other; nothing was changed`, ELOOP);
    }
    open.add(st);
    const d = st.after.reduce((m, p) => Math.max(m, depth(p) + 1), 0);
    open.delete(st);
    level.set(st, d);
    return d;
  };
  for (const n of nodes) {
    const a = n.action;
    const s = sStep.get(n);
    const u = uStep.get(n);
    if (s) a.level = depth(s);
    if (u && a.takeAway) a.takeAway.level = depth(u);
    else if (u) a.level = depth(u);
    // A target inside a stack that changes may only appear, or become another mount, once that stack is switched.
    if (s && (on.get(n) ?? []).some((e) => e.how === 'nested' && (sStep.has(e.base) || uStep.has(e.base)))) a.seeAtSwitch = true;
    const enclosing = (on.get(n) ?? []).filter((e) => e.how === 'nested' && e.base.declared).sort((p, q) => q.base.target.length - p.base.target.length)[0];
    if (enclosing) a.inside = enclosing.base.action;
  }
  for (const a of actions) {
    if (a.seen.error === undefined || a.seeAtSwitch) continue;
    const outer = a.inside;
    if (outer) a.seen.error.message += ` (the target must be a directory in the merged view of stack '${outer.name}', mounted on '${outer.target}')`;
    throw inStack(a.seen.error, a.stack!.index, a.name);
  }
}

/** The declared stacks whose seen target failed but may appear once the stack holding it is mounted. */
export function nestedTargets(targets: string[]): Set<string> {
  const comparable = targets.map(comparablePath);
  return new Set(targets.filter((_, i) => comparable.some((o, j) => j !== i && o !== comparable[i] && atOrBeneath(comparable[i] as string, o))));
}
