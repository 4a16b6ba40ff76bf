import type { LoggerService } from '@nestjs/common';
import type { JsonLogger } from '@tally/telemetry';

/** Routes Nest's own log calls to the structured JSON logger. */
export class NestJsonLogger implements LoggerService {
  constructor(private readonly logger: JsonLogger) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.logger.info(String(message), context(rest));
  }
  error(message: unknown, ...rest: unknown[]): void {
    const [stack, ...others] = rest;
    this.logger.error(message instanceof Error ? message.message : String(message), {
      ...context(others),
      ...(typeof stack === 'string' ? { stack } : {}),
    });
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.logger.warn(String(message), context(rest));
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.logger.debug(String(message), context(rest));
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.logger.debug(String(message), context(rest));
  }
}

function context(rest: unknown[]): Record<string, unknown> {
  const last = rest[rest.length - 1];
  return typeof last === 'string' ? { context: last } : {};
}
