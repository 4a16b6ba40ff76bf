// Aggregation's ledger claim (UsageLedgerRepository.recordNew) alone against Postgres: CPU of the backend
// (from /proc) and of this process per event, for the claim's SQL without the rest of the pipeline.
//   node -r ./tools/register.js <checkout>/bench/ledger-claim.ts [events=60000] [batch=500] [ids=short|uuid]
// The repository and migrations are loaded from the current directory, so running it from another checkout
// (a worktree of the commit before a change) gives the A side of an A/B with the same events.
// DATABASE_URL (default: database tally_bench); a private schema, dropped at the end.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import type { UsageEvent } from '@tally/contracts';

const root = process.cwd();
// The code under test comes from the checkout in cwd.
const { openServiceDataSource, ensureDatabase } = require(path.join(root, 'libs/postgres/src'));
const { aggregationService } = require(path.join(root, 'apps/aggregation/src/aggregation.service'));
const { UsageLedgerRepository } = require(path.join(root, 'apps/aggregation/src/usage/usage-ledger.repository'));
const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench';
const EVENTS = Number(process.argv[2] ?? 60_000);
const BATCH = Number(process.argv[3] ?? 500);
const IDS = process.argv[4] ?? 'short';

/** user + system CPU of a process in ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

async function main(): Promise<void> {
  await ensureDatabase(URL);
  const schema = `ledger_claim_${Date.now().toString(36)}`;
  const ds: DataSource = await openServiceDataSource({ url: URL, schema, migrations: aggregationService.migrations, poolSize: 3 });
  const repo = new UsageLedgerRepository();
  const now = Date.now();
  await repo.precreatePartitions(ds, new Date(now));
  // The bench's mix (load-generator.ts): 1 % late by 1-3 days, 1 % resent, 2,000 customers, three meters.
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
  const make = (i: number): UsageEvent => {
    const time = new Date(now - (rnd() < 0.01 ? 86_400_000 * (1 + 2 * rnd()) : 3_600_000 * rnd())).toISOString();
    const calls = 1 + Math.floor(rnd() * 10);
    const user = `user-${Math.floor(rnd() * 50)}`;
    const id = IDS === 'uuid' ? randomUUID() : `e${i}`;
    return {
      eventId: `bench:bench:${id}`, occurredAt: time, tenant: 'bench', id, source: 'bench', type: 'api.call', subject: `customer-${Math.floor(rnd() * 2000)}`, time,
      data: { calls, user },
      readings: [
        { meter: 'calls', aggregation: 'SUM', value: String(calls), groupBy: {} },
        { meter: 'requests', aggregation: 'COUNT', value: '1', groupBy: {} },
        { meter: 'users', aggregation: 'UNIQUE_COUNT', value: user, groupBy: {} },
      ],
    };
  };
  const recent: UsageEvent[] = [];
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < EVENTS; ) {
    const batch: UsageEvent[] = [];
    while (batch.length < BATCH && i < EVENTS) {
      if (recent.length > 0 && rnd() < 0.01) batch.push(recent[Math.floor(rnd() * recent.length)]);
      else {
        const e = make(i++);
        batch.push(e);
        if (recent.length < 1000) recent.push(e);
        else recent[Math.floor(rnd() * 1000)] = e;
      }
    }
    batches.push(batch);
  }
  const runner: QueryRunner = ds.createQueryRunner();
  await runner.connect();
  const [{ pid }] = await runner.query('SELECT pg_backend_pid() AS pid');
  let counted = 0;
  const pg0 = cpuMs(pid);
  const node0 = process.cpuUsage();
  const wall0 = Date.now();
  for (const batch of batches) {
    await runner.startTransaction();
    counted += (await repo.recordNew(runner.manager, batch)).length;
    await runner.commitTransaction();
  }
  const node = process.cpuUsage(node0);
  const round = (x: number) => Math.round(x * 10) / 10;
  process.stdout.write(`${JSON.stringify({
    events: EVENTS, batch: BATCH, ids: IDS, counted,
    postgresUsPerEvent: round(((cpuMs(pid) - pg0) * 1000) / EVENTS),
    nodeUsPerEvent: round((node.user + node.system) / EVENTS),
    wallMs: Date.now() - wall0,
  })}\n`);
  await runner.release();
  await ds.query(`DROP SCHEMA "${schema}" CASCADE`);
  await ds.destroy();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
