// The queries the deployment runs against Prometheus: KEDA's triggers (deploy/base/scaledobject.yaml), the alert
// rules (deploy/monitoring/catraca-alerts.yaml) and the Grafana dashboard (deploy/monitoring/grafana-dashboard.json).
// Every expression parses with Prometheus's own PromQL grammar (@prometheus-io/lezer-promql), names only metrics the
// service exports (src/metrics.ts) or rules define, and every range window holds enough samples at the scrape
// interval the deployment assumes (1 minute).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { readDocs, type Doc } from './deploy/kustomize.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SCRAPE_INTERVAL_S = 60;

const scaledObject = readDocs(path.join(root, 'deploy/base/scaledobject.yaml'))[0]!;
const rules = readDocs(path.join(root, 'deploy/monitoring/catraca-alerts.yaml'))[0]!;
const dashboard = JSON.parse(readFileSync(path.join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8')) as Doc;
const allRules: Doc[] = (rules['groups'] as Doc[]).flatMap((g) => g['rules'] as Doc[]);
const recorded = new Set(allRules.flatMap((r) => (typeof r['record'] === 'string' ? [r['record'] as string] : [])));

/** Every series name the service exports (histograms as _bucket, _count, _sum). */
const exported: Set<string> = await (async () => {
  const metrics = new Metrics();
  const names = new Set<string>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_count', '_sum']) names.add(metric.name + suffix);
  }
  return names;
})();

/** Grafana's variables replaced by values a Prometheus query could hold, so the grammar can check the rest. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '5m').replaceAll('$pod', '.*');
}

/** Parses `expr`; returns the metric names it selects and its range windows (seconds), or throws on a syntax error. */
function promql(expr: string): { metrics: string[]; windowsS: number[] } {
  const tree = parser.parse(expr);
  const metrics: string[] = [];
  const windowsS: number[] = [];
  let error: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) error ??= node.from;
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(node.from, node.to));
      if (node.name === 'MatrixSelector') {
        const range = /\[(\d+)([smh])\]$/.exec(expr.slice(node.from, node.to));
        if (range) windowsS.push(Number(range[1]) * { s: 1, m: 60, h: 3600 }[range[2] as 's' | 'm' | 'h']);
      }
    },
  });
  if (error !== undefined) throw new Error(`PromQL syntax error at ${error}: ${expr}`);
  return { metrics, windowsS };
}

function checkQuery(expr: string, where: string): void {
  const { metrics, windowsS } = promql(expr);
  expect(metrics.length, `${where}: selects a metric`).toBeGreaterThan(0);
  for (const name of metrics) expect(exported.has(name) || recorded.has(name), `${where}: ${name} exists`).toBe(true);
  // rate() needs two samples in its window: at least twice the scrape interval.
  for (const w of windowsS) expect(w, `${where}: window ${w}s`).toBeGreaterThanOrEqual(2 * SCRAPE_INTERVAL_S);
}

describe('the PromQL checker itself', () => {
  it('refuses a syntax error, an unknown metric and a window too short for a 1-minute scrape', () => {
    expect(() => promql('sum(rate(catraca_decisions_total[5m])')).toThrow(/syntax error/);
    expect(() => checkQuery('sum(rate(catraca_no_such_metric[5m]))', 't')).toThrow();
    expect(() => checkQuery('sum(rate(catraca_decisions_total[1m]))', 't')).toThrow();
    expect(() => checkQuery('sum(rate(catraca_decisions_total[2m]))', 't')).not.toThrow();
  });
});

describe('KEDA triggers', () => {
  const triggers: Doc[] = scaledObject['spec']['triggers'];
  it('are valid PromQL on exported metrics, with windows that are never empty at a 1-minute scrape', () => {
    for (const t of triggers) checkQuery(t['metadata']['query'], `trigger ${t['name']}`);
    const rate = triggers.find((t) => t['name'] === 'request-rate')!;
    expect(promql(rate['metadata']['query']).windowsS).toEqual([120]);
  });
});

describe('alert rules', () => {
  it('every rule is well formed and its expression valid PromQL on exported or recorded series', () => {
    expect(rules['groups'].length).toBeGreaterThan(0);
    for (const rule of allRules) {
      const name = rule['alert'] ?? rule['record'];
      expect(typeof name, JSON.stringify(rule)).toBe('string');
      checkQuery(rule['expr'], name);
      if (rule['alert'] !== undefined) {
        expect(['page', 'ticket'], name).toContain(rule['labels']['severity']);
        expect(rule['annotations']['summary'], name).toBeTruthy();
        if (rule['for'] !== undefined) expect(rule['for'], name).toMatch(/^\d+[smh]$/);
      }
    }
    const names = new Set(allRules.map((r) => r['alert'] ?? r['record']));
    expect(names.size).toBe(allRules.length);
  });

  it('cover the latency SLO burn, the 07 rate, the lock service, degraded decisions and the store', () => {
    const byMetric = (metric: string) => allRules.filter((r) => r['alert'] !== undefined && r['expr'].includes(metric));
    const slo = allRules.filter((r) => /LatencySLO/.test(r['alert'] ?? ''));
    expect(slo.length).toBeGreaterThanOrEqual(2);
    for (const r of slo) expect(r['expr']).toContain('catraca:transactions_slow_ratio');
    expect(byMetric('code="07"').length).toBeGreaterThanOrEqual(1);
    expect(byMetric('catraca_coordination_state').length).toBe(1);
    expect(byMetric('catraca_degraded_decisions_total').length).toBe(1);
    expect(byMetric('catraca_dependency_up{dependency="store"}').length).toBe(1);
  });
});

describe('Grafana dashboard', () => {
  const panels: Doc[] = dashboard['panels'];
  it('is a dashboard with unique panel ids, a datasource variable, and valid queries on exported metrics', () => {
    expect(dashboard['uid']).toBe('catraca-authorizer');
    expect(dashboard['templating']['list'].map((v: Doc) => v['name'])).toEqual(['datasource', 'pod']);
    expect(new Set(panels.map((p) => p['id'])).size).toBe(panels.length);
    for (const panel of panels) {
      expect(panel['datasource']['uid']).toBe('${datasource}');
      expect(panel['targets'].length, panel['title']).toBeGreaterThan(0);
      for (const target of panel['targets']) checkQuery(withoutGrafanaVariables(target['expr']), panel['title']);
    }
  });

  it('shows answers, latency, 07 reasons, the lock service, degraded decisions and dependencies', () => {
    const exprs = panels.flatMap((p) => p['targets'].map((t: Doc) => t['expr'] as string)).join('\n');
    for (const needle of [
      'catraca_decisions_total',
      'catraca_http_request_duration_seconds_bucket',
      'code="07"',
      'catraca_coordination_state',
      'catraca_degraded_decisions_total',
      'catraca_dependency_up',
      'catraca_store_commit_seconds_bucket',
      'catraca_lock_wait_seconds_bucket',
    ]) {
      expect(exprs).toContain(needle);
    }
  });
});
