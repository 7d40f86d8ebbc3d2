import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const src = fileURLToPath(new URL('../', import.meta.url));

/** Every bare module an entry loads, following its relative imports (type-only imports load nothing). */
function bareImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?from\s+'([^']+)'/gms)) {
      const spec = match[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else bare.add(spec);
    }
  };
  visit(resolve(src, entry));
  return bare;
}

describe('the dynamodb subpath', () => {
  test('the root entry never loads the AWS SDK; @catraca/coordination/dynamodb does', () => {
    const root = [...bareImports('index.ts')];
    expect(root.filter((m) => m.startsWith('@aws-sdk/'))).toEqual([]);
    expect([...bareImports('dynamodb/index.ts')]).toContain('@aws-sdk/client-dynamodb');
  });

  test('package.json exports ./dynamodb from the built dynamodb entry', () => {
    const manifest = JSON.parse(readFileSync(resolve(src, '../package.json'), 'utf8'));
    expect(manifest.exports['./dynamodb']).toEqual({ types: './dist/dynamodb/index.d.ts', default: './dist/dynamodb/index.js' });
    expect(manifest.peerDependenciesMeta?.['@aws-sdk/client-dynamodb']?.optional).toBe(true);
  });
});
