import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { READ_DATA_SOURCE, type FieldError } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { RFC3339 } from './query-params';

export interface ConflictsFilter {
  source?: string;
  limit: number;
  after?: { firstSeen: string; source: string; id: string; hash: string };
}

/** One payload that arrived for an already counted `(source, id)` and differed from the counted one. */
export interface EventConflict {
  source: string;
  id: string;
  /** SHA-256 (hex) of the counted payload and of this conflicting one (see usage-ledger.repository.ts). */
  countedHash: string;
  conflictingHash: string;
  /** How many times this conflicting payload arrived (none of them counted). */
  count: number;
  firstSeen: string;
  lastSeen: string;
  /** The conflicting payload (subject, type, time, readings, data) as JSON text, cut when sampleTruncated. */
  sample: string;
  sampleTruncated: boolean;
}

/** Conflicting duplicates of a tenant, newest first, keyset-paged. */
@Injectable()
export class EventConflictsRepository {
  constructor(@Inject(READ_DATA_SOURCE) private readonly dataSource: DataSource) {}

  parseFilter(params: Record<string, string | string[]>): { ok: true; filter: ConflictsFilter } | { ok: false; errors: FieldError[] } {
    const errors: FieldError[] = [];
    for (const [name, value] of Object.entries(params)) if (Array.isArray(value)) errors.push({ pointer: `/${name}`, detail: 'must be given once' });
    if (errors.length > 0) return { ok: false, errors };
    const one = params as Record<string, string | undefined>;
    const limit = one.limit === undefined ? 100 : Number(one.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) errors.push({ pointer: '/limit', detail: 'must be an integer from 1 to 1000' });
    let after: ConflictsFilter['after'];
    if (one.cursor) {
      after = parseCursor(one.cursor);
      if (!after) errors.push({ pointer: '/cursor', detail: 'is not a cursor this API returned' });
    }
    if (errors.length > 0) return { ok: false, errors };
    return { ok: true, filter: { source: one.source, limit, after } };
  }

  async page(tenant: string, f: ConflictsFilter): Promise<{ data: EventConflict[]; nextCursor: string | null }> {
    const params: unknown[] = [tenant, f.limit + 1];
    const where: string[] = [];
    if (f.source !== undefined) where.push(`source = $${params.push(f.source)}`);
    if (f.after) {
      const t = `$${params.push(f.after.firstSeen)}::timestamptz`;
      where.push(`(first_seen < ${t} OR (first_seen = ${t} AND (source, event_id, conflicting_hash) > ($${params.push(f.after.source)}, $${params.push(f.after.id)}, decode($${params.push(f.after.hash)}, 'hex'))))`);
    }
    const rows: Array<{
      source: string;
      event_id: string;
      first_hash: string;
      conflicting_hash: string;
      count: string;
      first_seen: Date;
      first_seen_key: string;
      last_seen: Date;
      sample: string;
      sample_truncated: boolean;
    }> = await this.dataSource.query(
      `SELECT source, event_id, encode(first_hash, 'hex') AS first_hash, encode(conflicting_hash, 'hex') AS conflicting_hash, count::text,
              first_seen, to_char(first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS first_seen_key, last_seen, sample, sample_truncated
       FROM ${schemaOf(this.dataSource)}.event_conflicts
       WHERE tenant = $1 ${where.map((w) => `AND ${w}`).join(' ')}
       ORDER BY first_seen DESC, source, event_id, conflicting_hash
       LIMIT $2`,
      params,
    );
    const page = rows.slice(0, f.limit);
    const last = page[page.length - 1];
    return {
      data: page.map((r) => ({
        source: r.source,
        id: r.event_id,
        countedHash: r.first_hash,
        conflictingHash: r.conflicting_hash,
        count: Number(r.count),
        firstSeen: r.first_seen.toISOString(),
        lastSeen: r.last_seen.toISOString(),
        sample: r.sample,
        sampleTruncated: r.sample_truncated,
      })),
      nextCursor:
        rows.length > f.limit && last
          ? Buffer.from(JSON.stringify({ firstSeen: last.first_seen_key, source: last.source, id: last.event_id, hash: last.conflicting_hash })).toString('base64url')
          : null,
    };
  }
}

function parseCursor(cursor: string): ConflictsFilter['after'] | undefined {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof c.firstSeen !== 'string' || typeof c.source !== 'string' || typeof c.id !== 'string' || typeof c.hash !== 'string') return undefined;
    if (!RFC3339.test(c.firstSeen) || Number.isNaN(Date.parse(c.firstSeen)) || !/^[0-9a-f]{64}$/.test(c.hash)) return undefined;
    return { firstSeen: c.firstSeen, source: c.source, id: c.id, hash: c.hash };
  } catch {
    return undefined;
  }
}
