import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadServiceConfig } from '@tally/nest-platform';
import { SERVICES } from '../../tools/services';
import { loadGatewayConfig, upstreamUrlEnv } from '../../apps/gateway/src/gateway-config';
import { UPSTREAMS, type UpstreamName } from '../../apps/gateway/src/route-table';

/*
 * There is no helm binary here (nor Go to build one, nor a cluster), so the chart is rendered by the small
 * renderer below: Go template actions restricted to what the chart uses (if/else/with/range/end, comments,
 * variables and .Values paths, the functions quote, upper, replace, toYaml, nindent, int, gt, min, not, eq, and),
 * with Go's whitespace
 * trimming. Any other action throws, so a template the renderer does not understand fails this test rather
 * than rendering wrong. What it validates: the output is YAML; one Deployment, Service and PodDisruptionBudget
 * per service; every Deployment's environment (Secret references filled with valid stand-ins) is accepted by
 * that service's own config validation, the same function main.ts runs, which is what makes a required
 * variable (ADMIN_TOKEN, DATABASE_URL, ...) impossible to forget; probes on the routes the services serve;
 * secrets only from Secrets; and every manifest against the Kubernetes API schemas (kubernetes-models, generated
 * from the Kubernetes OpenAPI spec: types, required fields, enums). What it does not: Helm's semantics beyond
 * that subset, nor what only a cluster knows (admission, CRDs) — `helm lint` and a dry-run apply in CI would.
 */

const CHART = path.resolve(__dirname, '../../deploy/helm/tally');
type Scope = { dot: unknown; vars: Record<string, unknown> };

const lookup = (root: unknown, keys: string[]): unknown =>
  keys.reduce<unknown>((v, k) => (v === null || v === undefined ? undefined : (v as Record<string, unknown>)[k]), root);

function term(token: string, scope: Scope, values: unknown): unknown {
  if (token === '.') return scope.dot;
  if (/^".*"$/.test(token)) return JSON.parse(token);
  if (/^-?\d+$/.test(token)) return Number(token);
  if (token.startsWith('$.')) return lookup({ Values: values }, token.slice(2).split('.'));
  if (token.startsWith('$')) {
    const [name, ...rest] = token.split('.');
    if (!(name in scope.vars)) throw new Error(`unknown variable ${name}`);
    return lookup(scope.vars[name], rest);
  }
  if (token.startsWith('.')) return lookup(scope.dot, token.slice(1).split('.'));
  throw new Error(`unsupported term ${token}`);
}

const FUNCTIONS: Record<string, (...args: unknown[]) => unknown> = {
  quote: (v) => JSON.stringify(v === undefined || v === null ? '' : String(v)),
  upper: (v) => String(v).toUpperCase(),
  replace: (from, to, v) => String(v).split(String(from)).join(String(to)),
  toYaml: (v) => stringify(v, { flow: false }).trimEnd(),
  nindent: (n, v) => `\n${String(v).split('\n').map((l) => ' '.repeat(Number(n)) + l).join('\n')}`,
  int: (v) => Math.trunc(Number(v)),
  gt: (a, b) => Number(a) > Number(b),
  min: (...args) => Math.min(...args.map(Number)),
  not: (v) => !truthy(v),
  eq: (a, b) => a === b,
  // Go's `and`: the first empty argument, else the last.
  and: (...args) => args.find((a) => !truthy(a)) ?? args[args.length - 1],
};

type Expr = string | Expr[];

/** Tokens of a pipeline stage, parenthesised groups nested: `gt (int $svc.replicas) 1`. */
function group(tokens: string[]): Expr[] {
  const out: Expr[] = [];
  while (tokens.length > 0) {
    const t = tokens.shift()!;
    if (t === '(') out.push(group(tokens));
    else if (t === ')') return out;
    else out.push(t);
  }
  return out;
}

function call(parts: Expr[], scope: Scope, values: unknown, piped: unknown[] = []): unknown {
  const [head, ...args] = parts;
  const arg = (a: Expr) => (Array.isArray(a) ? call(a, scope, values) : term(a, scope, values));
  if (typeof head === 'string' && head in FUNCTIONS) return FUNCTIONS[head](...args.map(arg), ...piped);
  if (args.length > 0 || piped.length > 0) throw new Error(`unsupported pipeline stage "${JSON.stringify(parts)}"`);
  return arg(head);
}

/** A pipeline: `term` or `fn args...`, each later stage getting the previous value as its last argument. */
function evaluate(expression: string, scope: Scope, values: unknown): unknown {
  let value: unknown;
  expression.split('|').forEach((stage, i) => {
    const tokens = stage.trim().match(/"[^"]*"|[()]|[^\s()]+/g) ?? [];
    value = call(group(tokens), scope, values, i > 0 ? [value] : []);
  });
  return value;
}

function truthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === '' || v === 0 || (typeof v === 'object' && Object.keys(v as object).length === 0));
}

interface Node {
  kind: 'text' | 'out' | 'if' | 'with' | 'range';
  text?: string;
  expr?: string;
  keyVar?: string;
  valueVar?: string;
  body?: Node[];
  otherwise?: Node[];
}

/** Go's trim markers: `{{-` eats the whitespace before, `-}}` the whitespace after. */
function tokenize(source: string): Array<{ text?: string; action?: string }> {
  const out: Array<{ text?: string; action?: string }> = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    let text = source.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] === '-') text = text.replace(/\s+$/, '');
    out.push({ text });
    out.push({ action: m[2] });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  out.push({ text: trimNext ? source.slice(last).replace(/^\s+/, '') : source.slice(last) });
  return out;
}

function parseTemplate(tokens: Array<{ text?: string; action?: string }>): Node[] {
  let i = 0;
  const block = (): { body: Node[]; otherwise?: Node[] } => {
    const body: Node[] = [];
    let current = body;
    let otherwise: Node[] | undefined;
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t.text !== undefined) {
        if (t.text) current.push({ kind: 'text', text: t.text });
        continue;
      }
      const action = t.action!;
      if (action.startsWith('/*')) continue;
      if (action === 'end') return { body, otherwise };
      if (action === 'else') {
        otherwise = [];
        current = otherwise;
        continue;
      }
      const control = action.match(/^(if|with|range)\s+(.*)$/);
      if (control) {
        const [, kind, rest] = control;
        const ranged = kind === 'range' ? rest.match(/^(\$\w+),\s*(\$\w+)\s*:=\s*(.+)$/) : null;
        if (kind === 'range' && !ranged) throw new Error(`unsupported range "${action}"`);
        const inner = block();
        current.push({ kind: kind as Node['kind'], expr: ranged ? ranged[3] : rest, keyVar: ranged?.[1], valueVar: ranged?.[2], ...inner });
        continue;
      }
      if (/^(define|template|include|block|tpl)\b/.test(action) || action.includes(':=')) throw new Error(`unsupported action "${action}"`);
      current.push({ kind: 'out', expr: action });
    }
    return { body, otherwise };
  };
  return block().body;
}

function execute(nodes: Node[], scope: Scope, values: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'out') out += String(evaluate(n.expr!, scope, values) ?? '');
    else if (n.kind === 'if') out += execute(truthy(evaluate(n.expr!, scope, values)) ? n.body! : (n.otherwise ?? []), scope, values);
    else if (n.kind === 'with') {
      const v = evaluate(n.expr!, scope, values);
      out += truthy(v) ? execute(n.body!, { ...scope, dot: v }, values) : execute(n.otherwise ?? [], scope, values);
    } else {
      const collection = (evaluate(n.expr!, scope, values) ?? {}) as Record<string, unknown>;
      // Go ranges over a map in key order.
      for (const key of Object.keys(collection).sort()) {
        out += execute(n.body!, { dot: collection[key], vars: { ...scope.vars, [n.keyVar!]: key, [n.valueVar!]: collection[key] } }, values);
      }
    }
  }
  return out;
}

function render(values: unknown): Array<Record<string, any>> {
  const docs: Array<Record<string, any>> = [];
  for (const file of readdirSync(path.join(CHART, 'templates')).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = execute(parseTemplate(tokenize(readFileSync(path.join(CHART, 'templates', file), 'utf8'))), { dot: { Values: values }, vars: { $: { Values: values } } }, values);
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0].message}\n${text}`);
      const value = doc.toJS();
      if (value) docs.push({ ...value, __file: file });
    }
  }
  return docs;
}

const values = parse(readFileSync(path.join(CHART, 'values.yaml'), 'utf8')) as Record<string, any>;
const manifests = render(values);
const autoscaled = { ...values, autoscaling: { ...values.autoscaling, enabled: true } };
const of = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata?.name === name);

/** What the Secrets would hold: valid stand-ins, so the service's validation judges the names, not the contents. */
const SECRET_STAND_INS: Record<string, string> = {
  DATABASE_URL: 'postgres://tally:secret@postgres.example:5432/tally',
  CATALOG_SIGNING_SECRET: 'x'.repeat(48),
  ADMIN_TOKEN: 'a'.repeat(32),
  PORTAL_TOKEN_SECRET: 'p'.repeat(48),
  KAFKA_SASL_USERNAME: 'tally',
  KAFKA_SASL_PASSWORD: 'secret',
};

/** Files a Secret volume would hold, as stand-ins (the services read the Kafka TLS PEM files at boot). */
const mountedSecrets = mkdtempSync(path.join(tmpdir(), 'tally-helm-'));
for (const file of ['ca.crt', 'tls.crt', 'tls.key']) writeFileSync(path.join(mountedSecrets, file), '-----BEGIN STAND-IN-----\n-----END STAND-IN-----\n');

function containerEnv(deployment: Record<string, any>): { env: Record<string, string>; fromSecrets: string[] } {
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  /** A path the service reads must lie in a volume mounted from a Secret; it is pointed at the stand-in files. */
  const fromMountedSecret = (value: string): string => {
    const mount = (container.volumeMounts ?? []).find((m: { mountPath: string }) => value.startsWith(`${m.mountPath}/`));
    if (!mount) return value;
    const volume = (pod.volumes ?? []).find((v: { name: string }) => v.name === mount.name);
    expect(volume?.secret?.secretName).toBeTruthy();
    return path.join(mountedSecrets, value.slice(mount.mountPath.length + 1));
  };
  const env: Record<string, string> = {};
  const fromSecrets: string[] = [];
  for (const e of container.env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>) {
    expect(env[e.name]).toBeUndefined(); // each variable once
    if (e.valueFrom) {
      expect(e.valueFrom.secretKeyRef?.name).toBeTruthy();
      expect(e.valueFrom.secretKeyRef?.key).toBeTruthy();
      expect(SECRET_STAND_INS[e.name]).toBeDefined();
      env[e.name] = SECRET_STAND_INS[e.name];
      fromSecrets.push(e.name);
    } else {
      expect(typeof e.value).toBe('string'); // Kubernetes takes strings only
      env[e.name] = fromMountedSecret(e.value!);
    }
  }
  return { env, fromSecrets };
}

describe('Helm chart deploy/helm/tally (rendered by the restricted renderer above; see its comment)', () => {
  it('renders YAML objects with apiVersion, kind and name, each once', () => {
    expect(manifests.length).toBeGreaterThan(0);
    const ids = manifests.map((m) => `${m.kind}/${m.metadata?.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    for (const m of manifests) {
      expect(typeof m.apiVersion).toBe('string');
      expect(typeof m.kind).toBe('string');
      expect(m.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
  });

  it('every manifest is valid against the Kubernetes API schemas (and KEDA\'s, with autoscaling on)', () => {
    const manifests_ = [...manifests, ...render(autoscaled).filter((m) => m.apiVersion.startsWith('keda.sh/'))].map(({ __file, ...m }) => m);
    const run = spawnSync(process.execPath, [path.join(__dirname, 'validate-k8s-manifests.mjs')], { input: JSON.stringify(manifests_), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
    // The validator does fail: a port as a string is refused.
    const bad = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' }, spec: { ports: [{ port: '80' }] } };
    const refused = spawnSync(process.execPath, [path.join(__dirname, 'validate-k8s-manifests.mjs')], { input: JSON.stringify([bad]), encoding: 'utf8' });
    expect(JSON.parse(refused.stdout)).toEqual([{ id: 'v1 Service/x', error: expect.stringMatching(/port must be integer/) }]);
  });

  it('has a values entry for every service and none for anything else', () => {
    expect(Object.keys(values.services).sort()).toEqual(SERVICES.map((s) => s.name).sort());
  });

  it.each(SERVICES.map((s) => [s.name, s] as const))('%s: its Deployment sets every required setting, accepted by its own config validation', (name, definition) => {
    const deployment = of('Deployment', `tally-${name}`)!;
    expect(deployment).toBeDefined();
    const { env, fromSecrets } = containerEnv(deployment);
    // The same validation main.ts runs at boot (throws naming each bad or missing variable).
    const config = loadServiceConfig(name, { port: definition.defaultPort }, env, definition.configSchema);
    expect(config.port).toBe(values.services[name].port);
    expect(env.SERVICE).toBe(name);
    // Credentials only from Secrets, never as plain values in the manifest.
    expect(fromSecrets).toEqual(expect.arrayContaining(['DATABASE_URL', 'CATALOG_SIGNING_SECRET', ...(name === 'ingestion' ? ['ADMIN_TOKEN'] : [])]));
    for (const secretish of Object.keys(env).filter((k) => /SECRET|TOKEN|PASSWORD|DATABASE_URL/.test(k))) expect(fromSecrets).toContain(secretish);
    const container = deployment.spec.template.spec.containers[0];
    expect(container.ports).toEqual([{ name: 'http', containerPort: values.services[name].port }]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(container.resources.requests).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    expect(deployment.spec.selector.matchLabels).toEqual(deployment.spec.template.metadata.labels);
    expect(of('Service', `tally-${name}`)?.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });

  it('ingestion without its ADMIN_TOKEN entry would not boot (what this test guards against)', () => {
    const { env } = containerEnv(of('Deployment', 'tally-ingestion')!);
    delete env.ADMIN_TOKEN;
    const ingestion = SERVICES.find((s) => s.name === 'ingestion')!;
    expect(() => loadServiceConfig('ingestion', { port: ingestion.defaultPort }, env, ingestion.configSchema)).toThrow(/ADMIN_TOKEN/);
  });

  it('gateway: config accepted, each upstream the cluster Service of that service, the portal secret shared from a Secret', () => {
    const { env, fromSecrets } = containerEnv(of('Deployment', 'tally-gateway')!);
    const config = loadGatewayConfig(env);
    expect(config.port).toBe(values.gateway.port);
    for (const name of UPSTREAMS) {
      expect(env[upstreamUrlEnv(name as UpstreamName)]).toBeDefined();
      expect(config.upstreams[name].hostname).toBe(`tally-${name}`);
      // The Service listens on 80 and forwards to the container's http port.
      expect(of('Service', `tally-${name}`)?.spec.ports[0]).toMatchObject({ port: 80, targetPort: 'http' });
    }
    expect(fromSecrets).toContain('PORTAL_TOKEN_SECRET');
    const ingress = of('Ingress', 'tally-api')!;
    expect(ingress.spec.rules[0].http.paths).toEqual([{ path: '/api/', pathType: 'Prefix', backend: { service: { name: 'tally-gateway', port: { name: 'http' } } } }]);
  });

  it('every Deployment runs as the image\'s non-root user, read-only, without privileges, /tmp writable', () => {
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...SERVICES.map((s) => `tally-${s.name}`), 'tally-gateway'].sort());
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
      expect(pod.volumes).toContainEqual({ name: 'tmp', emptyDir: {} });
    }
  });

  it('a PodDisruptionBudget per Deployment with more than one replica, selecting its pods', () => {
    for (const deployment of manifests.filter((m) => m.kind === 'Deployment')) {
      const pdb = of('PodDisruptionBudget', deployment.metadata.name);
      if (deployment.spec.replicas > 1) {
        expect(pdb).toBeDefined();
        expect(pdb!.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
        expect(pdb!.spec.maxUnavailable).toBe(1);
      } else expect(pdb).toBeUndefined();
    }
  });

  describe('with autoscaling on (KEDA)', () => {
    const scaled = render(autoscaled);
    const find = (kind: string, name: string) => scaled.find((m) => m.kind === kind && m.metadata?.name === name);

    it('renders nothing of KEDA by default (its CRDs may not exist)', () => {
      expect(manifests.filter((m) => String(m.apiVersion).startsWith('keda.sh/'))).toEqual([]);
    });

    it.each(SERVICES.map((s) => [s.name, s] as const))('%s: a ScaledObject on its own consumer group\'s lag, between its replicas and the partition count', (name, definition) => {
      const deployment = find('Deployment', `tally-${name}`)!;
      // The autoscaler owns the replica count.
      expect(deployment.spec.replicas).toBeUndefined();
      const scaledObject = find('ScaledObject', `tally-${name}`)!;
      expect(scaledObject.spec.scaleTargetRef).toEqual({ name: deployment.metadata.name });
      expect(scaledObject.spec.minReplicaCount).toBe(values.services[name].replicas);
      expect(scaledObject.spec.maxReplicaCount).toBeLessThanOrEqual(values.kafka.partitions);
      expect(scaledObject.spec.maxReplicaCount).toBeGreaterThanOrEqual(scaledObject.spec.minReplicaCount);
      const [trigger] = scaledObject.spec.triggers;
      expect(trigger.type).toBe('kafka');
      // The group and brokers the service itself uses (its own config from the Deployment's environment).
      const config = loadServiceConfig(name, { port: definition.defaultPort }, containerEnv(deployment).env, definition.configSchema);
      expect(trigger.metadata.consumerGroup).toBe(config.consumerGroup);
      expect(trigger.metadata.bootstrapServers.split(',')).toEqual(config.kafka.brokers);
      expect(trigger.metadata.allowIdleConsumers).toBe('false');
      expect(['plaintext', 'scram_sha256', 'scram_sha512']).toContain(trigger.metadata.sasl);
      expect(trigger.metadata.tls).toBe('enable');
      // Credentials from the same Secrets as the service's own.
      const auth = find('TriggerAuthentication', trigger.authenticationRef.name)!;
      const env = deployment.spec.template.spec.containers[0].env as Array<{ name: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>;
      const ref = (n: string) => env.find((e) => e.name === n)!.valueFrom!.secretKeyRef;
      expect(auth.spec.secretTargetRef).toEqual([
        { parameter: 'username', ...ref('KAFKA_SASL_USERNAME') },
        { parameter: 'password', ...ref('KAFKA_SASL_PASSWORD') },
        { parameter: 'ca', name: values.kafka.tls.secret, key: 'ca.crt' },
      ]);
    });

    it('caps the ceiling at the partition count when maxReplicas is larger, and maps SASL mechanisms to KEDA\'s names', () => {
      const wide = render({ ...autoscaled, autoscaling: { ...autoscaled.autoscaling, maxReplicas: 1000 }, kafka: { ...values.kafka, sasl: { ...values.kafka.sasl, mechanism: 'plain' } } });
      const so = wide.find((m) => m.kind === 'ScaledObject' && m.metadata.name === 'tally-aggregation')!;
      expect(so.spec.maxReplicaCount).toBe(values.kafka.partitions);
      expect(so.spec.triggers[0].metadata.sasl).toBe('plaintext');
      const scram256 = render({ ...autoscaled, kafka: { ...values.kafka, sasl: { ...values.kafka.sasl, mechanism: 'scram-sha-256' } } });
      expect(scram256.find((m) => m.kind === 'ScaledObject')!.spec.triggers[0].metadata.sasl).toBe('scram_sha256');
    });
  });

  it('the renderer itself: trimming, else branches, ranges in key order, and refusing what it does not implement', () => {
    const run = (t: string, v: unknown) => execute(parseTemplate(tokenize(t)), { dot: { Values: v }, vars: { $: { Values: v } } }, v);
    expect(run('a\n  {{- if .Values.x }}\nyes{{ else }}\nno{{- end }}\n', { x: '' })).toBe('a\nno\n');
    expect(run('{{- range $k, $v := .Values.m }}{{ $k }}={{ $v | quote }};{{- end }}', { m: { b: 2, a: 'x' } })).toBe('a="x";b="2";');
    expect(run('{{ .Values.n | upper | replace "-" "_" }}', { n: 'health-scoring' })).toBe('HEALTH_SCORING');
    expect(() => run('{{ include "x" . }}', {})).toThrow(/unsupported/);
    expect(() => run('{{ .Values.a | default "b" }}', {})).toThrow(/unsupported/);
  });
});
