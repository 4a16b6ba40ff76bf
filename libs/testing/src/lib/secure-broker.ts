import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Users the secure broker knows: one PLAIN user, and one SCRAM user with SHA-256 and SHA-512 credentials. */
export const SECURE_BROKER_USERS = {
  plain: { username: 'tally-plain', password: `plain-${randomBytes(6).toString('hex')}` },
  scram: { username: 'tally-scram', password: `scram-${randomBytes(6).toString('hex')}` },
} as const;

export interface SecureBroker {
  /** No security: to tell the broker itself from the clients' settings. */
  plaintext: string;
  /** SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) without TLS. */
  saslPlaintext: string;
  /** SASL over TLS; the broker's certificate (self-signed, for 127.0.0.1) is in `caFile`. */
  saslSsl: string;
  caFile: string;
  dir: string;
  /** Starts the JVM; resolves once every listener accepts connections. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(__dirname, '../../../..');
const LIBS = path.join(ROOT, '.tally', 'kafka', 'libs');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });

const run = (cmd: string, args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args[0]} failed: ${r.stderr || r.stdout}`);
};

/**
 * A second, private single-node broker (KRaft) for the security tests, on free ports and in a temporary
 * directory, from the jars `npm run setup` fetched: the shared broker on 9092 is never touched. Its TLS
 * keystore is generated with the JDK's keytool, its SCRAM credentials are written at format time.
 */
export async function createSecureBroker(): Promise<SecureBroker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tally-secure-broker-'));
  try {
    return await prepareSecureBroker(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

async function prepareSecureBroker(dir: string): Promise<SecureBroker> {
  const [plain, sasl, ssl, controller] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const storePass = randomBytes(12).toString('hex');
  const keystore = path.join(dir, 'broker.p12');
  const caFile = path.join(dir, 'broker-ca.pem');
  run('keytool', ['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-validity', '2', '-dname', 'CN=127.0.0.1',
    '-ext', 'SAN=IP:127.0.0.1,DNS:localhost', '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', storePass, '-keypass', storePass]);
  run('keytool', ['-exportcert', '-rfc', '-alias', 'broker', '-keystore', keystore, '-storetype', 'PKCS12', '-storepass', storePass, '-file', caFile]);
  const { plain: plainUser, scram } = SECURE_BROKER_USERS;
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controller}`,
    `listeners=PLAINTEXT://127.0.0.1:${plain},SASL_PLAINTEXT://127.0.0.1:${sasl},SASL_SSL://127.0.0.1:${ssl},CONTROLLER://127.0.0.1:${controller}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${plain},SASL_PLAINTEXT://127.0.0.1:${sasl},SASL_SSL://127.0.0.1:${ssl}`,
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    ...['sasl_plaintext', 'sasl_ssl'].flatMap((listener) => [
      `listener.name.${listener}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_${plainUser.username}="${plainUser.password}";`,
      `listener.name.${listener}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      `listener.name.${listener}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
    ]),
    `ssl.keystore.location=${keystore}`,
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.password=${storePass}`,
    `ssl.key.password=${storePass}`,
    `log.dirs=${path.join(dir, 'data')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    '',
  ].join('\n');
  const config = path.join(dir, 'server.properties');
  writeFileSync(config, props);
  writeFileSync(path.join(dir, 'log4j2.properties'), 'status = warn\nrootLogger.level = WARN\nrootLogger.appenderRef.stdout.ref = stdout\nappender.stdout.type = Console\nappender.stdout.name = stdout\nappender.stdout.layout.type = PatternLayout\nappender.stdout.layout.pattern = [%d] %p %m (%c)%n\n');
  const java = (main: string, args: string[]) => [
    '-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(dir, 'log4j2.properties')}`, '-cp', path.join(LIBS, '*'), main, ...args,
  ];
  const scramCredential = (mechanism: string) => `${mechanism}=[name=${scram.username},password=${scram.password}]`;
  run('java', java('kafka.tools.StorageTool', ['format', `--cluster-id=${randomBytes(16).toString('base64url')}`, '-c', config,
    '--add-scram', scramCredential('SCRAM-SHA-256'), '--add-scram', scramCredential('SCRAM-SHA-512')]));

  let child: ChildProcess | undefined;
  let output = '';
  return {
    plaintext: `127.0.0.1:${plain}`,
    saslPlaintext: `127.0.0.1:${sasl}`,
    saslSsl: `127.0.0.1:${ssl}`,
    caFile,
    dir,
    async start() {
      child = spawn('java', java('kafka.Kafka', [config]), { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout?.on('data', (d) => (output = (output + d).slice(-4000)));
      child.stderr?.on('data', (d) => (output = (output + d).slice(-4000)));
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`the secure broker exited (${child.exitCode}): ${output}`);
        if ((await portOpen(plain)) && (await portOpen(sasl)) && (await portOpen(ssl))) return;
        if (Date.now() > deadline) throw new Error(`the secure broker did not listen within 90 s: ${output}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    },
    async stop() {
      const c = child;
      child = undefined;
      if (c && c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
