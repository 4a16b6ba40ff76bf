import { existsSync, readFileSync } from 'node:fs';
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
    expect(Object.keys(services).sort()).toEqual(['kafka', 'postgres', 'otel-collector', 'jaeger', 'gateway', ...SERVICES.map((s) => s.name)].sort());
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
});
