/** Phase statistics and the printed/markdown results of a chaos run. */
import type { Attempt, CreditOp, DebitOp, ReversalOp } from './load.js';
import type { Verdict } from './invariants.js';

export type PhaseName = 'before' | 'during' | 'after';

export interface PhaseStats {
  phase: PhaseName;
  /** HTTP attempts sent in the phase (retries included). */
  requests: number;
  /** Share of attempts answered with a decision (00, 51, credited, 07 reversed): anything else is unavailable. */
  availability: number;
  /** p99 latency of one attempt, ms (timeouts count at their client timeout). */
  p99Ms: number;
  /** p99 of an operation from first send to final answer, retries included, for operations started in the phase. */
  p99OpMs: number;
  /** Attempts by outcome, e.g. `00:812 51:40 07/deadline_exceeded:3 transport/client timeout:2`. */
  mix: string;
}

export interface ScenarioResult {
  number: number;
  title: string;
  skipped?: string;
  /** What happened during the fault (e.g. which replica was paused, how long), for the report. */
  facts: string[];
  phases: PhaseStats[];
  verdict?: Verdict;
  durationMs: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Statistics of the attempts sent in [from, to) and the operations started then. */
export function phaseStats(
  phase: PhaseName,
  from: number,
  to: number,
  attempts: readonly Attempt[],
  ops: Iterable<DebitOp | CreditOp | ReversalOp>,
): PhaseStats {
  const inPhase = attempts.filter((a) => a.sentAt >= from && a.sentAt < to);
  // A purchase refused because a reversal came first is a final answer, not unavailability.
  const isDecision = (a: Attempt) =>
    a.outcome === '00' || a.outcome === '51' || a.outcome === 'credited' || (a.outcome === '07' && a.detail === 'reversed');
  const decided = inPhase.filter(isDecision).length;
  const mix = new Map<string, number>();
  for (const a of inPhase) {
    const key = a.outcome === '00' || a.outcome === '51' || a.outcome === 'credited' ? a.outcome : `${a.outcome}/${a.detail}`;
    mix.set(key, (mix.get(key) ?? 0) + 1);
  }
  const opLatencies: number[] = [];
  for (const op of ops) if (op.startedAt >= from && op.startedAt < to && op.endedAt > 0) opLatencies.push(op.endedAt - op.startedAt);
  return {
    phase,
    requests: inPhase.length,
    availability: inPhase.length === 0 ? Number.NaN : decided / inPhase.length,
    p99Ms: percentile(inPhase.map((a) => a.latencyMs).sort((a, b) => a - b), 0.99),
    p99OpMs: percentile(opLatencies.sort((a, b) => a - b), 0.99),
    mix: [...mix.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '),
  };
}

const pct = (x: number): string => (Number.isNaN(x) ? '–' : `${(x * 100).toFixed(x < 0.9995 ? 1 : 2)}%`);
const ms = (x: number): string => (Number.isNaN(x) ? '–' : x >= 1_000 ? `${(x / 1_000).toFixed(1)} s` : `${Math.round(x)} ms`);

export function verdictText(verdict: Verdict | undefined): string {
  if (!verdict) return '–';
  return verdict.ok ? 'PASS' : `FAIL (${verdict.violations.length})`;
}

/** The results as a markdown table: one row per scenario and phase. */
export function markdownTable(results: readonly ScenarioResult[]): string {
  const lines = [
    '| # | scenario | phase | requests | availability | p99 attempt | p99 op (with retries) | invariants |',
    '|---|---|---|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    if (r.skipped) {
      lines.push(`| ${r.number} | ${r.title} | – | – | – | – | – | skipped: ${r.skipped} |`);
      continue;
    }
    r.phases.forEach((p, i) => {
      lines.push(
        `| ${i === 0 ? r.number : ''} | ${i === 0 ? r.title : ''} | ${p.phase} | ${p.requests} | ${pct(p.availability)} | ` +
          `${ms(p.p99Ms)} | ${ms(p.p99OpMs)} | ${i === 0 ? verdictText(r.verdict) : ''} |`,
      );
    });
  }
  return lines.join('\n');
}

/** One scenario as printed to the terminal: phases with their outcome mix, facts, verdict and violations. */
export function scenarioText(r: ScenarioResult): string {
  const lines = [`── ${r.number}. ${r.title} (${ms(r.durationMs)})`];
  if (r.skipped) return [...lines, `   skipped: ${r.skipped}`].join('\n');
  for (const fact of r.facts) lines.push(`   ${fact}`);
  for (const p of r.phases) {
    lines.push(
      `   ${p.phase.padEnd(6)} requests ${String(p.requests).padStart(6)}  availability ${pct(p.availability).padStart(7)}  ` +
        `p99 ${ms(p.p99Ms).padStart(7)}  p99 op ${ms(p.p99OpMs).padStart(7)}  [${p.mix}]`,
    );
  }
  const v = r.verdict;
  if (v) {
    lines.push(
      `   invariants: ${verdictText(v)} — ${v.checked.accounts} accounts, ${v.checked.records} records, ` +
        `${v.checked.ledgerEntries} ledger entries, ${v.checked.approvals} approvals, ${v.checked.credits} credits, ${v.checked.reversals} reversals`,
    );
    for (const violation of v.violations.slice(0, 20)) lines.push(`     ✗ ${violation}`);
    if (v.violations.length > 20) lines.push(`     … and ${v.violations.length - 20} more`);
    for (const note of v.notes) lines.push(`     note: ${note}`);
  }
  return lines.join('\n');
}
