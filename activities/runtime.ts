/**
 * The activity runtime: the one wrapper the activities that do real work run in (the stage activities, the
 * task-graph activities, the Robot Host turn, drafting a role, notify). For every attempt it
 *
 * - heartbeats every `heartbeatMs` (default 1 s), so that a cancel, or the death of the worker, is noticed within
 *   about a second (the workflow's heartbeat timeout is 10 s). Not at once: the first heartbeat of an attempt goes
 *   to the server without throttling, so an immediate one cost every short activity (a node, a check, delivery
 *   formatting) a round trip and a write on the server (docs/benchmarks.md, "Profile"); the heartbeat timeout runs
 *   from the attempt's start either way, and the server keeps an earlier attempt's details until this attempt
 *   reports its own;
 * - hands the work the activity's AbortSignal, which every model request, fetch and child process takes; once the
 *   activity is cancelled, whatever the work throws surfaces as a `CancelledFailure`;
 * - records metrics: every model call sent, as it returns (`mc_model_calls_total`, `mc_model_tokens_total`,
 *   `mc_model_cost_usd_total`, `mc_model_latency_seconds`, also for calls of an attempt that then fails), and the
 *   attempt's duration by activity type and outcome in `mc_activity_duration_seconds{activity,outcome}`; stage
 *   activities are observed in `mc_stage_duration_seconds{stage,outcome}` too, as before. Outcomes: done, failed,
 *   cancelled, budget;
 * - under a budget, wraps the router with the budget guard (models/budget.ts): a request that would overspend what
 *   the workflow granted is refused unsent, and the attempt ends with a non-retryable `BudgetExceeded` carrying every
 *   call already billed (this attempt's, and those an earlier crashed attempt left in its checkpoint) and the
 *   latest checkpoint;
 * - keeps checkpoints in the heartbeat details: `checkpoint(d)` records progress that survives a worker crash (it
 *   is sent with every heartbeat), `previousCheckpoint()` gives the next attempt that progress, or, when the
 *   workflow resumes work a budget stop interrupted, the progress it hands back (`resumeFrom`, whose calls were
 *   billed already and are dropped).
 *
 * @example
 * const runtime = createActivityRuntime(deps);
 * const activities = {
 *   async hostTurn(input: HostTurnInput) {
 *     return runtime.run({ budget: input.budget }, ({ router, signal }) => askTheModel(router, signal, input));
 *   },
 * };
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { BUDGET_EXCEEDED, type BudgetAllowance, type BudgetExceededDetails } from '../contracts/gates';
import type { ModelCallRecord, StageName } from '../contracts/pipeline';
import type { Metrics } from '../lib/metrics';
import type { ActivityDeps } from './deps';
import { createBudgetGuard } from './models/budget';
import { costOf } from './models/prices';
import type { ModelRouter } from './models/router';
import type { ModelProvider } from './models/types';

/** What the work of one activity attempt gets from the runtime. */
export interface ActivityScope {
  /** The router to call models through: metered, and under a budget guarded. */
  router: ModelRouter;
  /** Aborted when the activity is cancelled; passed to every model request, fetch and child process. */
  signal: AbortSignal;
  /** Repairs of an invalid structured answer (MC_MODEL_MAX_REPAIRS). */
  maxRepairs: number;
  /** Record progress that survives a worker crash (sent as the heartbeat details). */
  checkpoint(details: unknown): void;
  /** The progress of the previous attempt, or the progress a budget stop interrupted; undefined on a fresh start. */
  previousCheckpoint<T>(): T | undefined;
}

export interface RunOptions {
  /** What the workflow granted this activity of the run's budget; absent: no budget. */
  budget?: BudgetAllowance;
  /** Progress of an earlier invocation stopped by the budget (BudgetExceededDetails.checkpoint). */
  resumeFrom?: unknown;
  /** A stage activity's stage, for mc_stage_duration_seconds. */
  stage?: StageName;
}

export type Outcome = 'done' | 'failed' | 'cancelled' | 'budget';

export interface ActivityRuntime {
  /** Run one activity attempt's work; call it from inside an activity (it reads the activity's Context). */
  run<T>(options: RunOptions, work: (scope: ActivityScope) => Promise<T>): Promise<T>;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;

/** The calls an earlier attempt recorded in its checkpoint (by convention a checkpoint keeps its `calls`). */
const callsIn = (checkpoint: unknown): ModelCallRecord[] =>
  isObject(checkpoint) && Array.isArray(checkpoint.calls) ? (checkpoint.calls as ModelCallRecord[]) : [];

/** A router whose provider records every call it sends in the model metrics. */
export function meteredRouter(router: ModelRouter, metrics: Metrics): ModelRouter {
  const inner = router.provider;
  const provider: ModelProvider = {
    name: inner.name,
    offline: inner.offline,
    async complete(call) {
      const reply = await inner.complete(call);
      const labels = { provider: inner.name, model: reply.model };
      metrics.modelCalls.inc(labels);
      metrics.modelTokens.inc({ ...labels, direction: 'input' }, reply.inputTokens);
      metrics.modelTokens.inc({ ...labels, direction: 'output' }, reply.outputTokens);
      metrics.modelCost.inc(labels, costOf(inner.offline ? 'offline' : reply.model, reply.inputTokens, reply.outputTokens).costUsd);
      metrics.modelLatency.observe(labels, reply.latencyMs / 1000);
      return reply;
    },
  };
  return { provider, route: (kind, prefs) => ({ ...router.route(kind, prefs), provider }) };
}

export function createActivityRuntime(deps: Pick<ActivityDeps, 'config' | 'router' | 'clock' | 'metrics' | 'heartbeatMs'>): ActivityRuntime {
  const every = deps.heartbeatMs ?? 1000;
  const maxRepairs = deps.config.MC_MODEL_MAX_REPAIRS;
  const base = deps.metrics ? meteredRouter(deps.router, deps.metrics) : deps.router;
  return {
    async run(options, work) {
      const activity = Context.current();
      const { info, cancellationSignal: signal } = activity;
      const earlier: unknown = info.heartbeatDetails;
      const resumed = earlier === undefined && isObject(options.resumeFrom) ? { ...options.resumeFrom, calls: [] } : undefined;
      let checkpointed: unknown;
      const guard = options.budget ? createBudgetGuard(options.budget) : undefined;
      // Until this attempt records progress of its own, it keeps reporting the earlier attempt's.
      const beat = () => activity.heartbeat(checkpointed ?? earlier);
      const timer = setInterval(beat, every);
      const started = deps.clock.now();
      let outcome: Outcome = 'failed';
      try {
        const result = await work({
          router: guard ? guard.wrap(base) : base,
          signal,
          maxRepairs,
          checkpoint(details) {
            checkpointed = details;
            beat();
          },
          previousCheckpoint: <C>() => (earlier ?? resumed) as C | undefined,
        });
        outcome = 'done';
        return result;
      } catch (err) {
        if (signal.aborted) {
          outcome = 'cancelled';
          throw err instanceof CancelledFailure ? err : new CancelledFailure(`${info.activityType} cancelled`);
        }
        if (guard && err instanceof ApplicationFailure && err.type === BUDGET_EXCEEDED) {
          outcome = 'budget';
          const refused = (err.details?.[0] ?? {}) as BudgetExceededDetails;
          const details: BudgetExceededDetails = {
            ...refused,
            // Calls a crashed earlier attempt made are in its checkpoint and were never reported: bill them too.
            calls: [...callsIn(earlier), ...guard.billed],
            checkpoint: checkpointed ?? earlier ?? resumed,
          };
          throw ApplicationFailure.create({ message: err.message, type: BUDGET_EXCEEDED, nonRetryable: true, details: [details] });
        }
        throw err;
      } finally {
        clearInterval(timer);
        if (deps.metrics) {
          const seconds = (deps.clock.now() - started) / 1000;
          deps.metrics.activityDuration.observe({ activity: info.activityType, outcome }, seconds);
          if (options.stage) deps.metrics.stageDuration.observe({ stage: options.stage, outcome }, seconds);
        }
      }
    },
  };
}
