import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { problem } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { canonicalJson } from '../domain/idempotency';
import { consumeCoupon, newAppliedCoupon, type AppliedCoupon, type CouponDefinition } from '../domain/coupons';

interface AppliedRow {
  id: string;
  customer: string;
  definition: CouponDefinition;
  subscription_id: string | null;
  applied_at: Date;
  status: 'active' | 'terminated';
  amount_remaining: string | null;
  periods_remaining: number | null;
}

const toApplied = (r: AppliedRow): AppliedCoupon => ({
  id: r.id, coupon: r.definition, subscriptionId: r.subscription_id, appliedAt: r.applied_at, status: r.status, amountRemaining: r.amount_remaining, periodsRemaining: r.periods_remaining,
});

/** Coupon definitions per tenant, and coupons applied to customers or subscriptions with what is left of them. */
@Injectable()
export class CouponsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** A new code is created (201); the same definition again changes nothing (200); another definition for the code is a 409. */
  async define(tenant: string, coupon: CouponDefinition): Promise<{ coupon: CouponDefinition; created: boolean }> {
    const s = schemaOf(this.dataSource);
    const [inserted] = await this.dataSource.query(`INSERT INTO ${s}.coupons (tenant, code, definition) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING code`, [tenant, coupon.code, JSON.stringify(coupon)]);
    if (inserted) return { coupon, created: true };
    const existing = await this.coupon(tenant, coupon.code);
    if (existing && canonicalJson(existing) === canonicalJson(coupon)) return { coupon: existing, created: false };
    throw problem(409, `coupon "${coupon.code}" exists with another definition; coupons applied keep theirs, so create a new code`);
  }

  async coupon(tenant: string, code: string): Promise<CouponDefinition | null> {
    const [row] = await this.dataSource.query(`SELECT definition FROM ${schemaOf(this.dataSource)}.coupons WHERE tenant = $1 AND code = $2`, [tenant, code]);
    return row?.definition ?? null;
  }

  async coupons(tenant: string): Promise<CouponDefinition[]> {
    const rows = await this.dataSource.query(`SELECT definition FROM ${schemaOf(this.dataSource)}.coupons WHERE tenant = $1 ORDER BY code`, [tenant]);
    return rows.map((r: { definition: CouponDefinition }) => r.definition);
  }

  async apply(tenant: string, customer: string, code: string, subscriptionId: string | null, now = new Date()): Promise<AppliedCoupon> {
    return this.dataSource.transaction(async (m) => {
      const s = schemaOf(m.connection);
      const [c] = await m.query(`SELECT currency FROM ${s}.customers WHERE tenant = $1 AND customer_id = $2`, [tenant, customer]);
      if (!c) throw problem(404, `no customer "${customer}"`);
      const coupon = await this.coupon(tenant, code);
      if (!coupon) throw problem(404, `no coupon "${code}"`);
      if (coupon.expiresAt && new Date(coupon.expiresAt).getTime() <= now.getTime()) throw problem(409, `coupon "${code}" expired at ${coupon.expiresAt}`);
      if (subscriptionId !== null) {
        const [sub] = await m.query(`SELECT 1 FROM ${s}.subscriptions WHERE tenant = $1 AND subscription_id = $2 AND customer = $3`, [tenant, subscriptionId, customer]);
        if (!sub) throw problem(404, `no subscription "${subscriptionId}" of customer "${customer}"`);
      }
      const state = newAppliedCoupon(coupon);
      const [row]: AppliedRow[] = await m.query(
        `INSERT INTO ${s}.applied_coupons (tenant, id, customer, coupon_code, definition, subscription_id, applied_at, status, amount_remaining, periods_remaining)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [tenant, randomUUID(), customer, code, JSON.stringify(coupon), subscriptionId, now, state.status, state.amountRemaining, state.periodsRemaining],
      );
      return toApplied(row);
    });
  }

  async applied(tenant: string, customer: string, m: EntityManager = this.dataSource.manager, lock = false): Promise<AppliedCoupon[]> {
    const rows: AppliedRow[] = await m.query(
      `SELECT id, customer, definition, subscription_id, applied_at, status, amount_remaining::text, periods_remaining FROM ${schemaOf(m.connection)}.applied_coupons
       WHERE tenant = $1 AND customer = $2 ORDER BY applied_at, id${lock ? ' FOR UPDATE' : ''}`,
      [tenant, customer],
    );
    return rows.map(toApplied);
  }

  /** In the finalize transaction: what each coupon took is taken from it (rows locked when the invoice's sources were read). */
  async consume(m: EntityManager, tenant: string, used: ReadonlyArray<{ id: string; amount: string }>, coupons: readonly AppliedCoupon[]): Promise<void> {
    for (const u of used) {
      const coupon = coupons.find((c) => c.id === u.id);
      if (!coupon) throw new Error(`applied coupon "${u.id}" of the invoice is missing`);
      const next = consumeCoupon(coupon, u.amount);
      await m.query(`UPDATE ${schemaOf(m.connection)}.applied_coupons SET status = $3, amount_remaining = $4, periods_remaining = $5 WHERE tenant = $1 AND id = $2`, [
        tenant, u.id, next.status, next.amountRemaining, next.periodsRemaining]);
    }
  }
}
