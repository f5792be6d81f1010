/**
 * What the page reads besides runs and robots: the live fleet (and its stream), the activity stream as it is on
 * opening, figures over time for the charts, spend per robot per day, and a run's recovery from lost workers. All
 * from Temporal (the worker list, visibility, run states and histories); nothing from one process's memory.
 */
import { route, type RouteDef } from '../http/route';
import type { ActivityFeed } from '../activity-feed';
import type { FleetService } from '../fleet';
import { readRecovery } from '../recovery';
import type { RunService } from '../run-service';
import type { RunStats } from '../run-stats';
import type { Client } from '@temporalio/client';
import { ActivityQuery, ActivityReply, FleetReply, RecoveryReply, RunIdParams, SeriesQuery, SeriesReply, SpendQuery, SpendReply } from '../schemas';

export interface InsightDeps {
  client: Client;
  runs: RunService;
  fleet: FleetService;
  activity: ActivityFeed;
  stats: RunStats;
}

export function insightRoutes({ client, runs, fleet, activity, stats }: InsightDeps): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/api/fleet',
        tag: 'fleet',
        summary: 'The live workers ("desktops"): task queues, host CPU and memory, activities in flight',
        description:
          'From the Temporal server\'s worker list, which the SDK\'s worker heartbeats fill (every MC_WORKER_HEARTBEAT_SECONDS). A worker whose last heartbeat is older than MC_FLEET_STALE_SECONDS, or that reported its shutdown, is not listed.',
        responses: { 200: ['The fleet', FleetReply] },
      },
      () => fleet.read(),
    ),
    route(
      {
        method: 'get',
        path: '/api/fleet/stream',
        tag: 'fleet',
        summary: 'The live fleet, pushed every heartbeat interval (server-sent events)',
        description: 'Each message is `event: fleet` with the fleet (as GET /api/fleet answers it) as `data`.',
        raw: true,
        responses: { 200: { description: 'The stream; `data` of each message is a Fleet', schema: FleetReply, contentType: 'text/event-stream' } },
      },
      ({ req, res }) => {
        res.status(200).set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.flushHeaders();
        res.write('retry: 2000\n\n');
        const unsubscribe = fleet.subscribe((f) => {
          if (!res.writableEnded) res.write(`event: fleet\ndata: ${JSON.stringify(f)}\n\n`);
        });
        req.on('close', unsubscribe);
      },
    ),
    route(
      {
        method: 'get',
        path: '/api/activity',
        tag: 'stream',
        summary: 'Recent activity: the newest events of recent runs, each naming its task and robot',
        description:
          'Read from Temporal (visibility finds the runs, their states hold the events): what the activity stream shows on opening, before GET /api/events pushes what follows. At most `perRobot` entries of one robot.',
        query: ActivityQuery,
        responses: { 200: ['The events, newest first', ActivityReply] },
      },
      ({ query }) => activity.recent(query),
    ),
    route(
      {
        method: 'get',
        path: '/api/stats/series',
        tag: 'system',
        summary: 'Runs per minute or hour, outcomes, tokens and cost over time, stage duration percentiles',
        description: 'Buckets of 1 minute (window 1h), 1 hour (24h) or 6 hours (7d), from Temporal visibility; stage durations from the final states of the newest completed runs.',
        query: SeriesQuery,
        responses: { 200: ['The series', SeriesReply] },
      },
      ({ query }) => stats.series(query),
    ),
    route(
      {
        method: 'get',
        path: '/api/spend',
        tag: 'robots',
        summary: 'Tokens and cost per robot per day',
        description: 'Runs are counted on the day they started (in `timezone`), with the tokens and cost their memo records so far.',
        query: SpendQuery,
        responses: { 200: ['Spend per robot and day', SpendReply] },
      },
      ({ query }) => stats.spend(query),
    ),
    route(
      {
        method: 'get',
        path: '/api/runs/:id/recovery',
        tag: 'runs',
        summary: 'Whether the run survived a lost worker, from its own history',
        description: 'Activity attempts lost with their worker (heartbeat or start-to-close timeout, then retried), workflow tasks that timed out, and how many completed steps were repeated (0 expected).',
        params: RunIdParams,
        responses: { 200: ['What the history says', RecoveryReply], 404: 'No run with this id' },
      },
      async ({ params }) => {
        const view = await runs.get(params.id);
        return readRecovery(client, params.id, view.stages ? { stages: view.stages, dag: view.dag } : undefined);
      },
    ),
  ];
}
