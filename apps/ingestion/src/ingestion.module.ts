import { Module } from '@nestjs/common';
import { AdminController } from './admin/admin.controller';
import { ApiKeyService } from './auth/api-key.service';
import { AdminTokenGuard, ApiKeyGuard } from './auth/guards';
import { DeadLetterLogConsumer } from './dead-letters/dead-letter-log.consumer';
import { DeadLetterRepository } from './dead-letters/dead-letter.repository';
import { DeadLetterRetentionService } from './dead-letters/dead-letter-retention.service';
import { AdminDeadLettersController, DeadLettersController } from './dead-letters/dead-letters.controller';
import { EventsController } from './events/events.controller';
import { MeterCatalogService } from './meters/meter-catalog.service';
import { MetersController } from './meters/meters.controller';
import { RawUsageEventsController } from './raw-events/raw-usage-events.controller';

@Module({
  controllers: [RawUsageEventsController, EventsController, MetersController, AdminController, DeadLettersController, AdminDeadLettersController],
  providers: [MeterCatalogService, ApiKeyService, ApiKeyGuard, AdminTokenGuard, DeadLetterRepository, DeadLetterLogConsumer, DeadLetterRetentionService],
  exports: [MeterCatalogService, ApiKeyService],
})
export class IngestionModule {}
