import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ProjectedApiKeyGuard } from '@tally/nest-platform';
import { simulateLine, type SimulationResult } from '@tally/pricing';

/** The `npm run price` simulator over HTTP: one request object, or an array of them answered in order. */
@Controller('api/v1/pricing')
@UseGuards(ProjectedApiKeyGuard)
export class PricingController {
  @Post('simulate')
  @HttpCode(200)
  simulate(@Body() body: unknown): SimulationResult | SimulationResult[] {
    return Array.isArray(body) ? body.map((item) => simulateLine(item)) : simulateLine(body);
  }
}
