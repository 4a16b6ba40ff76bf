import { context, trace } from '@opentelemetry/api';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/**
 * Structured JSON logs, one object per line, with the active trace and span ids so a log line can be
 * found from its trace (and back).
 */
export class JsonLogger {
  private readonly minLevel: number;

  constructor(
    private readonly service: string,
    private readonly component?: string,
    level: LogLevel = (process.env.LOG_LEVEL as LogLevel) || 'info',
  ) {
    this.minLevel = ORDER[level] ?? ORDER.info;
  }

  child(component: string): JsonLogger {
    return new JsonLogger(this.service, component, this.levelName());
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.write('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.write('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.write('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.write('error', message, fields);
  }

  private levelName(): LogLevel {
    return (Object.keys(ORDER) as LogLevel[]).find((l) => ORDER[l] === this.minLevel) ?? 'info';
  }

  private write(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.minLevel) return;
    const span = trace.getSpanContext(context.active());
    const line: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.service,
      ...(this.component ? { component: this.component } : {}),
      message,
      ...(span ? { trace_id: span.traceId, span_id: span.spanId } : {}),
      ...serializeFields(fields),
    };
    (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${JSON.stringify(line)}\n`);
  }
}

function serializeFields(fields?: Record<string, unknown>): Record<string, unknown> {
  if (!fields) return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { name: v.name, message: v.message, stack: v.stack } : v;
  }
  return out;
}
