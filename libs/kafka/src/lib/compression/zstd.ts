import * as zlib from 'node:zlib';
import { Decompress } from 'fzstd';
import { CompressionError, MAX_DECOMPRESSED_BATCH_BYTES, mib } from './compression-error';

type ZstdSync = (buffer: Buffer, options?: { maxOutputLength?: number }) => Buffer;
/** Node's own zstd (libzstd): in Node >= 23.8 and >= 22.15; absent on Node 20, hence the lookup. */
const zlibZstd = zlib as unknown as { zstdCompressSync?: ZstdSync; zstdDecompressSync?: ZstdSync };

export const nodeHasZstd = (): boolean => typeof zlibZstd.zstdCompressSync === 'function' && typeof zlibZstd.zstdDecompressSync === 'function';

export const ZSTD_COMPRESSION_UNAVAILABLE =
  `zstd compression needs Node.js >= 22.15 (zlib's zstd), this is Node.js ${process.versions.node}; ` +
  'reading zstd works on every Node version, but to produce it upgrade Node or set KAFKA_COMPRESSION to lz4, snappy, gzip or none';

export function compressZstd(input: Buffer): Buffer {
  if (!zlibZstd.zstdCompressSync) throw new CompressionError('zstd', ZSTD_COMPRESSION_UNAVAILABLE);
  return zlibZstd.zstdCompressSync(input);
}

/**
 * Node's libzstd where present, else fzstd (pure JS); both bounded by the decompression limit. The frames
 * are walked first on both paths: Node's zstdDecompressSync returns what it could decode from a truncated
 * frame instead of failing.
 */
export function decompressZstd(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  if (zlibZstd.zstdDecompressSync) {
    checkZstdFrames(input, maxOutputBytes);
    try {
      return zlibZstd.zstdDecompressSync(input, { maxOutputLength: maxOutputBytes });
    } catch (e) {
      const error = e as NodeJS.ErrnoException;
      if (error.code === 'ERR_BUFFER_TOO_LARGE') throw new CompressionError('zstd', `decompressed size exceeds the ${mib(maxOutputBytes)} decompression limit`, { cause: e });
      throw new CompressionError('zstd', `corrupt or truncated zstd data (${error.message})`, { cause: e });
    }
  }
  return decompressZstdPureJs(input, maxOutputBytes);
}

/** Exported so the fallback is tested on every Node version, not only where zlib lacks zstd. */
export function decompressZstdPureJs(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  checkZstdFrames(input, maxOutputBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Decompress((chunk) => {
    total += chunk.length;
    if (total > maxOutputBytes) throw new CompressionError('zstd', `decompressed size exceeds the ${mib(maxOutputBytes)} decompression limit`);
    chunks.push(chunk);
  });
  try {
    stream.push(input, true);
  } catch (e) {
    if (e instanceof CompressionError) throw e;
    throw new CompressionError('zstd', `corrupt or truncated zstd data (${(e as Error).message})`, { cause: e });
  }
  return Buffer.concat(chunks, total);
}

const ZSTD_MAGIC = 0xfd2fb528;
/** libzstd's default ZSTD_WINDOWLOG_LIMIT_DEFAULT (27): what Node's zstd and the zstd CLI accept unless told otherwise. */
const MAX_WINDOW_BYTES = 2 ** 27;

/**
 * Walks every frame's header and block headers before fzstd sees them: fzstd allocates a frame's window
 * (or declared content size) up front, up to 2 GiB, so a 20-byte hostile frame could otherwise take that
 * much memory. Refuses windows beyond libzstd's default limit and declared sizes beyond the output limit.
 */
export function checkZstdFrames(input: Buffer, maxOutputBytes: number): void {
  const fail = (reason: string): never => {
    throw new CompressionError('zstd', reason);
  };
  if (input.length === 0) fail('empty input: no zstd frame');
  let pos = 0;
  let declaredTotal = 0;
  while (pos < input.length) {
    if (pos + 4 > input.length) fail(`trailing ${input.length - pos} bytes are not a frame`);
    const magic = input.readUInt32LE(pos);
    if (magic >>> 4 === 0x184d2a5) {
      if (pos + 8 > input.length) fail('skippable frame truncated');
      pos += 8 + input.readUInt32LE(pos + 4);
      if (pos > input.length) fail('skippable frame runs past the input');
      continue;
    }
    if (magic !== ZSTD_MAGIC) fail(`bad frame magic 0x${magic.toString(16)} at byte ${pos} (not zstd data)`);
    pos += 4;
    if (pos >= input.length) fail('frame header truncated');
    const descriptor = input[pos++];
    const contentSizeFlag = descriptor >>> 6;
    const singleSegment = (descriptor & 0x20) !== 0;
    const hasChecksum = (descriptor & 0x04) !== 0;
    if (descriptor & 0x08) fail('reserved bit set in the frame header');
    if (descriptor & 0x03) fail('frames compressed with a dictionary are not supported (Kafka never uses one)');
    let windowBytes = 0;
    if (!singleSegment) {
      if (pos >= input.length) fail('window descriptor truncated');
      const wd = input[pos++];
      const base = 2 ** (10 + (wd >>> 3));
      windowBytes = base + (base / 8) * (wd & 7);
    }
    const sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][contentSizeFlag];
    if (pos + sizeBytes > input.length) fail('frame content size truncated');
    let contentSize: number | undefined;
    if (sizeBytes === 1) contentSize = input[pos];
    else if (sizeBytes === 2) contentSize = input.readUInt16LE(pos) + 256;
    else if (sizeBytes === 4) contentSize = input.readUInt32LE(pos);
    else if (sizeBytes === 8) contentSize = Number(input.readBigUInt64LE(pos));
    pos += sizeBytes;
    if (singleSegment) windowBytes = contentSize ?? 0;
    if (windowBytes > MAX_WINDOW_BYTES) fail(`window of ${windowBytes} bytes exceeds the ${mib(MAX_WINDOW_BYTES)} window limit`);
    if (contentSize !== undefined) {
      declaredTotal += contentSize;
      if (declaredTotal > maxOutputBytes) fail(`declared content size exceeds the ${mib(maxOutputBytes)} decompression limit`);
    }
    for (let last = false; !last; ) {
      if (pos + 3 > input.length) fail('block header truncated');
      const header = input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16);
      pos += 3;
      last = (header & 1) === 1;
      const type = (header >>> 1) & 3;
      const size = header >>> 3;
      if (type === 3) fail('reserved block type');
      pos += type === 1 ? 1 : size; // an RLE block stores one byte, repeated `size` times
      if (pos > input.length) fail('block runs past the input');
    }
    if (hasChecksum) pos += 4;
    if (pos > input.length) fail('frame checksum truncated');
  }
}
