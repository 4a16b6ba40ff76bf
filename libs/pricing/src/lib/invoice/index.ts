// Invoice composition: pure functions from a plan, a period's usage and a charge pricer to an invoice.
export { Dec, type DecimalInput, type Instant } from './money';
export { assertCurrency, formatMinor, minorUnits, roundToMinorUnit } from './currency';
export {
  localDate,
  prorate,
  prorationDays,
  proratePlanChange,
  type PlanChangeInput,
  type PlanChangeProration,
  type ProrationDays,
  type ProrationWindow,
} from './proration';
export { composeInvoice } from './invoice-composer';
export { priceLateUsage, type LateUsageInput } from './late-usage';
export { elapsedFraction, projectPeriodEnd, upcomingInvoice } from './upcoming-invoice';
export type {
  Invoice,
  InvoiceAdjustmentInput,
  InvoiceBaseFeeInput,
  InvoiceChargeInput,
  InvoiceCouponInput,
  InvoiceInput,
  InvoiceLine,
  InvoiceLineBreakdown,
  InvoiceLineKind,
  InvoicePlanChangeInput,
  UpcomingInvoice,
} from './invoice-types';
