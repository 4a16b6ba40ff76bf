import { Module } from '@nestjs/common';
import { AdminController } from './admin/admin.controller';
import { ApiKeyService } from './auth/api-key.service';
import { AdminTokenGuard, ApiKeyGuard } from './auth/guards';
import { EventsController } from './events/events.controller';
import { MeterCatalogService } from './meters/meter-catalog.service';
import { MetersController } from './meters/meters.controller';
import { RawUsageEventsController } from './raw-events/raw-usage-events.controller';

@Module({
  controllers: [RawUsageEventsController, EventsController, MetersController, AdminController],
  providers: [MeterCatalogService, ApiKeyService, ApiKeyGuard, AdminTokenGuard],
  exports: [MeterCatalogService, ApiKeyService],
})
export class IngestionModule {}
