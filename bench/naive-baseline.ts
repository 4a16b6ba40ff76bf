import type { Kafka } from 'kafkajs';
import type { Client } from 'pg';

/**
 * The design Tally replaces: one message at a time, one transaction per event, one INSERT for the
 * ledger and one upsert per reading. Consumes the first `limit` canonical events of the run and returns
 * its rate, measured on the same machine in the same run.
 */
export async function runNaiveBaseline(kafka: Kafka, db: Client, topic: string, schema: string, limit: number): Promise<number> {
  await db.query(`CREATE SCHEMA "${schema}"`);
  await db.query(`CREATE TABLE "${schema}".ledger (tenant text, source text, id text, PRIMARY KEY (tenant, source, id))`);
  await db.query(`CREATE TABLE "${schema}".totals (tenant text, customer text, meter text, value numeric, n bigint, PRIMARY KEY (tenant, customer, meter))`);
  const consumer = kafka.consumer({ groupId: `${schema}-naive`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let handled = 0;
  let started = 0;
  let finishedAt = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ message }) => {
          if (handled >= limit) return;
          if (started === 0) started = Date.now();
          const e = JSON.parse(message.value!.toString());
          await db.query('BEGIN');
          const inserted = await db.query(`INSERT INTO "${schema}".ledger VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING id`, [e.tenant, e.source, e.id]);
          if (inserted.rowCount) {
            for (const r of e.readings) {
              await db.query(
                `INSERT INTO "${schema}".totals VALUES ($1, $2, $3, $4, 1) ON CONFLICT (tenant, customer, meter)
                 DO UPDATE SET value = totals.value + excluded.value, n = totals.n + 1`,
                [e.tenant, e.subject, r.meter, r.value !== null && /^-?\d/.test(r.value) ? r.value : 0],
              );
            }
          }
          await db.query('COMMIT');
          handled += 1;
          if (handled === limit) {
            finishedAt = Date.now();
            resolve();
          }
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return Math.round(limit / ((finishedAt - started) / 1000));
}
