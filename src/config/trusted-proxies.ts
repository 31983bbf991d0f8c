import { isIP } from 'node:net';

/**
 * What the deprecated `TRUST_PROXY=true` means today: loopback and the private ranges
 * (RFC 1918, RFC 4193 unique-local). Kept only so old deployments keep their client addresses.
 */
export const LOOPBACK_AND_PRIVATE_NETWORKS: readonly string[] = [
  '127.0.0.0/8',
  '::1/128',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  'fc00::/7',
];

/**
 * Parses TRUSTED_PROXIES: comma-separated IPv4/IPv6 addresses and CIDRs (`10.0.0.0/8`,
 * `2001:db8::/32`, `::1`). Returns the entries as written (trimmed, lower-case); throws an Error
 * naming the first bad entry. Empty entries (a trailing comma) are ignored.
 */
export function parseTrustedProxies(value: string): string[] {
  const entries = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const entry of entries) {
    const [address = '', prefix, extra] = entry.split('/');
    const family = isIP(address);
    const maxPrefix = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (!family || !prefixOk || extra !== undefined || address.includes('%')) {
      throw new Error(`"${entry}" is not an IPv4/IPv6 address or CIDR (e.g. 10.0.0.0/8, ::1)`);
    }
  }
  return entries;
}
