/**
 * CPU accounting from /proc (Linux): the CPU time each component of the benchmark used during a run — the load
 * generator, the authorizer replicas, PostgreSQL, ZooKeeper, Redis, nginx — and how much of the machine the rest of
 * the world (other engineers' processes on a shared box) took meanwhile.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export const GROUPS = ['load generator', 'authorizer', 'PostgreSQL', 'ZooKeeper', 'Redis', 'nginx'] as const;
export type Group = (typeof GROUPS)[number];

interface Proc {
  pid: number;
  ppid: number;
  ticks: number;
}

export interface CpuSnapshot {
  at: number;
  byPid: Map<number, { group: Group; ticks: number }>;
  machineBusy: number;
  machineTotal: number;
}

export interface CpuUsage {
  wallS: number;
  /** CPU seconds per component. */
  seconds: Record<Group, number>;
  /** CPU seconds used by every other process of the machine. */
  othersS: number;
  /** Cores of the machine. */
  cores: number;
}

let ticksPerSecond: number | undefined;
function hz(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: parse after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function groupOf(pid: number, command: string): Group | undefined {
  if (pid === process.pid) return 'load generator';
  if (command.includes('authorizer/dist/main.js')) return 'authorizer';
  if (command.startsWith('postgres') || command.includes('/bin/postgres')) return 'PostgreSQL';
  if (command.includes('java') && command.includes('zookeeper')) return 'ZooKeeper';
  if (command.includes('redis-server')) return 'Redis';
  if (command.includes('nginx')) return 'nginx';
  return undefined;
}

function machine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const busy = user! + nice! + system! + irq! + softirq! + steal!;
  return { busy, total: busy + idle! + iowait! };
}

/**
 * The benchmark's processes: this process and its descendants, plus the process trees rooted at `extraRoots`
 * (PostgreSQL's postmaster is daemonized by pg_ctl, so it is not our descendant).
 */
export function snapshot(extraRoots: readonly number[] = []): CpuSnapshot {
  const procs: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const proc = readProc(pid);
    if (proc) procs.push(proc);
  }
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const mine = new Set<number>();
  const stack = [process.pid, ...extraRoots];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    if (mine.has(pid)) continue;
    mine.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  const byPid = new Map<number, { group: Group; ticks: number }>();
  for (const p of procs) {
    if (!mine.has(p.pid)) continue;
    const group = groupOf(p.pid, cmdline(p.pid));
    if (group) byPid.set(p.pid, { group, ticks: p.ticks });
  }
  const m = machine();
  return { at: performance.now(), byPid, machineBusy: m.busy, machineTotal: m.total };
}

/** The pid of the process whose command line contains every one of `parts` (e.g. a postmaster's `-p <port>`). */
export function findProcess(...parts: string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const command = cmdline(pid);
    if (parts.every((part) => command.includes(part))) return pid;
  }
  return undefined;
}

export function usage(before: CpuSnapshot, after: CpuSnapshot): CpuUsage {
  const perSecond = hz();
  const seconds = Object.fromEntries(GROUPS.map((g) => [g, 0])) as Record<Group, number>;
  let mineTicks = 0;
  for (const [pid, now] of after.byPid) {
    const delta = now.ticks - (before.byPid.get(pid)?.ticks ?? 0);
    seconds[now.group] += delta / perSecond;
    mineTicks += delta;
  }
  const cores = Math.max(1, (after.machineTotal - before.machineTotal) / ((after.at - before.at) / 1000) / perSecond);
  return {
    wallS: (after.at - before.at) / 1000,
    seconds,
    othersS: Math.max(0, after.machineBusy - before.machineBusy - mineTicks) / perSecond,
    cores: Math.round(cores),
  };
}
