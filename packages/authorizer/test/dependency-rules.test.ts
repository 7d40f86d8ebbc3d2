import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The workspace's shape (STYLE §1, §3): coordination and cache depend on no workspace package; the authorizer depends
 * on both through their public entry only; nothing depends on the authorizer; tsconfig references mirror package.json.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const packages = ['coordination', 'cache', 'authorizer'] as const;
const allowed: Record<(typeof packages)[number], string[]> = {
  coordination: [],
  cache: [],
  authorizer: ['@catraca/coordination', '@catraca/cache'],
};
/** The `exports` map of each package: its sealed entry, plus one subpath per backend so that a process loads only the
 * client of the backend it uses (`@catraca/coordination/zookeeper` never loads ioredis, `/redis` never
 * node-zookeeper-client, only `/dynamodb` loads the AWS SDK). An import may name a package or one of these subpaths, nothing deeper. */
const entries: Record<(typeof packages)[number], string[]> = {
  coordination: ['.', './local', './redis', './zookeeper', './dynamodb'],
  cache: ['.'],
  authorizer: ['.'],
};
const importable = (spec: string): boolean =>
  packages.some((name) => entries[name].some((entry) => spec === `@catraca/${name}${entry.slice(1)}`));
const packageOf = (spec: string): string => spec.split('/').slice(0, 2).join('/');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') ? [file] : [];
  });
}

function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
}

const json = (file: string) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));

describe('dependency rules', () => {
  for (const name of packages) {
    const dir = path.join(root, 'packages', name);

    it(`${name}: imports only the workspace packages it may, through their public entry`, () => {
      const offences: string[] = [];
      for (const file of sourceFiles(path.join(dir, 'src'))) {
        for (const spec of specifiers(file)) {
          const where = `${path.relative(root, file)}: ${spec}`;
          if (spec.startsWith('@catraca/') && (!allowed[name].includes(packageOf(spec)) || !importable(spec))) {
            offences.push(where);
          }
          if (spec.startsWith('.') && !path.resolve(path.dirname(file), spec).startsWith(path.join(dir, 'src'))) {
            offences.push(where);
          }
        }
      }
      expect(offences).toEqual([]);
    });

    it(`${name}: package.json and tsconfig references agree, and exports only its entries`, () => {
      const manifest = json(`packages/${name}/package.json`);
      const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies }).filter((d) =>
        d.startsWith('@catraca/'),
      );
      expect(deps.sort()).toEqual([...allowed[name]].sort());
      const references = ((json(`packages/${name}/tsconfig.json`).references ?? []) as Array<{ path: string }>).map(
        (r) => `@catraca/${path.basename(r.path)}`,
      );
      expect(references.sort()).toEqual([...allowed[name]].sort());
      expect(Object.keys(manifest.exports)).toEqual(entries[name]);
    });
  }
});
