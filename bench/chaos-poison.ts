// Poison messages for the chaos run: what a hostile or careless producer sends to usage.events.raw.v1, and
// what a buggy internal producer (bypassing ingestion) could write to usage.events.v1 that passes the schema
// but that aggregation cannot apply. Each kind says where it must end (its DLQ), with which reason and under
// which `tally_dead_letters_total` reason label. Pure: the run (chaos.ts) produces them and hands what it
// found back to the checks below.
import { createHash, randomBytes } from 'node:crypto';
import type { DeadLetterValue } from '@tally/kafka';

/** The header every poison message carries, copied into its dead letter: `<kind>#<n>`. */
export const POISON_TAG_HEADER = 'chaos-poison';

/** Above the broker's default 1 MiB `message.max.bytes`: such a message's dead letter fits only when cut. */
export const OVERSIZED_VALUE_BYTES = 1_500_000;

/** Source topics of the run are created with this `max.message.bytes`, so the oversized poison gets in. */
export const SOURCE_TOPIC_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export type PoisonSource = 'raw' | 'usage';
export type DeadLetterReasonLabel = 'undecodable' | 'schema' | 'rejected' | 'poison';

export interface PoisonMessage {
  key: string;
  value: Buffer;
  headers: Record<string, string | Buffer>;
}

export interface PoisonKind {
  name: string;
  /** raw: usage.events.raw.v1 (ingestion); usage: usage.events.v1 (aggregation). */
  source: PoisonSource;
  label: DeadLetterReasonLabel;
  /** What the dead letter's reason must say. */
  reason: RegExp;
  /** The value exceeds the broker's default limit: the dead letter must keep a cut copy, its size and hash. */
  oversized?: boolean;
  build(customer: string, tag: string, tenant: string): PoisonMessage;
}

const rawEvent = (customer: string, tag: string, over: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `poison-${tag}`,
  source: 'chaos',
  type: 'api.call',
  subject: customer,
  time: new Date().toISOString(),
  data: { calls: 1 },
  ...over,
});

/** A usage.events.v1 message as ingestion would write it, with `over` applied to the event and `reading` to its one reading. */
const usageEvent = (customer: string, tag: string, tenant: string, over: Record<string, unknown> = {}, reading: Record<string, unknown> = {}) => {
  const id = `poison-${tag}`;
  const time = new Date().toISOString();
  return {
    eventId: `${tenant}:chaos:${id}`,
    occurredAt: time,
    tenant,
    id,
    source: 'chaos',
    type: 'api.call',
    subject: customer,
    time,
    data: { calls: 1 },
    readings: [{ meter: 'calls', aggregation: 'SUM', value: '1', groupBy: {}, ...reading }],
    ...over,
  };
};

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
/** Random text does not compress: the message stays oversized in every codec. */
const incompressible = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes);

export const POISON_KINDS: PoisonKind[] = [
  // Ingestion's raw path: refused by the decoder (input limits), the schema, or the handler (tenant, meter policy, size).
  {
    name: 'raw: invalid JSON',
    source: 'raw',
    label: 'undecodable',
    reason: /^\(value\): /,
    build: (customer, tag, tenant) => ({ key: customer, value: Buffer.from(JSON.stringify(rawEvent(customer, tag)).slice(0, 60)), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: schema-invalid (data a string, no source)',
    source: 'raw',
    label: 'schema',
    reason: /^schema validation failed: .*(source|data)/,
    build: (customer, tag, tenant) => ({ key: customer, value: json(rawEvent(customer, tag, { source: undefined, data: 'calls=1' })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: a NUL in the id',
    source: 'raw',
    label: 'undecodable',
    reason: /^\/id: .*NUL/,
    build: (customer, tag, tenant) => ({ key: customer, value: json(rawEvent(customer, tag, { id: `poison-${tag}\u0000x` })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: a 100,000-deep document',
    source: 'raw',
    label: 'undecodable',
    reason: /nests deeper than 32 levels/,
    build: (customer, _tag, tenant) => ({ key: customer, value: Buffer.from('['.repeat(100_000) + ']'.repeat(100_000)), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: an unknown tenant',
    source: 'raw',
    label: 'rejected',
    reason: /^tenant: unknown tenant "initech-chaos"/,
    build: (customer, tag) => ({ key: customer, value: json(rawEvent(customer, tag)), headers: { 'tally-tenant': 'initech-chaos' } }),
  },
  {
    name: 'raw: a negative value on a meter that does not allow it',
    source: 'raw',
    label: 'rejected',
    reason: /does not allow negative values \(-2 at \$\.calls\)/,
    build: (customer, tag, tenant) => ({ key: customer, value: json(rawEvent(customer, tag, { data: { calls: -2 } })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: an event over INGEST_MAX_EVENT_BYTES',
    source: 'raw',
    label: 'rejected',
    reason: /^\(event\): is \d+ bytes; at most \d+ \(INGEST_MAX_EVENT_BYTES\)/,
    build: (customer, tag, tenant) => ({ key: customer, value: json(rawEvent(customer, tag, { data: { calls: 1, pad: 'x'.repeat(70_000) } })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'raw: binary mode, a ce_ header that is not UTF-8',
    source: 'raw',
    label: 'undecodable',
    reason: /^header ce_subject is not valid UTF-8/,
    build: (customer, tag, tenant) => ({
      key: customer,
      value: Buffer.from('{"calls":1}'),
      headers: {
        'content-type': 'application/json',
        ce_specversion: '1.0',
        ce_id: `poison-${tag}`,
        ce_source: 'chaos',
        ce_type: 'api.call',
        ce_subject: Buffer.from([0x63, 0xe9, 0xff]),
        'tally-tenant': tenant,
      },
    }),
  },
  {
    name: 'raw: oversized (1.5 MB, incompressible)',
    source: 'raw',
    label: 'rejected',
    reason: /^\(event\): is \d+ bytes; at most \d+ \(INGEST_MAX_EVENT_BYTES\)/,
    oversized: true,
    build: (customer, tag, tenant) => ({
      key: customer,
      value: json(rawEvent(customer, tag, { data: { calls: 1, pad: incompressible(OVERSIZED_VALUE_BYTES) } })),
      headers: { 'tally-tenant': tenant },
    }),
  },
  // Straight to usage.events.v1: valid by the schema, refused by aggregation's Postgres writes or its handler
  // (each verified against Postgres 15: the SQLSTATE in the reason).
  {
    name: 'usage: a NUL in a group-by value (jsonb refuses \\u0000)',
    source: 'usage',
    label: 'poison',
    reason: /^handler failed \d+ time\(s\): .*unsupported Unicode escape sequence.*22P05/,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, {}, { groupBy: { region: 'eu\u0000west' } })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'usage: a NUL in the subject (text and jsonb refuse it)',
    source: 'usage',
    label: 'poison',
    // The ledger claim hands the batch to Postgres as one jsonb document, whose parser refuses \u0000 (22P05)
    // before a text column would (22021); either way it is Postgres refusing the message, not a schema.
    reason: /^handler failed \d+ time\(s\): .*(invalid byte sequence for encoding "UTF8": 0x00.*22021|unsupported Unicode escape sequence.*22P05)/,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, { subject: `${customer}\u0000` })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'usage: a reading beyond numeric (131,073 digits)',
    source: 'usage',
    label: 'poison',
    reason: /^handler failed \d+ time\(s\): .*value overflows numeric format.*22003/,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, {}, { value: `1${'0'.repeat(131_072)}` })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'usage: a reading that is not a number',
    source: 'usage',
    label: 'schema',
    reason: /^schema validation failed: readings\.0\.value: a numeric aggregation needs a finite decimal string value/,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, {}, { value: 'twelve' })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'usage: an id over INPUT_LIMITS (6,000 bytes; ingestion never writes one)',
    source: 'usage',
    label: 'poison',
    reason: /^handler failed \d+ time\(s\): usage event refused before its dedupe key: id is \d+ bytes \(UTF-8\); at most 512/,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, { id: `poison-${tag}-${incompressible(6000)}` })), headers: { 'tally-tenant': tenant } }),
  },
  {
    name: 'usage: oversized (1.5 MB id, incompressible)',
    source: 'usage',
    label: 'poison',
    reason: /^handler failed \d+ time\(s\): usage event refused before its dedupe key: id is \d+ bytes \(UTF-8\); at most 512/,
    oversized: true,
    build: (customer, tag, tenant) => ({ key: `${tenant}:${customer}`, value: json(usageEvent(customer, tag, tenant, { id: `poison-${tag}-${incompressible(OVERSIZED_VALUE_BYTES)}` })), headers: { 'tally-tenant': tenant } }),
  },
];

/** A poison message the broker acknowledged: where it is, and what its dead letter must say. */
export interface InjectedPoison {
  tag: string;
  kind: PoisonKind;
  /** Logical topic. */
  topic: string;
  partition: number;
  offset: string;
  codec: string;
  valueSize: number;
  valueSha256: string;
  /** ms since epoch, when the broker acknowledged it. */
  sentAt: number;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export interface PoisonCheck {
  check: string;
  passed: boolean;
  detail: string;
}

/**
 * Every acknowledged poison message is in the DLQ at least once (a kill between ingestion's send and its
 * commit sends a dead letter again: distinct source offsets are compared, not copies), with a reason of its
 * kind, and an oversized one as a cut copy with its full size and hash; nothing else is in the DLQ (a good
 * event there would be a lost event). A poison message the load generator sent again after an unacknowledged
 * send (broker restart) sits at another offset: its dead letter is accepted if its reason is right.
 */
export function checkDeadLetters(injected: InjectedPoison[], deadLetters: DeadLetterValue[]): PoisonCheck[] {
  const byTag = new Map<string, PoisonKind>(injected.map((p) => [p.tag, p.kind]));
  const at = (topic: string, partition: number, offset: string) => `${topic}/${partition}/${offset}`;
  const found = new Map<string, DeadLetterValue[]>();
  const untagged: DeadLetterValue[] = [];
  const wrongReason: string[] = [];
  for (const d of deadLetters) {
    const tag = d.headers[POISON_TAG_HEADER];
    const kind = tag === undefined ? undefined : byTag.get(tag);
    if (tag === undefined) {
      untagged.push(d);
      continue;
    }
    if (kind && !kind.reason.test(d.reason)) wrongReason.push(`${tag}: "${d.reason.slice(0, 160)}"`);
    const k = at(d.source.topic, d.source.partition, d.source.offset);
    found.set(k, [...(found.get(k) ?? []), d]);
  }
  const missing = injected.filter((p) => !found.has(at(p.topic, p.partition, p.offset)));
  const misplaced = injected.filter((p) => (found.get(at(p.topic, p.partition, p.offset)) ?? []).some((d) => d.headers[POISON_TAG_HEADER] !== p.tag));
  const copies = [...found.values()].reduce((s, l) => s + l.length, 0);
  const extraOffsets = found.size - injected.filter((p) => found.has(at(p.topic, p.partition, p.offset))).length;
  const badCut: string[] = [];
  for (const p of injected.filter((x) => x.kind.oversized)) {
    for (const d of found.get(at(p.topic, p.partition, p.offset)) ?? []) {
      const kept = d.valueBase64 ? Buffer.from(d.valueBase64, 'base64').length : Buffer.byteLength(d.value ?? '');
      if (!d.truncated || d.valueSize !== p.valueSize || d.valueSha256 !== p.valueSha256 || kept >= p.valueSize) badCut.push(`${p.tag}: truncated ${d.truncated}, size ${d.valueSize}/${p.valueSize}, kept ${kept}`);
    }
  }
  const kinds = new Set(injected.map((p) => p.kind.name)).size;
  return [
    {
      check: 'DLQ: every injected poison message dead-lettered (distinct source offsets), with the reason of its kind',
      passed: missing.length === 0 && misplaced.length === 0 && wrongReason.length === 0,
      detail:
        `${injected.length} injected (${kinds} kinds, codecs ${[...new Set(injected.map((p) => p.codec))].join('/')}), ${injected.length - missing.length} found at their offsets, ` +
        `${copies - found.size} repeated copies, ${extraOffsets} re-sent by the load generator` +
        (missing.length ? `; missing: ${missing.slice(0, 5).map((p) => `${p.tag} at ${at(p.topic, p.partition, p.offset)}`).join(', ')}` : '') +
        (misplaced.length ? `; another message's dead letter at: ${misplaced.slice(0, 3).map((p) => p.tag).join(', ')}` : '') +
        (wrongReason.length ? `; wrong reasons: ${wrongReason.slice(0, 3).join('; ')}` : ''),
    },
    {
      check: 'DLQ: oversized poison kept as a cut copy with its full size and SHA-256 (the broker took every dead letter)',
      passed: badCut.length === 0 && injected.some((p) => p.kind.oversized),
      detail: badCut.length ? badCut.slice(0, 3).join('; ') : `${injected.filter((p) => p.kind.oversized).length} oversized messages of ${Math.round(OVERSIZED_VALUE_BYTES / 1000)} kB`,
    },
    {
      check: 'DLQ: nothing but the injected poison (no good event dead-lettered)',
      passed: untagged.length === 0,
      detail: untagged.length ? `${untagged.length} untagged, e.g. ${untagged.slice(0, 2).map((d) => `${d.source.topic}/${d.source.partition}/${d.source.offset}: ${d.reason.slice(0, 120)}`).join('; ')}` : `${deadLetters.length} dead letters read`,
    },
  ];
}

/** `tally_dead_letters_total` samples of one /metrics page, keyed `<topic>|<reason>`. */
export function parseDeadLetterMetrics(page: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of page.split('\n')) {
    const m = /^tally_dead_letters_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...m[1].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    out.set(`${labels.topic}|${labels.reason}`, Number(m[2]));
  }
  return out;
}

/**
 * Counters start at zero with each process, so only what the service's last process must have counted is
 * checked: every poison message acknowledged after that process was spawned (no earlier process can have
 * consumed it) is counted under its topic and reason — at least once each. And no (topic, reason) is
 * counted that no injected kind has: a good message dead-lettered would show there.
 */
export function checkDeadLetterMetrics(service: string, metrics: Map<string, number>, injected: InjectedPoison[], spawnedAt: number): PoisonCheck {
  const expected = new Map<string, number>();
  const injectedLabels = new Set(injected.map((p) => `${p.topic}|${p.kind.label}`));
  for (const p of injected) if (p.sentAt > spawnedAt) expected.set(`${p.topic}|${p.kind.label}`, (expected.get(`${p.topic}|${p.kind.label}`) ?? 0) + 1);
  const short = [...expected].filter(([k, n]) => (metrics.get(k) ?? 0) < n).map(([k, n]) => `${k}: ${metrics.get(k) ?? 0} < ${n}`);
  const unexpected = [...metrics].filter(([k, n]) => n > 0 && !injectedLabels.has(k)).map(([k, n]) => `${k}: ${n}`);
  return {
    check: `${service}: tally_dead_letters_total counts the injected poison by topic and reason, nothing else`,
    // The run ends with a round of every kind after the last restart: for a service that consumes poison,
    // nothing expected of its last process means the check saw nothing.
    passed: short.length === 0 && unexpected.length === 0 && (injected.length === 0 || expected.size > 0),
    detail:
      (injected.length === 0 ? 'no poison on its topics; no dead letter counted' : [...expected].map(([k, n]) => `${k} ${metrics.get(k) ?? 0} (>= ${n})`).join(', ')) +
      (short.length ? `; too few: ${short.join(', ')}` : '') +
      (unexpected.length ? `; not injected: ${unexpected.join(', ')}` : ''),
  };
}
