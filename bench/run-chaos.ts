// `npm run chaos [-- --short]`: faults under load, then checks that nothing was lost or doubled.
// Env: CHAOS_EVENTS, CHAOS_CUSTOMERS, CHAOS_RATE, CHAOS_KILLS, CHAOS_SEED; KAFKA_BROKERS / DATABASE_URL.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureDatabase } from '@tally/postgres';
import { formatReport, runChaos } from './chaos';

const ROOT = path.resolve(__dirname, '..');
const short = process.argv.includes('--short');
const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

async function main(): Promise<void> {
  let startedBroker = false;
  const localBroker = !process.env.KAFKA_BROKERS;
  if (localBroker) {
    const out = spawnSync(process.execPath, [path.join(ROOT, 'tools/kafka.js'), 'ensure', '--json'], { encoding: 'utf8' });
    startedBroker = JSON.parse(out.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}').started === true;
  }
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_chaos';
  await ensureDatabase(databaseUrl);
  try {
    const report = await runChaos({
      kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      databaseUrl,
      events: num('CHAOS_EVENTS', short ? 3000 : 20_000),
      customers: num('CHAOS_CUSTOMERS', short ? 50 : 200),
      ratePerSecond: num('CHAOS_RATE', short ? 500 : 1000),
      serviceKills: num('CHAOS_KILLS', short ? 3 : 6),
      // Restarting a broker others use is not ours to do: only the local one started for Tally.
      restartBroker: localBroker && !short,
      terminatePostgres: true,
      seed: num('CHAOS_SEED', Date.now() % 100_000),
      log: (msg) => process.stdout.write(`[chaos] ${msg}\n`),
    });
    process.stdout.write(`\n${formatReport(report)}\n\n`);
    process.stdout.write(report.passed ? '[chaos] all checks passed\n' : '[chaos] FAILED\n');
    process.exitCode = report.passed ? 0 : 1;
  } finally {
    if (startedBroker) spawnSync(process.execPath, [path.join(ROOT, 'tools/kafka.js'), 'stop']);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
