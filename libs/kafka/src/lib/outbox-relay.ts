import type { DataSource } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import type { JsonLogger } from '@tally/telemetry';
import type { EventProducer } from './event-producer';
import { outboxPending, outboxPublished } from './kafka-metrics';

export interface OutboxRelayOptions {
  batchSize?: number;
  /** How long to sleep when the outbox is empty and nobody called `wake()`. */
  idleMs?: number;
  /** Published rows older than this are deleted. */
  retentionMs?: number;
}

/**
 * Publishes the outbox in id order (so in order per key) and marks rows published. Only one relay per
 * schema publishes at a time (advisory lock), which keeps per-key order across service instances.
 * A crash between the send and the mark republishes those rows: at-least-once, and consumers dedupe by
 * event id.
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  /** A wake() that arrived while a pass was running: the next sleep returns at once instead of idling. */
  private woken = false;
  private lastPurge = 0;
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly retentionMs: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: EventProducer,
    private readonly logger: JsonLogger,
    options: OutboxRelayOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000;
    this.idleMs = options.idleMs ?? 200;
    this.retentionMs = options.retentionMs ?? 3_600_000;
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called after a transaction wrote to the outbox, so publishing does not wait for the next poll. */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** Publishes one batch; returns how many rows it published (0 when empty or another relay holds the lock). */
  async publishOnce(): Promise<number> {
    const s = schemaOf(this.dataSource);
    return this.dataSource.transaction(async (m) => {
      // The lock and the read in one round trip: the lock is tried once, and the rows are read only under it.
      const result: Array<{ locked: boolean; id: string | null; topic: string; message_key: string | null; value: string; headers: Record<string, string> }> =
        await m.query(
          `SELECT l.locked, o.id, o.topic, o.message_key, o.value, o.headers
           FROM (SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked) l
           LEFT JOIN LATERAL (
             SELECT id, topic, message_key, value, headers FROM ${s}.outbox
             WHERE l.locked AND published_at IS NULL ORDER BY id LIMIT $2
           ) o ON true`,
          [`tally-outbox:${s}`, this.batchSize],
        );
      if (!result[0]?.locked) return 0;
      const rows = result.filter((r) => r.id !== null);
      outboxPending.set(rows.length);
      if (rows.length === 0) return 0;
      await this.producer.send(rows.map((r) => ({ topic: r.topic, key: r.message_key, value: r.value, headers: r.headers })));
      await m.query(`UPDATE ${s}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
      for (const r of rows) outboxPublished.inc({ topic: r.topic });
      return rows.length;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        const published = await this.publishOnce();
        failures = 0;
        await this.purgeIfDue();
        if (published < this.batchSize) await this.sleep(published === 0 ? this.idleMs : 5);
      } catch (e) {
        failures += 1;
        // Never swallowed silently: logged, and the rows stay unpublished to be retried.
        this.logger.error('outbox relay pass failed; retrying', { error: e as Error, failures });
        await this.sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  private async purgeIfDue(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    const s = schemaOf(this.dataSource);
    await this.dataSource.query(
      `DELETE FROM ${s}.outbox WHERE published_at IS NOT NULL AND published_at < now() - ($1::int * interval '1 millisecond')`,
      [this.retentionMs],
    );
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.woken = false;
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
