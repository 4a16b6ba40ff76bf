import { Controller, Get, Header } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, register } from 'prom-client';
import { DataSource } from 'typeorm';
import { schemaOf } from '@tally/postgres';

let defaultMetricsStarted = false;

function gauge(name: string, help: string): Gauge {
  return (register.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help });
}

/**
 * Read at scrape time from the outbox table itself (the relay's own gauges only see its batch): a relay
 * that stopped publishing shows as a growing backlog and age even though it updates nothing.
 */
export const outboxBacklog = gauge('tally_outbox_backlog', 'Outbox records not yet published (parked ones excluded), counted at scrape time');
export const outboxOldestAge = gauge('tally_outbox_oldest_age_seconds', 'Age of the oldest unpublished outbox record at scrape time (0 when none waits)');

/** Prometheus exposition of the process's metrics (HTTP, consumer, outbox, Node runtime). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly dataSource: DataSource) {
    if (!defaultMetricsStarted) {
      collectDefaultMetrics();
      defaultMetricsStarted = true;
    }
  }

  @Get()
  @Header('Content-Type', register.contentType)
  async metrics(): Promise<string> {
    await this.readOutbox();
    return register.metrics();
  }

  private async readOutbox(): Promise<void> {
    try {
      // The partial index outbox_unpublished holds exactly these rows, so this stays cheap with a large table.
      const [row] = await this.dataSource.query(
        `SELECT count(*)::int AS backlog, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
         FROM ${schemaOf(this.dataSource)}.outbox WHERE published_at IS NULL AND parked_at IS NULL`,
      );
      outboxBacklog.set(row.backlog);
      outboxOldestAge.set(Math.max(0, row.age));
    } catch {
      // Postgres away: the scrape still answers (the readiness probe reports the outage); the gauges keep the last reading.
    }
  }
}
