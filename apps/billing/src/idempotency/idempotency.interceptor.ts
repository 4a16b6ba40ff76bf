import { Inject, Injectable, SetMetadata, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { OutboxPublisher, problem, ProblemException, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { billingSettings } from '../billing-config';
import { idempotencyDecision, isRememberedStatus, parseIdempotencyKey, requestFingerprint } from '../domain/idempotency';

const OWN_IDEMPOTENCY = 'tally:billing:own-idempotency';
/** The route checks its Idempotency-Key in its own transaction (exactly once even across a crash); the interceptor leaves it alone. */
export const HandlesOwnIdempotency = (): MethodDecorator => SetMetadata(OWN_IDEMPOTENCY, true);

/** Expired keys of a tenant removed per request: bounded, so a request never pays for a backlog. */
const PURGE_BATCH = 100;

/**
 * `Idempotency-Key` on every POST of the billing API, per tenant. The key is reserved before the
 * handler runs (a concurrent request with it gets a 409), its successful answer (status and body) is
 * stored after, and the same request with the key gets that answer again (`Idempotent-Replayed:
 * true`) until the key expires (`BILLING_IDEMPOTENCY_TTL_HOURS`); the key with another method, path or
 * body is a 422. An error answer is not remembered (the request changed nothing; its retry runs).
 * The reservation and the answer are separate transactions from the handler's: if the process dies
 * between the handler's commit and the answer's, the key stays "in progress" (409) until it expires
 * rather than risk running the request twice.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly ttlMs: number;

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.ttlMs = billingSettings(config).BILLING_IDEMPOTENCY_TTL_HOURS * 3_600_000;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request & { tenant?: string }>();
    if (req.method !== 'POST' || this.reflector.get<boolean>(OWN_IDEMPOTENCY, context.getHandler())) return next.handle();
    const { key, error } = parseIdempotencyKey(req.headers['idempotency-key']);
    if (error) throw problem(400, error);
    if (key === undefined || !req.tenant) return next.handle();
    const res = context.switchToHttp().getResponse<Response>();
    return from(this.run(req.tenant, key, requestFingerprint({ method: req.method, url: req.originalUrl, body: req.body ?? null }), next, res));
  }

  private async run(tenant: string, key: string, fingerprint: string, next: CallHandler, res: Response): Promise<unknown> {
    const now = new Date();
    const stored = await this.outbox.inTransaction(async (m) => {
      const s = schemaOf(m.connection);
      await m.query(
        `DELETE FROM ${s}.idempotent_requests WHERE ctid IN (SELECT ctid FROM ${s}.idempotent_requests WHERE tenant = $1 AND expires_at <= $2 LIMIT ${PURGE_BATCH})`,
        [tenant, now],
      );
      const [reserved] = await m.query(
        `INSERT INTO ${s}.idempotent_requests (tenant, key, fingerprint, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, key) DO NOTHING RETURNING key`,
        [tenant, key, fingerprint, new Date(now.getTime() + this.ttlMs)],
      );
      if (reserved) return null;
      const [row]: Array<{ fingerprint: string; status: number | null; response: string | null; expires_at: Date }> = await m.query(
        `SELECT fingerprint, status, response, expires_at FROM ${s}.idempotent_requests WHERE tenant = $1 AND key = $2 FOR UPDATE`,
        [tenant, key],
      );
      return row;
    });
    if (stored) {
      const decision = idempotencyDecision({ fingerprint: stored.fingerprint, status: stored.status, expiresAt: stored.expires_at }, fingerprint, now);
      if (decision === 'mismatch') {
        throw new ProblemException({ status: 422, title: 'Unprocessable Content', detail: 'this Idempotency-Key was already used for a different request (another method, path or body); use a new key for a new request' });
      }
      if (decision === 'in-progress') throw problem(409, 'a request with this Idempotency-Key is still in progress; retry later', undefined, { 'Retry-After': '1' });
      if (decision === 'replay') return this.replay(res, stored.status!, stored.response);
      // An expired record in the way (purged in batches): taken over for this request.
      await this.outbox.inTransaction((m) =>
        m.query(`UPDATE ${schemaOf(m.connection)}.idempotent_requests SET fingerprint = $3, status = NULL, response = NULL, created_at = $4, expires_at = $5 WHERE tenant = $1 AND key = $2`, [
          tenant, key, fingerprint, now, new Date(now.getTime() + this.ttlMs)]),
      );
    }
    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (e) {
      await this.release(tenant, key, fingerprint);
      throw e;
    }
    const status = res.statusCode;
    if (!isRememberedStatus(status)) {
      await this.release(tenant, key, fingerprint);
      return body;
    }
    await this.outbox.inTransaction((m) =>
      m.query(`UPDATE ${schemaOf(m.connection)}.idempotent_requests SET status = $4, response = $5 WHERE tenant = $1 AND key = $2 AND fingerprint = $3`, [
        tenant, key, fingerprint, status, body === undefined ? '' : JSON.stringify(body)]),
    );
    return body;
  }

  private async release(tenant: string, key: string, fingerprint: string): Promise<void> {
    await this.outbox.inTransaction((m) =>
      m.query(`DELETE FROM ${schemaOf(m.connection)}.idempotent_requests WHERE tenant = $1 AND key = $2 AND fingerprint = $3 AND status IS NULL`, [tenant, key, fingerprint]),
    );
  }

  private replay(res: Response, status: number, response: string | null): unknown {
    res.setHeader('Idempotent-Replayed', 'true');
    res.status(status);
    // Nest applies the route's own status code after the interceptor; the replayed one must win.
    const setStatus = res.status.bind(res);
    res.status = ((_: number) => setStatus(status)) as Response['status'];
    return response ? (JSON.parse(response) as unknown) : undefined;
  }
}
