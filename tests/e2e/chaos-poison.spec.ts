import type { DeadLetterValue } from '@tally/kafka';
import { checkDeadLetterMetrics, checkDeadLetters, parseDeadLetterMetrics, POISON_KINDS, POISON_TAG_HEADER, type InjectedPoison } from '../../bench/chaos-poison';

/** The chaos run's poison checks must be able to fail: each rule is tried on a DLQ that breaks it. */
describe('chaos poison checks', () => {
  const negative = POISON_KINDS.find((k) => k.name.includes('negative'))!;
  const oversized = POISON_KINDS.find((k) => k.oversized && k.source === 'raw')!;
  const poison = (tag: string, kind = negative, offset = '7', sentAt = 1000): InjectedPoison => ({
    tag,
    kind,
    topic: 'usage.events.raw.v1',
    partition: 1,
    offset,
    codec: 'lz4',
    valueSize: kind.oversized ? 1_500_100 : 120,
    valueSha256: 'ab'.repeat(32),
    sentAt,
  });
  const letter = (p: InjectedPoison, over: Partial<DeadLetterValue> = {}): DeadLetterValue => ({
    reason: '/data: meter "calls" does not allow negative values (-2 at $.calls)',
    source: { topic: p.topic, partition: p.partition, offset: p.offset, timestamp: '0' },
    key: 'c1',
    headers: { [POISON_TAG_HEADER]: p.tag },
    value: p.kind.oversized ? 'x'.repeat(1000) : '{}',
    valueBase64: null,
    valueSize: p.valueSize,
    valueSha256: p.valueSha256,
    truncated: !!p.kind.oversized,
    deadLetteredAt: '2026-11-30T00:00:00Z',
    ...over,
  });
  const failed = (checks: Array<{ check: string; passed: boolean }>) => checks.filter((c) => !c.passed).map((c) => c.check.split(':')[0] + ':' + c.check.split(':')[1].slice(0, 20));

  it('passes when every poison message is there once or more (a repeated dead letter is at-least-once, not an error)', () => {
    const a = poison('r0#1');
    const big = poison('r0#2', oversized, '9');
    const cut = letter(big, { reason: '(event): is 1500100 bytes; at most 65536 (INGEST_MAX_EVENT_BYTES) are accepted' });
    expect(checkDeadLetters([a, big], [letter(a), letter(a), cut]).every((c) => c.passed)).toBe(true);
  });

  it('fails on a missing poison message, a wrong reason, an untagged dead letter and an uncut oversized copy', () => {
    const a = poison('r0#1');
    const b = poison('r0#3', negative, '8');
    const big = poison('r0#2', oversized, '9');
    const reason = '(event): is 1500100 bytes; at most 65536 (INGEST_MAX_EVENT_BYTES) are accepted';
    expect(failed(checkDeadLetters([a, b, big], [letter(a), letter(big, { reason })]))).toEqual([expect.stringMatching(/^DLQ: every injected/)]);
    expect(failed(checkDeadLetters([a, big], [letter(a, { reason: 'tenant: unknown tenant "x"' }), letter(big, { reason })]))).toEqual([expect.stringMatching(/^DLQ: every injected/)]);
    const good = { ...letter(a), headers: {}, source: { topic: a.topic, partition: 1, offset: '100', timestamp: '0' } };
    expect(failed(checkDeadLetters([a, big], [letter(a), letter(big, { reason }), good]))).toEqual([expect.stringMatching(/^DLQ: nothing but/)]);
    expect(failed(checkDeadLetters([a, big], [letter(a), letter(big, { reason, truncated: false })]))).toEqual([expect.stringMatching(/^DLQ: oversized/)]);
    expect(failed(checkDeadLetters([a, big], [letter(a), letter(big, { reason, valueSize: 1000 })]))).toEqual([expect.stringMatching(/^DLQ: oversized/)]);
  });

  it('reads the dead-letter counters and holds the last process to what was sent after it started, and to nothing else', () => {
    const page = [
      '# TYPE tally_dead_letters_total counter',
      'tally_dead_letters_total{topic="usage.events.raw.v1",reason="rejected"} 2',
      'tally_dead_letters_total{reason="schema",topic="usage.events.raw.v1"} 1',
    ].join('\n');
    const metrics = parseDeadLetterMetrics(page);
    expect([...metrics]).toEqual([
      ['usage.events.raw.v1|rejected', 2],
      ['usage.events.raw.v1|schema', 1],
    ]);
    const before = poison('r0#1', negative, '1', 500);
    const after = [poison('r0#2', negative, '2', 1500), poison('r0#3', negative, '3', 1600)];
    const schema = { ...poison('r0#4', negative, '4', 400), kind: POISON_KINDS.find((k) => k.label === 'schema')! };
    expect(checkDeadLetterMetrics('ingestion', metrics, [before, ...after, schema], 1000).passed).toBe(true);
    expect(checkDeadLetterMetrics('ingestion', metrics, [before, ...after, poison('r0#5', negative, '5', 1700), schema], 1000).passed).toBe(false);
    // A reason no injected kind has (a good event dead-lettered) fails, as does a counter on a service fed no poison.
    expect(checkDeadLetterMetrics('ingestion', metrics, [before, ...after], 1000).passed).toBe(false);
    expect(checkDeadLetterMetrics('billing', metrics, [], 1000).passed).toBe(false);
    expect(checkDeadLetterMetrics('billing', new Map(), [], 1000).passed).toBe(true);
    // Poison fed to the service but none sent after its last start: the check saw nothing, so it does not pass.
    expect(checkDeadLetterMetrics('ingestion', metrics, [before, schema], 1000).passed).toBe(false);
  });
});
