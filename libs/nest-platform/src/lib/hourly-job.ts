import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

const HOUR_MS = 3_600_000;

/**
 * A maintenance pass a service runs at start and then hourly (retention, partitions): the timer is unref'd, so
 * it never keeps a process alive, and cleared at shutdown. `run` must not throw: it logs what failed and the
 * next hour tries again.
 */
export abstract class HourlyJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  abstract run(): Promise<unknown>;

  onApplicationBootstrap(): void {
    if (this.timer) return;
    void this.run();
    this.timer = setInterval(() => void this.run(), HOUR_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }
}
