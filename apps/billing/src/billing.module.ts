import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { TenantAuthModule } from '@tally/nest-platform';
import { CatalogController } from './catalog/catalog.controller';
import { CatalogRepository } from './catalog/catalog.repository';
import { CouponsController } from './coupons/coupons.controller';
import { CouponsRepository } from './coupons/coupons.repository';
import { InvoicesController } from './invoices/invoices.controller';
import { InvoiceService } from './invoices/invoice.service';
import { CreditNotesController } from './invoices/credit-notes.controller';
import { UsageCorrectionsService } from './invoices/usage-corrections.service';
import { ProgressiveBillingService } from './invoices/progressive-billing.service';
import { InvoiceNumberingController } from './invoices/invoice-numbering.controller';
import { InvoiceNumberingRepository } from './invoices/invoice-numbering.repository';
import { BillingJobsService } from './jobs/billing-jobs.service';
import { JobFailuresController } from './jobs/job-failures.controller';
import { JobFailuresService } from './jobs/job-failures.service';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { PaymentRetryService } from './payments/payment-retry.service';
import { PaymentsController } from './payments/payments.controller';
import { PricingController } from './pricing/pricing.controller';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionService } from './subscriptions/subscription.service';
import { UsageAggregatesController } from './usage/usage-aggregates.controller';

@Module({
  imports: [TenantAuthModule],
  controllers: [UsageAggregatesController, PaymentsController, CatalogController, SubscriptionsController, InvoicesController, PricingController, JobFailuresController, InvoiceNumberingController, CouponsController, CreditNotesController],
  providers: [CatalogRepository, JobFailuresService, SubscriptionService, InvoiceService, BillingJobsService, PaymentRetryService, InvoiceNumberingRepository, CouponsRepository, UsageCorrectionsService, ProgressiveBillingService,
    { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor }],
  exports: [CatalogRepository, JobFailuresService, SubscriptionService, InvoiceService, BillingJobsService, UsageCorrectionsService],
})
export class BillingModule {}
