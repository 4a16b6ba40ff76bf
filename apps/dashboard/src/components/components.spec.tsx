import { renderToStaticMarkup } from 'react-dom/server';
import { meterProgress } from '../usage-math';
import { CohortHeatMap } from './CohortHeatMap';
import { Pager } from './Pager';
import { ProgressMeter } from './ProgressMeter';
import { Sparkline } from './Sparkline';
import { UsageChart } from './UsageChart';

const attr = (html: string, name: string) => html.match(new RegExp(`${name}="([^"]*)"`))?.[1];

describe('ProgressMeter', () => {
  it('is a labelled progressbar with its value, text and the thresholds marked', () => {
    const html = renderToStaticMarkup(<ProgressMeter meter="api-calls" usage="80" included="100" progress={meterProgress('80', '100', [50, 75, 90, 100])!} />);
    expect(attr(html, 'role')).toBe('progressbar');
    expect(attr(html, 'aria-label')).toBe('api-calls: 80 of 100 included');
    expect(attr(html, 'aria-valuenow')).toBe('80');
    expect(attr(html, 'aria-valuetext')).toBe('80.0 % of included; thresholds crossed: 50 %, 75 %');
    expect(html.match(/class="tick( [^"]*)?"/g)).toEqual(['class="tick tick-crossed"', 'class="tick tick-crossed"', 'class="tick"', 'class="tick"']);
    expect(html).toContain('left:90%');
    expect(html).toContain('class="bar bar-ok"');
    // The state is written out, not only coloured.
    expect(html).toContain('90 % not reached');
  });

  it('shows warning and overage states and caps the bar, keeping ticks within it', () => {
    expect(renderToStaticMarkup(<ProgressMeter meter="m" usage="95" included="100" progress={meterProgress('95', '100', [90])!} />)).toContain('bar-warn');
    const over = renderToStaticMarkup(<ProgressMeter meter="m" usage="300" included="100" progress={meterProgress('300', '100', [100, 150])!} />);
    expect(over).toContain('bar-over');
    expect(over).toContain('width:100%');
    expect(attr(over, 'aria-valuenow')).toBe('100');
    expect(over).not.toContain('left:150%');
    expect(over).toContain('150 % ✓ crossed');
  });
});

describe('UsageChart', () => {
  const series = [
    { day: '2026-11-01', value: 0 },
    { day: '2026-11-02', value: 40 },
    { day: '2026-11-03', value: 95 },
  ];

  it('draws one bar per day scaled to a round maximum and describes itself', () => {
    const html = renderToStaticMarkup(<UsageChart meter="api-calls" series={series} />);
    expect(html.match(/<rect /g)).toHaveLength(3);
    expect(attr(html, 'role')).toBe('img');
    expect(attr(html, 'aria-label')).toBe('Daily usage of api-calls: 135 over 3 days, at most 95 a day');
    // 95 on an axis of 100: 95 % of the 130 px plot height.
    expect(html).toMatch(/data-day="2026-11-03" data-value="95"/);
    expect(html).toMatch(/height="123\.5"[^>]*data-day="2026-11-03"/);
  });

  it('lists the non-zero days in a table for screen readers', () => {
    const html = renderToStaticMarkup(<UsageChart meter="api-calls" series={series} />);
    expect(html).toContain('<th scope="col">Day (UTC)</th>');
    expect(html.match(/<td>2026-11-0\d<\/td>/g)).toEqual(['<td>2026-11-02</td>', '<td>2026-11-03</td>']);
  });

  it('renders an empty period without dividing by zero', () => {
    const html = renderToStaticMarkup(<UsageChart meter="m" series={[]} />);
    expect(html).not.toContain('NaN');
    expect(html).toContain('0 over 0 days');
  });
});

describe('CohortHeatMap', () => {
  it('is a table with row and column headers and a readable value in every known cell', () => {
    const html = renderToStaticMarkup(
      <CohortHeatMap
        cohorts={[
          { cohort: '2026-09', customers: 4, retention: [100, 75, 50] },
          { cohort: '2026-10', customers: 2, retention: [100, null] },
        ]}
      />,
    );
    expect(html).toContain('<th scope="row">2026-09</th>');
    expect(html).toContain('<th scope="col">M2</th>');
    expect(html).toContain('>75 %</td>');
    // A month not reached yet is an empty cell, an unknown value a dash.
    expect(html.match(/<tr>.*?<\/tr>/g)![2]).toMatch(/>—<\/td><td class="num" style="background:#f1f3f5;color:#343a40"><\/td>/);
  });

  it('says so when there are no cohorts', () => {
    expect(renderToStaticMarkup(<CohortHeatMap cohorts={[]} />)).toContain('No cohorts yet');
  });
});

describe('Sparkline and Pager', () => {
  it('spells out the trend for screen readers', () => {
    expect(attr(renderToStaticMarkup(<Sparkline historyNewestFirst={[60, 75]} label="c-1" />), 'aria-label')).toBe('c-1 score trend: down 15.0');
    expect(renderToStaticMarkup(<Sparkline historyNewestFirst={[]} label="c-1" />)).toContain('no history');
  });

  it('disables the directions that do not exist', () => {
    const html = renderToStaticMarkup(<Pager label="Customers" page={1} hasPrevious={false} hasNext onPrevious={() => undefined} onNext={() => undefined} />);
    expect(html).toContain('aria-label="Customers pages"');
    expect(html).toMatch(/<button type="button" disabled="">← Previous<\/button>/);
    expect(html).toMatch(/<button type="button">Next →<\/button>/);
  });
});
