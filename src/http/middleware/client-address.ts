import { BlockList, isIP } from 'node:net';

/**
 * The proxies in front of the public port (TRUSTED_PROXIES): the only peers whose
 * X-Forwarded-* headers are believed. Entries are already validated by config
 * (`src/config/trusted-proxies.ts`); node's BlockList does the matching.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #empty: boolean;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
    this.#empty = entries.length === 0;
  }

  /** True when `address` (already normalised) is one of our proxies. */
  has(address: string): boolean {
    if (this.#empty) return false;
    const family = isIP(address);
    if (!family) return false;
    return this.#list.check(address, family === 6 ? 'ipv6' : 'ipv4');
  }
}

const MAPPED_IPV4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/;
const IPV4_WITH_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/;
const BRACKETED_IPV6 = /^\[([^\]]+)\](?::\d{1,5})?$/;

/**
 * One address as a proxy or socket writes it, in one canonical spelling: `::ffff:1.2.3.4` (a
 * dual-stack socket's IPv4 peer) becomes `1.2.3.4`, `[::1]:443` and `1.2.3.4:80` lose their
 * ports. Anything that is not an IP address gives undefined.
 */
export function normalizeAddress(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let address = raw.trim().toLowerCase();
  address = BRACKETED_IPV6.exec(address)?.[1] ?? IPV4_WITH_PORT.exec(address)?.[1] ?? address;
  address = MAPPED_IPV4.exec(address)?.[1] ?? address;
  return isIP(address) ? address : undefined;
}

/**
 * The client's address for one request. The TCP peer is the client unless it is a trusted proxy;
 * then X-Forwarded-For is walked from the right (each proxy appends the peer it saw) and the first
 * hop that is not a trusted proxy is the client. Entries to its left are whatever the client wrote
 * and are never used. A hop that is not an IP address was not written by a proxy of ours, so the
 * walk stops there and the last trusted hop counts as the client. If every hop is trusted, the
 * left-most one is the origin.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  trusted: TrustedProxies,
): string {
  const peerAddress = normalizeAddress(peer) ?? peer ?? '';
  if (!trusted.has(peerAddress)) return peerAddress;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',');
  let client = peerAddress;
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!hops[i]!.trim()) continue;
    const hop = normalizeAddress(hops[i]);
    if (!hop) return client;
    client = hop;
    if (!trusted.has(hop)) return hop;
  }
  return client;
}
