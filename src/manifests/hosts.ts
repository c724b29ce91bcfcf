/**
 * Public manifest fields must not point at loopback, private, link-local or internal hosts: such
 * a value leaks internal topology into records and PR comments, and an endpoint there would let a
 * manifest aim connectors at internal services. Endpoints belong in env vars (`url_env`).
 */
import { isIP } from 'node:net';
import { segmentsOf, type WalkedValue } from './walked-value.js';

export interface HostHit {
  segments: (string | number)[];
}

const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;
const HOST_LIKE_KEY = /(?:^|_)(?:host|hostname|url|uri|endpoint|domain|server|address)$/i;
const INTERNAL_SUFFIXES = ['.localhost', '.internal', '.local', '.localdomain', '.intranet', '.corp', '.home.arpa'];

/** True for loopback, RFC 1918, link-local, unspecified and internal-only host names and addresses. */
export function isPrivateHost(rawHost: string): boolean {
  let host = rawHost.trim().toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') return false;
  if (host === 'localhost' || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) return true;
  const family = isIP(host);
  if (family === 4) return isPrivateIpv4(host);
  if (family === 6) return isPrivateIpv6(host);
  return false;
}

function isPrivateIpv4(host: string): boolean {
  const [a = 0, b = 0] = host.split('.').map(Number);
  return (
    a === 127 ||
    a === 10 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}

function isPrivateIpv6(host: string): boolean {
  if (host === '::1' || host === '::') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped?.[1] !== undefined) return isPrivateIpv4(mapped[1]);
  // The WHATWG URL parser writes an IPv4-mapped address in hex (`[::ffff:127.0.0.1]` → `::ffff:7f00:1`).
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (mappedHex?.[1] !== undefined && mappedHex[2] !== undefined) {
    const high = parseInt(mappedHex[1], 16);
    const low = parseInt(mappedHex[2], 16);
    return isPrivateIpv4(`${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`);
  }
  const first = parseInt(host.split(':')[0] || '0', 16);
  return (first & 0xffc0) === 0xfe80 || (first & 0xfe00) === 0xfc00;
}

function hostsInText(text: string, key: string): string[] {
  const hosts: string[] = [];
  if (text.includes('://')) {
    for (const match of text.matchAll(URL_IN_TEXT)) {
      try {
        hosts.push(new URL(match[0]).hostname);
      } catch {
        // Not a URL after all; nothing to check.
      }
    }
  } else if (HOST_LIKE_KEY.test(key) && !key.endsWith('_env')) {
    // A bare host, optionally with a port: `10.0.0.5:8088`, `splunk.internal`.
    const bare = /^\[?([^\]\s/]+?)\]?(?::\d+)?$/.exec(text.trim());
    if (bare?.[1] !== undefined) hosts.push(bare[1]);
  }
  return hosts;
}

/** Every string under `value` (walked iteratively) that names a private host. */
export function findPrivateHosts(value: unknown, baseSegments: (string | number)[] = []): HostHit[] {
  const hits: HostHit[] = [];
  const stack: WalkedValue[] = [{ value, key: '', segment: '', parent: null }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const current = item.value;
    if (typeof current === 'string') {
      if ((current.includes('://') || HOST_LIKE_KEY.test(item.key)) && hostsInText(current, item.key).some(isPrivateHost)) {
        hits.push({ segments: [...baseSegments, ...segmentsOf(item)] });
      }
    } else if (Array.isArray(current)) {
      for (let i = 0; i < current.length; i++) stack.push({ value: current[i], key: item.key, segment: i, parent: item });
    } else if (current !== null && typeof current === 'object') {
      for (const key of Object.keys(current)) {
        stack.push({ value: (current as Record<string, unknown>)[key], key, segment: key, parent: item });
      }
    }
  }
  return hits;
}
