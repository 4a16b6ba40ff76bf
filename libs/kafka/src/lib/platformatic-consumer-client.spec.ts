import * as zlib from 'node:zlib';
import type { RecordsBatch } from '@platformatic/kafka';
import { importEsm } from './esm-import';
import { batchRetryBackoffMs, decodeHeaders, recordsOfBatches, useTallyDecompressors } from './platformatic-consumer-client';

type PlatformaticKafka = typeof import('@platformatic/kafka');

const record = (offsetDelta: number, value: string | null, headers: Array<[Buffer | null, Buffer | null]> = [], timestampDelta = 0n) => ({
  length: 0,
  attributes: 0,
  timestampDelta,
  offsetDelta,
  key: Buffer.from(`k${offsetDelta}`) as Buffer | null,
  value: value === null ? null : Buffer.from(value),
  headers,
});

const batch = (firstOffset: bigint, records: ReturnType<typeof record>[], attributes = 0, lastOffsetDelta = records.length - 1): RecordsBatch => ({
  firstOffset,
  length: 0,
  partitionLeaderEpoch: 0,
  magic: 2,
  crc: 0,
  attributes,
  lastOffsetDelta,
  firstTimestamp: 1_700_000_000_000n,
  maxTimestamp: 1_700_000_000_999n,
  producerId: -1n,
  producerEpoch: 0,
  firstSequence: 0,
  records,
});

describe('recordsOfBatches', () => {
  it('drops records below the requested offset (a compressed batch comes back whole) and moves past the last batch', () => {
    const { records, next } = recordsOfBatches([batch(10n, [record(0, 'a'), record(1, 'b'), record(2, 'c')]), batch(13n, [record(0, 'd')])], 12n);
    expect(records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      ['12', 'c'],
      ['13', 'd'],
    ]);
    expect(next).toBe(14n);
  });

  it('skips transaction markers but still moves past them, so a fetch of markers only does not fetch the same offset forever', () => {
    const marker = batch(20n, [record(0, null)], 0x20);
    expect(recordsOfBatches([marker], 20n)).toEqual({ records: [], next: 21n });
    const { records, next } = recordsOfBatches([batch(18n, [record(0, 'x'), record(1, 'y')]), marker], 18n);
    expect(records.map((r) => r.offset)).toEqual(['18', '19']);
    expect(next).toBe(21n);
  });

  it('moves past offsets compaction removed from the end of a batch (lastOffsetDelta beyond the last record)', () => {
    expect(recordsOfBatches([batch(0n, [record(0, 'a'), record(3, 'b')], 0, 7)], 0n)).toMatchObject({ next: 8n });
  });

  it('answers no next offset when nothing came', () => {
    expect(recordsOfBatches([], 5n)).toEqual({ records: [] });
  });

  it('takes timestamps from the record (CreateTime) or the broker (LogAppendTime), as decimal strings', () => {
    const created = recordsOfBatches([batch(0n, [record(0, 'a', [], 5n)])], 0n).records[0];
    expect(created.timestamp).toBe('1700000000005');
    const appended = recordsOfBatches([batch(0n, [record(0, 'a', [], 5n)], 0x08)], 0n).records[0];
    expect(appended.timestamp).toBe('1700000000999');
  });

  it('keeps null keys and values null, and offsets beyond 2^53 exact', () => {
    const big = 2n ** 60n;
    const [r] = recordsOfBatches([batch(big, [{ ...record(1, null), key: null }], 0, 1)], big).records;
    expect(r).toMatchObject({ offset: (big + 1n).toString(), key: null, value: null });
  });
});

describe('decodeHeaders', () => {
  it('decodes UTF-8, joins repeated names with "," like the kafkajs client, keeps an empty value for a null one', () => {
    expect(
      decodeHeaders([
        [Buffer.from('traceparent'), Buffer.from('00-abc-def-01')],
        [Buffer.from('ce_id'), Buffer.from('é✓')],
        [Buffer.from('tag'), Buffer.from('a')],
        [Buffer.from('tag'), Buffer.from('b')],
        [Buffer.from('empty'), null],
        [null, Buffer.from('nameless')],
      ]),
    ).toEqual({ traceparent: '00-abc-def-01', ce_id: 'é✓', tag: 'a,b', empty: '' });
  });

  it('keeps headers named like Object.prototype members as ordinary entries, without touching the prototype', () => {
    const headers = decodeHeaders([
      [Buffer.from('__proto__'), Buffer.from('x')],
      [Buffer.from('constructor'), Buffer.from('y')],
      [Buffer.from('toString'), Buffer.from('z')],
      [Buffer.from('toString'), Buffer.from('again')],
    ]);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.entries(headers)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['toString', 'z,again'],
    ]);
  });
});

describe('batchRetryBackoffMs', () => {
  it('starts at 200 ms, doubles, and stops growing at 30 s', () => {
    expect([1, 2, 3, 4].map(batchRetryBackoffMs)).toEqual([200, 400, 800, 1600]);
    expect(batchRetryBackoffMs(50)).toBe(30_000);
    expect(batchRetryBackoffMs(0)).toBe(200);
  });
});

describe('useTallyDecompressors (on the real @platformatic/kafka record reader)', () => {
  let kafka: PlatformaticKafka;
  beforeAll(async () => {
    kafka = await importEsm<PlatformaticKafka>('@platformatic/kafka');
    useTallyDecompressors(kafka);
  });

  /** One record batch, its records section compressed by `compress` and flagged with codec `bitmask`. */
  function compressedBatch(values: string[], bitmask: number, compress: (records: Buffer) => Buffer): Buffer {
    const plain: Buffer = kafka.createRecordsBatch(
      values.map((v) => ({ topic: 't', value: Buffer.from(v) })),
      { compression: 'none' },
    ).buffer;
    const HEADER = 61; // firstOffset .. records count
    const records = compress(plain.subarray(HEADER));
    const out = Buffer.concat([plain.subarray(0, HEADER), records]);
    out.writeInt32BE(HEADER - 12 + records.length, 8); // length counts from partitionLeaderEpoch on
    out.writeInt16BE((out.readInt16BE(21) & ~0x07) | bitmask, 21);
    return out;
  }

  /** A zstd frame holding `data` as one raw block: valid zstd, buildable without a zstd compressor (Node 20 has none). */
  const rawZstdFrame = (data: Buffer): Buffer => {
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 0]); // single segment, 4-byte content size
    header.writeUInt32LE(data.length, 5);
    const blockHeader = Buffer.alloc(3);
    blockHeader.writeUIntLE((data.length << 3) | 1, 0, 3); // last block, raw
    return Buffer.concat([header, blockHeader, data]);
  };

  const read = (bytes: Buffer): string[] => kafka.readRecordsBatch(kafka.Reader.from(bytes)).records.map((r) => r.value!.toString());

  it('reads zstd batches on every Node version (Node 20 has no zstd in zlib)', () => {
    expect(read(compressedBatch(['{"a":1}', '{"b":2}'], 4, rawZstdFrame))).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reads gzip batches, and refuses a gzip bomb with the codec named instead of expanding it', () => {
    expect(read(compressedBatch(['x', 'y'], 1, (b) => zlib.gzipSync(b)))).toEqual(['x', 'y']);
    // 260 MiB of zeros (260 KiB compressed): beyond the 256 MiB limit; the library's own gunzip would expand it all.
    const bomb = zlib.gzipSync(Buffer.alloc(260 * 1024 * 1024), { level: 1 });
    expect(() => read(compressedBatch(['x'], 1, () => bomb))).toThrow(/gzip: decompressed size exceeds/);
  });

  it('fails loudly when the library no longer has the table it patches', () => {
    expect(() => useTallyDecompressors({ compressionsAlgorithms: {} } as never)).toThrow(/compression table changed/);
  });
});
