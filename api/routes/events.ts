/**
 * Server-sent events. `/api/events`: every run's activity events, with ids; a client that reconnects with
 * Last-Event-ID gets what it missed (read back from Temporal when this process no longer has it).
 * `/api/runs/:id/stream`: one run's whole state, pushed on every change, starting with the current state.
 */
import type { Request, Response } from 'express';
import { Router } from 'express';
import type { RunService } from '../run-service';
import type { RunWatcher, StreamEvent } from '../run-watcher';
import { RunIdParams } from '../schemas';

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
  `id: ${e.id}\nevent: run-event\ndata: ${JSON.stringify({ runId: e.runId, status: e.status, ...e.event })}\n\n`;

export function eventsRouter(runs: RunService, watcher: RunWatcher): Router {
  const r = Router();

  r.get('/api/events', async (req, res) => {
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
    const lastEventId = (req.headers['last-event-id'] as string | undefined) ?? (req.query.lastEventId as string | undefined);
    for (const e of await watcher.since(lastEventId)) {
      sent.add(e.id);
      send(frame(e));
    }
    for (const e of pending) if (!sent.has(e.id)) send(frame(e));
    live = true;
  });

  r.get('/api/runs/:id/stream', async (req, res) => {
    const { id } = RunIdParams.parse(req.params);
    const first = await runs.get(id); // 404 before the stream opens
    const send = openStream(req, res);
    send(`event: state\ndata: ${JSON.stringify(first)}\n\n`);
    const unsubscribe = watcher.onState(id, (state) => send(`event: state\ndata: ${JSON.stringify(state)}\n\n`));
    req.on('close', unsubscribe);
  });

  return r;
}
