import { closeTrace, keptUsageTraces, MAX_CLOSE_LINKS, TRACES_PER_USAGE_ROW, usageTraceOf, type TimedUsageTrace } from './usage-trace';

const tp = (trace: string, span = '1') => `00-${trace.padStart(32, '0')}-${span.padStart(16, '0')}-01`;
const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 0, 0, s)).toISOString();
const timed = (trace: string, s: number, tracestate?: string): TimedUsageTrace => ({ traceparent: tp(trace), ...(tracestate ? { tracestate } : {}), at: at(s) });
const bare = ({ at: _at, ...t }: TimedUsageTrace) => t;

describe('usageTraceOf', () => {
  it('keeps traceparent and tracestate of a message, nothing else', () => {
    expect(usageTraceOf({ traceparent: tp('a1', 'b1'), tracestate: 'vendor=x', 'tally-tenant': 'acme' })).toEqual({ traceparent: tp('a1', 'b1'), tracestate: 'vendor=x' });
    expect(usageTraceOf({ traceparent: tp('a1', 'b1'), tracestate: '' })).toEqual({ traceparent: tp('a1', 'b1') });
  });

  it('keeps nothing without a well-formed traceparent', () => {
    for (const headers of [undefined, {}, { tracestate: 'vendor=x' }, { traceparent: '' }, { traceparent: 'garbage' }, { traceparent: 42 },
      { traceparent: `00-${'a'.repeat(31)}-${'b'.repeat(16)}-01` }, { traceparent: `00-${'g'.repeat(32)}-${'b'.repeat(16)}-01` }, { traceparent: `${tp('a')}-extra` }]) {
      expect(usageTraceOf(headers)).toBeNull();
    }
  });

  it('refuses the all-zero ids W3C calls invalid', () => {
    expect(usageTraceOf({ traceparent: `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01` })).toBeNull();
    expect(usageTraceOf({ traceparent: `00-${'a'.repeat(32)}-${'0'.repeat(16)}-01` })).toBeNull();
  });

  it('normalizes case and surrounding blanks', () => {
    expect(usageTraceOf({ traceparent: ` 00-${'A'.repeat(32)}-${'B'.repeat(16)}-01 ` })).toEqual({ traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` });
  });
});

describe('keptUsageTraces', () => {
  it('starts a row with the incoming context', () => {
    expect(keptUsageTraces(null, timed('1', 1))).toEqual([timed('1', 1)]);
  });

  it('puts the incoming context first and keeps the held ones after it, newest first', () => {
    expect(keptUsageTraces([timed('1', 1), timed('2', 5)], timed('3', 9))).toEqual([timed('3', 9), timed('2', 5), timed('1', 1)]);
  });

  it('keeps a context once: the same message applied again (redelivered) does not crowd out the others', () => {
    const held = [timed('2', 5), timed('1', 1)];
    expect(keptUsageTraces(held, timed('2', 7))).toEqual([timed('2', 7), timed('1', 1)]);
  });

  it('keeps at most TRACES_PER_USAGE_ROW, dropping the oldest', () => {
    const held = Array.from({ length: TRACES_PER_USAGE_ROW }, (_, i) => timed(String(i + 1), i));
    const kept = keptUsageTraces(held, timed('ff', 100));
    expect(kept).toHaveLength(TRACES_PER_USAGE_ROW);
    expect(kept[0]).toEqual(timed('ff', 100));
    expect(kept).not.toContainEqual(timed('1', 0));
  });

  it('drops held entries that are not timed contexts instead of failing the batch', () => {
    const held = [null, 'x', { traceparent: 'bad', at: at(1) }, { traceparent: tp('1') }, { traceparent: tp('2'), at: 'not a time' }, timed('3', 3)];
    expect(keptUsageTraces(held, timed('4', 4))).toEqual([timed('4', 4), timed('3', 3)]);
    expect(keptUsageTraces({ not: 'a list' }, timed('4', 4))).toEqual([timed('4', 4)]);
  });
});

describe('closeTrace', () => {
  it('continues the newest kept context of all the period usage and links to every one', () => {
    const rows = [
      { meter: 'calls', traces: [timed('1', 1)] },
      { meter: 'storage', traces: [timed('2', 3, 'v=1'), timed('4', 0)] },
      { meter: 'seats', traces: [timed('3', 2)] },
    ];
    expect(closeTrace(rows)).toEqual({
      parent: { traceparent: tp('2'), tracestate: 'v=1' },
      links: [{ traceparent: tp('2'), tracestate: 'v=1' }, bare(timed('3', 2)), bare(timed('1', 1)), bare(timed('4', 0))],
    });
  });

  it('has no parent and no links when no usage carried a context', () => {
    expect(closeTrace([])).toEqual({ parent: null, links: [] });
    expect(closeTrace([{ meter: 'calls', traces: null }, { meter: 'seats', traces: [] }, { meter: 'x', traces: [{ bad: true }] }])).toEqual({ parent: null, links: [] });
  });

  it('links a context once when one message set several meters', () => {
    expect(closeTrace([{ meter: 'a', traces: [timed('9', 1)] }, { meter: 'b', traces: [timed('9', 1)] }]).links).toEqual([bare(timed('9', 1))]);
  });

  it('breaks ties in time by meter, whatever the order of the rows', () => {
    const a = { meter: 'a', traces: [timed('a', 5)] };
    const b = { meter: 'b', traces: [timed('b', 5)] };
    expect(closeTrace([a, b]).parent).toEqual(bare(timed('a', 5)));
    expect(closeTrace([b, a]).parent).toEqual(bare(timed('a', 5)));
  });

  it('links at most MAX_CLOSE_LINKS contexts, the newest', () => {
    const rows = Array.from({ length: MAX_CLOSE_LINKS + 5 }, (_, i) => ({ meter: `m${i}`, traces: [timed(String(i + 1), i)] }));
    const { parent, links } = closeTrace(rows);
    expect(links).toHaveLength(MAX_CLOSE_LINKS);
    expect(parent).toEqual(bare(timed(String(MAX_CLOSE_LINKS + 5), MAX_CLOSE_LINKS + 4)));
    expect(links).not.toContainEqual(bare(timed('1', 0)));
  });
});
