import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { customerKey, TOPICS, type PaymentRetryRequested } from '@tally/contracts';
import { OutboxPublisher } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { paymentAttemptDue } from '../domain/dunning';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';

interface RetryRow {
  tenant: string;
  invoice_id: string;
  number: string;
  customer: string;
  currency: string;
  status: string;
  amount_due: string;
  payment_attempts: number;
  next_payment_attempt_at: Date | null;
  retry_requested_attempt: number;
}

/**
 * Acts on the dunning schedule: when a failed invoice's `next_payment_attempt_at` has come, asks the
 * payment provider adapter to charge it again (`billing.payment-retries.v1`), once per attempt: the
 * request and the attempt it was for commit together. One transaction per invoice (job isolation).
 */
@Injectable()
export class PaymentRetryService {
  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly failures: JobFailuresService,
  ) {}

  async requestDueRetries(now = new Date()): Promise<number> {
    const due: Array<{ tenant: string; invoice_id: string }> = await this.outbox.inTransaction((m) =>
      m.query(
        `SELECT tenant, invoice_id FROM ${schemaOf(m.connection)}.invoices
         WHERE status = 'payment_failed' AND next_payment_attempt_at <= $1 AND retry_requested_attempt <= payment_attempts ORDER BY next_payment_attempt_at`,
        [now],
      ),
    );
    const backingOff = await this.failures.backingOff('payment-retry', now);
    let requested = 0;
    for (const d of due) {
      if (backingOff.has(failureId(d.tenant, d.invoice_id))) continue;
      const outcome = await this.failures.run('payment-retry', { tenant: d.tenant, key: d.invoice_id, item: { invoiceId: d.invoice_id } }, now, async (m, emit) => {
        const s = schemaOf(m.connection);
        const [row]: RetryRow[] = await m.query(`SELECT * FROM ${s}.invoices WHERE tenant = $1 AND invoice_id = $2 FOR UPDATE SKIP LOCKED`, [d.tenant, d.invoice_id]);
        if (!row) return false;
        const attempt = paymentAttemptDue(
          { status: row.status, paymentAttempts: row.payment_attempts, nextPaymentAttemptAt: row.next_payment_attempt_at, retryRequestedAttempt: row.retry_requested_attempt },
          now,
        );
        if (attempt === null) return false;
        await m.query(`UPDATE ${s}.invoices SET retry_requested_attempt = $3 WHERE tenant = $1 AND invoice_id = $2`, [row.tenant, row.invoice_id, attempt]);
        const value: PaymentRetryRequested = {
          eventId: randomUUID(), occurredAt: now.toISOString(), tenant: row.tenant, customer: row.customer, invoiceId: row.invoice_id, invoiceNumber: row.number,
          attempt, amountDue: row.amount_due, currency: row.currency, scheduledAt: row.next_payment_attempt_at!.toISOString(),
        };
        emit({ topic: TOPICS.billingPaymentRetries, key: customerKey(row.tenant, row.customer), value });
        return true;
      });
      if (outcome.ok && outcome.value) requested++;
    }
    await this.failures.refreshGauge();
    return requested;
  }
}
