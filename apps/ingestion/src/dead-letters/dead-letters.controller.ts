import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { feedFilter, feedPage, FeedQueryError, parseFeedPage, problem } from '@tally/nest-platform';
import { AdminTokenGuard, ApiKeyGuard, Tenant } from '../auth/guards';
import { DeadLetterRepository, type DeadLetterScope, type StoredDeadLetter } from './dead-letter.repository';

/** A page shows at most this much of each original value; `valueSize` and `valueSha256` describe all of it. */
export const VALUE_PREVIEW_CHARS = 4096;

export interface DeadLetterView {
  id: string;
  deadLetteredAt: string;
  dlqTopic: string;
  reason: string;
  source: { topic: string | null; partition: number | null; offset: string | null; timestamp: string | null };
  key: string | null;
  headers: Record<string, string>;
  value: string | null;
  valueBase64: string | null;
  /** The preview above was cut to VALUE_PREVIEW_CHARS (apart from `truncated`: the dead letter itself kept only part). */
  previewCut: boolean;
  valueSize: number;
  valueSha256: string | null;
  truncated: boolean;
}

const cut = (s: string | null) => (s !== null && s.length > VALUE_PREVIEW_CHARS ? s.slice(0, VALUE_PREVIEW_CHARS) : s);
const view = (r: StoredDeadLetter): DeadLetterView => ({
  id: r.id,
  deadLetteredAt: r.at,
  dlqTopic: r.dlq_topic,
  reason: r.reason,
  source: { topic: r.source_topic, partition: r.source_partition, offset: r.source_offset, timestamp: r.source_timestamp },
  key: r.message_key,
  headers: r.headers,
  value: cut(r.value),
  valueBase64: cut(r.value_base64),
  previewCut: (r.value?.length ?? 0) > VALUE_PREVIEW_CHARS || (r.value_base64?.length ?? 0) > VALUE_PREVIEW_CHARS,
  valueSize: r.value_size,
  valueSha256: r.value_sha256,
  truncated: r.truncated,
});

async function listPage(repository: DeadLetterRepository, scope: (q: Record<string, unknown>) => DeadLetterScope, query: Record<string, unknown>, params: ReadonlySet<string>) {
  try {
    const unknown = Object.keys(query).find((k) => !params.has(k));
    if (unknown !== undefined) throw new FeedQueryError(`/${unknown.slice(0, 50)}`, 'is not a parameter of this route');
    const page = parseFeedPage(query);
    const rows = await repository.list(scope(query), page);
    const { page: shown, nextCursor } = feedPage(rows, page.limit, (r) => r);
    return { shown, nextCursor };
  } catch (e) {
    if (e instanceof FeedQueryError) throw problem(400, 'invalid query', [{ pointer: e.pointer, detail: e.detail }]);
    throw e;
  }
}

/** The API key's tenant's dead letters (those whose tenant claims all agree on it), newest first. */
@Controller('api/v1/dead-letters')
@UseGuards(ApiKeyGuard)
export class DeadLettersController {
  constructor(private readonly repository: DeadLetterRepository) {}

  /** `since` (RFC 3339), `limit` 1-500 (default 50), `cursor`. */
  @Get()
  async list(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<{ items: DeadLetterView[]; nextCursor: string | null }> {
    const { shown, nextCursor } = await listPage(this.repository, () => ({ tenant }), query, new Set(['since', 'limit', 'cursor']));
    return { items: shown.map(view), nextCursor };
  }
}

/** Every dead letter, for the operator (ADMIN_TOKEN): also those no tenant may see; `tenant` or `tenantless=true` narrows. */
@Controller('api/v1/admin/dead-letters')
@UseGuards(AdminTokenGuard)
export class AdminDeadLettersController {
  constructor(private readonly repository: DeadLetterRepository) {}

  @Get()
  async list(@Query() query: Record<string, unknown>): Promise<{ items: Array<DeadLetterView & { tenant: string | null }>; nextCursor: string | null }> {
    const scope = (q: Record<string, unknown>): DeadLetterScope => {
      const tenantless = feedFilter('tenantless', q.tenantless);
      if (tenantless !== null && tenantless !== 'true' && tenantless !== 'false') throw new FeedQueryError('/tenantless', 'must be true or false');
      const tenant = feedFilter('tenant', q.tenant);
      if (tenant !== null && tenantless === 'true') throw new FeedQueryError('/tenantless', 'cannot be combined with tenant');
      return { operator: true, tenant, tenantless: tenantless === 'true' };
    };
    const { shown, nextCursor } = await listPage(this.repository, scope, query, new Set(['tenant', 'tenantless', 'since', 'limit', 'cursor']));
    return { items: shown.map((r) => ({ ...view(r), tenant: r.tenant })), nextCursor };
  }
}
