import { ArgumentsHost, Catch, HttpException, HttpStatus, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import { isPoolExhausted, isStatementTimeout } from '@tally/postgres';
import type { JsonLogger } from '@tally/telemetry';

/** One bad field: a JSON Pointer into the request body (RFC 6901) and what is wrong with it. */
export interface FieldError {
  pointer: string;
  detail: string;
}

export interface Problem {
  status: number;
  title: string;
  detail?: string;
  /** RFC 9457 extension member: one entry per bad field. */
  errors?: FieldError[];
  type?: string;
}

/** Throw this to answer with an RFC 9457 `application/problem+json` body. */
export class ProblemException extends HttpException {
  constructor(
    readonly problem: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(problem, problem.status);
    // Callers outside HTTP (jobs, tests) see what went wrong, not "Problem Exception".
    this.message = `${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`;
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Every error an HTTP API of Tally returns is problem+json; unexpected ones are logged, never leaked. */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  constructor(private readonly logger: JsonLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    let problem: Problem;
    let headers: Record<string, string> = {};
    if (exception instanceof ProblemException) {
      problem = exception.problem;
      headers = exception.headers;
    } else if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const body = exception.getResponse();
      const detail = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? exception.message);
      problem = { status, title: TITLES[status] ?? 'Error', detail: Array.isArray(detail) ? detail.join('; ') : String(detail) };
    } else if (isStatementTimeout(exception)) {
      // The API read pool's statement_timeout canceled it: the request asked for too much at once.
      this.logger.warn('API statement canceled by statement_timeout', { error: (exception as Error).message });
      problem = { status: 503, title: TITLES[503], detail: 'the query took longer than this API allows; narrow the range, use larger windows or fewer group-by names, and retry' };
      headers = { 'Retry-After': '5' };
    } else if (isPoolExhausted(exception)) {
      problem = { status: 503, title: TITLES[503], detail: 'too many API reads at once; retry shortly' };
      headers = { 'Retry-After': '1' };
    } else {
      this.logger.error('unhandled error in HTTP handler', { error: exception as Error });
      problem = { status: HttpStatus.INTERNAL_SERVER_ERROR, title: TITLES[500], detail: 'unexpected error; see the service log' };
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response
      .status(problem.status)
      .type('application/problem+json')
      .send(JSON.stringify({ ...problem, type: problem.type ?? 'about:blank', title: problem.title ?? TITLES[problem.status] }));
  }
}

export function problem(status: number, detail: string, errors?: FieldError[], headers?: Record<string, string>): ProblemException {
  return new ProblemException({ status, title: TITLES[status] ?? 'Error', detail, ...(errors ? { errors } : {}) }, headers);
}

/** Parses a request body with a zod schema, or throws a 400 problem naming each bad field by JSON Pointer. */
export function parseOrProblem<S extends z.ZodTypeAny>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ pointer: i.path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''), detail: i.message }));
  throw problem(400, `${errors.length} invalid field(s)`, errors);
}
