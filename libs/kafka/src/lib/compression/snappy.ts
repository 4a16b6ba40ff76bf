import { CompressionError, MAX_DECOMPRESSED_BATCH_BYTES, mib } from './compression-error';

/**
 * Snappy as Kafka producers write it: the Java client frames it the xerial way (snappy-java's
 * SnappyOutputStream: a magic header, then length-prefixed raw snappy chunks), librdkafka and most other
 * clients write one raw snappy block. A reader must accept both; the magic cannot start a raw block whose
 * length fits the limit, so the two never get confused.
 */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8; // magic, version (int32), min compatible version (int32)

export const isXerialFramed = (input: Buffer): boolean =>
  input.length >= XERIAL_MAGIC.length && input.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC);

export function decompressSnappy(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  return isXerialFramed(input) ? decompressXerialSnappy(input, maxOutputBytes) : decompressRawSnappy(input, maxOutputBytes);
}

export function decompressXerialSnappy(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  if (input.length < XERIAL_HEADER_BYTES) throw new CompressionError('snappy', `xerial-framed input truncated in its ${XERIAL_HEADER_BYTES}-byte header`);
  const chunks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_BYTES;
  while (pos < input.length) {
    if (pos + 4 > input.length) throw new CompressionError('snappy', `xerial chunk length truncated at byte ${pos}`);
    const chunkLength = input.readUInt32BE(pos);
    pos += 4;
    if (pos + chunkLength > input.length) {
      throw new CompressionError('snappy', `xerial chunk at byte ${pos - 4} claims ${chunkLength} bytes, only ${input.length - pos} remain`);
    }
    const chunk = decompressRawSnappy(input.subarray(pos, pos + chunkLength), maxOutputBytes - total);
    total += chunk.length;
    chunks.push(chunk);
    pos += chunkLength;
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}

/**
 * One raw snappy block (the format of google/snappy's format_description.txt): a varint of the
 * uncompressed length, then literal and copy elements. Every length and offset is checked against the
 * input and the declared output, so corrupt input fails fast with the position instead of reading or
 * writing out of bounds.
 */
export function decompressRawSnappy(input: Buffer, maxOutputBytes = MAX_DECOMPRESSED_BATCH_BYTES): Buffer {
  const fail = (reason: string): never => {
    throw new CompressionError('snappy', reason);
  };
  let ip = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (ip >= input.length) fail('input ends inside the length preamble');
    if (shift > 28) fail('length preamble longer than 5 bytes');
    const b = input[ip++];
    declared += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (declared > 0xffffffff) fail('declared length exceeds 32 bits');
  if (declared > maxOutputBytes) fail(`declared length ${declared} exceeds the ${mib(maxOutputBytes)} decompression limit`);
  // The densest element, a 3-byte copy of 64 bytes, expands under 22x: a preamble claiming more cannot be
  // honest, and allocating it would let a tiny message take memory.
  if (declared > (input.length - ip) * 22) fail(`declared length ${declared} cannot come from ${input.length - ip} bytes of snappy elements`);
  const out = Buffer.allocUnsafe(declared);
  let op = 0;
  const end = input.length;
  while (ip < end) {
    const tag = input[ip++];
    let length: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        length = tag >>> 2;
        if (length >= 60) {
          const extraBytes = length - 59;
          if (ip + extraBytes > end) fail(`literal length truncated at byte ${ip}`);
          length = 0;
          for (let i = 0; i < extraBytes; i++) length += input[ip + i] * 2 ** (8 * i);
          ip += extraBytes;
        }
        length += 1;
        if (ip + length > end) fail(`literal of ${length} bytes at byte ${ip} runs past the input`);
        if (op + length > declared) fail(`output exceeds the declared length ${declared}`);
        input.copy(out, op, ip, ip + length);
        ip += length;
        op += length;
        continue;
      }
      case 1:
        if (ip >= end) fail('copy offset truncated');
        length = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | input[ip++];
        break;
      case 2:
        if (ip + 2 > end) fail('copy offset truncated');
        length = (tag >>> 2) + 1;
        offset = input[ip] | (input[ip + 1] << 8);
        ip += 2;
        break;
      default:
        if (ip + 4 > end) fail('copy offset truncated');
        length = (tag >>> 2) + 1;
        offset = input.readUInt32LE(ip);
        ip += 4;
    }
    if (offset === 0 || offset > op) fail(`copy offset ${offset} at output byte ${op} points outside the output`);
    if (op + length > declared) fail(`output exceeds the declared length ${declared}`);
    copyMatch(out, op, offset, length);
    op += length;
  }
  if (op !== declared) fail(`input ends after ${op} of the ${declared} declared bytes`);
  return out;
}

/** An LZ77 back-reference: overlapping copies (offset < length) repeat the pattern, so they go byte by byte. */
export function copyMatch(out: Buffer, op: number, offset: number, length: number): void {
  const from = op - offset;
  if (offset >= length) {
    if (length > 16) out.copyWithin(op, from, from + length);
    else for (let i = 0; i < length; i++) out[op + i] = out[from + i];
  } else {
    for (let i = 0; i < length; i++) out[op + i] = out[from + i];
  }
}
