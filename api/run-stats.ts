/**
 * Figures over time for the page's charts and the robots' spend, read from Temporal: visibility lists the runs of
 * a window with their memo (status, robot, tokens, cost), and the final states of recent finished runs give the
 * stage durations. Nothing is kept between answers except the run service's cache of final states, which never
 * change.
 */
import { isValidTimeZone } from '../contracts/robot';
import { STAGES, type StageName } from '../contracts/pipeline';
import { InvalidInput } from './errors';
import type { RunService, RunSummary } from './run-service';
import type { SeriesQuery, SeriesReply, SpendQuery, SpendReply } from './schemas';

/** Runs read from visibility per list, and finished runs whose stage durations are sampled. */
const LIST_LIMIT = 5000;
const SAMPLED_RUNS = 40;

const WINDOWS: Record<SeriesQuery['window'], { bucketSeconds: number; buckets: number }> = {
  '1h': { bucketSeconds: 60, buckets: 60 },
  '24h': { bucketSeconds: 3600, buckets: 24 },
  '7d': { bucketSeconds: 6 * 3600, buckets: 28 },
};

/** Nearest-rank percentile of sorted numbers. */
export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

const tokensOf = (r: RunSummary) => (r.usage ? r.usage.inputTokens + r.usage.outputTokens : 0);

/** The day (YYYY-MM-DD) a time falls on in a time zone. */
export function dayIn(timeZone: string, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

export class RunStats {
  constructor(private readonly runs: RunService) {}

  async series(q: SeriesQuery, now = new Date()): Promise<SeriesReply> {
    const { bucketSeconds, buckets: n } = WINDOWS[q.window];
    const size = bucketSeconds * 1000;
    const first = Math.floor(now.getTime() / size) * size - (n - 1) * size;
    const since = new Date(first);
    const [started, finished] = await Promise.all([
      this.runs.list({ limit: LIST_LIMIT, startedSince: since }),
      this.runs.list({ limit: LIST_LIMIT, closedSince: since }),
    ]);
    const buckets = Array.from({ length: n }, (_, i) => ({ t: new Date(first + i * size).toISOString(), started: 0, done: 0, failed: 0, cancelled: 0, tokens: 0, costUsd: 0 }));
    const at = (iso: string | undefined) => (iso ? Math.floor((Date.parse(iso) - first) / size) : -1);
    for (const r of started) {
      const b = buckets[at(r.startedAt)];
      if (b) b.started++;
    }
    for (const r of finished) {
      const b = buckets[at(r.closedAt)];
      if (!b) continue;
      if (r.status === 'Done') b.done++;
      else if (r.status === 'Failed') b.failed++;
      else if (r.status === 'Cancelled') b.cancelled++;
      b.tokens += tokensOf(r);
      b.costUsd = Math.round((b.costUsd + (r.usage?.costUsd ?? 0)) * 1e6) / 1e6;
    }
    // Stage durations from the final states of the newest completed runs (read from history once, then cached).
    const sample = finished.filter((r) => r.temporalStatus === 'COMPLETED').slice(0, SAMPLED_RUNS);
    const durations = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as Record<StageName, number[]>;
    const views = await Promise.all(sample.map((r) => this.runs.get(r.id).catch(() => undefined)));
    for (const v of views) for (const st of v?.stages ?? []) if (st.status === 'done' && typeof st.durationMs === 'number') durations[st.name].push(st.durationMs);
    const stageDurationsMs = Object.fromEntries(
      STAGES.map((s) => {
        const sorted = durations[s].sort((a, b) => a - b);
        return [s, { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) }];
      }),
    ) as SeriesReply['stageDurationsMs'];
    return {
      window: q.window,
      bucketSeconds,
      buckets,
      stageDurationsMs,
      sampledRuns: views.filter(Boolean).length,
      truncated: started.length >= LIST_LIMIT || finished.length >= LIST_LIMIT,
    };
  }

  async spend(q: SpendQuery, now = new Date()): Promise<SpendReply> {
    const timezone = q.timezone ?? 'UTC';
    if (!isValidTimeZone(timezone)) throw new InvalidInput('timezone: unknown time zone (use an IANA name such as Europe/Berlin or UTC)');
    const days: string[] = [];
    for (let i = q.days - 1; i >= 0; i--) days.push(dayIn(timezone, new Date(now.getTime() - i * 86_400_000)));
    const wanted = new Set(days);
    // A day longer than 24 h (a clock change) or a zone far from UTC: read a day more, then keep the wanted days.
    const runs = await this.runs.list({ limit: LIST_LIMIT, robotId: q.robotId, startedSince: new Date(now.getTime() - (q.days + 1) * 86_400_000) });
    const robots = new Map<string, SpendReply['robots'][number]>();
    for (const r of runs) {
      if (!r.startedAt) continue;
      const day = dayIn(timezone, new Date(r.startedAt));
      if (!wanted.has(day)) continue;
      const robotId = r.robotId ?? 'unknown';
      let entry = robots.get(robotId);
      if (!entry) {
        entry = {
          robotId,
          robotName: r.robotName ?? robotId,
          perDay: days.map((d) => ({ day: d, runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 })),
          total: { runs: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
        };
        robots.set(robotId, entry);
      }
      for (const slot of [entry.perDay[days.indexOf(day)], entry.total]) {
        slot.runs++;
        slot.inputTokens += r.usage?.inputTokens ?? 0;
        slot.outputTokens += r.usage?.outputTokens ?? 0;
        slot.costUsd = Math.round((slot.costUsd + (r.usage?.costUsd ?? 0)) * 1e6) / 1e6;
      }
      if (!entry.lastRun || r.startedAt > entry.lastRun.startedAt) entry.lastRun = { id: r.id, status: r.status, startedAt: r.startedAt };
    }
    return { timezone, days, robots: [...robots.values()].sort((a, b) => a.robotName.localeCompare(b.robotName)), truncated: runs.length >= LIST_LIMIT };
  }
}
