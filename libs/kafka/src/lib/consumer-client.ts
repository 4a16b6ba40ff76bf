/**
 * What the exactly-once consumer needs from a Kafka client library, so it runs on more than one
 * (kafkajs, and a maintained client). The client owns group membership and fetching; the exactly-once
 * core owns what has been applied (offsets in Postgres) and tells the client where to start.
 */

/** One fetched record, decompressed, as the client library delivered it. */
export interface FetchedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Header values as UTF-8 strings (repeated headers joined with ","). */
  headers: Record<string, string>;
  /** Broker or producer timestamp, ms since epoch as a decimal string. */
  timestamp: string;
}

/** Consecutive records of one partition. */
export interface FetchedBatch {
  /** Physical topic name. */
  topic: string;
  partition: number;
  records: FetchedRecord[];
  /** The partition's high watermark when the batch was fetched (for lag). */
  highWatermark: string;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface BatchConsumerHandlers {
  /**
   * Called when partitions are assigned to this member, before their first batch is applied if the client
   * allows it: answers where each partition should start (`${topic}:${partition}` -> offset); partitions
   * missing from the answer start at the earliest offset. A client that cannot wait for it (kafkajs does not
   * await its rebalance listener) may deliver an older batch first: the core skips what it has applied.
   */
  startOffsets(assigned: TopicPartition[]): Promise<Map<string, string>>;
  /**
   * Applies a batch and resolves with the next offset to fetch for its partition. When it rejects, nothing of
   * the batch was applied: the client must deliver the partition again from the offset the core last
   * answered (or the stored start offset), after a backoff, and must keep consuming its other partitions.
   */
  onBatch(batch: FetchedBatch): Promise<string>;
}

export interface BatchConsumerClientOptions {
  groupId: string;
  /** Physical topic names. */
  topics: string[];
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMinBytes: number;
  fetchMaxWaitMs: number;
  maxBytesPerPartition: number;
  /** Partitions whose batches may be applied at the same time. */
  partitionsConsumedConcurrently: number;
}

export interface BatchConsumerClient {
  /** Joins the group and starts delivering batches; resolves once running. */
  start(handlers: BatchConsumerHandlers): Promise<void>;
  /**
   * Commits a position to Kafka's group offsets. Informational (lag dashboards, autoscalers): Postgres holds
   * the truth, so a failure is logged and harmless.
   */
  commit(topic: string, partition: number, nextOffset: string): Promise<void>;
  /** Leaves the group and closes connections. */
  stop(): Promise<void>;
  /** False once the client stopped for good (it will not deliver again without a restart). */
  isHealthy(): boolean;
}

export type BatchConsumerClientFactory = (options: BatchConsumerClientOptions) => BatchConsumerClient;
