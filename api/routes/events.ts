/**
 * Server-sent events. `/api/events`: every run's activity events, with ids; a client that reconnects with
 * Last-Event-ID gets what it missed (exactly, from this process's memory, or read back from Temporal, bounded).
 * `/api/runs/:id/stream`: one run's whole state, pushed on every change, starting with the current state.
 * Each credential may hold at most MC_SSE_MAX_PER_KEY streams open on this process (429 beyond).
 */
import type { Request, Response } from 'express';
import { RateLimited } from '../errors';
import { principalOf, addressOf } from '../http/rate-limits';
import { route, type RouteDef } from '../http/route';
import type { RunService } from '../run-service';
import { eventData, type RunWatcher, type StreamEvent } from '../run-watcher';
import { EventsQuery, RunEventMessage, RunIdParams, RunView } from '../schemas';

/**
 * Open the event stream. A comment line every `pingMs` keeps proxies from closing an idle stream; a stream opened
 * with the page's cookie also checks its session then, and ends once it is signed out.
 */
function openStream(req: Request, res: Response, pingMs: number): (chunk: string) => void {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 1000\n\n');
  const sessionValid = res.locals.sessionValid as (() => Promise<boolean>) | undefined;
  const ping = setInterval(() => {
    res.write(': ping\n\n');
    if (sessionValid) sessionValid().then((ok) => ok || res.end(), () => undefined);
  }, pingMs);
  req.on('close', () => clearInterval(ping));
  return (chunk) => {
    if (!res.writableEnded) res.write(chunk);
  };
}

const frame = (e: StreamEvent) => `id: ${e.id}\nevent: run-event\ndata: ${eventData(e)}\n\n`;

const EVENT_STREAM = 'text/event-stream';

/**
 * Open streams per credential. Counted by hand: a rate limiter counts requests in a window, while a stream is one
 * request that stays open; this counts what is open now and forgets a stream when its connection closes.
 */
export class StreamCounter {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  /** Count one more stream for the request's credential, or throw RateLimited; released when the request closes. */
  admit(req: Request, res: Response): void {
    const who = principalOf(res) ?? addressOf(req);
    const n = this.open.get(who) ?? 0;
    if (n >= this.max) throw new RateLimited(`too many open event streams: at most ${this.max} per credential (MC_SSE_MAX_PER_KEY); close one first`, 5);
    this.open.set(who, n + 1);
    req.once('close', () => {
      const left = (this.open.get(who) ?? 1) - 1;
      if (left > 0) this.open.set(who, left);
      else this.open.delete(who);
    });
  }
}

export function eventRoutes(runs: RunService, watcher: RunWatcher, opts: { maxStreamsPerKey: number; pingMs: number }): RouteDef[] {
  const streams = new StreamCounter(opts.maxStreamsPerKey);
  return [
    route(
      {
        method: 'get',
        path: '/api/events',
        tag: 'stream',
        summary: 'Every run\'s activity events (server-sent events)',
        description:
          'Each message is `event: run-event`, `id: <ms>-<seq>-<run id>`, `data:` a RunEventMessage. A client that reconnects with `Last-Event-ID` (or `?lastEventId=`) first gets what it missed: exactly the events published after that one, while this process still holds it; otherwise read back from Temporal, bounded (MC_SSE_CATCHUP_*: how far back, how many runs, events and bytes; events of other runs from 2 s before the last one may come again). A cut catch-up is announced first by `event: catchup-truncated` (data `{ reason }`): reload what you show from the API.',
        query: EventsQuery,
        raw: true,
        responses: {
          200: { description: 'The stream; `data` of each message is a RunEventMessage', schema: RunEventMessage, contentType: EVENT_STREAM },
          429: 'More than MC_SSE_MAX_PER_KEY streams open with this credential',
        },
      },
      async ({ req, res, query }) => {
        streams.admit(req, res);
        const send = openStream(req, res, opts.pingMs);
        // Buffer live events while the catch-up is read, then send both in order without duplicates.
        const pending: StreamEvent[] = [];
        let live = false;
        const sent = new Set<string>();
        const unsubscribe = watcher.onEvent((e) => {
          if (!live) return void pending.push(e);
          if (!sent.has(e.id)) send(frame(e));
        });
        req.on('close', unsubscribe);
        const lastEventId = (req.headers['last-event-id'] as string | undefined) ?? query.lastEventId;
        const catchUp = await watcher.since(lastEventId);
        if (catchUp.truncated) send(`event: catchup-truncated\ndata: ${JSON.stringify({ reason: catchUp.truncated })}\n\n`);
        for (const e of catchUp.events) {
          sent.add(e.id);
          send(frame(e));
        }
        for (const e of pending) if (!sent.has(e.id)) send(frame(e));
        live = true;
      },
    ),
    route(
      {
        method: 'get',
        path: '/api/runs/:id/stream',
        tag: 'stream',
        summary: 'One run\'s whole state, pushed on every change (server-sent events)',
        description: 'Each message is `event: state` with the run (as GET /api/runs/:id answers it) as `data`: first the current state, then one per change.',
        params: RunIdParams,
        raw: true,
        responses: {
          200: { description: 'The stream; `data` of each message is a RunView', schema: RunView, contentType: EVENT_STREAM },
          404: 'No run with this id',
          429: 'More than MC_SSE_MAX_PER_KEY streams open with this credential',
        },
      },
      async ({ params, req, res }) => {
        const first = await runs.get(params.id); // 404 before the stream opens
        streams.admit(req, res);
        const send = openStream(req, res, opts.pingMs);
        send(`event: state\ndata: ${JSON.stringify(first)}\n\n`);
        const unsubscribe = watcher.onState(params.id, (state) => send(`event: state\ndata: ${JSON.stringify(state)}\n\n`));
        req.on('close', unsubscribe);
      },
    ),
  ];
}
