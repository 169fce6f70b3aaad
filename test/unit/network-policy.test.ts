import { describe, expect, it } from 'vitest';
import {
  type AddressClass,
  addressRefusal,
  checkDestinationUrl,
  classifyAddress,
  isAddressAllowed,
  isLoopbackHost,
  MAX_DESTINATION_URL_LENGTH,
  type NetworkPolicy,
  networkPolicyFromEnv,
  STRICT_POLICY,
} from '#shared/domain/network-policy.ts';

const LOCAL: NetworkPolicy = { allowHttpLoopback: true, allowPrivate: [] };

describe('address classes', () => {
  it.each<[string, AddressClass]>([
    // public
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['93.184.216.34', 'public'],
    ['172.15.255.255', 'public'],
    ['172.32.0.0', 'public'],
    ['100.63.255.255', 'public'],
    ['100.128.0.0', 'public'],
    ['192.0.3.1', 'public'],
    ['223.255.255.255', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82b::200e', 'public'],
    ['2001:4860:4860::8888', 'public'],
    // loopback
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['[::1]', 'loopback'],
    // unspecified and "this network"
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    // private
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    // CGNAT
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    // link-local and metadata
    ['169.254.0.1', 'link-local'],
    ['169.254.170.2', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:ec2::253', 'metadata'],
    // unique-local
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    // multicast and broadcast
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    // documentation and reserved
    ['192.0.2.1', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['100::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['fec0::1', 'reserved'],
    ['::5.6.7.8', 'reserved'],
    ['4000::1', 'reserved'],
    ['64:ff9b:1::a', 'reserved'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each<[string, AddressClass]>([
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['0:0:0:0:0:ffff:192.168.0.1', 'private'],
    ['::ffff:8.8.8.8', 'public'],
  ])('IPv4-mapped %s is classified as its IPv4 address: %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each<[string, AddressClass]>([
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b::a00:1', 'tunnelled'],
    ['64:ff9b::169.254.169.254', 'tunnelled'],
    ['2002:0808:0808::1', 'public'],
    ['2002:c0a8:0101::1', 'tunnelled'],
    ['2002:7f00:1::1', 'tunnelled'],
    // Teredo: server 65.54.227.120, client 192.0.2.45 obfuscated (RFC 4380's example)
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'tunnelled'],
    // Teredo: server 65.54.227.120, client 8.8.8.8 obfuscated
    ['2001:0:4136:e378::f7f7:f7f7', 'public'],
    // Teredo: client 10.0.0.1 obfuscated
    ['2001:0:4136:e378::f5ff:fffe', 'tunnelled'],
  ])('an IPv6 address embedding IPv4 (NAT64, 6to4, Teredo) %s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it.each([
    'example.com',
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    '1:2:3:4:5:6:7',
    '1::2:3:4:5:6:7:8',
    '1:::2',
    '12345::1',
    '::ffff:1.2.3',
    'g::1',
    '1.2.3.4::',
  ])('%j is not an IP address', (text) => {
    expect(classifyAddress(text)).toBeUndefined();
  });
});

describe('address policy', () => {
  it('allows public addresses and refuses every other class under the strict policy', () => {
    expect(isAddressAllowed('8.8.8.8', STRICT_POLICY)).toBe(true);
    expect(isAddressAllowed('2606:4700:4700::1111', STRICT_POLICY)).toBe(true);
    for (const address of [
      '127.0.0.1',
      '::1',
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '172.16.0.1',
      '192.168.0.1',
      '100.64.0.1',
      '169.254.169.254',
      'fe80::1',
      'fd00::1',
      'fd00:ec2::254',
      '224.0.0.1',
      '255.255.255.255',
      '192.0.2.1',
      '2001:db8::1',
      '240.0.0.1',
      '::ffff:127.0.0.1',
      '64:ff9b::a00:1',
      'not-an-address',
    ])
      expect({ address, allowed: isAddressAllowed(address, STRICT_POLICY) }).toEqual({
        address,
        allowed: false,
      });
  });

  it('names the class in its refusal', () => {
    expect(addressRefusal('169.254.169.254', STRICT_POLICY)).toBe(
      '169.254.169.254 is a cloud instance-metadata address',
    );
    expect(addressRefusal('127.0.0.1', STRICT_POLICY)).toBe('127.0.0.1 is a loopback address');
    expect(addressRefusal('10.1.2.3', STRICT_POLICY)).toBe(
      "10.1.2.3 is a private address (not among the operator's allowed private destinations)",
    );
    expect(addressRefusal('8.8.8.8', STRICT_POLICY)).toBeUndefined();
  });

  it('allows private addresses inside the operator allow-list, and only those', () => {
    const policy: NetworkPolicy = { allowHttpLoopback: false, allowPrivate: ['10.20.0.0/16', 'fd12::/16'] };
    expect(isAddressAllowed('10.20.3.4', policy)).toBe(true);
    expect(isAddressAllowed('::ffff:10.20.3.4', policy)).toBe(true);
    expect(isAddressAllowed('fd12::5', policy)).toBe(true);
    expect(isAddressAllowed('10.21.3.4', policy)).toBe(false);
    expect(isAddressAllowed('192.168.1.1', policy)).toBe(false);
    expect(isAddressAllowed('fd13::5', policy)).toBe(false);
  });

  it('allows a single allow-listed host given as a bare address', () => {
    const policy: NetworkPolicy = { allowHttpLoopback: false, allowPrivate: ['192.168.7.8'] };
    expect(isAddressAllowed('192.168.7.8', policy)).toBe(true);
    expect(isAddressAllowed('192.168.7.9', policy)).toBe(false);
  });

  it('never allows metadata, link-local, loopback or tunnelled addresses, whatever the allow-list says', () => {
    const everything: NetworkPolicy = {
      allowHttpLoopback: false,
      allowPrivate: ['0.0.0.0/0', '::/0', '169.254.0.0/16', 'fd00::/8', '127.0.0.0/8'],
    };
    expect(isAddressAllowed('169.254.169.254', everything)).toBe(false);
    expect(isAddressAllowed('::ffff:169.254.169.254', everything)).toBe(false);
    expect(isAddressAllowed('169.254.170.2', everything)).toBe(false);
    expect(isAddressAllowed('fd00:ec2::254', everything)).toBe(false);
    expect(isAddressAllowed('fe80::1', everything)).toBe(false);
    expect(isAddressAllowed('127.0.0.1', everything)).toBe(false);
    expect(isAddressAllowed('64:ff9b::a00:1', everything)).toBe(false);
    // while the same list does open the private ranges it covers
    expect(isAddressAllowed('fd00::1', everything)).toBe(true);
    expect(isAddressAllowed('10.0.0.1', everything)).toBe(true);
  });

  it('ignores an unparseable allow-list entry (fails closed)', () => {
    const policy: NetworkPolicy = { allowHttpLoopback: false, allowPrivate: ['10.0.0.0/33', 'ten'] };
    expect(isAddressAllowed('10.0.0.1', policy)).toBe(false);
  });

  it('allows loopback addresses only with the local loopback flag', () => {
    expect(isAddressAllowed('127.0.0.1', LOCAL)).toBe(true);
    expect(isAddressAllowed('::1', LOCAL)).toBe(true);
    expect(isAddressAllowed('127.0.0.1', STRICT_POLICY)).toBe(false);
    // the flag opens loopback only, not the rest of the host's neighbourhood
    expect(isAddressAllowed('10.0.0.1', LOCAL)).toBe(false);
    expect(isAddressAllowed('169.254.169.254', LOCAL)).toBe(false);
  });

  it.each([
    ['localhost', true],
    ['LOCALHOST.', true],
    ['api.localhost', true],
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['localhost.example.com', false],
    ['10.0.0.1', false],
    ['example.com', false],
  ])('%s is a loopback host: %s', (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe('destination URLs', () => {
  it.each([
    ['https://siem.example.com/ingest', 'https://siem.example.com/ingest'],
    [
      'https://SIEM.Example.com:8088/services/collector?x=1',
      'https://siem.example.com:8088/services/collector?x=1',
    ],
    ['https://8.8.8.8/', 'https://8.8.8.8/'],
    ['https://[2606:4700:4700::1111]:8443/', 'https://[2606:4700:4700::1111]:8443/'],
    ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://hooks.slack.com/services/T000/B000/XXXX'],
  ])('accepts %s', (raw, url) => {
    expect(checkDestinationUrl(raw, STRICT_POLICY)).toEqual({ url });
  });

  it.each([
    ['http://siem.example.com/', 'must use https'],
    ['ftp://siem.example.com/', 'must use https'],
    ['file:///etc/passwd', 'must use https'],
    ['javascript:alert(1)', 'must use https'],
    ['siem.example.com/ingest', 'must be an absolute https URL, e.g. https://siem.example.com/ingest'],
    ['https://', 'must be an absolute https URL, e.g. https://siem.example.com/ingest'],
    ['https://user:pass@siem.example.com/', 'must not contain credentials (user:password@)'],
    ['https://user@siem.example.com/', 'must not contain credentials (user:password@)'],
    ['https://siem.example.com/#frag', 'must not contain a fragment (#…)'],
    ['https://siem.example.com/#', 'must not contain a fragment (#…)'],
    ['https://siem.example.com/a b', 'must not contain spaces or control characters'],
    ['https://siem.exa\tmple.com/', 'must not contain spaces or control characters'],
    [' https://siem.example.com/', 'must not contain spaces or control characters'],
    ['https://127.0.0.1/', 'must point to a public address: 127.0.0.1 is a loopback address'],
    ['https://0x7f.1/', 'must point to a public address: 127.0.0.1 is a loopback address'],
    ['https://2130706433/', 'must point to a public address: 127.0.0.1 is a loopback address'],
    ['https://[::1]/', 'must point to a public address: [::1] is a loopback address'],
    ['https://[::ffff:127.0.0.1]/', 'must point to a public address: [::ffff:7f00:1] is a loopback address'],
    ['https://0.0.0.0/', 'must point to a public address: 0.0.0.0 is the unspecified address'],
    [
      'https://10.0.0.1/',
      "must point to a public address: 10.0.0.1 is a private address (not among the operator's allowed private destinations)",
    ],
    [
      'https://169.254.169.254/latest/meta-data/',
      'must point to a public address: 169.254.169.254 is a cloud instance-metadata address',
    ],
    [
      'https://[fd00:ec2::254]/',
      'must point to a public address: [fd00:ec2::254] is a cloud instance-metadata address',
    ],
    ['https://[fe80::1]/', 'must point to a public address: [fe80::1] is a link-local address'],
    ['https://224.0.0.1/', 'must point to a public address: 224.0.0.1 is a multicast address'],
    ['https://192.0.2.1/', 'must point to a public address: 192.0.2.1 is a documentation address'],
    ['https://localhost/', 'must point to a public address: localhost is a loopback name'],
    ['https://api.localhost:8443/', 'must point to a public address: api.localhost is a loopback name'],
  ])('refuses %j: %s', (raw, error) => {
    expect(checkDestinationUrl(raw, STRICT_POLICY)).toEqual({ error });
  });

  it(`refuses a URL longer than ${MAX_DESTINATION_URL_LENGTH} characters and accepts one at the limit`, () => {
    const prefix = 'https://siem.example.com/';
    const atLimit = prefix + 'a'.repeat(MAX_DESTINATION_URL_LENGTH - prefix.length);
    expect(checkDestinationUrl(atLimit, STRICT_POLICY)).toEqual({ url: atLimit });
    expect(checkDestinationUrl(`${atLimit}a`, STRICT_POLICY)).toEqual({
      error: `must be at most ${MAX_DESTINATION_URL_LENGTH} characters`,
    });
  });

  it('accepts an allow-listed private IP literal', () => {
    const policy: NetworkPolicy = { allowHttpLoopback: false, allowPrivate: ['10.1.0.0/16'] };
    expect(checkDestinationUrl('https://10.1.2.3:8088/services/collector', policy)).toEqual({
      url: 'https://10.1.2.3:8088/services/collector',
    });
    expect(checkDestinationUrl('http://10.1.2.3:8088/', policy)).toEqual({ error: 'must use https' });
  });

  describe('the local loopback exception', () => {
    it.each([
      'http://127.0.0.1:4000/hook',
      'http://localhost:4000/hook',
      'http://[::1]:4000/hook',
      'https://127.0.0.1:4443/hook',
      'https://localhost/hook',
    ])('accepts %s only with allowHttpLoopback', (raw) => {
      expect(checkDestinationUrl(raw, LOCAL)).toEqual({ url: raw });
      expect(checkDestinationUrl(raw, STRICT_POLICY)).toHaveProperty('error');
    });

    it.each([
      'http://siem.example.com/',
      'http://10.0.0.1/',
      'http://8.8.8.8/',
      'http://localhost.example.com/',
    ])('still refuses plain http to a non-loopback host %s', (raw) => {
      expect(checkDestinationUrl(raw, LOCAL)).toEqual({
        error: 'must use https (plain http is allowed only to a loopback host on the local stack)',
      });
    });

    it('still refuses the metadata address', () => {
      expect(checkDestinationUrl('https://169.254.169.254/', LOCAL)).toEqual({
        error: 'must point to a public address: 169.254.169.254 is a cloud instance-metadata address',
      });
    });
  });
});

describe('network policy from the environment', () => {
  it('is strict by default', () => {
    expect(networkPolicyFromEnv({})).toEqual(STRICT_POLICY);
    expect(
      networkPolicyFromEnv({ TRAILKEEPER_ALLOW_HTTP_LOOPBACK: '0', TRAILKEEPER_PRIVATE_DESTINATIONS: '' }),
    ).toEqual(STRICT_POLICY);
  });

  it('enables the loopback exception with 1 only', () => {
    expect(networkPolicyFromEnv({ TRAILKEEPER_ALLOW_HTTP_LOOPBACK: '1' }).allowHttpLoopback).toBe(true);
    for (const value of ['true', 'yes', ' 1', '2'])
      expect(() => networkPolicyFromEnv({ TRAILKEEPER_ALLOW_HTTP_LOOPBACK: value })).toThrow(
        `TRAILKEEPER_ALLOW_HTTP_LOOPBACK must be 1 or unset, not ${JSON.stringify(value)}`,
      );
  });

  it('reads comma-separated private CIDRs', () => {
    const policy = networkPolicyFromEnv({
      TRAILKEEPER_PRIVATE_DESTINATIONS: ' 10.20.0.0/16, 192.168.5.10 ,,fd12:3456::/32,100.64.1.0/24',
    });
    expect(policy.allowPrivate).toEqual(['10.20.0.0/16', '192.168.5.10', 'fd12:3456::/32', '100.64.1.0/24']);
    expect(isAddressAllowed('10.20.1.1', policy)).toBe(true);
    expect(isAddressAllowed('192.168.5.10', policy)).toBe(true);
  });

  it.each(['10.0.0.0/33', 'ten', '10.0.0.0/8/8', '10.0.0/8', 'fd00::/129', '10.0.0.0/08'])(
    'throws at startup on a malformed entry %j',
    (entry) => {
      expect(() =>
        networkPolicyFromEnv({ TRAILKEEPER_PRIVATE_DESTINATIONS: `10.1.0.0/16,${entry}` }),
      ).toThrow(
        `TRAILKEEPER_PRIVATE_DESTINATIONS: ${JSON.stringify(entry)} is not a CIDR (e.g. 10.1.0.0/16)`,
      );
    },
  );

  it.each([
    '0.0.0.0/0',
    '::/0',
    '169.254.0.0/16',
    '169.254.169.254',
    '127.0.0.0/8',
    '8.8.8.0/24',
    '10.0.0.0/7',
    'fe80::/10',
  ])('throws at startup on %s, which is not inside a private range', (entry) => {
    expect(() => networkPolicyFromEnv({ TRAILKEEPER_PRIVATE_DESTINATIONS: entry })).toThrow(
      `TRAILKEEPER_PRIVATE_DESTINATIONS: ${entry} is not inside a private range`,
    );
  });
});
