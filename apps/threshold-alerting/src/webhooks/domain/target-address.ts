import { isIPv4, isIPv6 } from 'node:net';

/** Whether a webhook may be sent to an address, and if not, why (worded for the tenant and the log). */
export type TargetVerdict = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: TargetVerdict = { allowed: true };
const refused = (reason: string): TargetVerdict => ({ allowed: false, reason });

/** IPv4 ranges no webhook may reach: everything that is not ordinary public unicast (RFC 6890 and friends). */
const IPV4_REFUSED: Array<[string, number, string]> = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay anycast'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved or broadcast'],
];

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

const IPV4_RANGES = IPV4_REFUSED.map(([base, bits, reason]) => ({ base: ipv4ToInt(base), size: 2 ** (32 - bits), reason }));

/** A dotted-quad IPv4 address (as `node:net` accepts it): public unicast, or the range it falls in. */
export function classifyIpv4(ip: string): TargetVerdict {
  const n = ipv4ToInt(ip);
  const range = IPV4_RANGES.find((r) => n >= r.base && n < r.base + r.size);
  return range ? refused(`${ip} is ${range.reason}`) : ALLOWED;
}

/** An IPv6 address as its eight 16-bit groups (an embedded dotted IPv4 tail becomes the last two). */
export function ipv6Groups(ip: string): number[] {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToInt(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  const zeros = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

const embeddedIpv4 = (hi: number, lo: number): string => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');

/**
 * An IPv6 address: global unicast (2000::/3) outside the special-purpose blocks, or why not. Forms that carry an
 * IPv4 address (IPv4-mapped, IPv4-translated, NAT64, 6to4) are judged by that address, so `::ffff:127.0.0.1` is
 * loopback like `127.0.0.1`.
 */
export function classifyIpv6(ip: string): TargetVerdict {
  const g = ipv6Groups(ip);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const via = (label: string, v4: string): TargetVerdict => {
    const inner = classifyIpv4(v4);
    return inner.allowed ? inner : refused(`${ip} (${label} ${v4}): ${inner.reason.replace(`${v4} is `, '')}`);
  };
  if (zeroUpTo(5) && g[5] === 0xffff) return via('IPv4-mapped', embeddedIpv4(g[6], g[7]));
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return via('IPv4-translated', embeddedIpv4(g[6], g[7]));
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return via('NAT64', embeddedIpv4(g[6], g[7]));
  if (g[0] === 0x2002) return via('6to4', embeddedIpv4(g[1], g[2]));
  if (zeroUpTo(7) && g[7] === 0) return refused(`${ip} is unspecified`);
  if (zeroUpTo(7) && g[7] === 1) return refused(`${ip} is loopback`);
  if (zeroUpTo(6)) return refused(`${ip} is IPv4-compatible (deprecated)`);
  if ((g[0] & 0xfe00) === 0xfc00) return refused(`${ip} is unique local (ULA)`);
  if ((g[0] & 0xffc0) === 0xfe80) return refused(`${ip} is link-local`);
  if ((g[0] & 0xffc0) === 0xfec0) return refused(`${ip} is site-local (deprecated)`);
  if ((g[0] & 0xff00) === 0xff00) return refused(`${ip} is multicast`);
  if ((g[0] & 0xe000) !== 0x2000) return refused(`${ip} is not global unicast`);
  if (g[0] === 0x2001 && g[1] === 0x0db8) return refused(`${ip} is documentation`);
  if (g[0] === 0x3fff && g[1] < 0x1000) return refused(`${ip} is documentation`);
  if (g[0] === 0x2001 && g[1] === 0) return refused(`${ip} is Teredo`);
  if (g[0] === 0x2001 && g[1] < 0x0200) return refused(`${ip} is IETF protocol assignments`);
  return ALLOWED;
}

/** Any IP address in text form; text that is not an address is refused. */
export function classifyAddress(address: string): TargetVerdict {
  if (isIPv4(address)) return classifyIpv4(address);
  if (isIPv6(address)) return address.includes('%') ? refused(`${address} has a zone (link-local)`) : classifyIpv6(address);
  return refused(`${address} is not an IP address`);
}

export const MAX_WEBHOOK_URL_LENGTH = 2048;

/** A webhook URL as accepted: http(s), no credentials or fragment; `host` without brackets, `literal` when it is an IP. */
export interface WebhookTarget {
  url: URL;
  host: string;
  literal: boolean;
}

/**
 * Parses a webhook URL the way it will be requested. WHATWG URL parsing already turns the decimal, octal and hex
 * IPv4 spellings (`http://2130706433/`, `http://0177.0.0.1/`, `http://0x7f.1/`) into `127.0.0.1`, so the literal
 * check below sees the address that would be connected to.
 */
export function parseWebhookUrl(raw: string): { target: WebhookTarget } | { error: string } {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { error: `must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'is not an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { error: 'must use http or https' };
  if (url.username || url.password) return { error: 'must not contain credentials (use the signing secret)' };
  if (url.hash) return { error: 'must not contain a fragment' };
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) return { error: 'must name a host' };
  return { target: { url, host, literal: isIPv4(host) || isIPv6(host) } };
}

/**
 * What can be decided before resolving: an IP literal by its class, `localhost` names (RFC 6761) as loopback.
 * `undefined` means the host is a DNS name to resolve and check with `checkResolved`.
 */
export function checkLiteralTarget(target: WebhookTarget, allowPrivate: boolean): TargetVerdict | undefined {
  if (allowPrivate) return ALLOWED;
  if (target.literal) return classifyAddress(target.host);
  const name = target.host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return refused(`${target.host} is loopback`);
  return undefined;
}

/** A DNS name's addresses: refused when any of them is (an attacker's name may answer both a public and a private address). */
export function checkResolved(host: string, addresses: string[], allowPrivate: boolean): TargetVerdict {
  if (allowPrivate) return ALLOWED;
  if (addresses.length === 0) return refused(`${host} resolves to no address`);
  for (const address of addresses) {
    const verdict = classifyAddress(address);
    if (!verdict.allowed) return refused(`${host} resolves to ${verdict.reason}`);
  }
  return ALLOWED;
}
