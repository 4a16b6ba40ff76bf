import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import type { DataSource, EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import { contextFromHeaders, spanContextOf, traceHeaders, type JsonLogger } from '@tally/telemetry';
import type { EventProducer, ProducedRecord } from './event-producer';
import { describeFailure, failureKind, isPermanentRecordFailure } from './failure-kind';
import { outboxParked, outboxParkedPending, outboxPending, outboxPublished } from './kafka-metrics';

interface OutboxRow {
  id: string;
  topic: string;
  message_key: string | null;
  value: string;
  headers: Record<string, string>;
  attempts: number;
}

const toRecord = (r: OutboxRow): ProducedRecord => ({ topic: r.topic, key: r.message_key, value: r.value, headers: r.headers });

const tracer = trace.getTracer('@tally/kafka');

/**
 * The rows as records, each row that was written inside a trace sent under a PRODUCER span continuing that trace
 * (the context stored in the row's headers when it was written, restored here) and its headers pointing at that
 * span: a consumer's batch span links to the send, which sits in the trace of the request or message that caused
 * the row. Rows of one stored context and topic (the derived events of one message) share one span, so a pass
 * makes a span per cause rather than per row (each costs a few µs: extract, start, inject). Rows without a
 * stored context are sent as stored. The caller ends the spans.
 */
function tracedRecords(rows: OutboxRow[]): { records: ProducedRecord[]; spans: Span[] } {
  const spans: Span[] = [];
  const sendHeaders = new Map<string, Record<string, string>>();
  const records = rows.map((row) => {
    const traceparent = row.headers?.traceparent;
    if (!traceparent) return toRecord(row);
    const cause = `${traceparent}|${row.headers.tracestate ?? ''}|${row.topic}`;
    let headers = sendHeaders.get(cause);
    if (!headers) {
      const stored = contextFromHeaders(row.headers);
      if (!spanContextOf(stored)) return toRecord(row);
      const span = tracer.startSpan(
        `send ${row.topic}`,
        { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'kafka', 'messaging.operation.type': 'send', 'messaging.destination.name': row.topic, 'tally.outbox.first_id': row.id } },
        stored,
      );
      spans.push(span);
      headers = traceHeaders(trace.setSpan(stored, span));
      sendHeaders.set(cause, headers);
    }
    return { ...toRecord(row), headers: { ...row.headers, ...headers } };
  });
  return { records, spans };
}

function endSpans(spans: Span[], error?: unknown): void {
  for (const span of spans) {
    if (error !== undefined) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    }
    span.end();
  }
}

/** Sends `rows` in one call, each traced as above. */
async function sendTraced(producer: EventProducer, rows: OutboxRow[]): Promise<void> {
  const { records, spans } = tracedRecords(rows);
  try {
    await producer.send(records);
  } catch (e) {
    endSpans(spans, e);
    throw e;
  }
  endSpans(spans);
}

export interface OutboxRelayOptions {
  batchSize?: number;
  /** How long to sleep when the outbox is empty and nobody called `wake()`. */
  idleMs?: number;
  /** Published rows older than this are deleted. */
  retentionMs?: number;
  /** Passes a record may fail (for a reason not known to be the broker's state) before it is parked. */
  maxAttempts?: number;
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
  private readonly maxAttempts: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly producer: EventProducer,
    private readonly logger: JsonLogger,
    options: OutboxRelayOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 2000;
    this.idleMs = options.idleMs ?? 200;
    this.retentionMs = options.retentionMs ?? 3_600_000;
    this.maxAttempts = options.maxAttempts ?? 5;
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

  /**
   * Publishes one batch; returns how many rows it published (0 when empty or another relay holds the lock).
   * When the batch's send fails and the broker itself is reachable, the batch is tried again on later passes;
   * once the broker refused a record for what it is, or the batch failed `maxAttempts` passes, the rows are
   * sent one at a time in id order: a row the broker refuses for what it is (too large, invalid), or that failed `maxAttempts` passes,
   * is parked with the reason, and every other row goes on — one bad record never blocks other topics.
   */
  async publishOnce(): Promise<number> {
    const s = schemaOf(this.dataSource);
    let failure: unknown;
    const published = await this.dataSource.transaction(async (m) => {
      // The lock and the read in one round trip: the lock is tried once, and the rows are read only under it.
      const result: Array<OutboxRow & { locked: boolean }> = await m.query(
        `SELECT l.locked, o.id, o.topic, o.message_key, o.value, o.headers, o.attempts
         FROM (SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked) l
         LEFT JOIN LATERAL (
           SELECT id, topic, message_key, value, headers, attempts FROM ${s}.outbox
           WHERE l.locked AND published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $2
         ) o ON true`,
        [`tally-outbox:${s}`, this.batchSize],
      );
      if (!result[0]?.locked) return 0;
      const rows = result.filter((r) => r.id !== null);
      outboxPending.set(rows.length);
      if (rows.length === 0) return 0;
      try {
        await sendTraced(this.producer, rows);
        await this.markPublished(m, rows);
        return rows.length;
      } catch (e) {
        // The broker is away: nothing to learn from single sends; the pass is retried after a backoff.
        if (failureKind(e) === 'transient') throw e;
        failure = e;
        if (!isPermanentRecordFailure(e) && rows[0].attempts + 1 < this.maxAttempts) {
          // Unknown cause: the batch is tried again whole (fewer duplicates than single sends) a few times first.
          await m.query(`UPDATE ${s}.outbox SET attempts = attempts + 1 WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
          return 0;
        }
        const outcome = await this.publishOneByOne(m, rows);
        failure = outcome.failure;
        return outcome.published;
      }
    });
    // Rows published before a failure are marked (committed above); the failure itself backs the relay off.
    if (failure !== undefined) throw failure;
    return published;
  }

  private async publishOneByOne(m: EntityManager, rows: OutboxRow[]): Promise<{ published: number; failure?: unknown }> {
    const s = schemaOf(this.dataSource);
    const sent: OutboxRow[] = [];
    try {
      for (const row of rows) {
        try {
          await sendTraced(this.producer, [row]);
          sent.push(row);
        } catch (e) {
          if (failureKind(e) === 'transient' && !isPermanentRecordFailure(e)) return { published: sent.length, failure: e };
          const attempts = row.attempts + 1;
          if (isPermanentRecordFailure(e) || attempts >= this.maxAttempts) {
            const reason = describeFailure(e);
            await m.query(`UPDATE ${s}.outbox SET parked_at = now(), park_reason = $2, attempts = $3 WHERE id = $1`, [row.id, reason, attempts]);
            outboxParked.inc({ topic: row.topic });
            this.logger.error('outbox record parked: the broker refuses it; the relay goes on with the next records', {
              id: row.id,
              topic: row.topic,
              bytes: Buffer.byteLength(row.value),
              attempts,
              reason,
            });
            continue;
          }
          // Not known to be about this record: counted, retried on the next pass (in order), parked after maxAttempts.
          await m.query(`UPDATE ${s}.outbox SET attempts = $2 WHERE id = $1`, [row.id, attempts]);
          return { published: sent.length, failure: e };
        }
      }
      return { published: sent.length };
    } finally {
      await this.markPublished(m, sent);
    }
  }

  private async markPublished(m: EntityManager, rows: OutboxRow[]): Promise<void> {
    if (rows.length === 0) return;
    const s = schemaOf(this.dataSource);
    await m.query(`UPDATE ${s}.outbox SET published_at = now() WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)]);
    for (const r of rows) outboxPublished.inc({ topic: r.topic });
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
    // Parked rows are kept (an operator re-queues or drops them); the gauge says how many wait.
    const [{ parked }] = await this.dataSource.query(`SELECT count(*)::int AS parked FROM ${s}.outbox WHERE parked_at IS NOT NULL`);
    outboxParkedPending.set(parked);
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
