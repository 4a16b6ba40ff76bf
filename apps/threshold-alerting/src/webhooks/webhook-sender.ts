import { lookup as dnsLookup } from 'node:dns';
import { promises as dnsPromises } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { checkLiteralTarget, checkResolved, parseWebhookUrl, type TargetVerdict, type WebhookTarget } from './domain/target-address';

/** The address policy refused the target: not worth retrying. */
export class RefusedTargetError extends Error {
  readonly code = 'TALLY_WEBHOOK_TARGET_REFUSED';
}

/** What one POST came to. */
export interface SendOutcome {
  statusCode?: number;
  retryAfter?: string;
  /** The first bytes of the answer, for the deliveries API. */
  responseBody?: string;
  error?: string;
  refused?: boolean;
  /** Stopped by the caller (shutdown) before an answer: the attempt does not count. */
  aborted?: boolean;
  durationMs: number;
}

const RESPONSE_BODY_BYTES = 1024;
const USER_AGENT = 'Tally-Webhooks/1';

/** Registration-time check of a target: its literal address, or every address its name resolves to now. */
export async function checkTarget(target: WebhookTarget, allowPrivate: boolean): Promise<TargetVerdict> {
  const literal = checkLiteralTarget(target, allowPrivate);
  if (literal) return literal;
  try {
    const addresses = await dnsPromises.lookup(target.host, { all: true, verbatim: true });
    return checkResolved(target.host, addresses.map((a) => a.address), allowPrivate);
  } catch (e) {
    return { allowed: false, reason: `${target.host} does not resolve (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
}

/**
 * The socket's DNS lookup, checked: the address connected to is one this lookup returned and the policy allowed,
 * so a name that answered a public address at registration and a private one now (DNS rebinding) is refused, and
 * there is no second resolution between the check and the connect.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { family: options.family ?? 0, all: true, verbatim: true }, (error, addresses) => {
      if (error) return callback(error);
      const verdict = checkResolved(hostname, addresses.map((a) => a.address), allowPrivate);
      if (!verdict.allowed) return callback(new RefusedTargetError(verdict.reason));
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  }) as unknown as LookupFunction;
}

/**
 * POSTs one signed webhook. The whole exchange (connect, send, answer) ends at `timeoutMs`; redirects are not
 * followed (a 3xx is a failed attempt: following one could lead anywhere the policy refuses). Never throws.
 */
export function postWebhook(rawUrl: string, headers: Record<string, string>, body: string, o: { timeoutMs: number; allowPrivate: boolean; signal?: AbortSignal }): Promise<SendOutcome> {
  const started = Date.now();
  const done = (outcome: Omit<SendOutcome, 'durationMs'>): SendOutcome => ({ ...outcome, durationMs: Date.now() - started });
  const parsed = parseWebhookUrl(rawUrl);
  if ('error' in parsed) return Promise.resolve(done({ refused: true, error: `URL ${parsed.error}` }));
  const literal = checkLiteralTarget(parsed.target, o.allowPrivate);
  if (literal && !literal.allowed) return Promise.resolve(done({ refused: true, error: `refused: ${literal.reason}` }));

  const timeout = AbortSignal.timeout(o.timeoutMs);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  return new Promise<SendOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<SendOutcome, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      resolve(done(outcome));
    };
    const client = parsed.target.url.protocol === 'https:' ? https : http;
    const req = client.request(parsed.target.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': USER_AGENT },
      // A connection per attempt: no pool shared between endpoints, nothing kept open to a dead one.
      agent: false,
      lookup: guardedLookup(o.allowPrivate),
      signal,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const answer = () => ({
        statusCode: res.statusCode ?? 0,
        retryAfter: typeof res.headers['retry-after'] === 'string' ? res.headers['retry-after'] : undefined,
        responseBody: Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_BODY_BYTES),
      });
      res.on('data', (chunk: Buffer) => {
        if (size >= RESPONSE_BODY_BYTES) return;
        chunks.push(chunk.subarray(0, RESPONSE_BODY_BYTES - size));
        size += chunk.length;
        // The status is what counts; a large (or endless) body is not waited for.
        if (size >= RESPONSE_BODY_BYTES) {
          finish(answer());
          res.destroy();
        }
      });
      res.on('end', () => finish(answer()));
      res.on('error', () => finish(answer()));
      res.on('close', () => finish(answer()));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e instanceof RefusedTargetError) return finish({ refused: true, error: `refused: ${e.message}` });
      if (timeout.aborted) return finish({ error: `timed out after ${o.timeoutMs} ms` });
      if (o.signal?.aborted) return finish({ aborted: true, error: 'aborted: the sender is stopping' });
      finish({ error: `${e.code ?? 'error'}: ${e.message}`.slice(0, 500) });
    });
    req.end(body);
  });
}
