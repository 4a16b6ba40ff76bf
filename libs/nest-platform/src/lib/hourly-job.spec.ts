import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HourlyJob } from './hourly-job';

@Injectable()
class CountingJob extends HourlyJob {
  runs = 0;
  async run(): Promise<number> {
    return ++this.runs;
  }
}

@Module({ providers: [CountingJob] })
class JobModule {}

describe('HourlyJob', () => {
  afterEach(() => jest.useRealTimers());

  it('runs at start and then every hour, once however often it is started, and stops at shutdown', () => {
    jest.useFakeTimers();
    const job = new CountingJob();
    job.onApplicationBootstrap();
    job.onApplicationBootstrap();
    expect(job.runs).toBe(1);
    jest.advanceTimersByTime(3_600_000 - 1);
    expect(job.runs).toBe(1);
    jest.advanceTimersByTime(1);
    expect(job.runs).toBe(2);
    jest.advanceTimersByTime(2 * 3_600_000);
    expect(job.runs).toBe(4);
    job.onApplicationShutdown();
    jest.advanceTimersByTime(10 * 3_600_000);
    expect(job.runs).toBe(4);
  });

  it('gets its lifecycle hooks from Nest through the base class', async () => {
    const app = await NestFactory.createApplicationContext(JobModule, { logger: false });
    expect(app.get(CountingJob).runs).toBe(1);
    await app.close();
  });
});
