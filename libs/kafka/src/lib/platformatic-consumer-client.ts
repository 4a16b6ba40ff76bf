import type { ConnectionPool, Consumer, GroupAssignment, RecordsBatch } from '@platformatic/kafka';
import type { JsonLogger } from '@tally/telemetry';
import type { BatchConsumerClient, BatchConsumerClientOptions, BatchConsumerHandlers, FetchedBatch, FetchedRecord, TopicPartition } from './consumer-client';
import { decompressGzip } from './compression/gzip';
import { decompressLz4Frame } from './compression/lz4-frame';
import { decompressSnappy } from './compression/snappy';
import { decompressZstd } from './compression/zstd';
import { importEsm } from './esm-import';
import { platformaticSecurityOptions, type KafkaSecurity } from './kafka-security';

type PlatformaticKafka = typeof import('@platformatic/kafka');
type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;

let loaded: Promise<PlatformaticKafka> | undefined;
/** Loads the ESM-only library once, with Tally's bounded decompressors in place of its own (see below). */
const loadPlatformaticKafka = (): Promise<PlatformaticKafka> =>
  (loaded ??= importEsm<PlatformaticKafka>('@platformatic/kafka').then((kafka) => {
    useTallyDecompressors(kafka);
    return kafka;
  }));

/**
 * The library decompresses record batches through one module-wide table, `compressionsAlgorithms`, with
 * no option to plug a codec; but the table is exported and mutable, so its decompressors are replaced by
 * the ones Tally's kafkajs codecs use: zstd then works on Node 20 too (the library only calls zlib's zstd,
 * which Node has from 22.15; pure-JS fzstd otherwise), snappy reads the xerial framing of the Java client,
 * and every codec is bounded by the decompression limit (the library's gunzip is not: a small hostile batch
 * could expand into gigabytes). Producing is untouched. Relies on the table's shape in @platformatic/kafka
 * 1.x, hence the check: a release that changes it fails here, loudly, instead of silently losing zstd.
 */
export function useTallyDecompressors(kafka: Pick<PlatformaticKafka, 'compressionsAlgorithms'>): void {
  const table = kafka.compressionsAlgorithms as unknown as Record<string, { decompressSync: (data: unknown) => Buffer; bitmask: number } | undefined>;
  const replacements: Record<string, (input: Buffer) => Buffer> = { gzip: decompressGzip, snappy: decompressSnappy, lz4: decompressLz4Frame, zstd: decompressZstd };
  for (const [codec, decompress] of Object.entries(replacements)) {
    const entry = table[codec];
    if (!entry || typeof entry.decompressSync !== 'function') {
      throw new Error(`@platformatic/kafka has no decompressor entry for ${codec}: its compression table changed, update useTallyDecompressors`);
    }
    entry.decompressSync = (data) => decompress(asBuffer(data));
  }
}

/** The library hands its decompressors a Buffer or one of its DynamicBuffers (which expose `.buffer`). */
function asBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const contiguous = (data as { buffer?: unknown }).buffer;
  if (Buffer.isBuffer(contiguous)) return contiguous;
  throw new Error('unexpected input to a decompressor: neither a Buffer nor a DynamicBuffer');
}

export interface PlatformaticConsumerConnection {
  brokers: string[];
  clientId: string;
  /** TLS and SASL, as every other client of the service gets them. */
  security?: KafkaSecurity;
}

/** Record batch attribute bits (Kafka's DefaultRecordBatch). */
const TIMESTAMP_TYPE_LOG_APPEND_TIME = 0x08;
const IS_CONTROL_BATCH = 0x20;
const OFFSET_OUT_OF_RANGE = 1;
const MAX_BATCH_BACKOFF_MS = 30_000;
const MAX_GROUP_REJOIN_ATTEMPTS = 10;

/** How long a partition waits before a rejected batch is delivered again: 200 ms, doubling, at most 30 s. */
export const batchRetryBackoffMs = (failures: number): number => Math.min(200 * 2 ** Math.max(0, failures - 1), MAX_BATCH_BACKOFF_MS);

/**
 * Turns one partition's fetched record batches into the records the core applies: records below `fromOffset`
 * dropped (a compressed batch is returned whole, from before the requested offset), control records (the
 * markers of transactions) dropped, headers decoded to strings like kafkajs' (repeated names joined with ","),
 * a LogAppendTime batch's timestamp taken from the broker. `next` is the offset after the last batch, control
 * batches included, so a partition whose fetch held only markers still moves on; undefined when no batch came.
 */
export function recordsOfBatches(batches: readonly RecordsBatch[], fromOffset: bigint): { records: FetchedRecord[]; next?: bigint } {
  const records: FetchedRecord[] = [];
  let next: bigint | undefined;
  for (const batch of batches) {
    const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
    if (next === undefined || after > next) next = after;
    if (batch.attributes & IS_CONTROL_BATCH) continue;
    const logAppendTime = (batch.attributes & TIMESTAMP_TYPE_LOG_APPEND_TIME) !== 0;
    for (const record of batch.records) {
      const offset = batch.firstOffset + BigInt(record.offsetDelta);
      if (offset < fromOffset) continue;
      records.push({
        offset: offset.toString(),
        key: record.key ?? null,
        value: record.value ?? null,
        headers: decodeHeaders(record.headers),
        timestamp: (logAppendTime ? batch.maxTimestamp : batch.firstTimestamp + record.timestampDelta).toString(),
      });
    }
  }
  return { records, next };
}

/**
 * A header without a value becomes "" (it is present, and not the text "null"). Nameless headers are dropped.
 * Built through a Map: a header named `__proto__` stays an ordinary entry instead of vanishing into the prototype.
 */
export function decodeHeaders(headers: ReadonlyArray<readonly [Buffer | null, Buffer | null]>): Record<string, string> {
  const decoded = new Map<string, string>();
  for (const [name, value] of headers) {
    if (name === null) continue;
    const key = name.toString('utf8');
    const text = value === null ? '' : value.toString('utf8');
    const earlier = decoded.get(key);
    decoded.set(key, earlier === undefined ? text : `${earlier},${text}`);
  }
  return Object.fromEntries(decoded);
}

/** One assignment of one partition to this member; a rebalance replaces every lane with a new one. */
interface PartitionLane {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Next offset to fetch; unknown until the start offset is. */
  position?: bigint;
  /** Where delivery starts again after a rejected batch: the offset the core last answered, or the start. */
  resumeAt?: bigint;
  /** At most one fetched batch waits while the previous one is applied. */
  buffered?: { batch: FetchedBatch; next: bigint };
  fetching: boolean;
  applying: boolean;
  queued: boolean;
  /** Consecutive rejections of this partition's batch, and consecutive failed fetches: each sets its backoff. */
  batchFailures: number;
  fetchFailures: number;
  retryAt: number;
  revoked: boolean;
}

const laneKey = (topic: string, partition: number): string => `${topic}:${partition}`;

/**
 * The exactly-once consumer's client on @platformatic/kafka. The library's message stream is one flat
 * stream of messages over every partition and cannot hold back one partition while the others go on, so
 * this client uses the library's group membership (join, sync, heartbeats and rejoins on its own timers,
 * which keep running while a batch is applied) and its fetch API, and keeps the positions itself:
 *
 * - on every assignment it first lets batches still being applied for those partitions finish, then asks
 *   `startOffsets` and fetches nothing of a partition before its answer (earliest when absent);
 * - fetches go to each partition leader, one request in flight per leader, on a connection pool of their
 *   own (a fetch waiting `fetchMaxWaitMs` on the broker never delays a heartbeat);
 * - a partition has at most one batch being applied and one fetched ahead; batches of different partitions
 *   are applied concurrently up to `partitionsConsumedConcurrently`;
 * - a rejected batch drops what was fetched ahead and fetches the partition again from the offset the core
 *   last answered, after a backoff; the other partitions go on;
 * - Kafka group offsets are written only by `commit`.
 */
export class PlatformaticConsumerClient implements BatchConsumerClient {
  private consumer?: Consumer;
  private fetchPool?: ConnectionPool;
  private handlers?: BatchConsumerHandlers;
  private crashed?: Error;
  private stopping = false;
  private lanes = new Map<string, PartitionLane>();
  /** Batches being applied, by partition, across assignments: a new assignment waits for them. */
  private readonly applying = new Map<string, Promise<void>>();
  private readonly readyToApply: PartitionLane[] = [];
  private running = 0;
  private assignmentGeneration = 0;
  private readonly leadersFetching = new Set<number>();
  private planning = false;
  private planAgain = false;
  private retryTimer?: NodeJS.Timeout;
  private rejoining = false;
  private readonly logger: JsonLogger;

  constructor(
    private readonly connection: PlatformaticConsumerConnection,
    private readonly options: BatchConsumerClientOptions,
    logger: JsonLogger,
  ) {
    this.logger = logger.child('platformatic-consumer');
  }

  isHealthy(): boolean {
    return this.consumer !== undefined && this.crashed === undefined;
  }

  async start(handlers: BatchConsumerHandlers): Promise<void> {
    if (this.consumer) throw new Error('PlatformaticConsumerClient already started');
    const kafka = await loadPlatformaticKafka();
    const o = this.options;
    this.handlers = handlers;
    this.stopping = false;
    // kafkajs' timeouts: 30 s per request (a fetch's own wait is far shorter), 5 s to connect.
    const socketOptions = { connectTimeout: 5_000, requestTimeout: 30_000 };
    const connectionOptions = {
      ...socketOptions,
      clientId: this.connection.clientId,
      bootstrapBrokers: this.connection.brokers,
      ...platformaticSecurityOptions(this.connection.security),
      retries: 5,
      retryDelay: (_client: unknown, _operation: string, attempt: number) => Math.min(200 * 2 ** Math.max(0, attempt - 1), 5_000),
    };
    const consumer = new kafka.Consumer({
      ...connectionOptions,
      groupId: o.groupId,
      autocreateTopics: false,
      autocommit: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      // As long as the group waits for members to rejoin; kafkajs' default is 60 s.
      rebalanceTimeout: Math.max(60_000, o.sessionTimeoutMs),
      // kafkajs' protocol name: members of both clients can share a group while a deployment switches client.
      protocols: [{ name: 'RoundRobinAssigner', version: 0 }],
      minBytes: o.fetchMinBytes,
      maxWaitTime: o.fetchMaxWaitMs,
      maxBytesPerPartition: o.maxBytesPerPartition,
    });
    this.consumer = consumer;
    this.fetchPool = new kafka.ConnectionPool(this.connection.clientId, { ...socketOptions, ...platformaticSecurityOptions(this.connection.security) });
    consumer.on('consumer:group:join', ({ assignments }) => this.onAssignment(assignments ?? []));
    // The library emits a failed rejoin as 'error' (an EventEmitter 'error' without a listener would throw).
    consumer.on('error', (error: Error) => this.onGroupError(error));
    consumer.topics.trackAll(...o.topics);
    try {
      await consumer.joinGroup({});
    } catch (e) {
      await this.closeConnections();
      throw e;
    }
  }

  async commit(topic: string, partition: number, nextOffset: string): Promise<void> {
    await this.consumer?.commit({ offsets: [{ topic, partition, offset: BigInt(nextOffset), leaderEpoch: -1 }] });
  }

  async stop(): Promise<void> {
    if (!this.consumer) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    for (const lane of this.lanes.values()) lane.revoked = true;
    this.readyToApply.length = 0;
    // Like kafkajs' disconnect: the batches being applied finish before the member leaves the group.
    await Promise.all(this.applying.values());
    await this.closeConnections();
  }

  private async closeConnections(): Promise<void> {
    const consumer = this.consumer;
    const pool = this.fetchPool;
    this.consumer = undefined;
    this.fetchPool = undefined;
    this.stopping = true;
    await pool?.close().catch((e: Error) => this.logger.warn('closing the fetch connections failed', { error: e }));
    await consumer?.close(true);
  }

  private onGroupError(error: Error): void {
    if (this.stopping || !this.consumer) return;
    this.logger.warn('consumer group membership lost; rejoining', { error, groupId: this.options.groupId });
    void this.rejoin(error);
  }

  /** The library gives up on rejoining after its retries; try longer, then report the client dead. */
  private async rejoin(cause: Error): Promise<void> {
    if (this.rejoining) return;
    this.rejoining = true;
    try {
      for (let attempt = 1; attempt <= MAX_GROUP_REJOIN_ATTEMPTS; attempt++) {
        const consumer = this.consumer;
        if (this.stopping || !consumer) return;
        if (consumer.isActive()) return;
        try {
          await consumer.joinGroup({});
          return;
        } catch (e) {
          cause = e as Error;
          await sleep(batchRetryBackoffMs(attempt));
        }
      }
      this.crashed = cause;
      this.logger.error('consumer could not rejoin its group; it stopped for good', { error: cause, groupId: this.options.groupId });
    } finally {
      this.rejoining = false;
    }
  }

  private onAssignment(assignments: GroupAssignment[]): void {
    if (this.stopping) return;
    const generation = ++this.assignmentGeneration;
    for (const lane of this.lanes.values()) lane.revoked = true;
    this.readyToApply.length = 0;
    this.lanes = new Map();
    for (const { topic, partitions } of assignments) {
      for (const partition of partitions) {
        const key = laneKey(topic, partition);
        this.lanes.set(key, { topic, partition, key, fetching: false, applying: false, queued: false, batchFailures: 0, fetchFailures: 0, retryAt: 0, revoked: false });
      }
    }
    this.logger.info('partitions assigned', { groupId: this.options.groupId, partitions: [...this.lanes.keys()] });
    void this.positionLanes(generation);
  }

  /** Asks the core where the new assignment starts, once the batches still being applied for it are done. */
  private async positionLanes(generation: number): Promise<void> {
    const lanes = [...this.lanes.values()];
    if (lanes.length === 0) return;
    await Promise.all(lanes.map((lane) => this.applying.get(lane.key)));
    for (let attempt = 1; ; attempt++) {
      if (generation !== this.assignmentGeneration || this.stopping) return;
      try {
        const assigned: TopicPartition[] = lanes.map(({ topic, partition }) => ({ topic, partition }));
        const stored = await this.handlers!.startOffsets(assigned);
        const missing = lanes.filter((lane) => !stored.has(lane.key));
        const earliest = missing.length > 0 ? await this.earliestOffsets(missing) : new Map<string, bigint>();
        if (generation !== this.assignmentGeneration || this.stopping) return;
        for (const lane of lanes) {
          const start = stored.has(lane.key) ? BigInt(stored.get(lane.key)!) : earliest.get(lane.key);
          if (start === undefined) throw new Error(`no earliest offset listed for ${lane.key}`);
          lane.position = lane.resumeAt = start;
        }
        this.planFetches();
        return;
      } catch (e) {
        this.logger.warn('could not get the start offsets of the assigned partitions; retrying', { error: e as Error, attempt });
        await sleep(batchRetryBackoffMs(attempt));
      }
    }
  }

  private async earliestOffsets(lanes: PartitionLane[]): Promise<Map<string, bigint>> {
    const consumer = this.consumer;
    if (!consumer) return new Map();
    const partitions: Record<string, number[]> = {};
    for (const { topic, partition } of lanes) (partitions[topic] ??= []).push(partition);
    const listed = await consumer.listOffsets({ topics: Object.keys(partitions), partitions, timestamp: -2n });
    const earliest = new Map<string, bigint>();
    for (const { topic, partition, key } of lanes) {
      const offset = listed.get(topic)?.[partition];
      if (offset !== undefined) earliest.set(key, offset);
    }
    return earliest;
  }

  private fetchable(lane: PartitionLane, now: number): boolean {
    return !lane.revoked && lane.position !== undefined && !lane.buffered && !lane.fetching && lane.retryAt <= now;
  }

  /** Starts a fetch on every leader without one in flight, for its partitions that want more records. */
  private planFetches(): void {
    if (this.planning) {
      this.planAgain = true;
      return;
    }
    this.planning = true;
    this.planFetchesNow()
      .catch((e) => {
        this.logger.warn('could not plan fetches (metadata); retrying', { error: e as Error });
        this.armRetryTimer(Date.now() + 500);
      })
      .finally(() => {
        this.planning = false;
        if (this.planAgain) {
          this.planAgain = false;
          this.planFetches();
        }
      });
  }

  private async planFetchesNow(): Promise<void> {
    const consumer = this.consumer;
    const pool = this.fetchPool;
    if (this.stopping || !consumer || !pool) return;
    const now = Date.now();
    const candidates = [...this.lanes.values()].filter((lane) => this.fetchable(lane, now));
    this.armRetryTimer();
    if (candidates.length === 0) return;
    const metadata = await consumer.metadata({ topics: this.options.topics });
    const byLeader = new Map<number, PartitionLane[]>();
    for (const lane of candidates) {
      const leader = metadata.topics.get(lane.topic)?.partitions[lane.partition]?.leader;
      if (leader === undefined || leader < 0 || this.leadersFetching.has(leader) || !this.fetchable(lane, Date.now())) continue;
      const lanes = byLeader.get(leader) ?? [];
      lanes.push(lane);
      byLeader.set(leader, lanes);
    }
    for (const [leader, lanes] of byLeader) {
      const topicIds = new Map<string, string>();
      for (const lane of lanes) topicIds.set(lane.topic, metadata.topics.get(lane.topic)!.id);
      void this.fetchFrom(consumer, pool, leader, lanes, topicIds);
    }
  }

  private async fetchFrom(consumer: Consumer, pool: ConnectionPool, leader: number, lanes: PartitionLane[], topicIds: Map<string, string>): Promise<void> {
    this.leadersFetching.add(leader);
    const requested = new Map<PartitionLane, bigint>();
    const byTopicId = new Map<string, PartitionLane>();
    const topics = new Map<string, { topicId: string; partitions: Array<{ partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }> }>();
    for (const lane of lanes) {
      lane.fetching = true;
      requested.set(lane, lane.position!);
      const topicId = topicIds.get(lane.topic)!;
      byTopicId.set(`${topicId}:${lane.partition}`, lane);
      const entry = topics.get(topicId) ?? { topicId, partitions: [] };
      entry.partitions.push({ partition: lane.partition, fetchOffset: lane.position!, partitionMaxBytes: this.options.maxBytesPerPartition, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
      topics.set(topicId, entry);
    }
    let response: FetchResponse | undefined;
    let failure: Error | undefined;
    try {
      response = await consumer.fetch({
        node: leader,
        topics: [...topics.values()],
        minBytes: this.options.fetchMinBytes,
        maxWaitTime: this.options.fetchMaxWaitMs,
        connectionPool: pool,
      });
    } catch (e) {
      failure = e as Error;
      // A partition-level error (an offset out of range, a moved leader) fails the whole request, but the
      // parsed response, with the other partitions' records, travels with the error.
      response = responseOf(e);
    } finally {
      this.leadersFetching.delete(leader);
      for (const lane of lanes) lane.fetching = false;
    }
    if (this.stopping) return;
    const answered = new Set<PartitionLane>();
    for (const topic of response?.responses ?? []) {
      for (const part of topic.partitions) {
        const lane = byTopicId.get(`${topic.topicId}:${part.partitionIndex}`);
        // Revoked, or moved by a rejected batch or an answer of the core while the fetch was out: stale.
        if (!lane || lane.revoked || lane.position !== requested.get(lane)) continue;
        answered.add(lane);
        if (part.errorCode === OFFSET_OUT_OF_RANGE) {
          void this.resetToEarliest(lane, requested.get(lane)!, part.logStartOffset, part.highWatermark);
          continue;
        }
        if (part.errorCode !== 0) {
          this.backOffFetch(lane, `partition error ${part.errorCode}`);
          continue;
        }
        lane.fetchFailures = 0;
        const { records, next } = recordsOfBatches(part.records ?? [], requested.get(lane)!);
        if (next === undefined) continue;
        lane.position = next;
        if (records.length === 0) continue;
        const batch: FetchedBatch = { topic: lane.topic, partition: lane.partition, records, highWatermark: part.highWatermark.toString() };
        lane.buffered = { batch, next: BigInt(records[records.length - 1].offset) + 1n };
        this.enqueue(lane);
      }
    }
    if (failure) {
      consumer.clearMetadata();
      const unanswered = lanes.filter((lane) => !answered.has(lane) && !lane.revoked);
      if (unanswered.length > 0) {
        this.logger.warn('fetch failed; retrying after a backoff', { error: failure, leader, partitions: unanswered.map((l) => l.key) });
        for (const lane of unanswered) this.backOffFetch(lane);
      }
    }
    this.applyReady();
    this.planFetches();
  }

  private backOffFetch(lane: PartitionLane, reason?: string): void {
    lane.fetchFailures++;
    lane.retryAt = Date.now() + batchRetryBackoffMs(lane.fetchFailures);
    if (reason) this.logger.warn('fetch of a partition failed; retrying after a backoff', { partition: lane.key, reason });
    this.consumer?.clearMetadata();
  }

  /**
   * The start offset is outside the log: below it, retention deleted records nobody applied (they are lost to
   * Kafka, as with kafkajs, which resets the same way); above it, the topic was probably recreated. Either way
   * start at the earliest record, loudly.
   */
  private async resetToEarliest(lane: PartitionLane, requested: bigint, logStart: bigint, highWatermark: bigint): Promise<void> {
    lane.position = undefined;
    this.logger.error('start offset out of range; consuming the partition from its earliest offset', {
      partition: lane.key,
      requested: requested.toString(),
      logStartOffset: logStart.toString(),
      highWatermark: highWatermark.toString(),
    });
    for (let attempt = 1; !lane.revoked && !this.stopping; attempt++) {
      try {
        const earliest = (await this.earliestOffsets([lane])).get(lane.key);
        if (earliest === undefined) throw new Error(`no earliest offset listed for ${lane.key}`);
        if (lane.revoked) return;
        lane.position = lane.resumeAt = earliest;
        this.planFetches();
        return;
      } catch (e) {
        this.logger.warn('could not list the earliest offset; retrying', { error: e as Error, partition: lane.key });
        await sleep(batchRetryBackoffMs(attempt));
      }
    }
  }

  private enqueue(lane: PartitionLane): void {
    if (lane.queued || lane.applying || !lane.buffered) return;
    lane.queued = true;
    this.readyToApply.push(lane);
  }

  /** Applies ready batches while fewer than `partitionsConsumedConcurrently` are being applied. */
  private applyReady(): void {
    const limit = Math.max(1, this.options.partitionsConsumedConcurrently);
    while (this.running < limit && this.readyToApply.length > 0 && !this.stopping) {
      const lane = this.readyToApply.shift()!;
      lane.queued = false;
      if (lane.revoked || lane.applying || !lane.buffered) continue;
      const { batch, next } = lane.buffered;
      lane.buffered = undefined;
      lane.applying = true;
      this.running++;
      const done = this.apply(lane, batch, next).finally(() => {
        this.running--;
        lane.applying = false;
        if (this.applying.get(lane.key) === done) this.applying.delete(lane.key);
        this.enqueue(lane);
        this.applyReady();
        this.planFetches();
      });
      this.applying.set(lane.key, done);
      // A batch fetched ahead for this partition can be fetched while this one is applied.
      this.planFetches();
    }
  }

  private async apply(lane: PartitionLane, batch: FetchedBatch, expectedNext: bigint): Promise<void> {
    let answer: string;
    try {
      answer = await this.handlers!.onBatch(batch);
    } catch (e) {
      if (lane.revoked) return;
      lane.batchFailures++;
      const delay = batchRetryBackoffMs(lane.batchFailures);
      this.logger.warn('batch rejected; delivering the partition again after a backoff', {
        error: e as Error,
        partition: lane.key,
        firstOffset: batch.records[0]?.offset,
        lastOffset: batch.records[batch.records.length - 1]?.offset,
        resumeAt: lane.resumeAt?.toString(),
        retryInMs: delay,
        failures: lane.batchFailures,
      });
      lane.buffered = undefined;
      lane.position = lane.resumeAt;
      lane.retryAt = Date.now() + delay;
      return;
    }
    if (lane.revoked) return;
    lane.batchFailures = 0;
    const next = BigInt(answer);
    lane.resumeAt = next;
    if (next !== expectedNext) {
      // The core knows better (e.g. it had applied further already): continue from its answer.
      lane.buffered = undefined;
      lane.position = next;
    }
  }

  /** Wakes the fetch planner when the earliest backed-off partition may fetch again. */
  private armRetryTimer(at?: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.stopping) return;
    const now = Date.now();
    let earliest = at;
    for (const lane of this.lanes.values()) {
      if (!lane.revoked && lane.position !== undefined && !lane.buffered && !lane.fetching && lane.retryAt > now) {
        earliest = earliest === undefined ? lane.retryAt : Math.min(earliest, lane.retryAt);
      }
    }
    if (earliest === undefined) return;
    this.retryTimer = setTimeout(() => this.planFetches(), Math.max(0, earliest - now));
    this.retryTimer.unref?.();
  }
}

/** The fetch response that a partition-level error carries (directly, or as the last of a retry's errors). */
function responseOf(error: unknown): FetchResponse | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): FetchResponse | undefined => {
    if (!e || typeof e !== 'object' || seen.has(e)) return undefined;
    seen.add(e);
    const response = (e as { response?: { responses?: unknown } }).response;
    if (response && Array.isArray(response.responses)) return response as FetchResponse;
    const nested = (e as { errors?: unknown[] }).errors;
    if (Array.isArray(nested)) {
      for (let i = nested.length - 1; i >= 0; i--) {
        const found = visit(nested[i]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(error);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
