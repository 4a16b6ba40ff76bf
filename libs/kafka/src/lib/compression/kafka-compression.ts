import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { compressGzip, decompressGzip } from './gzip';
import { decompressLz4Frame } from './lz4-frame';
import { decompressSnappy } from './snappy';
import { compressLz4Frame, compressRawSnappy } from './wasm-compressors';
import { compressZstd, decompressZstd, nodeHasZstd, ZSTD_COMPRESSION_UNAVAILABLE } from './zstd';

/** The codecs of Kafka's record batches, by the names Kafka's own `compression.type` uses. */
export const KAFKA_COMPRESSIONS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

/** What Tally's producers use unless KAFKA_COMPRESSION says otherwise: see docs/adr/0004-kafka-compression.md. */
export const DEFAULT_KAFKA_COMPRESSION: KafkaCompression = 'lz4';

/** Why this Node.js cannot produce with `compression`, or undefined when it can (it can always decompress). */
export function compressionUnavailableReason(compression: KafkaCompression): string | undefined {
  return compression === 'zstd' && !nodeHasZstd() ? ZSTD_COMPRESSION_UNAVAILABLE : undefined;
}

export const nodeCanCompress = (compression: KafkaCompression): boolean => compressionUnavailableReason(compression) === undefined;

export const KAFKAJS_COMPRESSION_TYPES: Record<KafkaCompression, CompressionTypes> = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

/** kafkajs' codec shape: `compress` gets its Encoder (whose `.buffer` is the records), both are async. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const sync =
  (decompress: (input: Buffer) => Buffer): KafkajsCodec['decompress'] =>
  async (buffer) =>
    decompress(buffer);

export const KAFKAJS_CODECS: Record<Exclude<KafkaCompression, 'none'>, KafkajsCodec> = {
  gzip: { compress: async ({ buffer }) => compressGzip(buffer), decompress: sync(decompressGzip) },
  snappy: { compress: ({ buffer }) => compressRawSnappy(buffer), decompress: sync(decompressSnappy) },
  lz4: { compress: ({ buffer }) => compressLz4Frame(buffer), decompress: sync(decompressLz4Frame) },
  zstd: { compress: async ({ buffer }) => compressZstd(buffer), decompress: sync(decompressZstd) },
};

/**
 * Gives kafkajs every codec. kafkajs keeps codecs in one module-wide table (only gzip is built in; a
 * snappy, lz4 or zstd batch otherwise fails with "... compression not implemented" and blocks the
 * partition), so this registers for every client of the process; calling it again changes nothing.
 * gzip is replaced too, by the same codec with the decompression limit.
 */
export function registerKafkajsCodecs(): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => KAFKAJS_CODECS.gzip;
  CompressionCodecs[CompressionTypes.Snappy] = () => KAFKAJS_CODECS.snappy;
  CompressionCodecs[CompressionTypes.LZ4] = () => KAFKAJS_CODECS.lz4;
  CompressionCodecs[CompressionTypes.ZSTD] = () => KAFKAJS_CODECS.zstd;
}

/** `KAFKA_COMPRESSION` (none|gzip|snappy|lz4|zstd), or the default. Throws with the reason on a bad or unusable value. */
export function parseKafkaCompression(value: string | undefined): KafkaCompression {
  const name = value?.trim().toLowerCase() || DEFAULT_KAFKA_COMPRESSION;
  if (!(KAFKA_COMPRESSIONS as readonly string[]).includes(name)) throw new Error(`must be one of ${KAFKA_COMPRESSIONS.join(', ')} (got "${value}")`);
  const unavailable = compressionUnavailableReason(name as KafkaCompression);
  if (unavailable) throw new Error(unavailable);
  return name as KafkaCompression;
}
