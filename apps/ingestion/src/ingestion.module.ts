import { Module } from '@nestjs/common';
import { MeterCatalogService } from './meters/meter-catalog.service';
import { RawUsageEventsController } from './raw-events/raw-usage-events.controller';

@Module({
  controllers: [RawUsageEventsController],
  providers: [MeterCatalogService],
  exports: [MeterCatalogService],
})
export class IngestionModule {}
