import { formatReport, runChaos } from '../../bench/chaos';

/**
 * The short chaos run inside `npm test`: SIGKILLs of aggregation, threshold-alerting, billing and ingestion
 * and one termination of their Postgres connections under load, with poison messages of every kind
 * (bench/chaos-poison.ts) among the good ones, in every codec this Node can produce, and every kind of
 * threshold alert checked exactly once (bench/chaos-alerts.ts). (The broker restart is only in
 * `npm run chaos`: other suites share this broker.)
 */
describe('chaos (short): faults under load lose nothing and double nothing', () => {
  it('passes every check', async () => {
    const report = await runChaos({
      kafkaBrokers: process.env.KAFKA_BROKERS!,
      databaseUrl: process.env.DATABASE_URL!,
      events: 2000,
      customers: 40,
      ratePerSecond: 400,
      serviceKills: 4,
      restartBroker: false,
      terminatePostgres: true,
      seed: 7,
    });
    process.stdout.write(`${formatReport(report)}\n`);
    expect(report.faults.filter((f) => f.fault.startsWith('SIGKILL'))).toHaveLength(4);
    // The poison checks ran (DLQ, oversized dead letters, metrics of all five services, parked rows, readiness).
    expect(report.checks.filter((c) => /^(DLQ|outbox|readiness)|tally_dead_letters_total/.test(c.check))).toHaveLength(10);
    // The reconciliation checks ran (billing's API, units billed per customer, the mismatch gauge).
    expect(report.checks.filter((c) => /reconciliation|every unit sent invoiced/.test(c.check))).toHaveLength(3);
    // One alert check per kind (soft, overage, hard_limit, absolute, spend, step, recovered, forecast), each
    // with something expected: every kind was driven, not only found absent.
    const alertChecks = report.checks.filter((c) => /^alerts /.test(c.check));
    expect(alertChecks.map((c) => c.check.split(':')[0])).toEqual(
      ['soft', 'overage', 'hard_limit', 'absolute', 'spend', 'step', 'recovered', 'forecast'].map((kind) => `alerts ${kind}`),
    );
    for (const c of alertChecks) expect(Number(/^(\d+) expected/.exec(c.detail)?.[1])).toBeGreaterThan(0);
    expect(report.checks.filter((c) => !c.passed)).toEqual([]);
  }, 600_000); // above the sum of the run's own drain deadlines, so a slow drain fails on its check, not here
});
