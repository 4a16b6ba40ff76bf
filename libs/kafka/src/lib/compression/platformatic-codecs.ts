import { importEsm } from '../esm-import';
import { decompressGzip } from './gzip';
import { decompressLz4Frame } from './lz4-frame';
import { decompressSnappy } from './snappy';
import { decompressZstd } from './zstd';

type PlatformaticKafka = typeof import('@platformatic/kafka');
type Decompressible = Buffer | { buffer: Buffer };

/**
 * Gives @platformatic/kafka's decoder Tally's decompressors. Its own read only raw snappy (the Java
 * client's xerial-framed snappy fails with "unreachable"), zstd only on Node >= 22.15, and nothing bounds
 * what a batch expands to. The library looks the codec up in its exported table on every batch, so
 * replacing `decompressSync` there applies to every consumer of the process; compression is left to it.
 * For a consumer built on @platformatic/kafka: call (and await) this once before consuming.
 */
export async function registerPlatformaticCodecs(): Promise<void> {
  const { compressionsAlgorithmsByBitmask } = await importEsm<PlatformaticKafka>('@platformatic/kafka');
  const bytes = (data: Decompressible): Buffer => (Buffer.isBuffer(data) ? data : data.buffer);
  const decoders: Record<number, (input: Buffer) => Buffer> = { 1: decompressGzip, 2: decompressSnappy, 3: decompressLz4Frame, 4: decompressZstd };
  for (const [bitmask, decompress] of Object.entries(decoders)) {
    const algorithm = compressionsAlgorithmsByBitmask[Number(bitmask)] as { decompressSync: (data: Decompressible) => Buffer };
    algorithm.decompressSync = (data) => decompress(bytes(data));
  }
}
