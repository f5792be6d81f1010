/**
 * The fleet: which worker processes are alive, what they poll, how busy their hosts are. Read from Temporal itself —
 * the server's worker list (`ListWorkers`, what `temporal worker list` shows), filled by the SDK's worker heartbeats
 * (every worker process installs its Runtime with `workerHeartbeatInterval`, see lib/temporal.ts). No other store.
 *
 * The server keeps a killed worker in its list with its last heartbeat (and no shutdown status), so liveness is
 * decided here: a worker is live while its last heartbeat is at most MC_FLEET_STALE_SECONDS old and it has not
 * reported a shutdown. The Workers of one process (a run worker, a desktop) are grouped into one entry.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config } from '../lib/config';
import { createLogger } from '../lib/log';
import type { FleetReply, FleetWorker } from './schemas';

const log = createLogger('fleet');

type Heartbeat = temporal.api.worker.v1.IWorkerHeartbeat;

const RUNNING = temporal.api.enums.v1.WorkerStatus.WORKER_STATUS_RUNNING;

/** Workers read per answer (pages of the server's list). */
const MAX_WORKERS = 2000;

const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined =>
  t && t.seconds !== undefined && t.seconds !== null ? Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : undefined;

const finite = (n: number | null | undefined): number | null => (typeof n === 'number' && Number.isFinite(n) ? n : null);

const mean = (xs: (number | null)[]): number | null => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : null;
};

/**
 * The live fleet from the heartbeats the server lists: stale or shut-down workers dropped, one entry per process,
 * totals over hosts. Pure, so it is tested without a server.
 */
export function fleetOf(heartbeats: Heartbeat[], nowMs: number, staleAfterSeconds: number): Pick<FleetReply, 'workers' | 'totals'> {
  const byProcess = new Map<string, { beats: Heartbeat[]; last: number }>();
  for (const hb of heartbeats) {
    const at = toMs(hb.heartbeatTime);
    if (at === undefined || nowMs - at > staleAfterSeconds * 1000) continue;
    if (hb.status !== undefined && hb.status !== null && hb.status !== RUNNING) continue;
    const host = hb.hostInfo?.hostName || 'unknown host';
    const key = `${host}/${hb.hostInfo?.processId || hb.workerIdentity || hb.workerInstanceKey}`;
    const entry = byProcess.get(key) ?? { beats: [], last: 0 };
    entry.beats.push(hb);
    entry.last = Math.max(entry.last, at);
    byProcess.set(key, entry);
  }
  const workers: FleetWorker[] = [...byProcess.entries()].map(([key, { beats, last }]) => {
    const newest = beats.reduce((a, b) => ((toMs(b.heartbeatTime) ?? 0) > (toMs(a.heartbeatTime) ?? 0) ? b : a));
    // A Worker with no workflow slots runs activities of its own queue only: a desktop (workers/desktop.ts).
    const activityOnly = (b: Heartbeat) => (b.workflowTaskSlotsInfo?.currentAvailableSlots ?? 0) + (b.workflowTaskSlotsInfo?.currentUsedSlots ?? 0) === 0;
    const started = beats.map((b) => toMs(b.startTime)).filter((t): t is number => t !== undefined);
    return {
      key,
      identity: newest.workerIdentity ?? key,
      hostName: newest.hostInfo?.hostName || 'unknown host',
      processId: newest.hostInfo?.processId || undefined,
      taskQueues: [...new Set(beats.map((b) => b.taskQueue ?? '').filter(Boolean))].sort(),
      desktopQueues: [...new Set(beats.filter(activityOnly).map((b) => b.taskQueue ?? '').filter(Boolean))].sort(),
      kind: beats.every(activityOnly) ? 'desktop' : 'worker',
      status: 'running',
      cpu: finite(newest.hostInfo?.currentHostCpuUsage),
      memory: finite(newest.hostInfo?.currentHostMemUsage),
      inFlightActivities: beats.reduce((n, b) => n + (b.activityTaskSlotsInfo?.currentUsedSlots ?? 0), 0),
      inFlightWorkflowTasks: beats.reduce((n, b) => n + (b.workflowTaskSlotsInfo?.currentUsedSlots ?? 0), 0),
      processedActivities: beats.reduce((n, b) => n + (b.activityTaskSlotsInfo?.totalProcessedTasks ?? 0), 0),
      lastHeartbeat: new Date(last).toISOString(),
      startedAt: started.length ? new Date(Math.min(...started)).toISOString() : undefined,
      sdk: `${newest.sdkName ?? 'sdk'} ${newest.sdkVersion ?? ''}`.trim(),
    };
  });
  workers.sort((a, b) => a.hostName.localeCompare(b.hostName) || a.identity.localeCompare(b.identity));
  // CPU and memory are the host's: count each host once (several worker processes on one host report the same).
  const hosts = new Map<string, FleetWorker>();
  for (const w of workers) if (!hosts.has(w.hostName) || w.lastHeartbeat > hosts.get(w.hostName)!.lastHeartbeat) hosts.set(w.hostName, w);
  return {
    workers,
    totals: {
      workers: workers.length,
      desktops: workers.filter((w) => w.kind === 'desktop').length,
      hosts: hosts.size,
      cpu: mean([...hosts.values()].map((w) => w.cpu)),
      memory: mean([...hosts.values()].map((w) => w.memory)),
      inFlightActivities: workers.reduce((n, w) => n + w.inFlightActivities, 0),
    },
  };
}

export class FleetService {
  private readonly listeners = new Set<(fleet: FleetReply) => void>();
  private timer?: NodeJS.Timeout;
  private last?: FleetReply;

  constructor(
    private readonly client: Client,
    private readonly config: Config,
  ) {}

  /** The live fleet now, from the server's worker list. */
  async read(): Promise<FleetReply> {
    const staleAfterSeconds = this.config.MC_FLEET_STALE_SECONDS;
    const beats: Heartbeat[] = [];
    try {
      let nextPageToken: Uint8Array | undefined;
      do {
        const res = await this.client.workflowService.listWorkers({ namespace: this.config.TEMPORAL_NAMESPACE, pageSize: 200, nextPageToken });
        for (const info of res.workersInfo ?? []) if (info.workerHeartbeat) beats.push(info.workerHeartbeat);
        nextPageToken = res.nextPageToken && res.nextPageToken.length ? res.nextPageToken : undefined;
      } while (nextPageToken && beats.length < MAX_WORKERS);
    } catch (err) {
      const message = (err as Error).message;
      log.debug('could not list workers', { error: message });
      return {
        available: false,
        note: `This Temporal server does not list workers (${message}). It needs worker heartbeats and ListWorkers (Temporal 1.29+, dynamic config frontend.WorkerHeartbeatsEnabled and frontend.ListWorkersEnabled).`,
        at: new Date().toISOString(),
        staleAfterSeconds,
        workers: [],
        totals: { workers: 0, desktops: 0, hosts: 0, cpu: null, memory: null, inFlightActivities: 0 },
      };
    }
    return { available: true, at: new Date().toISOString(), staleAfterSeconds, ...fleetOf(beats, Date.now(), staleAfterSeconds) };
  }

  /**
   * Pushes the fleet to `fn` now and then every heartbeat interval, while anyone listens: one read of the server's
   * list per interval for all listeners of this API process. Returns the unsubscribe function.
   */
  subscribe(fn: (fleet: FleetReply) => void): () => void {
    this.listeners.add(fn);
    if (this.last) fn(this.last);
    if (!this.timer) this.tick();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.last = undefined;
  }

  private tick(): void {
    const everyMs = Math.min(5, this.config.MC_WORKER_HEARTBEAT_SECONDS) * 1000;
    this.timer = setTimeout(() => this.tick(), everyMs);
    void this.read().then((fleet) => {
      if (!this.timer) return;
      this.last = fleet;
      for (const fn of this.listeners) fn(fleet);
    });
  }
}
