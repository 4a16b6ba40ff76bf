import { renderToStaticMarkup } from 'react-dom/server';
import type { AlertItem, ChurnRiskSignal, DeadLetterItem, ExpansionSignalItem } from '../types';
import { AlertList, ChurnRiskList, DeadLetterList, ExpansionList } from './FeedLists';

const alert = (over: Partial<AlertItem>): AlertItem => ({
  eventId: 'e-1', occurredAt: '2026-03-01T09:03:00.000Z', customer: 'c-1', meter: 'api-calls', periodStart: '', periodEnd: '', kind: 'soft',
  threshold: '75', thresholdUnit: 'percent', usage: '80', included: '100', projected: '240', ...over,
});
const headers = (html: string) => [...html.matchAll(/<th scope="col">([^<]*)<\/th>/g)].map((m) => m[1]);

describe('AlertList', () => {
  it('is a labelled table with scoped headers, the alert in words and its customer linked', () => {
    const html = renderToStaticMarkup(<AlertList items={[alert({}), alert({ eventId: 'e-2', customer: 'a b/c', kind: 'hard_limit', threshold: '100' })]} showCustomer label="Alerts" />);
    expect(html).toContain('aria-label="Alerts"');
    expect(headers(html)).toEqual(['When', 'Customer', 'Meter', 'Alert', 'Crossed', 'Usage / included', 'Projected']);
    expect(html).toContain('<time dateTime="2026-03-01T09:03:00.000Z">2026-03-01 09:03 UTC</time>');
    expect(html).toContain('75 % of included');
    expect(html).toContain('80 / 100');
    expect(html).toContain('href="#/customers/a%20b%2Fc"');
    // The kind is written out, not only coloured.
    expect(html).toContain('<span class="badge alert-over">Hard limit</span>');
    expect(html.match(/data-alert-kind="/g)).toHaveLength(2);
  });

  it("leaves the customer out on a customer's own view, says when there are none", () => {
    const html = renderToStaticMarkup(<AlertList items={[alert({ kind: 'recovered', recoveredKind: 'soft', projected: undefined })]} showCustomer={false} label="Recent" />);
    expect(headers(html)).not.toContain('Customer');
    expect(html).not.toContain('href=');
    expect(html).toContain('Recovered');
    expect(html).toContain('(Threshold)');
    expect(html).toContain('<td class="num">—</td>');
    expect(renderToStaticMarkup(<AlertList items={[]} showCustomer label="x" />)).toBe('<p class="muted">No alerts.</p>');
  });
});

describe('signal lists', () => {
  it('shows a churn-risk signal with the score and band it moved from', () => {
    const s: ChurnRiskSignal = { type: 'churn-risk', customer: 'c-1', at: '2026-03-01T09:03:00.000000Z', trigger: 'entered_band', score: 35, band: 'red', previousScore: 55, previousBand: 'yellow' };
    const html = renderToStaticMarkup(<ChurnRiskList items={[s, { ...s, customer: 'c-2', previousScore: null, previousBand: null, trigger: 'custom' }]} />);
    expect(headers(html)).toEqual(['When', 'Customer', 'Signal', 'Score', 'Band']);
    expect(html).toContain('Entered a worse band');
    expect(html).toContain('55.0 → 35.0');
    expect(html).toContain('yellow → <span class="badge band-red">red</span>');
    // An unknown trigger is shown as it is, not dropped.
    expect(html).toContain('<td>custom</td>');
    expect(renderToStaticMarkup(<ChurnRiskList items={[]} />)).toContain('No churn-risk signals.');
  });

  it('shows expansion signals by name with what they are for', () => {
    const s: ExpansionSignalItem = { type: 'expansion', customer: 'c-3', at: '2026-03-01T09:06:00.000000Z', signal: 'repeated_overage', signalKey: '2026-02-01T00:00:00.000Z' };
    const html = renderToStaticMarkup(<ExpansionList items={[s]} />);
    expect(html).toContain('Repeated overage');
    expect(html).toContain('<code>2026-02-01T00:00:00.000Z</code>');
    expect(renderToStaticMarkup(<ExpansionList items={[]} />)).toContain('No expansion signals.');
  });
});

describe('DeadLetterList', () => {
  const d: DeadLetterItem = {
    id: '1', deadLetteredAt: '2026-03-01T10:00:00.000000Z', dlqTopic: 'usage.events.dlq.v1', reason: 'schema validation failed: id: Required',
    source: { topic: 'usage.events.raw.v1', partition: 2, offset: '41', timestamp: null }, key: 'k', value: '<script>alert(1)</script>', valueBase64: null,
    previewCut: false, valueSize: 25, truncated: false,
  };
  it('puts the reason first and escapes the original value', () => {
    const html = renderToStaticMarkup(<DeadLetterList items={[d, { ...d, id: '2', value: null, valueBase64: 'AAE=', valueSize: 2, source: { topic: null, partition: null, offset: null, timestamp: null }, key: null }]} />);
    expect(html.indexOf('schema validation failed')).toBeLessThan(html.indexOf('usage.events.raw.v1'));
    expect(html).toContain('from usage.events.raw.v1 [2] @ 41 · key k');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('(binary, 2 bytes)');
    expect(html).toContain('from unknown topic');
    expect(renderToStaticMarkup(<DeadLetterList items={[]} />)).toContain('No dead letters.');
  });
});
