import { Counter, Gauge, register } from 'prom-client';

function once<T>(name: string, make: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? make();
}

export const jobItemFailures = once(
  'tally_billing_job_failures_total',
  () => new Counter({ name: 'tally_billing_job_failures_total', help: 'Items a billing job failed to process (each attempt), by job', labelNames: ['job'] }),
);

export const jobItemsFailing = once(
  'tally_billing_job_items_failing',
  () => new Gauge({ name: 'tally_billing_job_items_failing', help: 'Items currently failing (recorded in billing.job_failures, all tenants), by job, at the last run', labelNames: ['job'] }),
);
