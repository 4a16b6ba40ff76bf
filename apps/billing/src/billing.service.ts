import { CreateApiKeyProjection1732400000060, type ServiceDefinition } from '@tally/nest-platform';
import { CreatePeriodUsage1732400000050 } from '@tally/period-usage';
import { billingConfigSchema } from './billing-config';
import { CreateSubscriptions1732400000400 } from './db/1732400000400-create-subscriptions';
import { CreateBillingCatalog1732400000410 } from './db/1732400000410-create-billing-catalog';
import { CreateJobFailures1732400000420 } from './db/1732400000420-create-job-failures';
import { CreateIdempotency1732400000430 } from './db/1732400000430-create-idempotency';
import { CreateIdempotentRequests1732400000471 } from './db/1732400000471-create-idempotent-requests';
import { CreateInvoiceNumbering1732400000472 } from './db/1732400000472-create-invoice-numbering';
import { CreateCoupons1732400000473 } from './db/1732400000473-create-coupons';
import { CreateCreditNotes1732400000480 } from './db/1732400000480-create-credit-notes';
import { ProgressiveInvoices1732400000490 } from './db/1732400000490-progressive-invoices';
import { OpenPeriodsByCustomer1732400000491 } from './db/1732400000491-open-periods-by-customer';
import { PeriodUsageTrace1732400000492 } from './db/1732400000492-period-usage-trace';
import { PeriodUsageHeldUnitDays1732400000497 } from './db/1732400000497-period-usage-held-unit-days';
import { InvoicedUsageProration1732400000498 } from './db/1732400000498-invoiced-usage-proration';
import { InvoicedUsageDynamicAmount1732400000499 } from './db/1732400000499-invoiced-usage-dynamic-amount';
import { BillingModule } from './billing.module';

export const billingService: ServiceDefinition = {
  name: 'billing',
  defaultPort: 3004,
  rootModule: BillingModule,
  migrations: [CreateApiKeyProjection1732400000060, CreatePeriodUsage1732400000050, CreateSubscriptions1732400000400, CreateBillingCatalog1732400000410, CreateJobFailures1732400000420,
    CreateIdempotency1732400000430, CreateIdempotentRequests1732400000471, CreateInvoiceNumbering1732400000472, CreateCoupons1732400000473, CreateCreditNotes1732400000480,
    ProgressiveInvoices1732400000490, OpenPeriodsByCustomer1732400000491, PeriodUsageTrace1732400000492, PeriodUsageHeldUnitDays1732400000497, InvoicedUsageProration1732400000498,
    InvoicedUsageDynamicAmount1732400000499],
  configSchema: billingConfigSchema,
};
