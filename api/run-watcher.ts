/**
 * Watches runs in Temporal and turns their changes into pushed events, without a broker and without a worker
 * of its own: each running run's history is long-polled (`waitNewEvent`), so a stage transition reaches the
 * API within milliseconds of being written; running runs started by any API replica or schedule are found
 * through visibility. The state behind every event is read from Temporal (query, or the result/memo fallback),
 * so several API replicas each see every change, and a client that reconnects catches up from Temporal.
 *
 * Event ids are `<epoch ms>-<seq>-<run id>`: the same on every replica (they come from the run's own event), unique,
 * and enough to resume (Last-Event-ID). Resuming is exact by identity: while this process still holds the last event
 * a client got, the client gets every event published after it here, in the order they went out (events that share
 * a millisecond included). Otherwise the missed events are read back from Temporal, bounded (see `since`).
 */
import { EventEmitter, setMaxListeners } from 'node:events';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createLogger } from '../lib/log';
import type { Payload } from '@temporalio/common';
import type { RunStatus } from '../contracts/pipeline';
import type { RunEvent, RunState } from '../contracts/run';
import type { LiveProgress, RunService, RunView } from './run-service';
import type { RunGlance } from './schemas';

const log = createLogger('watch');

export interface StreamEvent {
  id: string;
  runId: string;
  status: RunStatus;
  event: RunEvent;
  /** The task and robot the event belongs to, and where the run stands (for the activity stream and the board). */
  run?: RunGlance;
}

/** Characters of the task an event carries. */
const GLANCE_TASK_CHARS = 200;

/** What an event says about its run, from the run's state. */
export function glanceOf(view: Partial<RunView>): RunGlance | undefined {
  if (!view.robot || view.task === undefined) return undefined;
  return {
    task: view.task.slice(0, GLANCE_TASK_CHARS),
    robotId: view.robot.id,
    robotName: view.robot.name,
    usage: view.usage,
    currentStage: view.currentStage,
    gate: view.gate?.gate,
    host: view.host?.status,
    startedAt: view.startedAt ?? view.createdAt,
    finishedAt: view.finishedAt,
    ...(view.delivery?.warning ? { deliveryWarning: view.delivery.warning } : {}),
  };
}

export interface RunWatcherOptions {
  /** How often visibility is asked for running runs started elsewhere (ms). */
  discoverEveryMs?: number;
  /** Most runs long-polled at once by this API process. */
  maxWatched?: number;
  /** Events kept in memory for quick resume. */
  bufferSize?: number;
  /** A catch-up from Temporal reaches back at most this far (ms); an older Last-Event-ID starts here. */
  catchupMaxAgeMs?: number;
  /** Most runs a catch-up from Temporal reads. */
  catchupMaxRuns?: number;
  /** Most events a catch-up sends (the newest are kept). */
  catchupMaxEvents?: number;
  /** Most bytes of event data a catch-up sends (the newest are kept). */
  catchupMaxBytes?: number;
}

/** What a reconnecting client gets: the events it missed, and why the list is incomplete when it is. */
export interface CatchUp {
  events: StreamEvent[];
  /** Set when the catch-up was cut to its bounds: the client should reload what it shows from the API. */
  truncated?: string;
}

/**
 * Reading back from Temporal (another replica's client, or one older than this process's memory), events of other
 * runs from this long before the last one are sent again: a replica may publish an event a little after a later
 * one of another run, so this margin trades a few possible duplicates (same ids) for no gap.
 */
export const RESUME_LOOKBACK_MS = 2000;

/** One run being followed: the last event published, its long poll's abort, and whether history was read yet. */
interface Follow {
  lastSeq: number;
  abort: AbortController;
  seen: boolean;
}

const WORKFLOW_TASK_COMPLETED = temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED;

export const eventId = (runId: string, e: RunEvent) => `${Date.parse(e.at)}-${e.seq}-${runId}`;

/** Parses an event id; undefined when it is not one of ours. */
export function parseEventId(id: string | undefined): { at: number; seq: number; runId: string } | undefined {
  const m = /^(\d+)-(\d+)-(.+)$/.exec(id ?? '');
  return m ? { at: Number(m[1]), seq: Number(m[2]), runId: m[3] } : undefined;
}

/** The data line of an event as the stream sends it (its size bounds a catch-up). */
export const eventData = (e: StreamEvent) => JSON.stringify({ runId: e.runId, status: e.status, ...e.event, run: e.run });

/**
 * The events published after the one with id `lastEventId`, in publication order (by identity, not by time: events
 * that share a millisecond are neither dropped nor repeated); undefined when it is not among them.
 */
export function publishedAfter(published: readonly StreamEvent[], lastEventId: string): StreamEvent[] | undefined {
  const i = published.findIndex((e) => e.id === lastEventId);
  return i < 0 ? undefined : published.slice(i + 1);
}

/** Runs `fn` over `items`, at most `n` at once. */
async function mapLimit<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

export class RunWatcher {
  private readonly emitter = new EventEmitter();
  private readonly watched = new Map<string, Follow>();
  /** Last event seq published per run, kept after a run stops being followed so nothing is published twice. */
  private readonly published = new Map<string, number>();
  /** The progress of each run followed, from its newest state (for listings: see RunService.followLive). */
  private readonly progress = new Map<string, LiveProgress>();
  /** Runs followed to their close (bounded): discovery skips them. */
  private readonly finished = new Set<string>();
  private readonly buffer: StreamEvent[] = [];
  private discoverTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Aborts every call to Temporal in flight when the watcher stops. */
  private readonly stopping = new AbortController();
  /** Work in flight, awaited by stop() so nothing touches the connection after the owner closes it. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly opts: Required<RunWatcherOptions>;

  constructor(
    private readonly client: Client,
    private readonly runs: RunService,
    opts: RunWatcherOptions = {},
  ) {
    this.opts = {
      discoverEveryMs: 1000,
      maxWatched: 500,
      bufferSize: 2000,
      catchupMaxAgeMs: 3_600_000,
      catchupMaxRuns: 200,
      catchupMaxEvents: 2000,
      catchupMaxBytes: 1_000_000,
      ...opts,
    };
    this.emitter.setMaxListeners(0);
    // One listener per call in flight (each unlinked when its call ends); hundreds at once are expected.
    setMaxListeners(0, this.stopping.signal);
  }

  /**
   * Run `fn` with a signal of its own that follows `parent`. The Temporal client adds an abort listener to the
   * signal of every call and never removes it, so calls must not share a long-lived signal (it would grow forever).
   */
  private withLinkedAbort<T>(parent: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const own = new AbortController();
    const follow = () => own.abort();
    if (parent.aborted) own.abort();
    else parent.addEventListener('abort', follow, { once: true });
    return this.client.withAbortSignal(own.signal, fn).finally(() => parent.removeEventListener('abort', follow));
  }

  /** Run `fn` against Temporal, abortable by stop() and awaited by it. */
  private track<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.withLinkedAbort(this.stopping.signal, fn);
    this.inFlight.add(p);
    void p.then(
      () => this.inFlight.delete(p),
      () => this.inFlight.delete(p),
    );
    return p;
  }

  start(): void {
    let lastDiscovery: number | undefined;
    const discover = async () => {
      if (this.stopped) return;
      try {
        // Running runs, and runs that closed since the last look (with a margin for visibility lag), so that
        // a short run started elsewhere between two looks is still published in full.
        const now = Date.now();
        const found = await this.track(() =>
          lastDiscovery
            ? this.runs.list({ limit: this.opts.maxWatched, changedSince: new Date(lastDiscovery - 5000) })
            : this.runs.list({ limit: this.opts.maxWatched, runningOnly: true }),
        );
        lastDiscovery = now;
        for (const run of found) if (!this.finished.has(run.id)) this.watch(run.id);
      } catch (err) {
        log.warn('could not list running runs', { error: (err as Error).message });
      }
      if (!this.stopped) this.discoverTimer = setTimeout(discover, this.opts.discoverEveryMs);
    };
    void discover();
  }

  /** Stop following runs; resolves once no call to Temporal is in flight any more. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.discoverTimer);
    this.stopping.abort();
    for (const w of this.watched.values()) w.abort.abort();
    this.emitter.removeAllListeners();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    this.watched.clear();
  }

  /** The progress of a run this process follows, from its newest state; undefined when it does not follow it. */
  progressOf(runId: string): LiveProgress | undefined {
    return this.progress.get(runId);
  }

  /** Subscribe to every event; returns the unsubscribe function. */
  onEvent(fn: (e: StreamEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  /** Subscribe to the state of one run, pushed on every change; returns the unsubscribe function. */
  onState(runId: string, fn: (state: RunView) => void): () => void {
    this.emitter.on(`state:${runId}`, fn);
    this.watch(runId);
    return () => this.emitter.off(`state:${runId}`, fn);
  }

  /**
   * Events after `lastEventId`, for a client that reconnects. From memory, exactly, when this process still holds that
   * event: everything published after it, in publication order. Otherwise from Temporal, bounded: the runs changed
   * since then (at most `catchupMaxRuns`, reaching back at most `catchupMaxAgeMs`), their events after it — exact for
   * the last event's own run (by sequence number), from RESUME_LOOKBACK_MS before it for the others — and at most
   * `catchupMaxEvents` events and `catchupMaxBytes` bytes of them, the newest kept. A cut catch-up says so
   * (`truncated`), so the client can reload from the API instead of trusting it is complete.
   */
  async since(lastEventId: string | undefined): Promise<CatchUp> {
    const last = parseEventId(lastEventId);
    if (!last) return { events: [] };
    const fromMemory = publishedAfter(this.buffer, lastEventId!);
    if (fromMemory) return this.bounded(fromMemory);
    const floor = Math.max(last.at - RESUME_LOOKBACK_MS, Date.now() - this.opts.catchupMaxAgeMs);
    const changed = await this.track(() => this.runs.list({ limit: this.opts.catchupMaxRuns, changedSince: new Date(floor) }));
    const views = await mapLimit(changed, 8, (summary) => this.track(() => this.runs.get(summary.id)).catch(() => undefined));
    const out: StreamEvent[] = [];
    changed.forEach((summary, k) => {
      const view = views[k];
      const run = view ? glanceOf(view) : undefined;
      for (const event of view?.events ?? []) {
        const e: StreamEvent = { id: eventId(summary.id, event), runId: summary.id, status: view!.status, event, run };
        const missed = summary.id === last.runId ? event.seq > last.seq : Date.parse(event.at) >= floor && e.id !== lastEventId;
        if (missed) out.push(e);
      }
    });
    out.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
    const reasons: string[] = [];
    if (last.at < floor + RESUME_LOOKBACK_MS) reasons.push(`reaches back at most ${Math.round(this.opts.catchupMaxAgeMs / 1000)} s`);
    if (changed.length >= this.opts.catchupMaxRuns) reasons.push(`read at most ${this.opts.catchupMaxRuns} runs`);
    return this.bounded(out, reasons);
  }

  /** Keep the newest events within the event and byte bounds. */
  private bounded(events: StreamEvent[], reasons: string[] = []): CatchUp {
    let kept = events;
    if (kept.length > this.opts.catchupMaxEvents) {
      kept = kept.slice(-this.opts.catchupMaxEvents);
      reasons.push(`at most ${this.opts.catchupMaxEvents} events`);
    }
    let bytes = 0;
    let from = kept.length;
    while (from > 0 && bytes + Buffer.byteLength(eventData(kept[from - 1])) <= this.opts.catchupMaxBytes) bytes += Buffer.byteLength(eventData(kept[--from]));
    if (from > 0) {
      kept = kept.slice(from);
      reasons.push(`at most ${this.opts.catchupMaxBytes} bytes`);
    }
    return reasons.length ? { events: kept, truncated: `catch-up cut: ${reasons.join(', ')}` } : { events: kept };
  }

  /** Start following one run (idempotent). Called for runs this API starts, so no discovery delay applies. */
  watch(runId: string): void {
    if (this.stopped || this.watched.has(runId) || this.watched.size >= this.opts.maxWatched) return;
    const entry: Follow = { lastSeq: this.published.get(runId) ?? 0, abort: new AbortController(), seen: false };
    this.watched.set(runId, entry);
    const following = this.follow(runId, entry).finally(() => {
      if (this.watched.get(runId) !== entry) return;
      this.watched.delete(runId);
      this.progress.delete(runId);
    });
    this.inFlight.add(following);
    void following.then(
      () => this.inFlight.delete(following),
      () => this.inFlight.delete(following),
    );
  }

  private async follow(runId: string, entry: Follow): Promise<void> {
    const namespace = this.client.options.namespace;
    let nextPageToken: Uint8Array | undefined;
    let closed = false;
    while (!closed && !entry.abort.signal.aborted && !this.stopped) {
      let res;
      try {
        res = await this.withLinkedAbort(entry.abort.signal, () =>
          this.client.withDeadline(Date.now() + 60_000, () =>
            this.client.workflowService.getWorkflowExecutionHistory({
              namespace,
              execution: { workflowId: runId },
              waitNewEvent: true,
              nextPageToken,
              skipArchival: true,
            }),
          ),
        );
      } catch (err) {
        if (entry.abort.signal.aborted || this.stopped) return;
        const message = (err as Error).message ?? '';
        if (/not found/i.test(message)) return;
        // Deadline or a passing error: ask again shortly.
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      const events = res.history?.events ?? [];
      closed = !res.nextPageToken || res.nextPageToken.length === 0;
      nextPageToken = closed ? undefined : res.nextPageToken;
      // The run's state changes only when a workflow task completes (or the run closes): other events (an
      // activity finishing, a task being scheduled) would only cost a query that finds nothing new, and a query
      // sent while a workflow task is in flight waits for it.
      const changed = events.some((e) => e.eventType === WORKFLOW_TASK_COMPLETED) || events.length > 0 && !entry.seen;
      entry.seen = true;
      if (changed || closed) await this.publish(runId, entry, closed ? this.finalResult(events) : undefined);
    }
    if (closed) {
      this.finished.add(runId);
      if (this.finished.size > 10 * this.opts.maxWatched) this.finished.delete(this.finished.values().next().value!);
    }
  }

  /**
   * The final state of a run that completed, straight from the completion event in the batch just read (no
   * further call); undefined when the run did not complete or payload codecs are in use.
   */
  private finalResult(events: temporal.api.history.v1.IHistoryEvent[]): RunState | undefined {
    const payload = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
    const converter = this.client.options.loadedDataConverter;
    if (!payload || converter.payloadCodecs.length > 0) return undefined;
    try {
      return converter.payloadConverter.fromPayload<RunState>(payload as Payload);
    } catch {
      return undefined;
    }
  }

  private async publish(runId: string, entry: { lastSeq: number }, final?: RunState): Promise<void> {
    if (this.stopped) return;
    let view: RunView;
    try {
      view = final
        ? { ...final, stateSource: 'result', temporal: { workflowId: runId, status: 'COMPLETED' }, links: { temporalUi: this.runs.uiLink(runId) } }
        : await this.track(() => this.runs.live(runId));
    } catch (err) {
      log.debug('could not read run state', { runId, error: (err as Error).message });
      return;
    }
    this.emitter.emit(`state:${runId}`, view);
    if (this.watched.has(runId)) this.progress.set(runId, { currentStage: view.currentStage, usage: view.usage, offline: view.offline });
    const run = glanceOf(view);
    for (const event of view.events ?? []) {
      if (event.seq <= entry.lastSeq) continue;
      entry.lastSeq = event.seq;
      this.published.delete(runId);
      this.published.set(runId, event.seq);
      if (this.published.size > 10 * this.opts.maxWatched) this.published.delete(this.published.keys().next().value!);
      const e: StreamEvent = { id: eventId(runId, event), runId, status: view.status, event, run };
      this.buffer.push(e);
      if (this.buffer.length > this.opts.bufferSize) this.buffer.shift();
      this.emitter.emit('event', e);
    }
  }
}
