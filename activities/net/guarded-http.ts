/**
 * The one way activities reach a URL a user, a robot definition or a model chose: http_fetch, gate escalations,
 * delivery webhooks. Server-side request forgery is the danger — a planner (or a prompt injected into a fetched
 * page, or a robot definition) could point the worker at 127.0.0.1, the cloud metadata service or the office
 * network. So, for the first request and for every redirect hop (redirects are followed by hand, never by the HTTP
 * client, and only where the caller asks for it):
 *  1. the URL is parsed with the WHATWG parser, which already turns numeric hosts (2130706433, 0x7f000001,
 *     017700000001, 127.1) into dotted IPv4; only http(s), no credentials in the URL;
 *  2. the host name is resolved with dns.lookup (all addresses) and EVERY address is checked — loopback, private,
 *     shared, link-local (169.254.169.254 metadata), unspecified, multicast, reserved, and IPv6 forms (::1,
 *     fc00::/7, fe80::/10, NAT64 64:ff9b:1::/48, and IPv4 embedded in ::ffff:0:0/96, ::/96, 64:ff9b::/96,
 *     2002::/16) are refused unless the allow-list (MC_FETCH_ALLOWLIST) names the host name or a CIDR holding
 *     the address;
 *  3. the socket connects to the address that was checked (not to the name again, so DNS rebinding between
 *     check and connect changes nothing); TLS still verifies the certificate against the host name.
 * Size (the rest is cut and reported) and time (for the whole request, all redirects) are limited.
 *
 * Address ranges are checked with Node's own net.BlockList (a maintained part of the runtime), not by hand.
 */
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';

const MAX_REDIRECTS = 5;

/** Address ranges no fetch may reach unless allow-listed, with the reason shown in the refusal. */
const BLOCKED: [string, number, 'ipv4' | 'ipv6', string][] = [
  ['0.0.0.0', 8, 'ipv4', 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'ipv4', 'a private address'],
  ['100.64.0.0', 10, 'ipv4', 'a shared (carrier-grade NAT) address'],
  ['127.0.0.0', 8, 'ipv4', 'a loopback address'],
  ['169.254.0.0', 16, 'ipv4', 'a link-local address (cloud metadata lives here)'],
  ['172.16.0.0', 12, 'ipv4', 'a private address'],
  ['192.0.0.0', 24, 'ipv4', 'an IETF protocol address'],
  ['192.0.2.0', 24, 'ipv4', 'a documentation address'],
  ['192.168.0.0', 16, 'ipv4', 'a private address'],
  ['198.18.0.0', 15, 'ipv4', 'a benchmarking address'],
  ['198.51.100.0', 24, 'ipv4', 'a documentation address'],
  ['203.0.113.0', 24, 'ipv4', 'a documentation address'],
  ['224.0.0.0', 4, 'ipv4', 'a multicast address'],
  ['240.0.0.0', 4, 'ipv4', 'a reserved address'],
  ['::', 128, 'ipv6', 'the unspecified address'],
  ['::1', 128, 'ipv6', 'a loopback address'],
  ['fc00::', 7, 'ipv6', 'a unique-local (private) address'],
  ['64:ff9b:1::', 48, 'ipv6', 'a local-use NAT64 address (it reaches IPv4 networks behind the translator)'],
  ['fe80::', 10, 'ipv6', 'a link-local address'],
  ['fec0::', 10, 'ipv6', 'a site-local address'],
  ['ff00::', 8, 'ipv6', 'a multicast address'],
  ['100::', 64, 'ipv6', 'a discard address'],
  ['2001:db8::', 32, 'ipv6', 'a documentation address'],
];

/** The 16 bytes of an IPv6 address (with or without an embedded dotted IPv4 tail). */
function ipv6Bytes(ip: string): number[] {
  let text = ip.toLowerCase().split('%')[0];
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    tail.push(...v4[1].split('.').map(Number));
    text = text.slice(0, -v4[1].length) + '0:0';
  }
  const [head, rest] = text.split('::');
  const words = (s: string | undefined) => (s ? s.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const r = rest === undefined ? [] : words(rest);
  const all = rest === undefined ? h : [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  const bytes = all.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** The IPv4 address hidden in an IPv6 one (mapped, compatible, NAT64, 6to4), if any. */
export function embeddedIPv4(ip: string): string | undefined {
  const b = ipv6Bytes(ip);
  const zero = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const dotted = (at: number) => b.slice(at, at + 4).join('.');
  if (zero(0, 10) && b[10] === 0xff && b[11] === 0xff) return dotted(12); // ::ffff:a.b.c.d
  if (zero(0, 12) && !zero(12, 16) && !(zero(12, 15) && b[15] === 1)) return dotted(12); // ::a.b.c.d (deprecated)
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zero(4, 12)) return dotted(12); // 64:ff9b::/96
  if (b[0] === 0x20 && b[1] === 0x02) return dotted(2); // 2002::/16 6to4
  return undefined;
}

const blockList = new net.BlockList();
const reasons: { list: net.BlockList; reason: string }[] = BLOCKED.map(([addr, prefix, type, reason]) => {
  const list = new net.BlockList();
  list.addSubnet(addr, prefix, type);
  blockList.addSubnet(addr, prefix, type);
  return { list, reason };
});

/**
 * Why an address may not be fetched, or undefined when it is a public address.
 *
 * @example
 * blockedReason('::ffff:127.0.0.1') // → 'a loopback address (IPv4 127.0.0.1 inside an IPv6 address)'
 */
export function blockedReason(ip: string): string | undefined {
  const family = net.isIP(ip);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (family === 6) {
    const inner = embeddedIPv4(ip);
    if (inner) {
      const r = blockedReason(inner);
      return r ? `${r} (IPv4 ${inner} inside an IPv6 address)` : undefined;
    }
  }
  if (!blockList.check(ip, type)) return undefined;
  return reasons.find((r) => r.list.check(ip, type))?.reason ?? 'a non-public address';
}

/** MC_FETCH_ALLOWLIST parsed: host names (exact, case-insensitive) and CIDRs / single addresses. */
export interface AllowList {
  hostnames: Set<string>;
  cidrs: net.BlockList;
}

export function parseAllowList(raw: string): AllowList {
  const hostnames = new Set<string>();
  const cidrs = new net.BlockList();
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [addr, prefix] = entry.split('/');
    const family = net.isIP(addr);
    if (family) cidrs.addSubnet(addr, prefix ? Number(prefix) : family === 4 ? 32 : 128, family === 4 ? 'ipv4' : 'ipv6');
    else hostnames.add(entry.toLowerCase().replace(/\.$/, ''));
  }
  return { hostnames, cidrs };
}

const refuse = (message: string) => ApplicationFailure.create({ message, type: 'FetchBlocked', nonRetryable: true });

export type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;
const systemLookup: Lookup = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * Resolve and check one URL's host name; the address to connect to, or a non-retryable FetchBlocked failure.
 * `who` names the caller in the refusal ("http_fetch", "escalation webhook", …).
 */
export async function checkUrl(url: URL, allow: AllowList, lookup: Lookup = systemLookup, who = 'http_fetch'): Promise<{ address: string; family: number }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`${who} refused ${url.href}: only http and https URLs`);
  if (url.username || url.password) throw refuse(`${who} refused ${url.href}: URLs with credentials are not fetched`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  let addresses: { address: string; family: number }[];
  try {
    addresses = net.isIP(hostname) ? [{ address: hostname, family: net.isIP(hostname) }] : await lookup(hostname);
  } catch (err) {
    throw ApplicationFailure.create({ message: `${who} could not resolve ${hostname}: ${(err as Error).message}`, type: 'FetchFailed', nonRetryable: false });
  }
  if (addresses.length === 0) throw refuse(`${who} refused ${url.href}: ${hostname} has no address`);
  const nameAllowed = allow.hostnames.has(hostname.replace(/\.$/, ''));
  for (const a of addresses) {
    const reason = blockedReason(a.address);
    if (!reason || nameAllowed) continue;
    const inner = a.family === 6 ? embeddedIPv4(a.address) : undefined;
    const allowed = allow.cidrs.check(a.address, a.family === 4 ? 'ipv4' : 'ipv6') || (inner !== undefined && allow.cidrs.check(inner, 'ipv4'));
    if (!allowed) throw refuse(`${who} refused ${url.href}: ${a.address} is ${reason} (allow it with MC_FETCH_ALLOWLIST)`);
  }
  return addresses[0];
}

interface Hop {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  bytes: number;
  truncated: boolean;
}

interface RequestSpec {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  maxBytes: number;
  signal: AbortSignal;
}

/** One request to a checked address; the body is read up to maxBytes (not at all for a redirect). */
function requestOnce(url: URL, target: { address: string; family: number }, spec: RequestSpec): Promise<Hop> {
  const isHttps = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise<Hop>((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        host: target.address,
        family: target.family,
        port: url.port || (isHttps ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: spec.method,
        headers: { ...spec.headers, host: url.host },
        // SNI and certificate checks use the name, while the socket goes to the checked address.
        ...(isHttps && !net.isIP(hostname) ? { servername: hostname } : {}),
        signal: spec.signal,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let truncated = false;
        const done = () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), bytes, truncated });
        if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400) {
          res.resume();
          return done();
        }
        res.on('data', (chunk: Buffer) => {
          const room = spec.maxBytes - bytes;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            bytes += room;
            truncated = true;
            res.destroy();
            return done();
          }
          chunks.push(chunk);
          bytes += chunk.length;
        });
        res.on('end', done);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

export interface GuardedRequestOptions {
  /** Who asks, for messages: "http_fetch", "escalation webhook", "webhook delivery". */
  who: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Follow redirects (each hop checked again), up to 5. Off: a 3xx is returned as it is. */
  followRedirects?: boolean;
  /** MC_FETCH_ALLOWLIST: host names and CIDRs allowed although non-public. */
  allowList: string;
  maxBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
  lookup?: Lookup;
}

export interface GuardedResponse {
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  contentType?: string;
  body: string;
  bytes: number;
  truncated: boolean;
  redirects: string[];
}

/**
 * One request under the rules above. Network errors and timeouts are retryable `FetchFailed` failures (Temporal
 * retries the activity); a refused address is a non-retryable `FetchBlocked`. Any HTTP status is returned: the
 * caller decides what it means (see `failureForStatus`).
 */
export async function guardedRequest(raw: string, opts: GuardedRequestOptions): Promise<GuardedResponse> {
  const allow = parseAllowList(opts.allowList);
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(`${opts.who} refused ${raw.slice(0, 200)}: not a URL`);
  }
  const redirects: string[] = [];
  for (let hop = 0; ; hop++) {
    const target = await checkUrl(url, allow, opts.lookup, opts.who);
    let res: Hop;
    try {
      res = await requestOnce(url, target, {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'mission-control/1', ...opts.headers },
        body: opts.body,
        maxBytes: opts.maxBytes,
        signal,
      });
    } catch (err) {
      if (opts.signal.aborted) throw err;
      const timedOut = signal.aborted;
      throw ApplicationFailure.create({
        message: `${opts.who} ${url.href} failed: ${timedOut ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message}`,
        type: 'FetchFailed',
        nonRetryable: false,
      });
    }
    const location = res.headers.location;
    if (opts.followRedirects && res.status >= 300 && res.status < 400 && location) {
      if (hop >= MAX_REDIRECTS) throw refuse(`${opts.who} stopped after ${MAX_REDIRECTS} redirects at ${url.href}`);
      url = new URL(location, url);
      redirects.push(url.href);
      continue;
    }
    const contentType = res.headers['content-type'];
    return { url: url.href, status: res.status, headers: res.headers, contentType, body: res.body, bytes: res.bytes, truncated: res.truncated, redirects };
  }
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), capped; undefined when absent or bad. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now(), capMs = 10 * 60_000): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const ms = /^\d+$/.test(v.trim()) ? Number(v.trim()) * 1000 : Date.parse(v) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, capMs) : undefined;
}

/**
 * What a status means for an outbound call, the way Temporal should treat it: 2xx → undefined (success);
 * 408/429/5xx → retryable (`<type>Unavailable`, honouring Retry-After as the next retry delay); any other status
 * (other 4xx, an unfollowed 3xx) → non-retryable (`<type>Rejected`).
 */
export function failureForStatus(who: string, res: Pick<GuardedResponse, 'status' | 'url' | 'headers'>, type: string): ApplicationFailure | undefined {
  if (res.status >= 200 && res.status < 300) return undefined;
  const message = `${who} ${res.url} answered HTTP ${res.status}`;
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    const delay = retryAfterMs(res.headers['retry-after']);
    return ApplicationFailure.create({ message, type: `${type}Unavailable`, nonRetryable: false, ...(delay !== undefined ? { nextRetryDelay: delay } : {}) });
  }
  return ApplicationFailure.create({ message, type: `${type}Rejected`, nonRetryable: true });
}
