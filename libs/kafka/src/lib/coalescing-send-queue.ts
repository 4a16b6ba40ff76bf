/**
 * Runs sends one at a time and merges the sends that queue up meanwhile into one request (group commit).
 * One at a time because an idempotent producer numbers each partition's records when it sends them: two
 * requests to one partition in flight at once can reach the broker out of sequence, which kafkajs reports
 * as a fatal "out of order sequence number". Merging keeps the throughput of concurrent callers (the
 * consumer applies several partitions at once, HTTP requests overlap). Callers' records keep their order;
 * a failed request fails every caller in its group, and each retries its own records (some of which may
 * already be written: sends are at least once, and consumers dedupe by event id).
 */
export class CoalescingSendQueue<R> {
  private inFlight = false;
  private readonly waiting: Array<{ records: R[]; resolve: () => void; reject: (e: unknown) => void }> = [];

  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly sizeOf: (record: R) => number;

  constructor(
    private readonly sendNow: (records: R[]) => Promise<void>,
    options: {
      /** Callers stop being merged into one group at this many records (one caller is never split by it). */
      maxRecords?: number;
      /**
       * A group is sent in requests of at most this many bytes (by `sizeOf`), one after another, because the
       * broker refuses a partition's record batch above `message.max.bytes` (1 MiB by default), and a
       * consumer's batch of canonical events is easily larger.
       */
      maxBytes?: number;
      sizeOf?: (record: R) => number;
    } = {},
  ) {
    this.maxRecords = options.maxRecords ?? 5000;
    this.maxBytes = options.maxBytes ?? Infinity;
    this.sizeOf = options.sizeOf ?? (() => 0);
  }

  send(records: R[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ records, resolve, reject });
      this.drain();
    });
  }

  private drain(): void {
    if (this.inFlight || this.waiting.length === 0) return;
    let count = 0;
    let take = 0;
    while (take < this.waiting.length && (take === 0 || count + this.waiting[take].records.length <= this.maxRecords)) {
      count += this.waiting[take].records.length;
      take += 1;
    }
    const group = this.waiting.splice(0, take);
    this.inFlight = true;
    this.sendInChunks(group.length === 1 ? group[0].records : group.flatMap((g) => g.records)).then(
      () => this.settle(group, (g) => g.resolve()),
      (e: unknown) => this.settle(group, (g) => g.reject(e)),
    );
  }

  private async sendInChunks(records: R[]): Promise<void> {
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < records.length; i++) {
      const size = this.sizeOf(records[i]);
      if (i > start && bytes + size > this.maxBytes) {
        await this.sendNow(records.slice(start, i));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    await this.sendNow(start === 0 ? records : records.slice(start));
  }

  private settle<G>(group: G[], each: (g: G) => void): void {
    this.inFlight = false;
    for (const g of group) each(g);
    this.drain();
  }
}
