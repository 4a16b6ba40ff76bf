import type { DataSource } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Forgets the stored offsets of one (physical) topic in a service's schema, for every consumer group there,
 * so the next start reads the topic from its beginning and stamps the new topic id. The operator's answer to
 * a TopicRecreatedError once they decided the new topic is the one to read; what was applied from the old
 * topic stays applied (and services that dedupe by event id, like aggregation, count a re-read event once).
 */
export async function resetStoredOffsets(dataSource: DataSource, physicalTopic: string): Promise<number> {
  const s = schemaOf(dataSource);
  const [, deleted] = (await dataSource.query(`DELETE FROM ${s}.consumer_offsets WHERE topic = $1`, [physicalTopic])) as [unknown, number];
  return deleted;
}
