import { Controller, Inject, Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { ConsumedBatch } from '../exactly-once-transport';
import { READ_DATA_SOURCE, SERVICE_CONFIG } from '../tokens';
import type { ServiceConfig } from '../service-config';
import { bearerToken, hashApiKey, unauthorized, type TenantRequest } from './bearer';
import { ApiKeyCache } from './api-key-cache';
import { problem } from '../problem-details';
import { TokenBuckets } from '../rate-limit/token-buckets';
import { apiKeyChangeSignatureProblem, catalogSigningSecret } from './catalog-signature';

export class CreateApiKeyProjection1732400000060 implements MigrationInterface {
  name = 'CreateApiKeyProjection1732400000060';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE ${schemaOf(q.connection)}.api_key_projection (
      key_id text PRIMARY KEY, key_hash text NOT NULL UNIQUE, tenant text NOT NULL, revoked boolean NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.api_key_projection`);
  }
}

/**
 * Keeps this service's copy of API key hashes from `catalog.api-keys.v1`. Only messages signed by ingestion
 * count: an unsigned or badly signed one goes to the topic's DLQ with the reason and grants nothing.
 */
@Controller()
export class ApiKeyProjectionController {
  private readonly signingSecret: string;

  constructor(@Inject(SERVICE_CONFIG) config: ServiceConfig) {
    this.signingSecret = catalogSigningSecret(config);
  }

  @EventPattern(TOPICS.catalogApiKeys)
  async onApiKeys(@Payload() batch: ConsumedBatch<ApiKeyChanged>): Promise<void> {
    const signed = batch.messages.filter((m) => {
      const problem = apiKeyChangeSignatureProblem(this.signingSecret, m.key, m.value, m.headers);
      if (problem) batch.deadLetter(m, problem);
      return !problem;
    });
    const latest = new Map(signed.map((m) => [m.value.keyId, m.value]));
    const keys = [...latest.values()];
    if (keys.length === 0) return;
    await batch.manager.query(
      `INSERT INTO ${schemaOf(batch.manager.connection)}.api_key_projection (key_id, key_hash, tenant, revoked)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
       ON CONFLICT (key_id) DO UPDATE SET revoked = excluded.revoked OR api_key_projection.revoked`,
      [keys.map((k) => k.keyId), keys.map((k) => k.keyHash), keys.map((k) => k.tenant), keys.map((k) => k.revoked)],
    );
  }
}

/**
 * Authenticates tenant API calls in services other than ingestion, against their projection of the
 * key hashes, on the API's read pool. A revocation reaches it as fast as Kafka delivers it (plus the
 * cache's 5 s). Memory is bounded and unknown keys cannot flush known ones (see ApiKeyCache). Reads
 * (GET, HEAD) then take a token from the tenant's bucket: 429 with Retry-After beyond the rate limit.
 */
@Injectable()
export class ProjectedApiKeyGuard implements CanActivate {
  private readonly keys: ApiKeyCache;
  private readonly reads: TokenBuckets;

  constructor(@Inject(READ_DATA_SOURCE) dataSource: DataSource, @Inject(SERVICE_CONFIG) config: ServiceConfig) {
    this.keys = new ApiKeyCache(async (hash) => {
      const rows = await dataSource.query(`SELECT tenant FROM ${schemaOf(dataSource)}.api_key_projection WHERE key_hash = $1 AND NOT revoked`, [hash]);
      return rows[0]?.tenant ?? null;
    });
    this.reads = new TokenBuckets(config.api.readRatePerSecond, config.api.readBurst);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    await this.authenticate(context.switchToHttp().getRequest<TenantRequest>());
    return true;
  }

  /**
   * The guard's check on a bare request, for a route served before Nest's router (a hot path): sets and
   * returns `req.tenant`, or throws the same problem (401, 429) the guard would.
   */
  async authenticate(req: TenantRequest): Promise<string> {
    const key = bearerToken(req);
    if (!key) throw unauthorized('missing Authorization: Bearer <api key>');
    const found = await this.keys.resolve(hashApiKey(key));
    if (found.tenant === null) {
      if (found.throttled) throw unauthorized('unknown API key (too many unknown keys tried: not looked up)', found.retryAfterSeconds);
      throw unauthorized('unknown or revoked API key');
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      const allowed = this.reads.take(found.tenant, 1);
      if (!allowed.ok) {
        throw problem(429, `read rate limit of this tenant exceeded; retry after ${allowed.retryAfterSeconds} s`, undefined, { 'Retry-After': String(allowed.retryAfterSeconds) });
      }
    }
    req.tenant = found.tenant;
    return found.tenant;
  }
}

/** Import into a service that serves tenant APIs (and add CreateApiKeyProjection to its migrations). */
@Module({ controllers: [ApiKeyProjectionController], providers: [ProjectedApiKeyGuard], exports: [ProjectedApiKeyGuard] })
export class TenantAuthModule {}
