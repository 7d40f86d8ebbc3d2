// The Kubernetes manifests as a cluster would receive them: `kubectl kustomize`-equivalent rendering of the base and
// every overlay (test/deploy/kustomize.ts, compared with kubectl's own output where kubectl is installed), then every
// rendered object validated against the Kubernetes API's JSON schemas (kubernetes-models, the OpenAPI schemas of
// Kubernetes 1.3x) and KEDA's CRD schema (@kubernetes-models/keda). Runs in CI without kubectl or a cluster.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kustomize, withoutHash, type Doc } from './deploy/kustomize.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const deployDir = path.join(root, 'deploy');
const overlays = readdirSync(path.join(deployDir, 'overlays')).map((name) => `overlays/${name}`);
const targets = ['base', ...overlays];
const GENERATED = ['catraca-gateway-nginx'];

/** The schema-checked model of each kind the manifests may contain; any other kind fails the test. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

function validate(doc: Doc): void {
  const Model = MODELS[`${doc['apiVersion']}/${doc['kind']}`];
  if (Model === undefined) throw new Error(`no schema for ${doc['apiVersion']} ${doc['kind']}`);
  new Model(doc).validate();
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

describe('rendered manifests (kustomize-equivalent) pass the Kubernetes and KEDA schemas', () => {
  it.each(targets)('%s: every object validates', (target) => {
    const docs = kustomize(path.join(deployDir, target));
    expect(docs.length).toBeGreaterThanOrEqual(8);
    for (const doc of docs) {
      expect(() => validate(doc), `${target}: ${doc['kind']}/${doc['metadata']?.['name']}`).not.toThrow();
      expect(doc['metadata']['namespace']).toBe('catraca');
    }
  });

  it('the validator does refuse a broken manifest (a named port where a number belongs, a bad PDB)', () => {
    const docs = kustomize(path.join(deployDir, 'base'));
    const deployment = structuredClone(docs.find((d) => d['kind'] === 'Deployment')!);
    deployment['spec']['template']['spec']['containers'][0]['ports'][0]['containerPort'] = 'http';
    expect(() => validate(deployment)).toThrow(/containerPort/);
    const pdb = structuredClone(docs.find((d) => d['kind'] === 'PodDisruptionBudget')!);
    pdb['spec']['selector'] = 'everything';
    expect(() => validate(pdb)).toThrow(/selector/);
    const scaled = structuredClone(docs.find((d) => d['kind'] === 'ScaledObject')!);
    delete scaled['spec']['scaleTargetRef'];
    expect(() => validate(scaled)).toThrow(/scaleTargetRef/);
  });

  it.each(targets)('%s: kubectl kustomize renders the same objects (where kubectl is installed)', (target, ctx) => {
    if (!hasKubectl()) {
      console.log('SKIP kubectl comparison: kubectl not installed (the schema checks above still ran)');
      ctx.skip();
      return;
    }
    const dir = path.join(deployDir, target);
    const theirs = parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 }));
    const key = (d: Doc) => `${d['kind']}/${d['metadata']['name']}`;
    const mine = new Map(withoutHash(kustomize(dir), GENERATED).map((d) => [key(d), d]));
    const kubectl = new Map(withoutHash(theirs.map((d) => d.toJS() as Doc), GENERATED).map((d) => [key(d), d]));
    expect([...mine.keys()].sort()).toEqual([...kubectl.keys()].sort());
    for (const [name, doc] of mine) expect(isDeepStrictEqual(doc, kubectl.get(name)), name).toBe(true);
  });
});
