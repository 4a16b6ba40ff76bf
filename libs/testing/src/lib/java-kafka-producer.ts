import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');
// The jars `npm run setup` fetched, where the tooling's own path list (plain CommonJS) says they are.
const { kafkaLibs } = require(join(ROOT, 'tools/local-paths')) as { kafkaLibs: string };
const TOOL = join(ROOT, 'libs/kafka/src/lib/compression/java/KafkaCompressionTool.java');

export type JavaCodec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** One record for the Apache Kafka Java producer: bytes as given, nothing re-encoded on the way. */
export interface JavaProducerRecord {
  codec: JavaCodec;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string>;
}

const b64 = (b: Buffer | string | null) => (b === null ? '-' : Buffer.from(b).toString('base64'));

function line(r: JavaProducerRecord): string {
  const headers = Object.entries(r.headers ?? {});
  for (const [name] of headers) {
    // The tool's line format separates headers with ',' and name from value with '='.
    if (!/^[^,=\t\n]+$/.test(name)) throw new Error(`header name ${JSON.stringify(name)} cannot be passed to the Java producer`);
  }
  return [r.codec, b64(r.key), b64(r.value), headers.length ? headers.map(([k, v]) => `${k}=${b64(v)}`).join(',') : '-'].join('\t');
}

/**
 * Produces the records to one partition with the Apache Kafka Java client (KafkaCompressionTool.java), a
 * producer that is not Tally's code path: each run of records with one codec is flushed as its own
 * batch(es) in that codec. Returns each record's offset, in order.
 */
export function produceWithJavaClient(brokers: string, topic: string, partition: number, records: JavaProducerRecord[]): Promise<string[]> {
  if (!existsSync(kafkaLibs) || !readdirSync(kafkaLibs).some((f) => /^kafka-clients-.*\.jar$/.test(f))) {
    return Promise.reject(new Error(`the Kafka jars are missing from ${kafkaLibs}: run \`npm run setup\` (node tools/kafka.js fetch)`));
  }
  const input = records.map(line).join('\n') + '\n';
  return new Promise((resolve, reject) => {
    const java = spawn('java', ['-cp', join(kafkaLibs, '*'), TOOL, 'produce', brokers, topic, String(partition)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    java.stdout.on('data', (d: Buffer) => (out += d.toString()));
    java.stderr.on('data', (d: Buffer) => (err += d.toString()));
    java.on('error', reject);
    java.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the Java producer exited ${code}: ${err.slice(-2000)}`));
      const offsets = out.trim().split('\n').filter(Boolean);
      if (offsets.length !== records.length) return reject(new Error(`the Java producer reported ${offsets.length} offsets for ${records.length} records`));
      resolve(offsets);
    });
    java.stdin.end(input);
  });
}
