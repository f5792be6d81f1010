/**
 * http_fetch: GET a URL and return its body as text, through the shared outbound guard (../net/guarded-http.ts:
 * every address checked against the non-public ranges and MC_FETCH_ALLOWLIST, each redirect hop checked again,
 * the socket pinned to the checked address). Size (MC_FETCH_MAX_BYTES: the rest is cut and reported) and time
 * (MC_FETCH_TIMEOUT_MS for the whole fetch) are limited.
 */
import { z } from 'zod';
import { failureForStatus, guardedRequest, type GuardedResponse, type Lookup } from '../net/guarded-http';
import { defineTool } from './types';

export { blockedReason, embeddedIPv4 } from '../net/guarded-http';

export const HttpFetchArgs = z.object({ url: z.string().url().max(4000) }).strict();
export type HttpFetchArgs = z.infer<typeof HttpFetchArgs>;

export interface FetchOptions {
  allowList: string;
  maxBytes: number;
  timeoutMs: number;
  signal: AbortSignal;
  lookup?: Lookup;
}

/**
 * GET a URL under the guard's rules, following redirects; an HTTP error status is a failure (5xx/429/408
 * retryable, other 4xx not).
 *
 * @example
 * await safeFetch('https://example.com/', { allowList: '', maxBytes: 1e6, timeoutMs: 15000, signal })
 */
export async function safeFetch(url: string, opts: FetchOptions): Promise<GuardedResponse> {
  const res = await guardedRequest(url, {
    who: 'http_fetch',
    headers: { accept: 'text/*, application/json, */*;q=0.5' },
    followRedirects: true,
    ...opts,
  });
  const failure = res.status >= 400 ? failureForStatus('http_fetch', res, 'Fetch') : undefined;
  if (failure) throw failure;
  return res;
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
