import { invoiceChangedSchema } from '@tally/contracts';
import { invoiceChanged, type InvoiceState } from './invoice-event';
import { INVOICE_STATUSES } from './invoice-lifecycle';

const base: InvoiceState = {
  tenant: 'acme', invoiceId: 'inv-1', number: 'draft-inv-1', customer: 'c', subscriptionId: 'sub', periodStart: new Date('2027-03-01T00:00:00Z'),
  periodEnd: new Date('2027-04-01T00:00:00Z'), currency: 'EUR', status: 'draft', document: { total: '11.00', subtotal: '10.00', tax: '1.00', amountDue: '11.00' },
  dueAt: null, paymentAttempts: 0, nextPaymentAttemptAt: null,
};
const stamp = { eventId: 'e-1', occurredAt: new Date('2027-04-01T01:00:00Z') };

describe('invoiceChanged (billing.invoices.v1)', () => {
  it('a draft: no number (its placeholder is not one), no due date', () => {
    const event = invoiceChanged(base, stamp);
    expect(event).toEqual({
      eventId: 'e-1', occurredAt: '2027-04-01T01:00:00.000Z', tenant: 'acme', customer: 'c', invoiceId: 'inv-1', subscriptionId: 'sub', status: 'draft', currency: 'EUR',
      periodStart: '2027-03-01T00:00:00.000Z', periodEnd: '2027-04-01T00:00:00.000Z', total: '11.00', subtotal: '10.00', tax: '1.00', amountDue: '11.00',
      paymentAttempts: 0, nextPaymentAttemptAt: null,
    });
    expect(invoiceChangedSchema.parse(event)).toEqual(event);
  });

  it('a failed payment: number, due date, attempts and the next attempt', () => {
    const event = invoiceChanged({ ...base, status: 'payment_failed', number: 'INV-000007', dueAt: new Date('2027-04-15T00:00:00Z'), paymentAttempts: 2, nextPaymentAttemptAt: new Date('2027-04-18T00:00:00Z') }, stamp);
    expect(event).toMatchObject({ number: 'INV-000007', dueAt: '2027-04-15T00:00:00.000Z', paymentAttempts: 2, nextPaymentAttemptAt: '2027-04-18T00:00:00.000Z' });
    expect(invoiceChangedSchema.parse(event)).toEqual(event);
  });

  it.each(INVOICE_STATUSES.filter((s) => s !== 'draft'))('every status past draft carries the number and fits the contract: %s', (status) => {
    const event = invoiceChanged({ ...base, status, number: 'INV-1', dueAt: new Date('2027-04-01T00:00:00Z') }, stamp);
    expect([event.status, event.number]).toEqual([status, 'INV-1']);
    expect(invoiceChangedSchema.safeParse(event).success).toBe(true);
  });
});
