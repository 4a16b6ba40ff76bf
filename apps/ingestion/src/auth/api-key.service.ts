import { Inject, Injectable } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { HEADERS, TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { catalogSigningSecret, hashApiKey, OutboxPublisher, SERVICE_CONFIG, signApiKeyChange, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';

export interface ApiKeyView {
  id: string;
  tenant: string;
  name: string | null;
  /** The key's first characters, enough to recognise it; the key itself is never shown again. */
  masked: string;
  createdAt: string;
  revokedAt: string | null;
}

/** How long a resolved key is trusted without asking Postgres again (so revocation takes at most this). */
const CACHE_MS = 5_000;

@Injectable()
export class ApiKeyService {
  private readonly cache = new Map<string, { tenant: string | null; until: number }>();
  private readonly signingSecret: string;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxPublisher,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.signingSecret = catalogSigningSecret(config);
  }

  async createTenant(id: string, name: string): Promise<{ id: string; name: string; created: boolean }> {
    const rows = await this.dataSource.query(
      `INSERT INTO ${schemaOf(this.dataSource)}.tenants (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [id, name],
    );
    return { id, name, created: rows.length > 0 };
  }

  async listTenants(): Promise<Array<{ id: string; name: string; createdAt: string }>> {
    const rows = await this.dataSource.query(`SELECT id, name, created_at FROM ${schemaOf(this.dataSource)}.tenants ORDER BY id`);
    return rows.map((r: { id: string; name: string; created_at: Date }) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString() }));
  }

  async tenantExists(id: string): Promise<boolean> {
    const rows = await this.dataSource.query(`SELECT 1 FROM ${schemaOf(this.dataSource)}.tenants WHERE id = $1`, [id]);
    return rows.length > 0;
  }

  /** Creates a key; the plain key is in the result and nowhere else. */
  async createKey(tenant: string, name: string | null): Promise<ApiKeyView & { key: string }> {
    const key = `tly_${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    const keyHash = hashApiKey(key);
    const row = await this.outbox.inTransaction(async (manager, emit) => {
      const [created] = await manager.query(
        `INSERT INTO ${schemaOf(manager.connection)}.api_keys (id, tenant, key_hash, key_prefix, name) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, tenant, name, key_prefix, created_at, revoked_at`,
        [id, tenant, keyHash, key.slice(0, 8), name],
      );
      emit(keyChanged(this.signingSecret, tenant, id, keyHash, false));
      return created;
    });
    return { ...toView(row), key };
  }

  async listKeys(tenant: string): Promise<ApiKeyView[]> {
    const rows = await this.dataSource.query(
      `SELECT id, tenant, name, key_prefix, created_at, revoked_at FROM ${schemaOf(this.dataSource)}.api_keys WHERE tenant = $1 ORDER BY created_at`,
      [tenant],
    );
    return rows.map(toView);
  }

  async revokeKey(id: string): Promise<boolean> {
    const revoked = await this.outbox.inTransaction(async (manager, emit) => {
      // TypeORM answers UPDATE/DELETE with [rows, affected], not rows.
      const [rows] = await manager.query(
        `UPDATE ${schemaOf(manager.connection)}.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING tenant, key_hash`,
        [id],
      );
      if (rows.length === 0) return false;
      emit(keyChanged(this.signingSecret, rows[0].tenant, id, rows[0].key_hash, true));
      return true;
    });
    this.cache.clear();
    return revoked;
  }

  /** The tenant a key belongs to, or null for an unknown or revoked key. */
  async tenantForKey(key: string): Promise<string | null> {
    const hash = hashApiKey(key);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.tenant;
    const rows = await this.dataSource.query(
      `SELECT tenant FROM ${schemaOf(this.dataSource)}.api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
      [hash],
    );
    const tenant = rows[0]?.tenant ?? null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { tenant, until: Date.now() + CACHE_MS });
    return tenant;
  }
}

/** Signed, so that the other services' projections can tell it from a message anyone with produce rights wrote. */
function keyChanged(signingSecret: string, tenant: string, keyId: string, keyHash: string, revoked: boolean) {
  const value: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant, keyId, keyHash, revoked };
  return { topic: TOPICS.catalogApiKeys, key: keyId, value, headers: { [HEADERS.signature]: signApiKeyChange(signingSecret, keyId, value) } };
}

function toView(r: { id: string; tenant: string; name: string | null; key_prefix: string; created_at: Date; revoked_at: Date | null }): ApiKeyView {
  return {
    id: r.id,
    tenant: r.tenant,
    name: r.name,
    masked: `${r.key_prefix}…`,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}
