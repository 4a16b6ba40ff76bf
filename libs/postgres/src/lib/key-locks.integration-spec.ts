import { DataSource, type EntityManager } from 'typeorm';
import { KEY_LOCK_ESCALATION_THRESHOLD, lockKeys } from './key-locks';

/** Real Postgres (DATABASE_URL from jest's global set-up): what the lock table holds and who waits for whom. */
describe('lockKeys (real Postgres)', () => {
  let db: DataSource;
  const ns = `key-locks-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    db = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, poolSize: 6 });
    await db.initialize();
  });
  afterAll(() => db?.destroy());

  /** Runs `work` in a transaction that gives up on any lock after `timeoutMs`; resolves to the error code or 'ok'. */
  const attempt = (keys: string[], timeoutMs = 300, namespace = ns) =>
    db.transaction(async (m) => {
      await m.query(`SET LOCAL lock_timeout = '${timeoutMs}ms'`);
      await lockKeys(m, namespace, keys);
      return 'ok';
    }).catch((e: { code?: string }) => e.code ?? String(e));

  /** Holds the keys' locks until `release` is called. */
  const hold = async (keys: string[]) => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const done = db.transaction(async (m: EntityManager) => {
      await lockKeys(m, ns, keys);
      locked();
      await released;
    });
    await isLocked;
    return async () => {
      release();
      await done;
    };
  };

  const many = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `acme:${prefix}-${i}`);

  it('locks 20,000 customers in one transaction with one lock (a lock each overflows the default shared lock table: 53200)', async () => {
    await db.transaction(async (m) => {
      await lockKeys(m, ns, many(20_000, 'big'));
      const [row] = await m.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
      expect(row.n).toBe(1);
    });
    // (One lock each would not fit in the default table; not shown here: filling the server's lock table would
    // fail whatever else runs on it at that moment.)
  });

  it('takes a lock per key (plus the shared namespace lock) up to the threshold, duplicates counted once', async () => {
    const keys = many(KEY_LOCK_ESCALATION_THRESHOLD, 'small');
    await db.transaction(async (m) => {
      await lockKeys(m, ns, [...keys, ...keys]);
      const rows: Array<{ mode: string; n: number }> = await m.query(
        `SELECT mode, count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() GROUP BY mode ORDER BY mode`,
      );
      expect(rows).toEqual([{ mode: 'ExclusiveLock', n: KEY_LOCK_ESCALATION_THRESHOLD }, { mode: 'ShareLock', n: 1 }]);
    });
  });

  it('serializes transactions sharing a key, per key and escalated, and nothing else', async () => {
    const release = await hold(['acme:c-1', 'acme:c-2']);
    try {
      expect(await attempt(['acme:c-2'])).toBe('55P03'); // the same customer waits
      expect(await attempt(['acme:c-3', 'acme:c-4'])).toBe('ok'); // others do not
      expect(await attempt(many(KEY_LOCK_ESCALATION_THRESHOLD + 1, 'other'))).toBe('55P03'); // escalated: waits for everyone
      expect(await attempt(['acme:c-1'], 300, `${ns}-elsewhere`)).toBe('ok'); // another namespace is another lock
    } finally {
      await release();
    }
    expect(await attempt(many(KEY_LOCK_ESCALATION_THRESHOLD + 1, 'other'))).toBe('ok');
    // An escalated holder excludes every key of its namespace.
    const releaseAll = await hold(many(KEY_LOCK_ESCALATION_THRESHOLD + 1, 'all'));
    try {
      expect(await attempt(['acme:anyone'])).toBe('55P03');
    } finally {
      await releaseAll();
    }
    expect(await attempt(['acme:anyone'])).toBe('ok');
  });

  it('does nothing for no keys', async () => {
    await db.transaction(async (m) => {
      await lockKeys(m, ns, []);
      const [row] = await m.query(`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`);
      expect(row.n).toBe(0);
    });
  });
});
