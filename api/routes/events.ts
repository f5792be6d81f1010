/**
 * Server-sent events. `/api/events`: every run's activity events, with ids; a client that reconnects with
 * Last-Event-ID gets what it missed (read back from Temporal when this process no longer has it).
 * `/api/runs/:id/stream`: one run's whole state, pushed on every change, starting with the current state.
 */
import type { Request, Response } from 'express';
import { route, type RouteDef } from '../http/route';
import type { RunService } from '../run-service';
import type { RunWatcher, StreamEvent } from '../run-watcher';
import { EventsQuery, RunEventMessage, RunIdParams, RunView } from '../schemas';

function openStream(req: Request, res: Response): (chunk: string) => void {
  res.status(200).set({
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 1000\n\n');
  const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
  req.on('close', () => clearInterval(ping));
  return (chunk) => {
    if (!res.writableEnded) res.write(chunk);
  };
}

const frame = (e: StreamEvent) =>
  `id: ${e.id}\nevent: run-event\ndata: ${JSON.stringify({ runId: e.runId, status: e.status, ...e.event, run: e.run })}\n\n`;

const EVENT_STREAM = 'text/event-stream';

export function eventRoutes(runs: RunService, watcher: RunWatcher): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/api/events',
        tag: 'stream',
        summary: 'Every run\'s activity events (server-sent events)',
        description:
          'Each message is `event: run-event`, `id: <ms>-<seq>-<run id>`, `data:` a RunEventMessage. A client that reconnects with `Last-Event-ID` (or `?lastEventId=`) first gets what it missed, read back from Temporal when this process no longer holds it.',
        query: EventsQuery,
        raw: true,
        responses: { 200: { description: 'The stream; `data` of each message is a RunEventMessage', schema: RunEventMessage, contentType: EVENT_STREAM } },
      },
      async ({ req, res, query }) => {
        const send = openStream(req, res);
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
        for (const e of await watcher.since(lastEventId)) {
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
        responses: { 200: { description: 'The stream; `data` of each message is a RunView', schema: RunView, contentType: EVENT_STREAM }, 404: 'No run with this id' },
      },
      async ({ params, req, res }) => {
        const first = await runs.get(params.id); // 404 before the stream opens
        const send = openStream(req, res);
        send(`event: state\ndata: ${JSON.stringify(first)}\n\n`);
        const unsubscribe = watcher.onState(params.id, (state) => send(`event: state\ndata: ${JSON.stringify(state)}\n\n`));
        req.on('close', unsubscribe);
      },
    ),
  ];
}
