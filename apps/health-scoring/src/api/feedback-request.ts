import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { attributeProblem, charsetProblem, parseMediaType, parseStrictJson, rfc3339, type NpsFeedback, type SupportTicket } from '@tally/contracts';

/** One bad field of a request: a JSON Pointer into the body and what is wrong with it. */
export interface FieldError {
  pointer: string;
  detail: string;
}

export type ParsedItems<T> = { ok: true; items: T[] } | { ok: false; status: 400 | 413 | 415; detail: string; errors?: FieldError[] };

export interface FeedbackLimits {
  maxItems: number;
  /** Answers and ticket changes older than this are refused (a history import beyond it is a mistake). */
  maxAgeMs: number;
  /** Clock skew allowed for times in the future. */
  maxFutureMs: number;
}

/** Identifiers travel as Kafka keys and Postgres index keys: bounded, no NUL, no unpaired surrogate. */
const id = (maxBytes = 256) =>
  z.string({ required_error: 'is required', invalid_type_error: 'must be a string' }).min(1, 'must not be empty').superRefine((s, ctx) => {
    const problem = attributeProblem(s, maxBytes);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
  });

const npsRequestSchema = z
  .object({
    customer: id(),
    score: z.number({ required_error: 'is required', invalid_type_error: 'must be a whole number from 0 to 10' }).int('must be a whole number from 0 to 10').min(0, 'must be a whole number from 0 to 10').max(10, 'must be a whole number from 0 to 10'),
    /** When the customer answered; default: now. */
    respondedAt: rfc3339().optional(),
    /** The survey tool's id of the answer: sending it again is not a second answer. */
    responseId: id(200).optional(),
  })
  .strict();

const ticketRequestSchema = z
  .object({
    ticketId: id(200),
    customer: id(),
    status: z.enum(['open', 'pending', 'solved', 'closed']),
    priority: z.enum(['low', 'normal', 'high', 'urgent']),
    openedAt: rfc3339().optional(),
    /** When the ticket reached this state; default: now. A later state wins whatever the order of arrival. */
    updatedAt: rfc3339().optional(),
  })
  .strict();

export type NpsRequest = z.infer<typeof npsRequestSchema>;
export type TicketRequest = z.infer<typeof ticketRequestSchema>;

/**
 * A JSON body of one item (an object) or several (an array), read with the same strict parser as usage
 * events (UTF-8, bounded nesting, unique member names, no NUL or lone surrogate, exact numbers), then each
 * item against its schema; every problem is named by its JSON Pointer. Unknown members are refused (a
 * misspelt `scroe` must not pass as an answer without a score).
 */
function parseItems<S extends z.ZodTypeAny>(schema: S, contentType: string | undefined, body: Buffer, limits: FeedbackLimits): ParsedItems<z.output<S>> {
  const media = parseMediaType(contentType);
  if (media.type !== 'application/json') return { ok: false, status: 415, detail: `content type "${media.type || '(none)'}" is not accepted: use application/json` };
  const charset = charsetProblem(media);
  if (charset) return { ok: false, status: 415, detail: `content type "${contentType}": ${charset}` };
  const parsed = parseStrictJson(body, { maxDepth: 3 });
  if (!parsed.ok) {
    const detail = parsed.error.kind === 'encoding' ? 'the body is not UTF-8' : parsed.error.kind === 'syntax' ? 'the body is not valid JSON' : 'the body breaks an input limit';
    return { ok: false, status: 400, detail, errors: [{ pointer: parsed.error.pointer, detail: parsed.error.detail }] };
  }
  const batch = Array.isArray(parsed.value);
  const items = batch ? (parsed.value as unknown[]) : [parsed.value];
  if (batch && items.length === 0) return { ok: false, status: 400, detail: 'the batch is empty', errors: [{ pointer: '', detail: 'must contain at least one item' }] };
  if (items.length > limits.maxItems) return { ok: false, status: 413, detail: `the batch has ${items.length} items; at most ${limits.maxItems} are accepted per request` };
  const errors: FieldError[] = [];
  const out: Array<z.output<S>> = [];
  items.forEach((item, i) => {
    const prefix = batch ? `/${i}` : '';
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ pointer: prefix, detail: 'must be an object' });
      return;
    }
    const result = schema.safeParse(item);
    if (result.success) out.push(result.data);
    else {
      for (const issue of result.error.issues) {
        if (issue.code === z.ZodIssueCode.unrecognized_keys) for (const k of issue.keys) errors.push({ pointer: `${prefix}/${escape(k)}`, detail: 'is not a known field' });
        else errors.push({ pointer: prefix + issue.path.map((p) => `/${escape(String(p))}`).join(''), detail: issue.message });
      }
    }
  });
  if (errors.length > 0) return { ok: false, status: 400, detail: `${errors.length} invalid field(s)`, errors };
  return { ok: true, items: out };
}

/** Whether the (already validated) body is an array: its first character after a BOM and whitespace is '['. */
const isBatch = (body: Buffer) => body.toString('utf8').replace(/^\uFEFF/, '').trimStart().startsWith('[');

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function timeProblem(time: string | undefined, now: Date, limits: FeedbackLimits): string | undefined {
  if (time === undefined) return undefined;
  const t = Date.parse(time);
  if (t > now.getTime() + limits.maxFutureMs) return `is in the future (more than ${limits.maxFutureMs / 1000} s ahead)`;
  if (t < now.getTime() - limits.maxAgeMs) return `is more than ${Math.round(limits.maxAgeMs / 86_400_000)} days old`;
  return undefined;
}

/** `POST /api/v1/nps-responses` items as `feedback.nps.v1` messages of the tenant. */
export function npsResponsesFromBody(tenant: string, contentType: string | undefined, body: Buffer, limits: FeedbackLimits, now: Date): ParsedItems<NpsFeedback> {
  const parsed = parseItems(npsRequestSchema, contentType, body, limits);
  if (!parsed.ok) return parsed;
  const batch = isBatch(body);
  const errors = parsed.items.flatMap((item, i) => {
    const problem = timeProblem(item.respondedAt, now, limits);
    return problem ? [{ pointer: `${batch ? `/${i}` : ''}/respondedAt`, detail: problem }] : [];
  });
  if (errors.length > 0) return { ok: false, status: 400, detail: `${errors.length} invalid field(s)`, errors };
  return {
    ok: true,
    items: parsed.items.map((item) => ({
      eventId: item.responseId !== undefined ? `nps:${item.responseId}` : randomUUID(),
      occurredAt: new Date(item.respondedAt ?? now).toISOString(),
      tenant,
      customer: item.customer,
      score: item.score,
    })),
  };
}

/** `POST /api/v1/support-tickets` items as `support.tickets.v1` messages of the tenant. */
export function supportTicketsFromBody(tenant: string, contentType: string | undefined, body: Buffer, limits: FeedbackLimits, now: Date): ParsedItems<SupportTicket> {
  const parsed = parseItems(ticketRequestSchema, contentType, body, limits);
  if (!parsed.ok) return parsed;
  const batch = isBatch(body);
  const errors = parsed.items.flatMap((item, i) =>
    (['openedAt', 'updatedAt'] as const).flatMap((field) => {
      const problem = timeProblem(item[field], now, limits);
      return problem ? [{ pointer: `${batch ? `/${i}` : ''}/${field}`, detail: problem }] : [];
    }),
  );
  if (errors.length > 0) return { ok: false, status: 400, detail: `${errors.length} invalid field(s)`, errors };
  return {
    ok: true,
    items: parsed.items.map((item) => {
      const occurredAt = new Date(item.updatedAt ?? now).toISOString();
      return {
        // With updatedAt the change has an identity: a retried request is the same message.
        eventId: item.updatedAt !== undefined ? `ticket:${item.ticketId}:${occurredAt}:${item.status}:${item.priority}` : randomUUID(),
        occurredAt,
        tenant,
        customer: item.customer,
        ticketId: item.ticketId,
        status: item.status,
        priority: item.priority,
        ...(item.openedAt !== undefined ? { openedAt: new Date(item.openedAt).toISOString() } : {}),
      };
    }),
  };
}
