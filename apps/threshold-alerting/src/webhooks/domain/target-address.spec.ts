import { checkLiteralTarget, checkResolved, classifyAddress, ipv6Groups, parseWebhookUrl, type WebhookTarget } from './target-address';

const target = (raw: string): WebhookTarget => {
  const parsed = parseWebhookUrl(raw);
  if ('error' in parsed) throw new Error(`${raw}: ${parsed.error}`);
  return parsed.target;
};

describe('classifyAddress (IPv4)', () => {
  it.each([
    ['0.0.0.0', '"this network"'],
    ['0.255.255.255', '"this network"'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['100.64.0.0', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.169.254', 'cloud metadata'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['192.0.0.8', 'IETF protocol assignments'],
    ['192.0.2.1', 'documentation'],
    ['192.88.99.1', '6to4 relay'],
    ['192.168.1.1', 'private'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
  ])('refuses %s (%s)', (ip, reason) => {
    const verdict = classifyAddress(ip);
    expect(verdict.allowed).toBe(false);
    expect(!verdict.allowed && verdict.reason).toContain(reason);
  });

  it.each(['1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '100.63.255.255', '100.128.0.0', '126.255.255.255', '128.0.0.0', '169.253.255.255', '169.255.0.0', '172.15.255.255', '172.32.0.0', '192.0.1.0', '192.167.255.255', '192.169.0.0', '198.17.255.255', '198.20.0.0', '223.255.255.255'])(
    'allows public %s (just outside the ranges)',
    (ip) => expect(classifyAddress(ip)).toEqual({ allowed: true }),
  );
});

describe('classifyAddress (IPv6)', () => {
  it.each([
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'IPv4-mapped 127.0.0.1'],
    ['::ffff:7f00:1', 'IPv4-mapped 127.0.0.1'],
    ['::FFFF:A9FE:A9FE', 'cloud metadata'],
    ['::ffff:10.1.2.3', 'private'],
    ['::ffff:0:192.168.0.1', 'IPv4-translated 192.168.0.1'],
    ['64:ff9b::10.0.0.1', 'NAT64 10.0.0.1'],
    ['64:ff9b::7f00:1', 'NAT64 127.0.0.1'],
    ['2002:7f00:1::', '6to4 127.0.0.1'],
    ['2002:c0a8:101::1', '6to4 192.168.1.1'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['fc00::1', 'unique local'],
    ['fd00:ec2::254', 'unique local'],
    ['fdff:ffff::1', 'unique local'],
    ['fe80::1', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['100::1', 'not global unicast'],
    ['64:ff9b:1::1', 'not global unicast'],
    ['4000::1', 'not global unicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff:0fff::1', 'documentation'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['2001:10::1', 'IETF protocol assignments'],
    ['2001:1ff::1', 'IETF protocol assignments'],
    ['fe80::1%eth0', 'zone'],
  ])('refuses %s (%s)', (ip, reason) => {
    const verdict = classifyAddress(ip);
    expect(verdict.allowed).toBe(false);
    expect(!verdict.allowed && verdict.reason).toContain(reason);
  });

  it.each(['2606:4700:4700::1111', '2001:4860:4860::8888', '2001:200::1', '2a00:1450:4001::1', '3fff:1000::1', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8', '2002:808:808::1'])(
    'allows global %s',
    (ip) => expect(classifyAddress(ip)).toEqual({ allowed: true }),
  );

  it('expands compressed forms and dotted tails into eight groups', () => {
    expect(ipv6Groups('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('refuses text that is not an address', () => {
    expect(classifyAddress('example.com').allowed).toBe(false);
    expect(classifyAddress('').allowed).toBe(false);
    expect(classifyAddress('1.2.3').allowed).toBe(false);
  });
});

describe('parseWebhookUrl', () => {
  it.each([
    ['ftp://example.com/x', 'http or https'],
    ['file:///etc/passwd', 'http or https'],
    ['gopher://example.com', 'http or https'],
    ['javascript:alert(1)', 'http or https'],
    ['/relative', 'absolute URL'],
    ['not a url', 'absolute URL'],
    ['https://user:pw@example.com/', 'credentials'],
    ['https://example.com/#frag', 'fragment'],
  ])('refuses %s', (raw, error) => {
    const parsed = parseWebhookUrl(raw);
    expect('error' in parsed && parsed.error).toContain(error);
  });

  it('refuses a URL longer than 2048 characters', () => {
    const parsed = parseWebhookUrl(`https://example.com/${'a'.repeat(2048)}`);
    expect('error' in parsed && parsed.error).toContain('at most 2048');
  });

  it('normalises decimal, octal and hex IPv4 spellings to the address connected to', () => {
    for (const raw of ['http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://127.1/', 'http://0x7f000001/']) {
      const t = target(raw);
      expect([t.host, t.literal]).toEqual(['127.0.0.1', true]);
      expect(checkLiteralTarget(t, false)).toEqual({ allowed: false, reason: '127.0.0.1 is loopback' });
    }
  });

  it('strips IPv6 brackets and judges the mapped address', () => {
    const t = target('http://[::ffff:169.254.169.254]:8080/hook');
    expect(t.literal).toBe(true);
    expect(checkLiteralTarget(t, false)).toMatchObject({ allowed: false });
    expect(checkLiteralTarget(target('https://[2606:4700:4700::1111]/'), false)).toEqual({ allowed: true });
  });

  it('refuses localhost names before resolving, leaves other names to resolution, and allows anything when private targets are allowed', () => {
    for (const raw of ['http://localhost:3000/', 'http://LOCALHOST./', 'http://api.localhost/']) expect(checkLiteralTarget(target(raw), false)).toMatchObject({ allowed: false });
    expect(checkLiteralTarget(target('https://hooks.example.com/x'), false)).toBeUndefined();
    expect(checkLiteralTarget(target('http://127.0.0.1:9/'), true)).toEqual({ allowed: true });
    expect(checkLiteralTarget(target('http://localhost/'), true)).toEqual({ allowed: true });
  });
});

describe('checkResolved', () => {
  it('refuses a name when any address it resolves to is refused (DNS rebinding, mixed answers)', () => {
    expect(checkResolved('evil.example', ['93.184.216.34', '127.0.0.1'], false)).toEqual({ allowed: false, reason: 'evil.example resolves to 127.0.0.1 is loopback' });
    expect(checkResolved('evil.example', ['::ffff:10.0.0.1'], false)).toMatchObject({ allowed: false });
    expect(checkResolved('none.example', [], false)).toMatchObject({ allowed: false, reason: 'none.example resolves to no address' });
  });

  it('allows public answers, and everything when private targets are allowed', () => {
    expect(checkResolved('ok.example', ['93.184.216.34', '2606:2800:220:1::1'], false)).toEqual({ allowed: true });
    expect(checkResolved('local.example', ['127.0.0.1'], true)).toEqual({ allowed: true });
  });
});
