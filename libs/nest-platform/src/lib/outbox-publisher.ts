import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { OutboxRelay, physicalTopic, writeOutbox, type OutboxRecord } from '@tally/kafka';
import { HEADERS } from '@tally/contracts';
import { traceHeaders } from '@tally/telemetry';
import { SERVICE_CONFIG } from './tokens';
import type { ServiceConfig } from './service-config';

export interface OutgoingEvent {
  /** Logical topic name. */
  topic: string;
  key: string | null;
  value: { tenant?: string } & Record<string, unknown>;
  /** Added to the trace and tenant headers (e.g. a catalog message's signature). */
  headers?: Record<string, string>;
}

/**
 * For state changes that do not come from a consumed batch (e.g. an HTTP call): runs `work` in one
 * transaction and writes the events it emits to the outbox in that same transaction.
 */
@Injectable()
export class OutboxPublisher {
  constructor(
    private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async inTransaction<T>(work: (manager: EntityManager, emit: (event: OutgoingEvent) => void) => Promise<T>): Promise<T> {
    const records: OutboxRecord[] = [];
    const result = await this.dataSource.transaction(async (manager) => {
      const emit = (event: OutgoingEvent) => {
        const headers = traceHeaders();
        if (event.value.tenant) headers[HEADERS.tenant] = event.value.tenant;
        Object.assign(headers, event.headers);
        records.push({ topic: physicalTopic(this.config.kafka, event.topic), key: event.key, value: JSON.stringify(event.value), headers });
      };
      const out = await work(manager, emit);
      await writeOutbox(manager, records);
      return out;
    });
    if (records.length > 0) this.relay.wake();
    return result;
  }
}
