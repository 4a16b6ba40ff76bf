import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { BILLING_JOBS, JobFailuresService, type BillingJob, type JobFailureView } from './job-failures.service';

/** What billing's jobs could not process for the tenant, with the error and the next attempt. */
@Controller('api/v1/billing')
@UseGuards(ProjectedApiKeyGuard)
export class JobFailuresController {
  constructor(private readonly failures: JobFailuresService) {}

  @Get('job-failures')
  async list(@Tenant() tenant: string, @Query('job') job?: string): Promise<{ data: JobFailureView[] }> {
    if (job !== undefined && !(BILLING_JOBS as readonly string[]).includes(job)) {
      throw problem(400, `unknown job "${job}"`, [{ pointer: '/job', detail: `must be one of ${BILLING_JOBS.join(', ')}` }]);
    }
    return { data: await this.failures.list(tenant, job as BillingJob | undefined) };
  }
}
