// Checks the deployment files (deploy/**, docker-compose.yml, Dockerfile) against the service they deploy:
// every manifest parses, selectors match pod labels, probe paths answer 200 in a real (embedded) runtime, every
// environment variable is one the service reads, and the configuration they set passes the service's own schema.
// No Docker engine and no Kubernetes cluster are needed: `docker-compose config -q`, `kubectl kustomize` and
// `nginx -t` run when those binaries are installed, and print a SKIP line otherwise.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { configSchema } from '../src/config.js';
import { authorize, call, createAccount, embeddedRuntime } from './helpers.js';

// Manifests are untyped YAML; `any` keeps the field walks readable, and every check below is explicit.
type Doc = Record<string, any>;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const deployDir = path.join(root, 'deploy');
const baseDir = path.join(deployDir, 'base');
const configKeys = new Set(Object.keys(configSchema.shape));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return /\.ya?ml$/.test(entry.name) ? [full] : [];
  });
}

function readDocs(file: string): Doc[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${path.relative(root, file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return list.map((doc) => doc.toJS() as Doc).filter((doc) => doc !== null && doc !== undefined);
}

function which(binary: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Files a kustomization refers to (resources, patches), relative to its folder. */
function kustomizationRefs(file: string): string[] {
  const k = readDocs(file)[0]!;
  const resources: string[] = k['resources'] ?? [];
  const patches: string[] = (k['patches'] ?? []).flatMap((p: Doc) => (typeof p['path'] === 'string' ? [p['path']] : []));
  return [...resources, ...patches];
}

const isSubset = (small: Record<string, string>, big: Record<string, string>) =>
  Object.keys(small).length > 0 && Object.entries(small).every(([k, v]) => big[k] === v);

// The base, as `kubectl apply -k deploy/base` would take it (only the files its kustomization lists).
const baseDocs = kustomizationRefs(path.join(baseDir, 'kustomization.yaml')).flatMap((ref) => readDocs(path.join(baseDir, ref)));
const ofKind = (kind: string) => baseDocs.filter((d) => d['kind'] === kind);
const deployment = ofKind('Deployment').find((d) => d['metadata']['name'] === 'catraca-authorizer') ?? {};
const podSpec: Doc = deployment['spec']?.['template']?.['spec'] ?? {};
const podLabels: Record<string, string> = deployment['spec']?.['template']?.['metadata']?.['labels'] ?? {};
const container: Doc = podSpec['containers']?.[0] ?? {};
const configMap = ofKind('ConfigMap').find((d) => d['metadata']['name'] === 'catraca-authorizer-config') ?? {};
const service = ofKind('Service').find((d) => d['metadata']['name'] === 'catraca-authorizer') ?? {};
const scaledObject = ofKind('ScaledObject')[0] ?? {};

const fakeSecrets = {
  AUTHORIZE_TOKENS: 'authorize-token-for-tests-0001',
  ADMIN_TOKENS: 'admin-token-for-tests-000000001',
  POSTGRES_URL: 'postgres://catraca:secret@postgres:5432/catraca',
  MONGODB_URI: 'mongodb://mongodb:27017/?replicaSet=rs0',
  REDIS_URL: 'redis://catraca:secret@redis-master:6379',
};

describe('deploy/: every manifest', () => {
  it('parses, and every kustomization lists only files that exist', () => {
    const files = yamlFiles(deployDir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(() => readDocs(file), path.relative(root, file)).not.toThrow();
    const kustomizations = files.filter((f) => path.basename(f) === 'kustomization.yaml');
    expect(kustomizations.map((f) => path.relative(deployDir, f)).sort()).toEqual([
      'base/kustomization.yaml',
      'overlays/async/kustomization.yaml',
      'overlays/mongodb/kustomization.yaml',
    ]);
    for (const file of kustomizations) {
      for (const ref of kustomizationRefs(file)) {
        expect(existsSync(path.resolve(path.dirname(file), ref)), `${path.relative(root, file)} -> ${ref}`).toBe(true);
      }
    }
  });

  it('base has the kinds that matter, and no Secret values (the example is not listed)', () => {
    for (const kind of ['PodDisruptionBudget', 'ConfigMap', 'ScaledObject']) {
      expect(ofKind(kind), kind).toHaveLength(1);
    }
    // The authorizer and the gateway in front of it (gateway.yaml).
    for (const kind of ['Deployment', 'Service']) {
      expect(ofKind(kind).map((d) => d['metadata']['name']).sort(), kind).toEqual(['catraca-authorizer', 'catraca-gateway']);
    }
    expect(ofKind('Secret')).toHaveLength(0);
    expect(kustomizationRefs(path.join(baseDir, 'kustomization.yaml'))).not.toContain('secret.example.yaml');
    expect(readDocs(path.join(baseDir, 'secret.example.yaml'))[0]!['kind']).toBe('Secret');
  });
});

describe('deploy/: Deployment, Service, PDB', () => {
  it('selectors match the pod template labels', () => {
    const selector: Record<string, string> = deployment['spec']['selector']['matchLabels'];
    expect(isSubset(selector, podLabels)).toBe(true);
    expect(isSubset(service['spec']['selector'], podLabels)).toBe(true);
    const pdb = ofKind('PodDisruptionBudget')[0]!;
    expect(isSubset(pdb['spec']['selector']['matchLabels'], podLabels)).toBe(true);
    // Spread over zones and nodes, each constraint selecting the authorizer's pods.
    const spread: Doc[] = podSpec['topologySpreadConstraints'];
    expect(spread.map((c) => c['topologyKey']).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of spread) {
      expect(c['maxSkew']).toBe(1);
      expect(isSubset(c['labelSelector']['matchLabels'], podLabels)).toBe(true);
    }
  });

  it('the PDB keeps a strict majority of any replica count KEDA may run, and still lets a drain move one pod', () => {
    const pdb = ofKind('PodDisruptionBudget')[0]!;
    expect(pdb['spec']['maxUnavailable']).toBeUndefined();
    const minAvailable = String(pdb['spec']['minAvailable']);
    expect(minAvailable).toMatch(/^\d+%$/);
    const percent = Number(minAvailable.slice(0, -1));
    const { minReplicaCount, maxReplicaCount } = scaledObject['spec'];
    for (let n = minReplicaCount; n <= maxReplicaCount; n++) {
      const kept = Math.ceil((n * percent) / 100); // Kubernetes rounds a percentage minAvailable up
      expect(kept, `${n} replicas`).toBeGreaterThan(n / 2);
      expect(kept, `${n} replicas`).toBeLessThan(n);
    }
  });

  it('has no replica count of its own (KEDA owns it), with resources, non-root and a read-only root filesystem', () => {
    // A `replicas` in the manifest resets KEDA's count on every apply.
    expect(deployment['spec']['replicas']).toBeUndefined();
    expect(deployment['spec']['strategy']['rollingUpdate']['maxUnavailable']).toBe(0);
    for (const kind of ['requests', 'limits']) {
      expect(container['resources'][kind]['cpu'], kind).toBeDefined();
      expect(container['resources'][kind]['memory'], kind).toBeDefined();
    }
    expect(podSpec['securityContext']['runAsNonRoot']).toBe(true);
    expect(podSpec['securityContext']['runAsUser']).not.toBe(0);
    expect(container['securityContext']['readOnlyRootFilesystem']).toBe(true);
    expect(container['securityContext']['allowPrivilegeEscalation']).toBe(false);
    const tmp = container['volumeMounts'].find((m: Doc) => m['mountPath'] === '/tmp');
    expect(podSpec['volumes'].find((v: Doc) => v['name'] === tmp['name'])['emptyDir']).toBeDefined();
  });

  it('the Service targets the container port', () => {
    const port: Doc = container['ports'][0];
    const target = service['spec']['ports'][0]['targetPort'];
    expect(target === port['containerPort'] || target === port['name']).toBe(true);
    expect(String(port['containerPort'])).toBe(configMap['data']['PORT']);
  });

  it('stops routing before SIGTERM and drains within the grace period', () => {
    const sleep: string[] = container['lifecycle']['preStop']['exec']['command'];
    expect(sleep[0]).toBe('sleep');
    const sleepS = Number(sleep[1]);
    expect(sleepS).toBeGreaterThan(0);
    const drainS = Number(configMap['data']['SHUTDOWN_GRACE_MS']) / 1000;
    expect(podSpec['terminationGracePeriodSeconds']).toBeGreaterThan(sleepS + drainS);
  });

  it('probes use the container port and the ops routes', () => {
    const port: Doc = container['ports'][0];
    const paths = Object.fromEntries(
      ['startupProbe', 'readinessProbe', 'livenessProbe'].map((probe) => {
        const get: Doc = container[probe]['httpGet'];
        expect(get['port'] === port['name'] || get['port'] === port['containerPort'], probe).toBe(true);
        return [probe, get['path']];
      }),
    );
    expect(paths).toEqual({ startupProbe: '/healthz', readinessProbe: '/readyz', livenessProbe: '/healthz' });
    const annotations: Doc = deployment['spec']['template']['metadata']['annotations'];
    expect(annotations['prometheus.io/path']).toBe('/metrics');
    expect(annotations['prometheus.io/port']).toBe(String(port['containerPort']));
  });

  it('sets only variables the service reads; credentials come from the Secret, settings from the ConfigMap', () => {
    const env: Doc[] = container['env'];
    for (const e of env) expect(configKeys.has(e['name']), e['name']).toBe(true);
    const overlay = readDocs(path.join(deployDir, 'overlays/mongodb/configmap-store.yaml'))[0]!;
    for (const key of [...Object.keys(configMap['data']), ...Object.keys(overlay['data'])]) {
      expect(configKeys.has(key), key).toBe(true);
    }
    for (const name of ['AUTHORIZE_TOKENS', 'ADMIN_TOKENS', 'POSTGRES_URL', 'MONGODB_URI', 'REDIS_URL']) {
      const entry = env.find((e) => e['name'] === name);
      expect(entry?.['valueFrom']?.['secretKeyRef']?.['key'], name).toBe(name);
      expect(entry?.['value'], name).toBeUndefined();
    }
    expect(container['envFrom'][0]['configMapRef']['name']).toBe(configMap['metadata']['name']);
    // Connection strings and credentials never sit in the ConfigMap.
    for (const key of Object.keys(configMap['data'])) expect(key).not.toMatch(/_(URL|URI|TOKENS|AUTH|PASSWORD)$/);
    // TLS material (CA, client keys) from an optional Secret, mounted read-only.
    const tls = podSpec['volumes'].find((v: Doc) => v['secret'] !== undefined);
    expect(tls['secret']).toMatchObject({ secretName: 'catraca-authorizer-tls', optional: true });
    expect(container['volumeMounts'].find((m: Doc) => m['name'] === tls['name'])['readOnly']).toBe(true);
  });

  it('the image is set through kustomize `images` to a registry name, not a local tag', () => {
    const kustomization = readDocs(path.join(baseDir, 'kustomization.yaml'))[0]!;
    const image = (kustomization['images'] as Doc[]).find((i) => i['name'] === container['image']);
    expect(image?.['newName']).toMatch(/^[\w.-]+\.[\w.-]+(:\d+)?\/[\w./-]+$/);
    expect(image?.['newTag']).not.toBe('local');
  });

  it('the ConfigMap (base and mongodb overlay), with the Secret keys, passes the service configuration schema', () => {
    const base = configSchema.safeParse({ ...configMap['data'], ...fakeSecrets });
    expect(base.success, JSON.stringify(base.error?.issues)).toBe(true);
    expect(base.data).toMatchObject({ STORE: 'postgres', LOCK: 'zookeeper', CACHE: 'redis', HOST: '0.0.0.0' });
    const overlay = readDocs(path.join(deployDir, 'overlays/mongodb/configmap-store.yaml'))[0]!;
    const mongo = configSchema.safeParse({ ...configMap['data'], ...overlay['data'], ...fakeSecrets });
    expect(mongo.success, JSON.stringify(mongo.error?.issues)).toBe(true);
    expect(mongo.data?.STORE).toBe('mongodb');
  });

  it('the async overlay: its ConfigMap passes the schema, and its KEDA Kafka trigger names the group and topic it sets', () => {
    const overlay = readDocs(path.join(deployDir, 'overlays/async/configmap-async.yaml'))[0]!;
    const parsed = configSchema.safeParse({ ...configMap['data'], ...overlay['data'], ...fakeSecrets });
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(parsed.data).toMatchObject({ ASYNC: 'on', KAFKA_REPLICATION: 3 });
    const [patch] = readDocs(path.join(deployDir, 'overlays/async/scaledobject-kafka.yaml')) as unknown as Doc[][];
    const trigger = patch![0]!['value'];
    expect(patch![0]!['path']).toBe('/spec/triggers/-');
    expect(trigger['type']).toBe('kafka');
    expect(trigger['metadata']).toMatchObject({
      consumerGroup: overlay['data']['KAFKA_GROUP'],
      topic: overlay['data']['KAFKA_TOPIC'],
      bootstrapServers: overlay['data']['KAFKA_BROKERS'],
    });
    expect(Number(trigger['metadata']['lagThreshold'])).toBeGreaterThan(0);
  });
});

describe('deploy/: KEDA ScaledObject', () => {
  const scaled = scaledObject;
  const triggers: Doc[] = scaled['spec']?.['triggers'] ?? [];

  it('targets the Deployment, never below 2 replicas', () => {
    expect(scaled['apiVersion']).toBe('keda.sh/v1alpha1');
    expect(scaled['spec']['scaleTargetRef']).toMatchObject({ kind: 'Deployment', name: deployment['metadata']['name'] });
    expect(scaled['spec']['minReplicaCount']).toBeGreaterThanOrEqual(2);
    expect(scaled['spec']['maxReplicaCount']).toBeGreaterThan(scaled['spec']['minReplicaCount']);
  });

  it('scales on request rate (per pod) and p99 latency (whole value) from the service histogram', () => {
    expect(triggers).toHaveLength(2);
    for (const t of triggers) {
      expect(t['type']).toBe('prometheus');
      // The common prometheus chart's Service (prometheus-server) listens on 80, not on the pod's 9090.
      expect(t['metadata']['serverAddress']).toBe('http://prometheus-server.monitoring.svc:80');
      expect(t['metadata']['query']).toContain('catraca_http_request_duration_seconds');
      expect(t['metadata']['query']).toContain('route="/transactions"');
      for (const field of ['threshold', 'activationThreshold']) {
        expect(typeof t['metadata'][field], field).toBe('string');
        expect(Number.isFinite(Number(t['metadata'][field])), field).toBe(true);
      }
    }
    const rate = triggers.find((t) => t['name'] === 'request-rate')!;
    expect(rate['metricType']).toBe('AverageValue');
    expect(rate['metadata']['query']).toContain('catraca_http_request_duration_seconds_count');
    const p99 = triggers.find((t) => t['name'] === 'p99-latency')!;
    expect(p99['metricType']).toBe('Value');
    expect(p99['metadata']['query']).toMatch(/^histogram_quantile\(0\.99, sum by \(le\) \(rate\(catraca_http_request_duration_seconds_bucket\{/);
    // The latency target sits below the request deadline the ConfigMap sets.
    expect(Number(p99['metadata']['threshold']) * 1000).toBeLessThan(Number(configMap['data']['DEADLINE_MS']));
  });
});

describe('the service answers what the manifests rely on (embedded runtime)', () => {
  let rt: Awaited<ReturnType<typeof embeddedRuntime>>;
  beforeAll(async () => {
    rt = await embeddedRuntime();
  });
  afterAll(async () => {
    await rt.dispose();
  });

  it('probe paths answer 200', async () => {
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      const reply = await call(rt, 'GET', container[probe]['httpGet']['path']);
      expect(reply.status, probe).toBe(200);
    }
  });

  it('/metrics has the histogram and labels the KEDA queries select on', async () => {
    await createAccount(rt, 'acc-keda', { CASH: 10 });
    await authorize(rt, { id: 'keda-1', account: 'acc-keda', totalAmount: 1, mcc: '1234', merchant: 'SHOP' });
    const reply = await call(rt, 'GET', '/metrics');
    expect(reply.status).toBe(200);
    const buckets = reply.body.split('\n').filter((l) => l.startsWith('catraca_http_request_duration_seconds_bucket{'));
    expect(buckets.some((l) => l.includes('route="/transactions"') && l.includes('le="'))).toBe(true);
    expect(reply.body).toMatch(/^catraca_http_request_duration_seconds_count\{[^}]*route="\/transactions"/m);
  });
});

describe('docker-compose.yml', () => {
  const composeFile = path.join(root, 'docker-compose.yml');
  const compose: Doc = parse(readFileSync(composeFile, 'utf8'), { merge: true });
  const services: Record<string, Doc> = compose['services'];
  const named = (pattern: RegExp) => Object.keys(services).filter((name) => pattern.test(name)).sort();
  const authorizers = Object.entries(services).filter(([, s]) => s['build'] !== undefined);

  it('has a 3-node ZooKeeper ensemble, Redis, a MongoDB replica set, 2 authorizer replicas and nginx', () => {
    const zk = named(/^zoo\d$/);
    expect(zk).toEqual(['zoo1', 'zoo2', 'zoo3']);
    zk.forEach((name, i) => {
      const s = services[name]!;
      expect(s['image']).toBe('zookeeper:3.8');
      expect(s['environment']['ZOO_MY_ID']).toBe(String(i + 1));
      for (const peer of zk) expect(s['environment']['ZOO_SERVERS']).toContain(`=${peer}:2888:3888;2181`);
    });
    expect(services['redis']!['image']).toMatch(/^redis:7/);
    const mongo = services['mongodb']!;
    expect(mongo['image']).toMatch(/^mongo:7/);
    expect(mongo['command']).toContain('--replSet');
    expect(mongo['healthcheck']['test'].join(' ')).toMatch(/rs\.status\(\).*rs\.initiate\(/);
    expect(authorizers.map(([name]) => name).sort()).toEqual(['authorizer-1', 'authorizer-2']);
    expect(services['nginx']!['ports']).toContain('8080:8080');
  });

  it('authorizers: built from the Dockerfile, cluster mode, healthy dependencies first, known variables only', () => {
    for (const [name, s] of authorizers) {
      expect(s['build']['dockerfile'], name).toBe('Dockerfile');
      const env: Record<string, string> = s['environment'];
      for (const key of Object.keys(env)) expect(configKeys.has(key), `${name}: ${key}`).toBe(true);
      expect(env).toMatchObject({ STORE: 'mongodb', LOCK: 'zookeeper', CACHE: 'redis' });
      const parsed = configSchema.safeParse(env);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
      expect(env['ZOOKEEPER_CONNECT']!.split(',').map((h) => h.split(':')[0]).sort()).toEqual(named(/^zoo\d$/));
      for (const dep of ['zoo1', 'zoo2', 'zoo3', 'redis', 'mongodb']) {
        expect(s['depends_on'][dep]['condition'], `${name} -> ${dep}`).toBe('service_healthy');
      }
      expect(s['healthcheck']['test'].join(' ')).toContain('/readyz');
    }
    for (const [name] of authorizers) expect(services['nginx']!['depends_on'][name]['condition']).toBe('service_healthy');
  });

  it('nginx balances over exactly the authorizer services, on their PORT', () => {
    const mount: string = services['nginx']!['volumes'][0];
    const conf = readFileSync(path.resolve(root, mount.split(':')[0]!), 'utf8');
    const upstreams = [...conf.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`).sort();
    expect(upstreams).toEqual(authorizers.map(([name, s]) => `${name}:${s['environment']['PORT']}`).sort());
  });

  it('docker-compose config -q accepts the file', (ctx) => {
    if (!which('docker-compose')) {
      console.log('SKIP docker-compose config: docker-compose not installed');
      ctx.skip();
      return;
    }
    execFileSync('docker-compose', ['-f', composeFile, 'config', '-q'], { cwd: root, timeout: 60_000, stdio: 'pipe' });
  });

  it('nginx -t accepts the load-balancer config (upstream names pointed at loopback)', (ctx) => {
    if (!which('nginx')) {
      console.log('SKIP nginx -t: nginx not installed');
      ctx.skip();
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'catraca-nginx-'));
    try {
      const conf = readFileSync(path.join(deployDir, 'nginx/catraca.conf'), 'utf8').replace(/authorizer-\d+:/g, '127.0.0.1:');
      writeFileSync(path.join(dir, 'catraca.conf'), conf);
      writeFileSync(
        path.join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp { access_log off; include ${dir}/catraca.conf; }\n`,
      );
      execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', path.join(dir, 'nginx.conf')], { timeout: 30_000, stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kustomize build', () => {
  it('kubectl kustomize renders the base and the mongodb overlay', (ctx) => {
    if (!which('kubectl')) {
      console.log('SKIP kubectl kustomize: kubectl not installed');
      ctx.skip();
      return;
    }
    for (const dir of ['base', 'overlays/mongodb']) {
      const out = execFileSync('kubectl', ['kustomize', path.join(deployDir, dir)], { timeout: 60_000, encoding: 'utf8' });
      const docs = parseAllDocuments(out).map((d) => d.toJS() as Doc);
      expect(docs.map((d) => d['kind']).sort(), dir).toEqual(
        ['ConfigMap', 'ConfigMap', 'Deployment', 'Deployment', 'PodDisruptionBudget', 'ScaledObject', 'Service', 'Service'],
      );
      for (const d of docs) expect(d['metadata']['namespace'], `${dir} ${d['kind']}`).toBe('catraca');
      const cm = docs.find((d) => d['metadata']['name'] === 'catraca-authorizer-config')!;
      expect(cm['data']['STORE']).toBe(dir === 'base' ? 'postgres' : 'mongodb');
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => !l.trimStart().startsWith('#'));

  it('multi-stage on Node 24, non-root, node as PID 1 in exec form, port 8080', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(lines.filter((l) => /^FROM /.test(l)).length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => /^RUN pnpm install --frozen-lockfile$/.test(l))).toBe(true);
    const user = lines.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (0|root)\b/);
    expect(lines.filter((l) => l.startsWith('CMD ')).at(-1)).toBe('CMD ["node", "dist/main.js"]');
    expect(lines.some((l) => l.startsWith('ENTRYPOINT'))).toBe(false);
    expect(lines).toContain('EXPOSE 8080');
    const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });
});
