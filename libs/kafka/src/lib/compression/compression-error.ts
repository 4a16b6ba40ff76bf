/**
 * A compressed Kafka batch that cannot be decompressed (corrupt, truncated, an unsupported variant of the
 * format, or larger than the decompression limit), or a codec that this Node version cannot run. The
 * message names the codec and the reason, so a dead letter or a crash log says what to fix.
 */
export class CompressionError extends Error {
  constructor(
    readonly codec: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${codec}: ${reason}`, options);
    this.name = 'CompressionError';
  }
}

/**
 * The most bytes one compressed record batch may expand to. The broker caps a batch's compressed size
 * (1 MiB by default), but not its ratio: without a cap, a few KiB of zeros compressed by a hostile producer
 * ("decompression bomb") would take the consumer's memory. Legitimate JSON batches expand 5-20x.
 */
export const MAX_DECOMPRESSED_BATCH_BYTES = 256 * 1024 * 1024;

export const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(0)} MiB`;
