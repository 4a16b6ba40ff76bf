/**
 * Newest-first feeds (alerts, health signals, dead letters) page by keyset: `(at, id) < cursor`, so a page
 * never skips or repeats a row when new rows arrive meanwhile (an offset would). Pure: the controllers turn
 * a `FeedQueryError` into a 400 problem.
 */
export interface FeedCursor {
  /** The row's time in UTC with microseconds (`feedAtSql`): rows of one transaction share a millisecond. */
  at: string;
  /** The tie-breaker: a bigserial id as text. */
  id: string;
}

export interface FeedPage {
  limit: number;
  since: string | null;
  after: FeedCursor | null;
}

export class FeedQueryError extends Error {
  constructor(
    readonly pointer: string,
    readonly detail: string,
  ) {
    super(`${pointer}: ${detail}`);
  }
}

export const FEED_DEFAULT_LIMIT = 50;
export const FEED_MAX_LIMIT = 500;

// RFC 3339 with a zone; a bare date or local time would be read in the server's zone.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ID = /^[1-9]\d{0,18}$/;

/** Date.parse rolls 2026-02-30 over to March; a calendar date that does not exist is refused instead. */
function realTime(text: string): boolean {
  const [y, m, d] = text.slice(0, 10).split('-').map(Number);
  const hh = Number(text.slice(11, 13));
  const mm = Number(text.slice(14, 16));
  const ss = Number(text.slice(17, 19));
  return m >= 1 && m <= 12 && d >= 1 && d <= new Date(Date.UTC(y, m, 0)).getUTCDate() && hh < 24 && mm < 60 && ss < 60 && !Number.isNaN(Date.parse(text));
}

/** SQL printing a timestamptz column as a cursor's `at` (UTC, microseconds). */
export const feedAtSql = (column: string): string => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function encodeFeedCursor(c: FeedCursor): string {
  return Buffer.from(JSON.stringify([c.at, c.id]), 'utf8').toString('base64url');
}

/** A cursor this API issued, or a FeedQueryError: anything else could be an injection attempt or a stale client. */
export function decodeFeedCursor(cursor: string): FeedCursor {
  const bad = new FeedQueryError('/cursor', 'is not a cursor from an earlier page');
  if (cursor.length === 0 || cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad;
  const [at, id] = parsed as unknown[];
  if (typeof at !== 'string' || typeof id !== 'string' || !TIMESTAMP.test(at) || !ID.test(id) || !realTime(at)) throw bad;
  return { at, id };
}

/**
 * `limit` (1-500, default 50), `since` (RFC 3339: rows at or after it) and `cursor`. A parameter given twice
 * arrives as an array from Express's parser and is refused rather than guessed.
 */
export function parseFeedPage(query: { limit?: unknown; since?: unknown; cursor?: unknown }): FeedPage {
  const one = (name: string, v: unknown): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new FeedQueryError(`/${name}`, 'may be given once');
    return v;
  };
  const limitText = one('limit', query.limit);
  const since = one('since', query.since);
  const cursor = one('cursor', query.cursor);
  let limit = FEED_DEFAULT_LIMIT;
  if (limitText !== undefined) {
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > FEED_MAX_LIMIT) {
      throw new FeedQueryError('/limit', `must be a whole number from 1 to ${FEED_MAX_LIMIT}`);
    }
    limit = Number(limitText);
  }
  if (since !== undefined && (!RFC3339.test(since) || !realTime(since))) {
    throw new FeedQueryError('/since', 'must be an RFC 3339 time with a zone, e.g. 2026-01-31T00:00:00Z');
  }
  return { limit, since: since ?? null, after: cursor === undefined ? null : decodeFeedCursor(cursor) };
}

/** An optional filter parameter given at most once, non-empty and at most `max` characters. */
export function feedFilter(name: string, v: unknown, max = 256): string | null {
  if (v === undefined) return null;
  if (typeof v !== 'string') throw new FeedQueryError(`/${name}`, 'may be given once');
  if (v.length === 0 || v.length > max) throw new FeedQueryError(`/${name}`, `must be 1 to ${max} characters`);
  return v;
}

/** The page of `rows` (fetched with limit + 1) and the cursor of its last row when there are more. */
export function feedPage<R>(rows: R[], limit: number, cursorOf: (row: R) => FeedCursor): { page: R[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, nextCursor: rows.length > limit ? encodeFeedCursor(cursorOf(page[page.length - 1])) : null };
}
