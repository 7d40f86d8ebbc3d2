// Checks the two workers' outputs: the counter is exact, fencing tokens strictly increase in holder order, and no
// critical section started before the previous holder's ended.
import { readFileSync } from 'node:fs';

const [counterFile, expectedArg, ...outputs] = process.argv.slice(2);
const expected = Number(expectedArg);
const sections = outputs.flatMap((file) => JSON.parse(readFileSync(file, 'utf8')));
const counter = Number(readFileSync(counterFile, 'utf8'));
const fail = (message) => {
  console.error(`consumer-test: FAIL: ${message}`);
  process.exit(1);
};
if (counter !== expected) fail(`counter ${counter}, expected ${expected}`);
if (sections.length !== expected) fail(`${sections.length} critical sections, expected ${expected}`);
sections.sort((a, b) => (BigInt(a.token) < BigInt(b.token) ? -1 : 1));
for (let i = 1; i < sections.length; i++) {
  if (BigInt(sections[i].token) <= BigInt(sections[i - 1].token)) fail(`fencing token repeated: ${sections[i].token}`);
  if (sections[i].enter < sections[i - 1].exit) fail(`holders overlapped at token ${sections[i].token}`);
}
console.log(`consumer-test: ${expected} increments by 2 processes, exact count, no overlap, tokens increasing`);
