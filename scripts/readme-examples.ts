/**
 * Runs the README's curl examples (the block after "Then, in another terminal") against a running Catraca and checks
 * each answer against the `# →` lines under it: status line, headers, JSON body. The account and transaction ids are
 * suffixed with a random tag so that the check can run again on the same stack.
 *
 *   npx tsx scripts/readme-examples.ts [base URL, default http://localhost:8080]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const base = new URL(process.argv[2] ?? 'http://localhost:8080');
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const start = readme.indexOf('```sh', readme.indexOf('Then, in another terminal'));
const block = readme.slice(start + '```sh'.length, readme.indexOf('```', start + 5));
const tag = randomBytes(3).toString('hex');
const retag = (text: string) => text.replace(/\b(acc|tx)-(\d+)\b/g, `$1-$2-${tag}`);

interface Example {
  command: string;
  expected: string[];
}

// A command is a `curl` line and its `\` continuations; the `# →` line and its indented `#` lines are its answer.
const examples: Example[] = [];
let current: Example | undefined;
let inExpectation = false;
for (const line of block.split('\n')) {
  if (line.startsWith('curl ')) {
    current = { command: line, expected: [] };
    examples.push(current);
    inExpectation = false;
  } else if (current && current.command.endsWith('\\') && !line.startsWith('#')) {
    current.command = `${current.command.slice(0, -1)} ${line.trim()}`;
  } else if (current && line.startsWith('# →')) {
    current.expected.push(line.slice(3).trim());
    inExpectation = true;
  } else if (current && inExpectation && /^#\s{2,}\S/.test(line)) {
    current.expected.push(line.slice(1).trim());
  } else {
    inExpectation = false;
  }
}
if (examples.length < 5) throw new Error(`README: found only ${examples.length} curl examples`);

/** Parses curl output: with -i a status line and headers first, then the body. */
function parseReply(out: string): { status?: string; headers: Map<string, string>; body: string } {
  const headers = new Map<string, string>();
  if (!out.startsWith('HTTP/')) return { headers, body: out.trim() };
  const [head, ...rest] = out.split(/\r?\n\r?\n/);
  const [status, ...lines] = head!.split(/\r?\n/);
  for (const l of lines) {
    const at = l.indexOf(':');
    headers.set(l.slice(0, at).trim().toLowerCase(), l.slice(at + 1).trim());
  }
  return { status: status!.trim(), headers, body: rest.join('\n\n').trim() };
}

function sameJson(actual: string, expected: string): boolean {
  try {
    return isDeepStrictEqual(JSON.parse(actual), JSON.parse(expected));
  } catch {
    return false;
  }
}

let failures = 0;
for (const example of examples) {
  const command = retag(example.command).replaceAll('localhost:8080', base.host);
  const out = execFileSync('bash', ['-c', command], { encoding: 'utf8', timeout: 30_000 });
  const reply = parseReply(out);
  const problems: string[] = [];
  for (const raw of example.expected.map(retag)) {
    // "{json} with Header: value" or "HTTP/1.1 200 OK" or "Header: value" or "{json}".
    const [json, also] = raw.split(/ with /);
    for (const part of [json!, ...(also === undefined ? [] : [also])]) {
      if (part.startsWith('HTTP/')) {
        if (reply.status?.replace(/^HTTP\/[\d.]+/, '') !== part.replace(/^HTTP\/[\d.]+/, '')) problems.push(`status ${reply.status} ≠ ${part}`);
      } else if (part.startsWith('{')) {
        if (!sameJson(reply.body, part)) problems.push(`body ${reply.body} ≠ ${part}`);
      } else if (/^[\w-]+: /.test(part)) {
        const [name, value] = [part.slice(0, part.indexOf(':')).toLowerCase(), part.slice(part.indexOf(':') + 1).trim()];
        if (reply.headers.get(name) !== value) problems.push(`header ${name}: ${reply.headers.get(name)} ≠ ${value}`);
      } else {
        problems.push(`cannot check expectation "${part}"`);
      }
    }
  }
  if (example.expected.length === 0 && !reply.body.startsWith('{')) problems.push(`no JSON answer: ${reply.body}`);
  failures += problems.length > 0 ? 1 : 0;
  console.log(`${problems.length === 0 ? 'ok  ' : 'FAIL'} ${command.slice(0, 110)}${command.length > 110 ? '…' : ''}`);
  for (const p of problems) console.log(`       ${p}`);
}
console.log(`${examples.length - failures}/${examples.length} README examples answered as documented through ${base.origin}`);
process.exit(failures === 0 ? 0 : 1);
