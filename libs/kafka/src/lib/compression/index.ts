export { CompressionError, MAX_DECOMPRESSED_BATCH_BYTES } from './compression-error';
export * from './kafka-compression';
