import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { CompressionError } from './compression-error';
import { usageEventsSample } from './fixtures/usage-events-sample';
import { decompressGzip } from './gzip';
import {
  compressionUnavailableReason,
  KAFKA_COMPRESSIONS,
  KAFKAJS_CODECS,
  parseKafkaCompression,
  registerKafkajsCodecs,
  type KafkaCompression,
} from './kafka-compression';
import { decompressLz4Frame } from './lz4-frame';
import { decompressRawSnappy, decompressSnappy, decompressXerialSnappy, isXerialFramed } from './snappy';
import { compressLz4Frame, compressRawSnappy } from './wasm-compressors';
import { checkZstdFrames, decompressZstd, decompressZstdPureJs, nodeHasZstd } from './zstd';

const fixture = (name: string): Buffer => readFileSync(join(__dirname, 'fixtures', name));
const sample = usageEventsSample();
type Codec = Exclude<KafkaCompression, 'none'>;
/** Codecs this Node can also compress with (zstd compression needs Node >= 22.15). */
const compressible = (KAFKA_COMPRESSIONS.filter((c) => c !== 'none') as Codec[]).filter((c) => !compressionUnavailableReason(c));
const decompressors: Record<Codec, (input: Buffer, max?: number) => Buffer> = {
  gzip: decompressGzip,
  snappy: decompressSnappy,
  lz4: decompressLz4Frame,
  zstd: decompressZstd,
};

describe('Kafka codecs: bytes written by other implementations', () => {
  // Produced by fixtures/generate.sh: Kafka's own Java compression streams and the reference CLIs.
  it.each([
    ['usage-events.java-gzip', 'gzip'],
    ['usage-events.java-snappy', 'snappy'],
    ['usage-events.java-lz4', 'lz4'],
    ['usage-events.java-zstd', 'zstd'],
    ['usage-events.lz4-cli', 'lz4'],
    ['usage-events.lz4-cli-checksums', 'lz4'],
    ['usage-events.zstd-cli', 'zstd'],
  ] as Array<[string, Codec]>)('%s decompresses to the sample through the kafkajs codec', async (file, codec) => {
    const out = await KAFKAJS_CODECS[codec].decompress(fixture(file));
    expect(out.equals(sample)).toBe(true);
  });

  it('reads the Java client\'s snappy as xerial frames of several chunks, and raw snappy too', async () => {
    const java = fixture('usage-events.java-snappy');
    expect(isXerialFramed(java)).toBe(true);
    expect(decompressXerialSnappy(java).equals(sample)).toBe(true);
    const raw = await compressRawSnappy(sample); // Rust's snap, via @platformatic/wasm-utils
    expect(isXerialFramed(raw)).toBe(false);
    expect(decompressSnappy(raw).equals(sample)).toBe(true);
  });

  it('reads a zstd frame with the pure-JS fallback as with Node\'s zstd', () => {
    expect(decompressZstdPureJs(fixture('usage-events.java-zstd')).equals(sample)).toBe(true);
    expect(decompressZstdPureJs(fixture('usage-events.zstd-cli')).equals(sample)).toBe(true);
  });

  it('reads concatenated and skippable frames', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
    const lz4 = fixture('usage-events.java-lz4');
    expect(decompressLz4Frame(Buffer.concat([lz4, skippable, lz4])).equals(Buffer.concat([sample, sample]))).toBe(true);
    const zstd = fixture('usage-events.zstd-cli');
    expect(decompressZstdPureJs(Buffer.concat([zstd, skippable, zstd])).equals(Buffer.concat([sample, sample]))).toBe(true);
  });

  it('decodes the snappy examples of the format description by hand', () => {
    // preamble 12; literal "abcd" (tag 3<<2); copy-1 of length 7 at offset 4 ((7-4)<<2 | 1); literal "!" (tag 0)
    const raw = Buffer.from([12, 3 << 2, 0x61, 0x62, 0x63, 0x64, ((7 - 4) << 2) | 1, 4, 0, 0x21]);
    expect(decompressRawSnappy(raw).toString()).toBe('abcdabcdabc!');
  });
});

describe('Kafka codecs: round trips through the kafkajs codecs', () => {
  const inputs: Array<[string, Buffer]> = [
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['random binary (incompressible)', randomBytes(200_000)],
    ['1 MiB of zeros', Buffer.alloc(1024 * 1024)],
    ['usage events', sample],
    ['unicode and NUL', Buffer.from('\u0000é😀\uFFFD'.repeat(5000), 'utf8')],
  ];
  for (const codec of compressible) {
    it.each(inputs)(`${codec}: %s`, async (_name, input) => {
      const compressed = await KAFKAJS_CODECS[codec].compress({ buffer: input });
      const out = await KAFKAJS_CODECS[codec].decompress(compressed);
      expect(out.equals(input)).toBe(true);
    });
  }

  it('writes raw snappy and LZ4 frames with independent blocks and no content size (what every Kafka client reads)', async () => {
    expect(isXerialFramed(await compressRawSnappy(sample))).toBe(false);
    for (const input of [Buffer.alloc(0), sample]) {
      const lz4 = await compressLz4Frame(input);
      expect(lz4.readUInt32LE(0)).toBe(0x184d2204);
      expect(lz4[4]).toBe(0x60); // version 1, independent blocks, no checksums, no content size
      expect([0x40, 0x50, 0x60, 0x70]).toContain(lz4[5]); // 64 KiB .. 4 MiB blocks
    }
  });

  it('compresses empty input after the WASM memory has grown (the library trips over its detached view there)', async () => {
    await compressLz4Frame(randomBytes(8 * 1024 * 1024));
    await compressRawSnappy(randomBytes(8 * 1024 * 1024));
    expect(decompressLz4Frame(await compressLz4Frame(Buffer.alloc(0))).length).toBe(0);
    expect(decompressSnappy(await compressRawSnappy(Buffer.alloc(0))).length).toBe(0);
  });
});

describe('Kafka codecs: corrupt, truncated and hostile input', () => {
  const compressedSamples: Array<[Codec, Buffer]> = [
    ['gzip', fixture('usage-events.java-gzip')],
    ['snappy', fixture('usage-events.java-snappy')],
    ['lz4', fixture('usage-events.java-lz4')],
    ['lz4', fixture('usage-events.lz4-cli')],
    ['zstd', fixture('usage-events.java-zstd')],
  ];

  it.each(compressedSamples)('%s: every truncation fails with a CompressionError naming the codec', (codec, full) => {
    // (A xerial snappy stream cut right after its 16-byte header is a valid empty stream: the framing has
    // no end mark. kafkajs then finds fewer records than the batch header counts and fails the batch.)
    const cuts = [0, 1, 4, 7, 8, 12, 15, codec === 'snappy' ? 17 : 16, 20, 100, full.length >> 1, full.length - 5, full.length - 1];
    for (const cut of cuts) {
      const attempt = () => decompressors[codec](full.subarray(0, cut));
      expect(attempt).toThrow(CompressionError);
      expect(attempt).toThrow(new RegExp(`^${codec}: `));
    }
  });

  it.each(compressedSamples)('%s: random bytes and flipped bytes throw a CompressionError or decode, never anything else', (codec, full) => {
    const started = Date.now();
    for (let i = 0; i < 300; i++) {
      const input = i % 2 ? randomBytes(1 + (i % 97) * 13) : Buffer.from(full);
      if (i % 2 === 0) for (let k = 0; k <= i % 5; k++) input[(i * 7919 + k * 104729) % input.length] ^= 1 + (i % 255);
      try {
        expect(Buffer.isBuffer(decompressors[codec](input))).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(CompressionError);
      }
    }
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('the pure-JS zstd refuses what it cannot decode with a CompressionError too', () => {
    const full = fixture('usage-events.java-zstd');
    expect(() => decompressZstdPureJs(full.subarray(0, full.length - 3))).toThrow(/^zstd: /);
    for (let i = 0; i < 200; i++) {
      try {
        decompressZstdPureJs(randomBytes(1 + i * 3));
      } catch (e) {
        expect(e).toBeInstanceOf(CompressionError);
      }
    }
  });

  it.each(compressible)('%s: a batch that expands beyond the limit is refused, naming the limit', async (codec) => {
    const bomb = await KAFKAJS_CODECS[codec].compress({ buffer: Buffer.alloc(3 * 1024 * 1024) });
    expect(bomb.length).toBeLessThan(200 * 1024);
    expect(() => decompressors[codec](bomb, 1024 * 1024)).toThrow(/decompression limit/);
    expect(decompressors[codec](bomb, 3 * 1024 * 1024).length).toBe(3 * 1024 * 1024);
  });

  it('the pure-JS zstd stops at the limit as well', () => {
    // The Java client's frames declare no content size: the limit is enforced while decoding.
    expect(checkZstdFrames(fixture('usage-events.java-zstd'), 50_000)).toBeUndefined();
    expect(() => decompressZstdPureJs(fixture('usage-events.java-zstd'), 50_000)).toThrow(/decompression limit/);
  });

  it('a few bytes cannot make a decoder allocate gigabytes', () => {
    // raw snappy claiming 4 GiB
    expect(() => decompressRawSnappy(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]))).toThrow(/declared length/);
    // LZ4 frame declaring 1 TiB of content
    const lz4 = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x68, 0x40, 0, 0, 0, 0, 0, 1, 0, 0, 0x00, 0, 0, 0, 0]);
    expect(() => decompressLz4Frame(lz4)).toThrow(/content size/);
    // zstd single-segment frame declaring 2^40 bytes, and one asking for a 2 GiB window
    const zstdHuge = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(() => decompressZstdPureJs(zstdHuge)).toThrow(/window|content size/);
    const zstdWindow = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 1, 0, 0]);
    expect(() => decompressZstdPureJs(zstdWindow)).toThrow(/window/);
  });

  it('frames with a dictionary or reserved bits are refused with the reason', () => {
    expect(() => decompressLz4Frame(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x61, 0x40, 0, 0, 0, 0, 0]))).toThrow(/dictionary/);
    expect(() => decompressLz4Frame(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0xa0, 0x40, 0, 0, 0, 0, 0]))).toThrow(/version/);
    expect(() => decompressZstdPureJs(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 7, 1, 0, 0]))).toThrow(/dictionary/);
  });

  it('snappy copies that point before the start of the output are refused', () => {
    expect(() => decompressRawSnappy(Buffer.from([8, ((4 - 4) << 2) | 1, 9]))).toThrow(/offset/);
  });
});

describe('KAFKA_COMPRESSION', () => {
  it('accepts Kafka\'s codec names, case and blanks aside, and defaults when unset', () => {
    expect(parseKafkaCompression(' GZIP ')).toBe('gzip');
    expect(parseKafkaCompression('none')).toBe('none');
    expect(parseKafkaCompression(undefined)).toBe(parseKafkaCompression(''));
    expect(() => parseKafkaCompression('brotli')).toThrow('must be one of none, gzip, snappy, lz4, zstd (got "brotli")');
  });

  it('refuses zstd where this Node cannot compress it, saying which version can', () => {
    if (nodeHasZstd()) expect(parseKafkaCompression('zstd')).toBe('zstd');
    else expect(() => parseKafkaCompression('zstd')).toThrow(/zstd compression needs Node\.js >= 22\.15/);
  });
});

describe('registerKafkajsCodecs', () => {
  it('replaces kafkajs\' "not implemented" codecs with Tally\'s, idempotently', () => {
    registerKafkajsCodecs();
    registerKafkajsCodecs();
    expect(CompressionCodecs[CompressionTypes.Snappy]()).toBe(KAFKAJS_CODECS.snappy);
    expect(CompressionCodecs[CompressionTypes.LZ4]()).toBe(KAFKAJS_CODECS.lz4);
    expect(CompressionCodecs[CompressionTypes.ZSTD]()).toBe(KAFKAJS_CODECS.zstd);
    expect(CompressionCodecs[CompressionTypes.GZIP]()).toBe(KAFKAJS_CODECS.gzip);
  });
});

