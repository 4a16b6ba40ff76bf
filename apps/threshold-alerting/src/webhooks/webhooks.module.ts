import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookEventsConsumer } from './webhook-events.consumer';
import { WebhookRepository } from './webhook.repository';
import { WebhooksController } from './webhooks.controller';

/** Signed webhooks of alerts, invoices and churn risk (README "Webhooks"): API, consumer, sender. */
@Module({
  imports: [TenantAuthModule],
  controllers: [WebhooksController],
  providers: [WebhookRepository, WebhookDispatcher, WebhookEventsConsumer],
})
export class WebhooksModule {}
