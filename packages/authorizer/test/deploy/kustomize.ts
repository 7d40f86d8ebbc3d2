/*
 * A small `kubectl kustomize` for this repository's kustomizations, so that CI validates the rendered manifests
 * without kubectl: resources (files and kustomization folders), namespace, labels (metadata only), images,
 * strategic-merge patches of maps (the ConfigMap overlay) and configMapGenerator (files). The name hash kustomize
 * appends to a generated ConfigMap is left out (`withoutHash` strips kustomize's for comparison). Anything else in a
 * kustomization makes it throw, so a new feature cannot be silently ignored. deploy-render.int.test.ts compares its
 * output with kubectl's where kubectl is installed.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

// Manifests are untyped YAML; every access below is explicit.
export type Doc = Record<string, any>;

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'labels',
  'resources',
  'patches',
  'images',
  'configMapGenerator',
]);

export function readDocs(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return list.map((doc) => doc.toJS() as Doc).filter((doc) => doc !== null && doc !== undefined);
}

/** Renders the kustomization in `dir` (the folder holding kustomization.yaml). */
export function kustomize(dir: string): Doc[] {
  const k = readDocs(path.join(dir, 'kustomization.yaml'))[0]!;
  for (const key of Object.keys(k)) {
    if (!SUPPORTED.has(key)) throw new Error(`${dir}: kustomization field "${key}" is not supported by this renderer`);
  }
  let docs: Doc[] = [];
  for (const ref of (k['resources'] ?? []) as string[]) {
    const full = path.resolve(dir, ref);
    docs.push(...(statSync(full).isDirectory() ? kustomize(full) : readDocs(full)));
  }
  for (const generator of (k['configMapGenerator'] ?? []) as Doc[]) {
    const data: Record<string, string> = {};
    for (const entry of (generator['files'] ?? []) as string[]) {
      const [key, file] = entry.includes('=') ? entry.split('=', 2) : [path.basename(entry), entry];
      data[key!] = readFileSync(path.resolve(dir, file!), 'utf8');
    }
    docs.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator['name'] }, data });
  }
  for (const patch of (k['patches'] ?? []) as Doc[]) {
    if (typeof patch['path'] !== 'string') throw new Error(`${dir}: only file patches are supported`);
    const target = patch['target'] as Doc | undefined;
    if (target !== undefined) {
      // A JSON 6902 patch (a list of operations) applied to the object the target names.
      const parsed = parseAllDocuments(readFileSync(path.resolve(dir, patch['path']), 'utf8')).map((d) => d.toJS() as unknown);
      const ops = parsed[0];
      if (parsed.length !== 1 || !Array.isArray(ops)) throw new Error(`${dir}: patch ${patch['path']} with a target must be a list of operations`);
      const object = docs.find((d) => d['kind'] === target['kind'] && d['metadata']?.['name'] === target['name']);
      if (!object) throw new Error(`${dir}: patch ${patch['path']} matches nothing`);
      const patched = applyJsonPatch(structuredClone(object), ops as Doc[], `${dir}: patch ${patch['path']}`);
      docs = docs.map((d) => (d === object ? patched : d));
      continue;
    }
    for (const p of readDocs(path.resolve(dir, patch['path']))) {
      const target = docs.find((d) => d['kind'] === p['kind'] && d['metadata']?.['name'] === p['metadata']?.['name']);
      if (!target) throw new Error(`${dir}: patch ${patch['path']} matches nothing`);
      docs = docs.map((d) => (d === target ? mergeMaps(d, p) : d));
    }
  }
  for (const image of (k['images'] ?? []) as Doc[]) {
    for (const d of docs) {
      for (const c of podSpecOf(d)?.['containers'] ?? []) {
        const [name, tag] = splitImage(c['image']);
        if (name !== image['name']) continue;
        c['image'] = `${image['newName'] ?? name}:${image['newTag'] ?? tag ?? 'latest'}`;
      }
    }
  }
  for (const group of (k['labels'] ?? []) as Doc[]) {
    if (group['includeSelectors'] === true || group['includeTemplates'] === true) {
      throw new Error(`${dir}: labels with includeSelectors/includeTemplates are not supported`);
    }
    for (const d of docs) d['metadata'] = { ...d['metadata'], labels: { ...d['metadata']?.['labels'], ...group['pairs'] } };
  }
  if (typeof k['namespace'] === 'string') {
    for (const d of docs) d['metadata'] = { ...d['metadata'], namespace: k['namespace'] };
  }
  return docs;
}

export function podSpecOf(doc: Doc): Doc | undefined {
  return doc['spec']?.['template']?.['spec'];
}

/** kustomize's generated ConfigMap names end in `-<10-character hash>`; drop it, in names and references. */
export function withoutHash(docs: Doc[], generated: readonly string[]): Doc[] {
  const text = JSON.stringify(docs);
  return JSON.parse(
    generated.reduce((t, name) => t.replace(new RegExp(`"${name}-[a-z0-9]{10}"`, 'g'), `"${name}"`), text),
  ) as Doc[];
}

function splitImage(image: string): [string, string | undefined] {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? [image.slice(0, at), image.slice(at + 1)] : [image, undefined];
}

function mergeMaps(base: Doc, patch: Doc): Doc {
  const out: Doc = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] =
      value !== null && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? mergeMaps(current, value)
        : value;
  }
  return out;
}

/** RFC 6902 `add`, `replace` and `remove` on JSON-pointer paths (`/-` appends to a list): what the overlays use. */
function applyJsonPatch(doc: Doc, ops: readonly Doc[], where: string): Doc {
  for (const op of ops) {
    const keys = String(op['path']).split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    if (last === undefined) throw new Error(`${where}: empty path`);
    let parent: any = doc;
    for (const key of keys) {
      parent = parent?.[key];
      if (parent === undefined) throw new Error(`${where}: ${op['path']} does not exist`);
    }
    if (op['op'] === 'add' && Array.isArray(parent)) {
      if (last === '-') parent.push(op['value']);
      else parent.splice(Number(last), 0, op['value']);
    } else if (op['op'] === 'add' || op['op'] === 'replace') {
      if (op['op'] === 'replace' && !(last in parent)) throw new Error(`${where}: ${op['path']} does not exist`);
      parent[last] = op['value'];
    } else if (op['op'] === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else {
      throw new Error(`${where}: operation ${String(op['op'])} is not supported by this renderer`);
    }
  }
  return doc;
}
