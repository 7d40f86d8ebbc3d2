#!/usr/bin/env node
// Prints the mutation score per file from StrykerJS's JSON report (reports/mutation/mutation.json), worst first,
// and the surviving mutants of each file with their line, so a run ends with what to look at.
import { readFileSync } from 'node:fs';

const path = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? 'reports/mutation/mutation.json';
const report = JSON.parse(readFileSync(path, 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = [];
for (const [file, { mutants }] of Object.entries(report.files)) {
  const detected = mutants.filter((m) => DETECTED.has(m.status)).length;
  const undetected = mutants.filter((m) => UNDETECTED.has(m.status));
  const valid = detected + undetected.length;
  if (valid === 0) continue;
  rows.push({ file, score: (100 * detected) / valid, detected, valid, undetected });
}
rows.sort((a, b) => a.score - b.score || a.file.localeCompare(b.file));
const all = rows.reduce((sum, r) => ({ detected: sum.detected + r.detected, valid: sum.valid + r.valid }), {
  detected: 0,
  valid: 0,
});
const verbose = process.argv.includes('--survivors');
for (const r of rows) {
  console.log(`${r.score.toFixed(1).padStart(6)}%  ${String(r.detected).padStart(4)}/${String(r.valid).padEnd(4)} ${r.file}`);
  if (verbose) {
    for (const m of r.undetected) {
      const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80);
      console.log(`          ${m.status} L${m.location.start.line} ${m.mutatorName}: ${replacement}`);
    }
  }
}
console.log(`${((100 * all.detected) / Math.max(1, all.valid)).toFixed(1).padStart(6)}%  ${all.detected}/${all.valid} all files`);
