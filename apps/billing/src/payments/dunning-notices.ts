import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { customerKey, TOPICS, type DunningNotice } from '@tally/contracts';
import type { OutgoingEvent } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import type { DunningNoticeKind } from '../domain/dunning';

type NoticeFacts = Omit<DunningNotice, 'eventId' | 'occurredAt' | 'tenant' | 'customer' | 'notice' | 'billingEmail'>;

/** A dunning notice for `billing.dunning-notices.v1`, addressed to the customer's billing e-mail (null when it has none). */
export async function dunningNoticeEvent(m: EntityManager, tenant: string, customer: string, notice: DunningNoticeKind, facts: NoticeFacts, now: Date): Promise<OutgoingEvent> {
  const [row]: Array<{ billing_email: string | null }> = await m.query(`SELECT billing_email FROM ${schemaOf(m.connection)}.customers WHERE tenant = $1 AND customer_id = $2`, [tenant, customer]);
  const value: DunningNotice = { eventId: randomUUID(), occurredAt: now.toISOString(), tenant, customer, notice, billingEmail: row?.billing_email ?? null, ...facts };
  return { topic: TOPICS.billingDunningNotices, key: customerKey(tenant, customer), value };
}
