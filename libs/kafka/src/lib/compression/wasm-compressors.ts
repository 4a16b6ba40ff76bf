import { importEsm } from '../esm-import';

/**
 * LZ4 (frame format: independent 64 KiB blocks, no checksums, the layout Kafka's Java client writes) and
 * raw snappy compressors, in WASM from @platformatic/wasm-utils (Rust's lz4_flex and snap), the ones
 * @platformatic/kafka compresses with. Used for compression only: the input is our own record batch. The
 * decompressors are Tally's TypeScript ones, which bound memory and say what is wrong with corrupt input
 * (the WASM ones trap with "unreachable").
 */
interface WasmUtils {
  lz4Compress(data: Buffer): Buffer;
  snappyCompress(data: Buffer): Buffer;
}

let loaded: Promise<WasmUtils> | undefined;
export const loadWasmCompressors = (): Promise<WasmUtils> => (loaded ??= importEsm<WasmUtils>('@platformatic/wasm-utils'));

/**
 * Empty input is answered here: after the WASM memory has grown, the library's cached view of it is
 * detached and copying zero bytes into it throws (any other length makes it take a fresh view).
 */
const EMPTY_LZ4_FRAME = Buffer.from('04224d1860408200000000', 'hex'); // header (independent 64 KiB blocks), end mark
const EMPTY_RAW_SNAPPY = Buffer.from([0]); // preamble: length 0

export async function compressLz4Frame(input: Buffer): Promise<Buffer> {
  const wasm = await loadWasmCompressors();
  return input.length === 0 ? Buffer.from(EMPTY_LZ4_FRAME) : wasm.lz4Compress(input);
}

/**
 * One raw snappy block, as librdkafka writes it: every Kafka client reads it (the Java client's
 * snappy-java falls back to raw snappy when the xerial magic is missing), @platformatic/kafka reads only it.
 */
export async function compressRawSnappy(input: Buffer): Promise<Buffer> {
  const wasm = await loadWasmCompressors();
  return input.length === 0 ? Buffer.from(EMPTY_RAW_SNAPPY) : wasm.snappyCompress(input);
}
