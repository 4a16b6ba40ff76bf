import { TOPICS } from '@tally/contracts';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { ingestionService } from '../ingestion.service';
import { DeadLetterRetentionService } from './dead-letter-retention.service';
import type { DeadLetterView } from './dead-letters.controller';

const ADMIN = 'dead-letters-test-admin-token';

describe('dead-letters API (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  let service: ServiceApp;
  let base: string;
  const keys: Record<string, string> = {};
  type Page = { items: Array<DeadLetterView & { tenant?: string | null }>; nextCursor: string | null; errors?: Array<{ pointer: string }> };
  const call = async (method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: Page }> => {
    const res = await fetch(`${base}${path}`, {
      method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Page };
  };
  const mine = (tenant: string, query = '') => call('GET', `/api/v1/dead-letters${query}`, keys[tenant]);
  const admin = (query = '') => call('GET', `/api/v1/admin/dead-letters${query}`, ADMIN);
  /** A raw event ingestion must refuse (no id, no type): its dead letter carries what the producer claimed. */
  const broken = (marker: string, tenantAttribute?: string) => JSON.stringify({ specversion: '1.0', marker, ...(tenantAttribute ? { tenant: tenantAttribute } : {}) });
  const markerOf = (value: string) => {
    try {
      return (JSON.parse(value) as { marker?: string }).marker ?? value;
    } catch {
      return value;
    }
  };
  const markers = (p: Page) => p.items.map((i) => (i.value ? markerOf(i.value) : `b64:${i.valueBase64}`));

  beforeAll(async () => {
    await suite.createTopics();
    service = await createServiceApp(ingestionService, suite.serviceConfig(ingestionService, { ADMIN_TOKEN: ADMIN }));
    await service.app.listen(0, '127.0.0.1');
    base = await service.app.getUrl();
    for (const tenant of ['acme', 'globex']) {
      expect((await call('POST', '/api/v1/admin/tenants', ADMIN, { id: tenant, name: tenant })).status).toBe(201);
      keys[tenant] = ((await (await fetch(`${base}/api/v1/admin/tenants/${tenant}/api-keys`, {
        method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 't' }),
      })).json()) as { key: string }).key;
    }
    // Through ingestion's own raw path: each of these is dead-lettered with its reason, then read back by the dead-letters group.
    await suite.produce(TOPICS.usageEventsRaw, [
      { key: 'a1', value: broken('acme-1', 'acme'), headers: { 'tally-tenant': 'acme' } },
      { key: 'a2', value: broken('acme-2'), headers: { 'tally-tenant': 'acme' } },
      { key: 'a3', value: broken('acme-3', 'acme') },
      { key: 'x1', value: broken('spoof', 'globex'), headers: { 'tally-tenant': 'acme' } },
      { key: 'x2', value: broken('nobody') },
      { key: 'g1', value: broken('globex-1', 'globex'), headers: { 'tally-tenant': 'globex' } },
    ]);
    // A DLQ message that is not a dead letter at all is kept for the operator, not lost or re-dead-lettered.
    await suite.produce(TOPICS.usageEventsDlq, [{ key: null, value: 'garbage on the DLQ' }]);
    // Nor is one whose text Postgres could not store as sent (NUL, a lone surrogate): it would block the partition.
    await suite.produce(TOPICS.usageEventsDlq, [{ key: null, value: JSON.stringify({ reason: 'nul\u0000 and \ud800', source: { topic: 'x.v1' }, headers: {}, value: 'v\u0000' }) }]);
    await expectEventually(async () => expect((await admin('?limit=500')).body.items).toHaveLength(8), 30_000);
  }, 60_000);

  afterAll(async () => {
    await service?.app.close();
    await suite.cleanup();
  });

  it('shows a tenant the dead letters all of whose tenant claims name it, with their reasons, newest first', async () => {
    const acme = await mine('acme', '?limit=500');
    expect(acme.status).toBe(200);
    expect(new Set(markers(acme.body))).toEqual(new Set(['acme-1', 'acme-2', 'acme-3']));
    for (const item of acme.body.items) {
      expect(item.reason).toEqual(expect.any(String));
      expect(item.reason.length).toBeGreaterThan(0);
      expect(item).toMatchObject({ dlqTopic: TOPICS.usageEventsDlq, source: { topic: TOPICS.usageEventsRaw } });
      expect(item).not.toHaveProperty('tenant');
    }
    const times = acme.body.items.map((i) => i.deadLetteredAt);
    expect([...times].sort().reverse()).toEqual(times);
    expect(markers((await mine('globex', '?limit=500')).body)).toEqual(['globex-1']);
  });

  it('never shows a dead letter whose claims disagree or are missing to a tenant; the operator sees them', async () => {
    for (const tenant of ['acme', 'globex']) expect(markers((await mine(tenant, '?limit=500')).body)).not.toEqual(expect.arrayContaining(['spoof']));
    const tenantless = await admin('?tenantless=true&limit=500');
    expect(new Set(markers(tenantless.body))).toEqual(new Set(['spoof', 'nobody', `b64:${Buffer.from('garbage on the DLQ').toString('base64')}`, 'v\\u0000']));
    expect(tenantless.body.items.find((i) => i.source.topic === 'x.v1')?.reason).toBe('nul\\u0000 and \uFFFD');
    expect(tenantless.body.items.every((i) => i.tenant === null)).toBe(true);
    expect(tenantless.body.items.find((i) => i.valueBase64)?.reason).toBe('unreadable dead letter');
    expect(markers((await admin('?tenant=globex')).body)).toEqual(['globex-1']);
  });

  it('pages without gaps or repeats; a cursor from another tenant reads only the caller\'s own', async () => {
    const all = markers((await mine('acme', '?limit=500')).body);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof mine>> = await mine('acme', `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      walked.push(...markers(page.body));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(walked).toEqual(all);
    const globexCursor = (await admin('?limit=1')).body.nextCursor;
    const viaCursor = await mine('globex', `?cursor=${globexCursor}&limit=500`);
    expect(viaCursor.status).toBe(200);
    expect(markers(viaCursor.body).every((m) => m === 'globex-1')).toBe(true);
  });

  it('refuses hostile parameters, and the operator route to anything but the admin token', async () => {
    for (const [query, pointer] of [['?limit=0', '/limit'], ['?cursor=zzz', '/cursor'], ['?tenant=globex', '/tenant'], ['?since=2026-01-01', '/since'], ['?limit=1&limit=2', '/limit']]) {
      const res = await mine('acme', query);
      expect([query, res.status, res.body.errors?.[0]?.pointer]).toEqual([query, 400, pointer]);
    }
    expect((await admin('?tenantless=yes')).status).toBe(400);
    expect((await admin('?tenantless=true&tenant=acme')).status).toBe(400);
    expect((await call('GET', '/api/v1/admin/dead-letters', keys.acme)).status).toBe(401);
    expect((await call('GET', '/api/v1/dead-letters', null)).status).toBe(401);
    expect((await call('GET', '/api/v1/dead-letters', ADMIN)).status).toBe(401);
  });

  // Last: it adds and deletes rows the tests above count.
  it('retention deletes only dead letters older than DEAD_LETTER_RETENTION_DAYS (default 90), tenanted or not, in bounded batches', async () => {
    const now = new Date('2025-06-01T00:00:00.000Z');
    const cutoff = now.getTime() - 90 * 86_400_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    /** A DLQ message as an outbox writes it, dead-lettered at a chosen time. */
    const dlq = (marker: string, at: number, tenant?: string) => ({
      key: null,
      value: JSON.stringify({
        reason: 'retention test', source: { topic: TOPICS.usageEventsRaw, partition: 0, offset: '1' }, headers: tenant ? { 'tally-tenant': tenant } : {},
        value: broken(marker, tenant), deadLetteredAt: iso(at),
      }),
    });
    await suite.produce(TOPICS.usageEventsDlq, [
      dlq('ret-old-1', cutoff - 1, 'acme'), dlq('ret-old-2', cutoff - 86_400_000, 'acme'), dlq('ret-old-3', cutoff - 5 * 365 * 86_400_000, 'globex'),
      dlq('ret-old-4', cutoff - 60_000), dlq('ret-at-cutoff', cutoff, 'acme'), dlq('ret-newer', cutoff + 1, 'acme'), dlq('ret-newer-tenantless', cutoff + 1),
    ]);
    const retention = (p: Page) => markers(p).filter((m) => m.startsWith('ret-')).sort();
    await expectEventually(async () => expect(retention((await admin('?limit=500')).body)).toHaveLength(7), 30_000);
    expect(retention((await mine('acme', '?limit=500')).body)).toEqual(['ret-at-cutoff', 'ret-newer', 'ret-old-1', 'ret-old-2']);
    const table = `"${suite.schema(ingestionService.name)}".dead_letters`;
    const [{ before }] = await suite.query<{ before: number }>(`SELECT count(*)::int AS before FROM ${table}`);

    // Batches of 3 for 4 old rows: 3 + 1, the short batch ends the pass.
    expect(await service.app.get(DeadLetterRetentionService).run(now, 3)).toEqual({ cutoff: iso(cutoff), deleted: 4, batches: 2 });

    expect(retention((await admin('?limit=500')).body)).toEqual(['ret-at-cutoff', 'ret-newer', 'ret-newer-tenantless']);
    expect(retention((await mine('acme', '?limit=500')).body)).toEqual(['ret-at-cutoff', 'ret-newer']);
    expect(retention((await mine('globex', '?limit=500')).body)).toEqual([]);
    // The rows of the tests above (dead-lettered now) are newer than the cut-off and all stay.
    const [{ after }] = await suite.query<{ after: number }>(`SELECT count(*)::int AS after FROM ${table}`);
    expect(after).toBe(before - 4);
    expect(markers((await admin('?tenant=globex')).body)).toEqual(['globex-1']);
    // Exactly a batch's worth ends with one empty batch; a pass with nothing to do is one statement.
    expect(await service.app.get(DeadLetterRetentionService).run(new Date(cutoff + 90 * 86_400_000 + 2), 3)).toEqual({ cutoff: iso(cutoff + 2), deleted: 3, batches: 2 });
    expect(await service.app.get(DeadLetterRetentionService).run(now)).toEqual({ cutoff: iso(cutoff), deleted: 0, batches: 1 });
    expect(retention((await admin('?limit=500')).body)).toEqual([]);
  });
});
