import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadServiceConfig } from '@tally/nest-platform';
import { SERVICES } from '../../tools/services';
import { loadGatewayConfig } from '../../apps/gateway/src/gateway-config';
import { UPSTREAMS } from '../../apps/gateway/src/route-table';

// docker-compose.yml cannot be run on machines without Docker, so it is kept correct by construction:
// parsed here and checked against the code it starts.
const ROOT = path.resolve(__dirname, '../..');
type ComposeService = {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string | number>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
};
const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
const services = compose.services;
const hostPorts = Object.values(services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));

describe('docker-compose.yml', () => {
  it('runs Kafka in KRaft mode (no ZooKeeper), Postgres, an OpenTelemetry collector with Jaeger, the five services and the gateway', () => {
    expect(Object.keys(services).sort()).toEqual(['kafka', 'postgres', 'otel-collector', 'jaeger', 'gateway', 'prometheus', 'grafana', ...SERVICES.map((s) => s.name)].sort());
    const kafka = services.kafka;
    expect(kafka.image).toMatch(/^apache\/kafka:4\./);
    expect(String(kafka.environment?.KAFKA_PROCESS_ROLES)).toBe('broker,controller');
    expect(Object.keys(kafka.environment ?? {}).some((k) => k.includes('ZOOKEEPER'))).toBe(false);
    expect(kafka.environment?.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1);
    expect(kafka.environment?.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe(1);
  });

  it('publishes every host port once', () => {
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it.each(SERVICES.map((s) => [s.name, s] as const))('%s: builds, configures and health-checks a service the code accepts', (name, definition) => {
    const service = services[name];
    expect(existsSync(path.join(ROOT, service.build!.dockerfile))).toBe(true);
    expect(service.build!.args?.SERVICE).toBe(name);
    expect(existsSync(path.join(ROOT, 'apps', name, 'src', 'main.ts'))).toBe(true);
    const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
    // The service's own validation accepts the environment compose gives it.
    const config = loadServiceConfig(name, { port: definition.defaultPort }, env, definition.configSchema);
    expect(service.ports).toEqual([`${config.port}:${config.port}`]);
    expect(config.port).toBe(definition.defaultPort);
    expect(new URL(config.databaseUrl).hostname).toBe('postgres');
    expect(new URL(config.databaseUrl).pathname).toBe(`/${services.postgres.environment?.POSTGRES_DB}`);
    const internalListener = String(services.kafka.environment?.KAFKA_ADVERTISED_LISTENERS).match(/INTERNAL:\/\/([^,]+)/)![1];
    expect(config.kafka.brokers).toEqual([internalListener]);
    expect(service.depends_on).toMatchObject({ kafka: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' } });
    expect(service.healthcheck?.test.join(' ')).toContain('/health/ready');
    expect(new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT).hostname).toBe('otel-collector');
  });

  it('gateway: the front door on port 3000, its config accepted, each upstream the compose service of that name on its port', () => {
    const gateway = services.gateway;
    expect(gateway.build!.args?.SERVICE).toBe('gateway');
    expect(existsSync(path.join(ROOT, 'apps', 'gateway', 'src', 'main.ts'))).toBe(true);
    const env = Object.fromEntries(Object.entries(gateway.environment ?? {}).map(([k, v]) => [k, String(v)]));
    const config = loadGatewayConfig(env);
    expect(gateway.ports).toEqual([`${config.port}:${config.port}`]);
    expect(config.port).toBe(3000);
    expect([...UPSTREAMS].sort()).toEqual(SERVICES.map((s) => s.name).sort());
    for (const name of UPSTREAMS) {
      // Set explicitly: the default (127.0.0.1) would be the gateway's own container.
      expect(env[`${name.toUpperCase().replace(/-/g, '_')}_URL`]).toBeDefined();
      expect(config.upstreams[name].hostname).toBe(name);
      expect(services[name].ports).toEqual([`${config.upstreams[name].port}:${config.upstreams[name].port}`]);
      expect(gateway.depends_on).toHaveProperty(name);
    }
    expect(gateway.healthcheck?.test.join(' ')).toContain('/health');
  });

  it('mounts a collector config that exports traces to the Jaeger service', () => {
    const mount = services['otel-collector'].volumes![0].split(':')[0];
    const collector = parse(readFileSync(path.join(ROOT, mount), 'utf8'));
    const exporterName = collector.service.pipelines.traces.exporters[0];
    expect(collector.exporters[exporterName].endpoint).toMatch(/^jaeger:4317$/);
    expect(collector.receivers.otlp.protocols.http.endpoint).toMatch(/:4318$/);
  });

  describe('metrics: Prometheus and Grafana', () => {
    /** Host path of a compose volume mounted at `target` (relative to the repository). */
    const mountOf = (service: string, target: string) => {
      const volume = (services[service].volumes ?? []).find((v) => v.split(':')[1] === target);
      expect(volume).toBeDefined();
      return path.join(ROOT, volume!.split(':')[0]);
    };

    it('Prometheus scrapes /metrics of every service and the gateway at the compose host and port they listen on', () => {
      const config = parse(readFileSync(mountOf('prometheus', '/etc/prometheus/prometheus.yml'), 'utf8')) as {
        scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
      };
      const targets = Object.fromEntries(config.scrape_configs.map((j) => [j.job_name, j.static_configs.flatMap((c) => c.targets)]));
      expect(Object.keys(targets).sort()).toEqual([...SERVICES.map((s) => s.name), 'gateway'].sort());
      for (const job of config.scrape_configs) expect(job.metrics_path ?? '/metrics').toBe('/metrics');
      for (const [name, [target, ...more]] of Object.entries(targets)) {
        expect(more).toEqual([]);
        const containerPort = services[name].ports![0].split(':')[1];
        expect(target).toBe(`${name}:${containerPort}`);
      }
    });

    it('Grafana is provisioned with the Prometheus datasource and the dashboards folder it mounts', () => {
      const datasources = readdirSync(mountOf('grafana', '/etc/grafana/provisioning/datasources'));
      expect(datasources.length).toBeGreaterThan(0);
      const ds = parse(readFileSync(path.join(mountOf('grafana', '/etc/grafana/provisioning/datasources'), datasources[0]), 'utf8')) as {
        datasources: Array<{ uid: string; type: string; url: string }>;
      };
      expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', url: `http://prometheus:${services.prometheus.ports![0].split(':')[1]}` });
      const providersDir = mountOf('grafana', '/etc/grafana/provisioning/dashboards');
      const providers = readdirSync(providersDir).flatMap(
        (f) => (parse(readFileSync(path.join(providersDir, f), 'utf8')) as { providers: Array<{ type: string; options: { path: string } }> }).providers,
      );
      expect(providers.map((p) => p.options.path)).toEqual(['/var/lib/grafana/dashboards']);
      const dashboards = readdirSync(mountOf('grafana', '/var/lib/grafana/dashboards')).filter((f) => f.endsWith('.json'));
      expect(dashboards).toEqual(['tally.json']);
      // Every panel queries the provisioned datasource by its uid.
      for (const panel of dashboard().panels.filter((p) => p.type !== 'row')) {
        expect(panel.datasource?.uid).toBe(ds.datasources[0].uid);
        expect(panel.targets?.length).toBeGreaterThan(0);
      }
    });

    it('every metric the dashboard queries is one the code exports (tally_* from the sources, the rest prom-client defaults)', async () => {
      const exported = new Set([...codeMetricNames(), ...(await defaultMetricNames())]);
      const queried = new Set<string>();
      for (const panel of dashboard().panels) {
        for (const target of panel.targets ?? []) {
          const names = metricNamesIn(target.expr);
          expect(names.length).toBeGreaterThan(0);
          for (const n of names) queried.add(n);
        }
      }
      const unknown = [...queried].filter((n) => !exported.has(n) && !exported.has(n.replace(/_(bucket|count|sum)$/, '')));
      expect(unknown).toEqual([]);
      // The list is on the dashboard.
      for (const wanted of [
        'tally_http_server_request_duration_seconds_count',
        'tally_ingest_events_accepted_total',
        'tally_ingest_events_rejected_total',
        'tally_consumer_lag_messages',
        'tally_dead_letters_total',
        'tally_outbox_backlog',
        'tally_outbox_oldest_age_seconds',
        'tally_outbox_published_total',
      ]) {
        expect(queried).toContain(wanted);
      }
    });
  });
});

type Panel = { type: string; datasource?: { uid: string }; targets?: Array<{ expr: string }> };
function dashboard(): { panels: Panel[] } {
  return JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dashboards/tally.json'), 'utf8'));
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords, labels or Grafana variables. */
function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\$__[a-z_]+/g, '');
  const withoutLabelLists = withoutStrings.replace(/\b(by|without)\s*\([^)]*\)/g, '').replace(/\{[^}]*\}/g, '');
  const words = withoutLabelLists.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
  return [...new Set(words.filter((w) => /^(tally|process|nodejs)_/.test(w)))];
}

/** `name: 'tally_...'` in the sources of the apps and libs (the metrics they register). */
function codeMetricNames(): string[] {
  const names: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (/\.ts$/.test(entry.name) && !/\.(spec|integration-spec|e2e-spec)\.ts$/.test(entry.name)) {
        for (const m of readFileSync(full, 'utf8').matchAll(/name: '(tally_[a-z0-9_]+)'/g)) names.push(m[1]);
        for (const m of readFileSync(full, 'utf8').matchAll(/gauge\('(tally_[a-z0-9_]+)'/g)) names.push(m[1]);
      }
    }
  };
  walk(path.join(ROOT, 'apps'));
  walk(path.join(ROOT, 'libs'));
  return names;
}

async function defaultMetricNames(): Promise<string[]> {
  const { collectDefaultMetrics, Registry } = await import('prom-client');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return (await registry.getMetricsAsJSON()).map((m) => m.name);
}
