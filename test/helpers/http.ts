/** Small HTTP helpers for tests: a JSON client for the API, and a local receiver that records webhook POSTs. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../../testkit/temporal';

export interface HttpResult {
  status: number;
  json: any;
  text: string;
  headers: Headers;
}
/** Kept for the tests that name it. */
export type ApiReply = HttpResult;

/**
 * `call(method, path, body?, extra?)`: a string body is sent as it is (raw), any other body as JSON; `extra` is
 * either extra headers or, as a string, a raw body to send instead.
 */
export function apiClient(baseUrl: () => string, key: string) {
  return async function call(method: string, url: string, body?: unknown, extra?: Record<string, string> | string): Promise<HttpResult> {
    const raw = typeof extra === 'string' ? extra : typeof body === 'string' ? body : undefined;
    const headers = typeof extra === 'object' ? extra : {};
    const res = await fetch(`${baseUrl()}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: raw ?? (body !== undefined ? JSON.stringify(body) : undefined),
    });
    return { status: res.status, ...(await readBody(res)), headers: res.headers };
  };
}

/** `waitFor(id, check, timeoutMs?)`: poll `GET /api/runs/:id` until the run's state passes `check`, and return it. */
export function runWaiter(call: ReturnType<typeof apiClient>) {
  return async function waitFor(id: string, check: (run: any) => boolean, timeoutMs = 20000): Promise<any> {
    return eventually(async () => {
      const r = await call('GET', `/api/runs/${id}`);
      return r.status === 200 && check(r.json) ? r.json : undefined;
    }, timeoutMs);
  };
}

export interface Receiver {
  url: string;
  received: { path: string; headers: http.IncomingHttpHeaders; body: any }[];
  close(): Promise<void>;
}

/** A local webhook receiver (the escalation contact in tests). */
export async function startReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      received.push({ path: req.url ?? '/', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A response's text, and its JSON when the text is JSON. */
export async function readBody(res: Response): Promise<{ text: string; json: any }> {
  const text = await res.text();
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    return { text, json: undefined };
  }
}
