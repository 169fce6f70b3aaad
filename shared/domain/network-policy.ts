/**
 * Where streams and alerts may send a tenant's events: the SSRF policy. Classifies IP addresses
 * (v4, v6, IPv4-mapped v6 and the v6 forms that embed a v4 address: NAT64, 6to4, Teredo) as public
 * or as one of the special-purpose classes, decides whether an address may be connected to under a
 * deploy-time policy, and checks a destination URL as the API receives it.
 *
 * Names are not resolved here: a URL naming a host passes the URL check, and every address the
 * name resolves to is checked again on every connect (shared/adapters/guarded-http.ts), which is
 * what defeats DNS rebinding. Pure: no I/O, no node imports.
 */

/** The deploy-time policy (TRAILKEEPER_ALLOW_HTTP_LOOPBACK, TRAILKEEPER_PRIVATE_DESTINATIONS). */
export interface NetworkPolicy {
  /** The local stack only: plain http to a loopback host, and loopback addresses at connect. */
  allowHttpLoopback: boolean;
  /** CIDRs of private destinations the operator allows (an on-premises Splunk). */
  allowPrivate: readonly string[];
}

export const STRICT_POLICY: NetworkPolicy = { allowHttpLoopback: false, allowPrivate: [] };

/** Longest destination URL accepted. */
export const MAX_DESTINATION_URL_LENGTH = 2048;

export type AddressClass =
  | 'public'
  | 'loopback'
  | 'unspecified'
  | 'private'
  | 'shared'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'reserved'
  | 'tunnelled';

const DESCRIPTIONS: Record<AddressClass, string> = {
  public: 'a public address',
  loopback: 'a loopback address',
  unspecified: 'the unspecified address',
  private: 'a private address',
  shared: 'a carrier-grade NAT (shared) address',
  'link-local': 'a link-local address',
  metadata: 'a cloud instance-metadata address',
  'unique-local': 'a unique-local (private) IPv6 address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  documentation: 'a documentation address',
  reserved: 'a reserved address',
  tunnelled: 'an IPv6 address embedding a non-public IPv4 address',
};

/** The classes an operator's allow-list can open. Never loopback, link-local or metadata. */
const ALLOWABLE: ReadonlySet<AddressClass> = new Set(['private', 'shared', 'unique-local']);

interface Ip {
  family: 4 | 6;
  value: bigint;
}

interface Cidr extends Ip {
  prefix: number;
}

const bitsOf = (family: 4 | 6): number => (family === 4 ? 32 : 128);

const parseIPv4Value = (text: string): bigint | undefined => {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Decimal only, no leading zeros: `010` is octal to some parsers and decimal to others.
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
};

const parseIPv6Value = (input: string): bigint | undefined => {
  // A zone (`fe80::1%eth0`) names an interface; the address is classified without it.
  const text = input.split('%', 1)[0] ?? '';
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string, last: boolean): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const pieces = half.split(':');
    for (const [i, piece] of pieces.entries()) {
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIPv4Value(piece);
        if (v4 === undefined) return undefined;
        groups.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        groups.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0] ?? '', halves.length === 1);
  const tail = halves.length === 2 ? groupsOf(halves[1] ?? '', true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const given = head.length + tail.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...tail];
  return groups.reduce((value, group) => (value << 16n) | BigInt(group), 0n);
};

/** An IP address as text (v4 dotted decimal, or v6 with or without brackets), or undefined. */
const parseIp = (text: string): Ip | undefined => {
  const v4 = parseIPv4Value(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!bare.includes(':')) return undefined;
  const v6 = parseIPv6Value(bare);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
};

const parseCidr = (text: string): Cidr | undefined => {
  const [address, prefixText, ...rest] = text.trim().split('/');
  if (address === undefined || rest.length > 0) return undefined;
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  if (prefixText === undefined) return { ...ip, prefix: bitsOf(ip.family) };
  if (!/^(?:0|[1-9]\d{0,2})$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bitsOf(ip.family)) return undefined;
  return { ...ip, prefix };
};

const cidr = (text: string): Cidr => {
  const parsed = parseCidr(text);
  if (parsed === undefined) throw new Error(`bad built-in CIDR ${text}`);
  return parsed;
};

const contains = (range: Cidr, ip: Ip): boolean => {
  if (range.family !== ip.family) return false;
  const shift = BigInt(bitsOf(ip.family) - range.prefix);
  return ip.value >> shift === range.value >> shift;
};

/** A range lies inside another (both ends, same family). */
const within = (inner: Cidr, outer: Cidr): boolean => inner.prefix >= outer.prefix && contains(outer, inner);

// First match wins; the IANA special-purpose registries, plus the cloud metadata addresses.
const V4_RULES: readonly (readonly [Cidr, AddressClass])[] = (
  [
    ['255.255.255.255/32', 'broadcast'],
    ['169.254.169.254/32', 'metadata'],
    ['0.0.0.0/32', 'unspecified'],
    ['0.0.0.0/8', 'reserved'], // "this network": Linux connects 0.x.y.z to the host itself
    ['10.0.0.0/8', 'private'],
    ['100.64.0.0/10', 'shared'],
    ['127.0.0.0/8', 'loopback'],
    ['169.254.0.0/16', 'link-local'], // also ECS/EKS credentials (169.254.170.x), Amazon DNS and NTP
    ['172.16.0.0/12', 'private'],
    ['192.0.0.0/24', 'reserved'],
    ['192.0.2.0/24', 'documentation'],
    ['192.88.99.0/24', 'reserved'],
    ['192.168.0.0/16', 'private'],
    ['198.18.0.0/15', 'reserved'],
    ['198.51.100.0/24', 'documentation'],
    ['203.0.113.0/24', 'documentation'],
    ['224.0.0.0/4', 'multicast'],
    ['240.0.0.0/4', 'reserved'],
  ] as const
).map(([range, kind]) => [cidr(range), kind] as const);

const V6_RULES: readonly (readonly [Cidr, AddressClass])[] = (
  [
    ['::/128', 'unspecified'],
    ['::1/128', 'loopback'],
    ['::/96', 'reserved'], // IPv4-compatible, deprecated
    ['fd00:ec2::/32', 'metadata'], // AWS instance services over IPv6: IMDS fd00:ec2::254, DNS, NTP
    ['64:ff9b:1::/48', 'reserved'],
    ['100::/64', 'reserved'],
    ['2001:db8::/32', 'documentation'],
    ['3fff::/20', 'documentation'],
    ['2001::/23', 'reserved'],
    ['5f00::/16', 'reserved'],
    ['fc00::/7', 'unique-local'],
    ['fe80::/10', 'link-local'],
    ['fec0::/10', 'reserved'],
    ['ff00::/8', 'multicast'],
  ] as const
).map(([range, kind]) => [cidr(range), kind] as const);

const GLOBAL_UNICAST = cidr('2000::/3');
const MAPPED = cidr('::ffff:0:0/96');
const NAT64 = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const TEREDO = cidr('2001::/32');
const MASK32 = 0xffffffffn;

/** `::ffff:a.b.c.d` is a.b.c.d: the socket connects to the IPv4 address. */
const unmapped = (ip: Ip): Ip =>
  ip.family === 6 && contains(MAPPED, ip) ? { family: 4, value: ip.value & MASK32 } : ip;

const classifyIp = (input: Ip): AddressClass => {
  const ip = unmapped(input);
  if (ip.family === 4) return V4_RULES.find(([range]) => contains(range, ip))?.[1] ?? 'public';
  // v6 forms that reach an IPv4 address through a translator or tunnel are as good as that address.
  const embedded: bigint[] = [];
  if (contains(NAT64, ip)) embedded.push(ip.value & MASK32);
  if (contains(SIX_TO_FOUR, ip)) embedded.push((ip.value >> 80n) & MASK32);
  if (contains(TEREDO, ip)) embedded.push((ip.value >> 64n) & MASK32, ~ip.value & MASK32);
  if (embedded.length > 0)
    return embedded.every((value) => classifyIp({ family: 4, value }) === 'public') ? 'public' : 'tunnelled';
  const rule = V6_RULES.find(([range]) => contains(range, ip));
  if (rule !== undefined) return rule[1];
  return contains(GLOBAL_UNICAST, ip) ? 'public' : 'reserved';
};

/** True when `text` is an IP address literal (brackets allowed around v6). */
export const isIpAddress = (text: string): boolean => parseIp(text) !== undefined;

/** The class of an IP address, or undefined when `text` is not one. */
export const classifyAddress = (text: string): AddressClass | undefined => {
  const ip = parseIp(text);
  return ip === undefined ? undefined : classifyIp(ip);
};

/**
 * Why the policy refuses a connection to `address`, or undefined when it may be connected to.
 * Not an IP address → refused. Public → allowed. Loopback → only with `allowHttpLoopback`.
 * Private, shared (CGNAT) and unique-local → only inside one of the operator's CIDRs. Everything
 * else (metadata, link-local, multicast, …) → never, whatever the allow-list says.
 */
export const addressRefusal = (address: string, policy: NetworkPolicy): string | undefined => {
  const parsed = parseIp(address);
  if (parsed === undefined) return `${address} is not an IP address`;
  const ip = unmapped(parsed);
  const kind = classifyIp(ip);
  if (kind === 'public') return undefined;
  if (kind === 'loopback' && policy.allowHttpLoopback) return undefined;
  if (ALLOWABLE.has(kind)) {
    // An unparseable entry matches nothing: fail closed (networkPolicyFromEnv refuses them anyway).
    const listed = policy.allowPrivate
      .map(parseCidr)
      .some((range) => range !== undefined && contains(range, ip));
    if (listed) return undefined;
    return `${address} is ${DESCRIPTIONS[kind]} (not among the operator's allowed private destinations)`;
  }
  return `${address} is ${DESCRIPTIONS[kind]}`;
};

export const isAddressAllowed = (address: string, policy: NetworkPolicy): boolean =>
  addressRefusal(address, policy) === undefined;

/** `localhost` (RFC 6761: always loopback, as are its subdomains) or a loopback IP literal. */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || classifyAddress(host) === 'loopback';
};

/**
 * A destination URL as the API receives it (stream `url`, alert `webhook_url`/`slack_url`): its
 * normalised form, or why it is refused (the message becomes a 400 `errors[].message`). https
 * only; plain http only to a loopback host under `allowHttpLoopback`. An IP literal host must be
 * one the policy allows; a name is checked when it is resolved, on every connect.
 *
 * `addressRefusalOf` judges an IP literal host (default: the policy); the delivery adapter passes
 * its own, to refuse such a host with its own error kind.
 */
export const checkDestinationUrl = (
  raw: string,
  policy: NetworkPolicy,
  addressRefusalOf: (address: string) => string | undefined = (address) => addressRefusal(address, policy),
): { url: string } | { error: string } => {
  if (raw.length > MAX_DESTINATION_URL_LENGTH)
    return { error: `must be at most ${MAX_DESTINATION_URL_LENGTH} characters` };
  // URL() silently drops tabs and newlines and trims control characters: refuse them instead.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(raw)) return { error: 'must not contain spaces or control characters' };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'must be an absolute https URL, e.g. https://siem.example.com/ingest' };
  }
  if (url.protocol === 'http:') {
    if (!policy.allowHttpLoopback) return { error: 'must use https' };
    if (!isLoopbackHost(url.hostname))
      return { error: 'must use https (plain http is allowed only to a loopback host on the local stack)' };
  } else if (url.protocol !== 'https:') {
    return { error: 'must use https' };
  }
  if (url.username !== '' || url.password !== '')
    return { error: 'must not contain credentials (user:password@)' };
  if (raw.includes('#')) return { error: 'must not contain a fragment (#…)' };
  const host = url.hostname;
  if (isIpAddress(host)) {
    const refusal = addressRefusalOf(host);
    if (refusal !== undefined) return { error: `must point to a public address: ${refusal}` };
  } else if (isLoopbackHost(host) && !policy.allowHttpLoopback) {
    return { error: `must point to a public address: ${host} is a loopback name` };
  }
  return { url: url.href };
};

const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', 'fc00::/7'];

/**
 * The policy from the deployment's environment, checked at startup (a bad value throws, naming
 * it). `TRAILKEEPER_ALLOW_HTTP_LOOPBACK`: `1` enables, unset/empty/`0` does not. Anything else
 * throws rather than guess. `TRAILKEEPER_PRIVATE_DESTINATIONS`: comma-separated CIDRs (a bare
 * address is one host), each inside a private range: the allow-list cannot open loopback,
 * link-local, metadata or public space.
 */
export const networkPolicyFromEnv = (env: Readonly<Record<string, string | undefined>>): NetworkPolicy => {
  const flag = env.TRAILKEEPER_ALLOW_HTTP_LOOPBACK ?? '';
  if (!['', '0', '1'].includes(flag))
    throw new Error(`TRAILKEEPER_ALLOW_HTTP_LOOPBACK must be 1 or unset, not ${JSON.stringify(flag)}`);
  const entries = (env.TRAILKEEPER_PRIVATE_DESTINATIONS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const privateRanges = PRIVATE_RANGES.map(cidr);
  for (const entry of entries) {
    const range = parseCidr(entry);
    if (range === undefined)
      throw new Error(
        `TRAILKEEPER_PRIVATE_DESTINATIONS: ${JSON.stringify(entry)} is not a CIDR (e.g. 10.1.0.0/16)`,
      );
    if (!privateRanges.some((outer) => within(range, outer)))
      throw new Error(
        `TRAILKEEPER_PRIVATE_DESTINATIONS: ${entry} is not inside a private range (${PRIVATE_RANGES.join(', ')})`,
      );
  }
  return { allowHttpLoopback: flag === '1', allowPrivate: entries };
};
