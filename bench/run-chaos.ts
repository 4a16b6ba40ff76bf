// `npm run chaos [-- --short]`: faults under load, then checks that nothing was lost or doubled.
// Env: CHAOS_EVENTS, CHAOS_CUSTOMERS, CHAOS_RATE, CHAOS_KILLS, CHAOS_SEED, CHAOS_POISON_ROUNDS (0: no poison);
// KAFKA_BROKERS / DATABASE_URL.
// Writes the report to bench/results/chaos-<date>.md (the short run only prints it).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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
    const options = {
      kafkaBrokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
      databaseUrl,
      events: num('CHAOS_EVENTS', short ? 3000 : 20_000),
      customers: num('CHAOS_CUSTOMERS', short ? 50 : 200),
      ratePerSecond: num('CHAOS_RATE', short ? 500 : 1000),
      serviceKills: num('CHAOS_KILLS', short ? 4 : 8),
      // Rounds of every poison kind during the load; one more follows the faults.
      poisonRounds: num('CHAOS_POISON_ROUNDS', short ? 1 : 2),
      // Restarting a broker others use is not ours to do: only the local one started for Tally.
      restartBroker: localBroker && !short,
      terminatePostgres: true,
      seed: num('CHAOS_SEED', Date.now() % 100_000),
      log: (msg: string) => process.stdout.write(`[chaos] ${msg}\n`),
    };
    const startedAt = new Date();
    const report = await runChaos(options);
    process.stdout.write(`\n${formatReport(report)}\n\n`);
    if (!short) {
      const dir = path.join(ROOT, 'bench', 'results');
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `chaos-${startedAt.toISOString().slice(0, 10)}.md`);
      const header = [
        `# Chaos run ${startedAt.toISOString().slice(0, 16)}Z`,
        '',
        `\`npm run chaos\` on ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}: ${options.events} unique events (+2 % resent) ` +
          `for ${options.customers} customers at ${options.ratePerSecond} events/s through all five services, ${options.serviceKills} kills, ` +
          `${options.restartBroker ? 'a broker restart, ' : ''}${options.poisonRounds ? `${options.poisonRounds + 1} rounds of poison messages, ` : ''}` +
          `seed ${options.seed} (\`CHAOS_SEED=${options.seed}\` replays the schedule). ` +
          `Result: ${report.passed ? 'all checks passed' : 'FAILED'}.`,
        '',
      ];
      writeFileSync(file, `${header.join('\n')}\n${formatReport(report)}\n`);
      process.stdout.write(`[chaos] report written to ${path.relative(ROOT, file)}\n`);
    }
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
