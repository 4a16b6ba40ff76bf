import { CompressionError, MAX_DECOMPRESSED_BATCH_BYTES, mib } from './compression-error';
import { copyMatch } from './snappy';

/**
 * The LZ4 frame format (lz4's doc/lz4_Frame_format.md), which Kafka uses for record batches since message
 * format v1: the Java client writes it with KafkaLZ4BlockOutputStream (independent 64 KiB blocks, no
 * content size, no checksums), librdkafka with liblz4's LZ4F (content size, sometimes checksums). Every
 * optional field of the format is accepted; concatenated and skippable frames too.
 *
 * Checksums are skipped, not verified: message format v0 wrote a wrong header checksum that Kafka readers
 * still tolerate, and each record batch carries its own CRC-32C over the compressed bytes, which the
 * broker checks on produce.
 */
const FRAME_MAGIC = 0x184d2204;
const isSkippableMagic = (magic: number): boolean => magic >>> 4 === 0x184d2a5;
const BLOCK_MAX_SIZES: Record<number, number> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

const fail = (reason: string): never => {
  throw new CompressionError('lz4', reason);
};

export function decompressLz4Frame(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  const output = new GrowableOutput(Math.min(maxOutputBytes, Math.max(64 * 1024, input.length * 4)), maxOutputBytes);
  let pos = 0;
  if (input.length === 0) fail('empty input: no LZ4 frame');
  while (pos < input.length) {
    if (pos + 4 > input.length) fail(`trailing ${input.length - pos} bytes are not a frame`);
    const magic = input.readUInt32LE(pos);
    if (isSkippableMagic(magic)) {
      if (pos + 8 > input.length) fail('skippable frame truncated');
      pos += 8 + input.readUInt32LE(pos + 4);
      if (pos > input.length) fail('skippable frame runs past the input');
      continue;
    }
    if (magic !== FRAME_MAGIC) fail(`bad frame magic 0x${magic.toString(16)} at byte ${pos} (not LZ4 frame data)`);
    pos = decodeFrame(input, pos + 4, output);
  }
  return output.result();
}

function decodeFrame(input: Buffer, start: number, output: GrowableOutput): number {
  let pos = start;
  if (pos + 3 > input.length) fail('frame descriptor truncated');
  const flg = input[pos++];
  const bd = input[pos++];
  if (flg >>> 6 !== 1) fail(`unsupported frame version ${flg >>> 6} (only 1 exists)`);
  if (flg & 0x02 || bd & 0x8f) fail('reserved bits set in the frame descriptor');
  const blockChecksums = (flg & 0x10) !== 0;
  const contentSizePresent = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  if (flg & 0x01) fail('frames compressed with a dictionary are not supported (Kafka never uses one)');
  const blockMaxSize = BLOCK_MAX_SIZES[(bd >>> 4) & 7] ?? fail(`bad block maximum size code ${(bd >>> 4) & 7}`);
  if (contentSizePresent) {
    if (pos + 8 > input.length) fail('content size truncated');
    const contentSize = Number(input.readBigUInt64LE(pos));
    if (contentSize > output.remaining()) fail(`declared content size ${contentSize} exceeds the ${mib(output.limit)} decompression limit`);
    pos += 8;
  }
  pos += 1; // header checksum (see above)
  for (;;) {
    if (pos + 4 > input.length) fail('input ends before the frame end mark');
    const word = input.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    const stored = word >>> 31 === 1;
    if (size > blockMaxSize) fail(`block of ${size} bytes exceeds the frame's block maximum ${blockMaxSize}`);
    if (pos + size > input.length) fail(`block at byte ${pos - 4} claims ${size} bytes, only ${input.length - pos} remain`);
    if (stored) {
      output.ensure(size);
      input.copy(output.buffer, output.length, pos, pos + size);
      output.length += size;
    } else {
      output.ensure(blockMaxSize);
      output.length = decodeBlock(input, pos, pos + size, output.buffer, output.length, output.length + blockMaxSize);
    }
    pos += size + (blockChecksums ? 4 : 0);
  }
  if (contentChecksum) pos += 4;
  if (pos > input.length) fail('input ends inside a checksum');
  return pos;
}

/**
 * One LZ4 block (doc/lz4_Block_format.md) into `out` from `op`, writing below `outLimit`. Matches may
 * reach back into earlier blocks of the frame (linked-block mode); every bound is checked.
 */
function decodeBlock(src: Buffer, ip: number, end: number, out: Buffer, op: number, outLimit: number): number {
  while (ip < end) {
    const token = src[ip++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) fail('literal length truncated');
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end) fail(`literal run of ${literals} bytes runs past the block`);
    if (op + literals > outLimit) fail('block decodes to more than the block maximum size');
    if (literals > 16) src.copy(out, op, ip, ip + literals);
    else for (let i = 0; i < literals; i++) out[op + i] = src[ip + i];
    ip += literals;
    op += literals;
    if (ip === end) return op; // the last sequence has literals only
    if (ip + 2 > end) fail('match offset truncated');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) fail(`match offset ${offset} at output byte ${op} points outside the output`);
    let matchLength = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) fail('match length truncated');
        b = src[ip++];
        matchLength += b;
      } while (b === 255);
    }
    if (op + matchLength > outLimit) fail('block decodes to more than the block maximum size');
    copyMatch(out, op, offset, matchLength);
    op += matchLength;
  }
  fail('block ends without its final literal run');
  return op; // unreachable: fail() throws
}

/** The output of a frame whose size is not known up front: doubled as needed, never beyond the limit. */
class GrowableOutput {
  buffer: Buffer;
  length = 0;

  constructor(
    initial: number,
    readonly limit: number,
  ) {
    this.buffer = Buffer.allocUnsafe(initial);
  }

  remaining(): number {
    return this.limit - this.length;
  }

  /** Room for `bytes` more; a block may decode to less than its maximum, so only the result is capped. */
  ensure(bytes: number): void {
    const needed = this.length + bytes;
    if (needed <= this.buffer.length) return;
    if (this.length >= this.limit) fail(`decompressed size exceeds the ${mib(this.limit)} decompression limit`);
    const grown = Buffer.allocUnsafe(Math.max(needed, Math.min(this.buffer.length * 2, this.limit + bytes)));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  result(): Buffer {
    if (this.length > this.limit) fail(`decompressed size exceeds the ${mib(this.limit)} decompression limit`);
    // Record values decoded from the result keep it alive: do not let them pin twice the memory they need.
    return this.length < this.buffer.length / 2 ? Buffer.from(this.buffer.subarray(0, this.length)) : this.buffer.subarray(0, this.length);
  }
}
