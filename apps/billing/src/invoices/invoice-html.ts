import type { InvoiceView } from './invoice.service';

const escape = (v: unknown): string =>
  String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A self-contained, printable HTML invoice (the JSON document is the source of truth). */
export function renderInvoiceHtml(invoice: InvoiceView, customerName: string): string {
  const d = invoice.document;
  const money = (v: string) => `${escape(v)} ${escape(d.currency)}`;
  const lines = d.lines
    .map((l) => {
      const tiers = l.breakdown
        .map((b) => `<tr class="tier"><td colspan="2">${escape(b.description)}</td><td class="num">${escape(b.units)}</td><td class="num">${escape(b.amount)}</td></tr>`)
        .join('');
      return `<tr><td>${escape(l.kind.replace(/_/g, ' '))}</td><td>${escape(l.description)}</td><td class="num">${escape(l.units ?? '')}</td><td class="num">${money(l.amount)}</td></tr>${tiers}`;
    })
    .join('\n');
  const total = (label: string, value: string) => `<tr class="total"><td colspan="3">${label}</td><td class="num">${money(value)}</td></tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice ${escape(invoice.number ?? 'draft')}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}td,th{padding:.35rem .5rem;border-bottom:1px solid #ddd;text-align:left}
.num{text-align:right;font-variant-numeric:tabular-nums}.tier td{color:#666;font-size:.85em;border-bottom:none;padding-left:2rem}.total td{font-weight:600}.status{text-transform:uppercase;font-weight:700}</style></head>
<body>
<h1>Invoice ${escape(invoice.number ?? '(draft)')}</h1>
<p><span class="status">${escape(invoice.status)}</span> · ${escape(customerName)} (${escape(invoice.customer)})<br>
Period ${escape(invoice.periodStart)} – ${escape(invoice.periodEnd)}${invoice.issuedAt ? ` · issued ${escape(invoice.issuedAt)}` : ''}${invoice.dueAt ? ` · due ${escape(invoice.dueAt)}` : ''}</p>
<table><thead><tr><th>Kind</th><th>Description</th><th class="num">Units</th><th class="num">Amount</th></tr></thead>
<tbody>
${lines}
${total('Subtotal', d.subtotal)}
${total('Discounts', `-${d.discountTotal}`.replace('--', ''))}
${total('Tax', d.tax)}
${total('Total', d.total)}
${total('Prepaid credits applied', d.creditsApplied)}
${total('Amount due', d.amountDue)}
</tbody></table>
<p><small>Amounts are rounded once per line to the currency's minor unit, half away from zero; the JSON invoice keeps every line's unrounded amount.</small></p>
</body></html>
`;
}
