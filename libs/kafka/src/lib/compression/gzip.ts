import * as zlib from 'node:zlib';
import { CompressionError, MAX_DECOMPRESSED_BATCH_BYTES, mib } from './compression-error';

export const compressGzip = (input: Buffer): Buffer => zlib.gzipSync(input);

/** Like kafkajs' own codec (zlib's unzip: gzip, also zlib-wrapped deflate), but bounded. */
export function decompressGzip(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  try {
    return zlib.unzipSync(input, { maxOutputLength: maxOutputBytes });
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    if (error.code === 'ERR_BUFFER_TOO_LARGE') throw new CompressionError('gzip', `decompressed size exceeds the ${mib(maxOutputBytes)} decompression limit`, { cause: e });
    throw new CompressionError('gzip', `corrupt or truncated gzip data (${error.message})`, { cause: e });
  }
}
