/**
 * http_fetch: GET a URL and return its body as text.
 *
 * Server-side request forgery is the danger: a planner (or a prompt injected into a fetched page) could point
 * the worker at 127.0.0.1, the cloud metadata service or the office network. So, for the first request and for
 * every redirect hop (redirects are followed by hand, never by the HTTP client):
 *  1. the URL is parsed with the WHATWG parser, which already turns numeric hosts (2130706433, 0x7f000001,
 *     017700000001, 127.1) into dotted IPv4;
 *  2. the host name is resolved with dns.lookup (all addresses) and EVERY address is checked — loopback, private,
 *     shared, link-local (169.254.169.254 metadata), unspecified, multicast, reserved, and IPv6 forms (::1,
 *     fc00::/7, fe80::/10, and IPv4 embedded in ::ffff:0:0/96, ::/96, 64:ff9b::/96, 2002::/16) are refused
 *     unless MC_FETCH_ALLOWLIST names the host name or a CIDR holding the address;
 *  3. the socket connects to the address that was checked (not to the name again, so DNS rebinding between
 *     check and connect changes nothing); TLS still verifies the certificate against the host name.
 * Size (MC_FETCH_MAX_BYTES: the rest is cut and reported) and time (MC_FETCH_TIMEOUT_MS for the whole fetch)
 * are limited.
 */
import dns from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineTool } from './types';

export const HttpFetchArgs = z.object({ url: z.string().url().max(4000) }).strict();
export type HttpFetchArgs = z.infer<typeof HttpFetchArgs>;

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

/** Resolve and check one URL's host name; the address to connect to, or a FetchBlocked failure. */
export async function checkUrl(url: URL, allow: AllowList, lookup: Lookup = systemLookup): Promise<{ address: string; family: number }> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`http_fetch refused ${url.href}: only http and https URLs`);
  if (url.username || url.password) throw refuse(`http_fetch refused ${url.href}: URLs with credentials are not fetched`);
  const hostname = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  let addresses: { address: string; family: number }[];
  try {
    addresses = net.isIP(hostname) ? [{ address: hostname, family: net.isIP(hostname) }] : await lookup(hostname);
  } catch (err) {
    throw ApplicationFailure.create({ message: `http_fetch could not resolve ${hostname}: ${(err as Error).message}`, type: 'FetchFailed', nonRetryable: false });
  }
  if (addresses.length === 0) throw refuse(`http_fetch refused ${url.href}: ${hostname} has no address`);
  const nameAllowed = allow.hostnames.has(hostname.replace(/\.$/, ''));
  for (const a of addresses) {
    const reason = blockedReason(a.address);
    if (!reason || nameAllowed) continue;
    const inner = a.family === 6 ? embeddedIPv4(a.address) : undefined;
    const allowed = allow.cidrs.check(a.address, a.family === 4 ? 'ipv4' : 'ipv6') || (inner !== undefined && allow.cidrs.check(inner, 'ipv4'));
    if (!allowed) throw refuse(`http_fetch refused ${url.href}: ${a.address} is ${reason} (allow it with MC_FETCH_ALLOWLIST)`);
  }
  return addresses[0];
}

interface Hop {
  status: number;
  location?: string;
  contentType?: string;
  body: string;
  bytes: number;
  truncated: boolean;
}

/** One GET to a checked address; the body is read up to maxBytes. */
function getOnce(url: URL, target: { address: string; family: number }, maxBytes: number, signal: AbortSignal): Promise<Hop> {
  const isHttps = url.protocol === 'https:';
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise<Hop>((resolve, reject) => {
    const req = (isHttps ? https : http).request(
      {
        host: target.address,
        family: target.family,
        port: url.port || (isHttps ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers: { host: url.host, 'user-agent': 'mission-control-http-fetch/1', accept: 'text/*, application/json, */*;q=0.5' },
        // SNI and certificate checks use the name, while the socket goes to the checked address.
        ...(isHttps && !net.isIP(hostname) ? { servername: hostname } : {}),
        signal,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        let truncated = false;
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            location: res.headers.location,
            contentType: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
            bytes,
            truncated,
          });
        if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400) {
          res.resume();
          return done();
        }
        res.on('data', (chunk: Buffer) => {
          const room = maxBytes - bytes;
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
    req.end();
  });
}

export interface FetchOptions {
  allowList: string;
  maxBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
  lookup?: Lookup;
}

export interface FetchResult {
  url: string;
  status: number;
  contentType?: string;
  body: string;
  bytes: number;
  truncated: boolean;
  redirects: string[];
}

/**
 * GET a URL under the rules above.
 *
 * @example
 * await safeFetch('https://example.com/', { allowList: '', maxBytes: 1e6, timeoutMs: 15000, signal })
 */
export async function safeFetch(raw: string, opts: FetchOptions): Promise<FetchResult> {
  const allow = parseAllowList(opts.allowList);
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  let url = new URL(raw);
  const redirects: string[] = [];
  for (let hop = 0; ; hop++) {
    const target = await checkUrl(url, allow, opts.lookup);
    let res: Hop;
    try {
      res = await getOnce(url, target, opts.maxBytes, signal);
    } catch (err) {
      if (opts.signal.aborted) throw err;
      const timedOut = signal.aborted;
      throw ApplicationFailure.create({
        message: `http_fetch ${url.href} failed: ${timedOut ? `no answer within ${opts.timeoutMs} ms` : (err as Error).message}`,
        type: 'FetchFailed',
        nonRetryable: false,
      });
    }
    if (res.status >= 300 && res.status < 400 && res.location) {
      if (hop >= MAX_REDIRECTS) throw refuse(`http_fetch stopped after ${MAX_REDIRECTS} redirects at ${url.href}`);
      url = new URL(res.location, url);
      redirects.push(url.href);
      continue;
    }
    if (res.status >= 400) {
      throw ApplicationFailure.create({
        message: `http_fetch ${url.href} answered HTTP ${res.status}`,
        type: 'FetchFailed',
        nonRetryable: res.status < 500 && res.status !== 429 && res.status !== 408,
      });
    }
    return { url: url.href, status: res.status, contentType: res.contentType, body: res.body, bytes: res.bytes, truncated: res.truncated, redirects };
  }
}

export const httpFetchTool = defineTool<HttpFetchArgs>({
  name: 'http_fetch',
  description: 'GET a public http(s) URL and return the body as text. Args: {"url": string}.',
  args: HttpFetchArgs,
  placement: 'worker',
  async run(args, ctx) {
    const r = await safeFetch(args.url, {
      allowList: ctx.config.MC_FETCH_ALLOWLIST,
      maxBytes: ctx.config.MC_FETCH_MAX_BYTES,
      timeoutMs: ctx.config.MC_FETCH_TIMEOUT_MS,
      signal: ctx.signal,
    });
    const note = r.truncated ? `\n\n[http_fetch: body cut at ${r.bytes} bytes (MC_FETCH_MAX_BYTES)]` : '';
    return {
      text: r.body + note,
      ranOn: { url: r.url, status: r.status, contentType: r.contentType, bytes: r.bytes, truncated: r.truncated, redirects: r.redirects },
    };
  },
});
