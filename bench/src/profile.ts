/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time by component (our packages, each npm
 * package, Node internals, GC, idle) and the hottest functions.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Share of the wall time the main thread was idle (waiting on I/O). */
  idleShare: number;
  /** Self time by component, busy time only (idle excluded), largest first. */
  components: { name: string; ms: number; share: number }[];
  functions: { name: string; where: string; ms: number; share: number }[];
  /**
   * Busy time charged to the first library or application frame up the stack (our packages or an npm package), so
   * that native socket writes and Node internals are charged to whoever called them.
   */
  callers: { name: string; ms: number; share: number }[];
}

const isLibrary = (component: string): boolean =>
  !component.startsWith('(') && !component.startsWith('node:') && component !== '(native)';

/** The component a script belongs to: `@catraca/<pkg>`, an npm package, `node:<module>` or a V8 pseudo-node. */
export function componentOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm) return pnpm[1]!;
  const nodeModules = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nodeModules) return nodeModules[1]!;
  const workspace = /\/packages\/([^/]+)\//.exec(url);
  if (workspace) return `@catraca/${workspace[1]}`;
  if (url.startsWith('node:')) return url.split('/')[0]!.replace(/^(node:internal).*$/, '$1');
  return url;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const callerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!.callFrame;
      const component = componentOf(frame.url, frame.functionName);
      if (isLibrary(component)) return component;
    }
    const frame = byId.get(id)!.callFrame;
    return componentOf(frame.url, frame.functionName);
  };
  const callers = new Map<string, number>();
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const totalUs = profile.endTime - profile.startTime;
  let idleUs = 0;
  const components = new Map<string, number>();
  const functions = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const component = componentOf(frame.url, frame.functionName);
    components.set(component, (components.get(component) ?? 0) + us);
    const caller = callerOf(id);
    callers.set(caller, (callers.get(caller) ?? 0) + us);
    const where = frame.url === '' ? component : `${component}:${frame.url.split('/').pop()}:${frame.lineNumber + 1}`;
    const key = `${frame.functionName}@${where}`;
    const entry = functions.get(key) ?? { name: frame.functionName || '(anonymous)', where, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  return {
    totalMs: totalUs / 1000,
    idleShare: idleUs / Math.max(1, totalUs),
    components: [...components]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs })),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: f.us / 1000, share: f.us / busyUs })),
    callers: [...callers]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busyUs })),
  };
}
