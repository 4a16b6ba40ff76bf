import { CoalescingSendQueue } from './coalescing-send-queue';

/** A sendNow whose requests finish only when the test says so. */
function controlledSender() {
  const requests: Array<{ records: number[]; finish: () => void; fail: (e: Error) => void }> = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  const sendNow = (records: number[]) =>
    new Promise<void>((resolve, reject) => {
      concurrent += 1;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      const done = (f: () => void) => () => {
        concurrent -= 1;
        f();
      };
      requests.push({ records, finish: done(resolve), fail: (e) => done(() => reject(e))() });
    });
  return { sendNow, requests, maxConcurrent: () => maxConcurrent };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('CoalescingSendQueue', () => {
  it('sends one request at a time and merges what queued meanwhile, in order', async () => {
    const s = controlledSender();
    const q = new CoalescingSendQueue(s.sendNow);
    const settled: string[] = [];
    const a = q.send([1, 2]).then(() => settled.push('a'));
    const b = q.send([3]).then(() => settled.push('b'));
    const c = q.send([4, 5]).then(() => settled.push('c'));
    await tick();
    expect(s.requests.map((r) => r.records)).toEqual([[1, 2]]);
    s.requests[0].finish();
    await a;
    await tick();
    expect(s.requests.map((r) => r.records)).toEqual([[1, 2], [3, 4, 5]]);
    expect(settled).toEqual(['a']);
    s.requests[1].finish();
    await Promise.all([b, c]);
    expect(settled).toEqual(['a', 'b', 'c']);
    expect(s.maxConcurrent()).toBe(1);
  });

  it('fails every caller of a failed request and carries on with the next', async () => {
    const s = controlledSender();
    const q = new CoalescingSendQueue(s.sendNow);
    const first = q.send([1]);
    const second = q.send([2]).catch((e: Error) => e.message);
    const third = q.send([3]).catch((e: Error) => e.message);
    await tick();
    s.requests[0].finish();
    await first;
    await tick();
    s.requests[1].fail(new Error('broker away'));
    expect(await second).toBe('broker away');
    expect(await third).toBe('broker away');
    const fourth = q.send([4]);
    await tick();
    expect(s.requests[2].records).toEqual([4]);
    s.requests[2].finish();
    await expect(fourth).resolves.toBeUndefined();
  });

  it('caps a merged request without splitting a caller, and ignores empty sends', async () => {
    const s = controlledSender();
    const q = new CoalescingSendQueue(s.sendNow, { maxRecords: 3 });
    await expect(q.send([])).resolves.toBeUndefined();
    const all = [q.send([1]), q.send([2, 3]), q.send([4]), q.send([5, 6, 7, 8])];
    await tick();
    s.requests[0].finish();
    await tick();
    s.requests[1].finish();
    await tick();
    s.requests[2].finish();
    await Promise.all(all);
    expect(s.requests.map((r) => r.records)).toEqual([[1], [2, 3, 4], [5, 6, 7, 8]]);
  });

  it('cuts a group into requests of at most maxBytes, in order, one at a time; a record larger than that goes alone', async () => {
    const s = controlledSender();
    const q = new CoalescingSendQueue(s.sendNow, { maxBytes: 10, sizeOf: (n: number) => n });
    const first = q.send([4, 4, 4, 12, 1]);
    await tick();
    expect(s.requests.map((r) => r.records)).toEqual([[4, 4]]);
    s.requests[0].finish();
    await tick();
    s.requests[1].finish();
    await tick();
    s.requests[2].finish();
    await tick();
    s.requests[3].finish();
    await first;
    expect(s.requests.map((r) => r.records)).toEqual([[4, 4], [4], [12], [1]]);
    expect(s.maxConcurrent()).toBe(1);
  });

  it('fails the caller when a later chunk fails', async () => {
    const s = controlledSender();
    const q = new CoalescingSendQueue(s.sendNow, { maxBytes: 2, sizeOf: () => 1 });
    const sent = q.send([1, 2, 3]).catch((e: Error) => e.message);
    await tick();
    s.requests[0].finish();
    await tick();
    s.requests[1].fail(new Error('too large'));
    expect(await sent).toBe('too large');
  });
});
