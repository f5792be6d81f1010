/**
 * The activity stream as it is when the page opens: recent events of recent runs, read from Temporal (visibility
 * finds the runs, each run's state holds its events), each naming its run's task and robot. Bounded so that one
 * chatty robot cannot drown the rest: a few runs per robot are read, and at most `perRobot` entries per robot are
 * answered. Live events then arrive over GET /api/events.
 */
import { eventId, glanceOf } from './run-watcher';
import type { RunService, RunSummary } from './run-service';
import type { ActivityQuery, RunEventMessage } from './schemas';

/** Recent runs looked at, runs read per robot, and states read at once. */
const RUNS_LISTED = 80;
const RUNS_READ = 24;
const RUNS_PER_ROBOT = 4;
const PARALLEL_READS = 6;

export type ActivityEntry = RunEventMessage & { id: string };

/** Picks the runs to read: newest first, at most `perRobot` of each robot, `max` in all. */
export function pickRuns(runs: RunSummary[], perRobot: number, max: number): RunSummary[] {
  const seen = new Map<string, number>();
  const out: RunSummary[] = [];
  for (const r of runs) {
    const robot = r.robotId ?? 'unknown';
    const n = seen.get(robot) ?? 0;
    if (n >= perRobot) continue;
    seen.set(robot, n + 1);
    out.push(r);
    if (out.length >= max) break;
  }
  return out;
}

/** Newest first, at most `perRobot` entries of one robot, `limit` in all. */
export function capEntries(entries: ActivityEntry[], perRobot: number, limit: number): ActivityEntry[] {
  const sorted = [...entries].sort((a, b) => b.at.localeCompare(a.at) || b.seq - a.seq);
  const seen = new Map<string, number>();
  const out: ActivityEntry[] = [];
  for (const e of sorted) {
    const robot = e.run?.robotId ?? 'unknown';
    const n = seen.get(robot) ?? 0;
    if (n >= perRobot) continue;
    seen.set(robot, n + 1);
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

export class ActivityFeed {
  constructor(private readonly runs: RunService) {}

  async recent(q: ActivityQuery): Promise<{ events: ActivityEntry[] }> {
    const listed = await this.runs.list({ limit: RUNS_LISTED, robotId: q.robotId });
    // One robot asked for: its recent runs. A kind asked for: look further back, it may be rarer.
    const chosen = q.robotId ? listed.slice(0, RUNS_READ) : pickRuns(listed, q.kind ? 2 * RUNS_PER_ROBOT : RUNS_PER_ROBOT, q.kind ? 2 * RUNS_READ : RUNS_READ);
    const entries: ActivityEntry[] = [];
    for (let i = 0; i < chosen.length; i += PARALLEL_READS) {
      const views = await Promise.all(chosen.slice(i, i + PARALLEL_READS).map((r) => this.runs.get(r.id).catch(() => undefined)));
      for (const view of views) {
        if (!view) continue;
        const run = glanceOf(view);
        for (const event of view.events ?? []) {
          if (q.kind && event.type.split('.')[0] !== q.kind) continue;
          entries.push({ id: eventId(view.runId, event), runId: view.runId, status: view.status, ...event, ...(run ? { run } : {}) });
        }
      }
    }
    return { events: capEntries(entries, q.perRobot, q.limit) };
  }
}
