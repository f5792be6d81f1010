/**
 * The OpenAI-compatible face of robots: `model` names a robot, and a chat completion is one run of it whose task is
 * the conversation's last user message (the earlier messages are the run's context, `context.conversation`). The
 * answer is the run's delivered content, with `usage` from the run's real token counts and the run id (`id`, and
 * the `X-MC-Run-Id` header) so the run can be found. Callable without HTTP; the route (../routes/openai.ts) only
 * turns its results and errors into OpenAI's wire shapes.
 *
 * - A run that stops at an approval gate (status Review) answers at once, rather than hanging: the content says
 *   which gate it waits at and how to decide, and `mission_control.status` is `Review`.
 * - A Failed or Cancelled run is a `RunEnded` error (the route answers 500 with `x-should-retry: false`, so OpenAI
 *   clients do not start the run again).
 * - The robot's concurrency is "full" when it has as many open runs as its `concurrencyLimit`: RateLimited (429).
 * - Progress while the run goes is reported through `onProgress` (each of the run's events), which streaming sends
 *   as a documented extension field, never as content: the content stays exactly the delivered result.
 */
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import { isTerminal, type RunStatus } from '../../contracts/pipeline';
import type { RunEvent } from '../../contracts/run';
import type { StoredRobot } from '../../contracts/robot';
import type { ArtifactStore } from '../../lib/artifact-store';
import { DomainError, InvalidInput, NotFound, RateLimited } from '../errors';
import type { RunService, RunView } from '../run-service';
import type { RunWatcher } from '../run-watcher';
import type { StartRun } from './start-run';

const TextPart = z.object({ type: z.literal('text'), text: z.string() }).passthrough();
const Content = z.union([z.string(), z.array(z.union([TextPart, z.object({ type: z.string() }).passthrough()])), z.null()]);

export const ChatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: Content.optional(),
    name: z.string().optional(),
  })
  .passthrough();

/**
 * A Chat Completions request. Only `model`, `messages`, `stream` and `stream_options.include_usage` steer the run;
 * sampling fields OpenAI clients send (temperature, max_tokens, top_p, …) are accepted so those clients work
 * unchanged, and have no effect: the robot's own routing table chooses models and temperatures (see the README).
 */
export const ChatCompletionBody = z
  .object({
    model: z.string().min(1).max(200).describe('A robot id (GET /v1/models lists them)'),
    messages: z.array(ChatMessage).min(1).max(500),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
  })
  .passthrough();
export type ChatCompletionBody = z.infer<typeof ChatCompletionBody>;

/** The text of a message's content (text parts joined; other parts ignored). */
export function textOf(content: z.infer<typeof Content> | undefined): string {
  if (typeof content === 'string') return content;
  if (!content) return '';
  return content.map((p) => (p.type === 'text' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
}

/** Earlier messages kept as the run's context: the newest, each cut to this length. */
const CONTEXT_MESSAGES = 50;
const CONTEXT_CHARS = 8000;

/** The run's task (the last user message) and context (the messages before it). */
export function conversationOf(messages: z.infer<typeof ChatMessage>[]): { task: string; conversation: { role: string; content: string }[] } {
  const last = messages.map((m) => m.role).lastIndexOf('user');
  if (last < 0) throw new InvalidInput('messages: needs a message with role "user" (the task)');
  const task = textOf(messages[last].content).trim();
  if (!task) throw new InvalidInput(`messages.${last}.content: the task (last user message) is empty`);
  const conversation = messages
    .slice(0, last)
    .map((m) => ({ role: m.role, content: textOf(m.content).slice(0, CONTEXT_CHARS) }))
    .filter((m) => m.content)
    .slice(-CONTEXT_MESSAGES);
  return { task, conversation };
}

/** `model` names no robot. */
export class ModelNotFound extends NotFound {}

/** A run that ended without a result (Failed or Cancelled). */
export class RunEnded extends DomainError {
  constructor(
    readonly runId: string,
    readonly status: RunStatus,
    message: string,
  ) {
    super(message, { runId, status });
  }
}

export interface Completion {
  runId: string;
  robotId: string;
  status: RunStatus;
  content: string;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** When the run waits at a gate: which one. */
  gate?: string;
  offline?: boolean;
}

export interface ChatCompletionDeps {
  client: Client;
  startRun: StartRun;
  runs: RunService;
  watcher: RunWatcher;
  robots: { load(id: string): Promise<StoredRobot> };
  artifacts: ArtifactStore;
}

/** How long to wait before asking Temporal again when no change was pushed (a safety net, not the mechanism). */
const RECHECK_MS = 15_000;
/** Retry-After of a 429 for a robot at its concurrency limit. */
export const FULL_RETRY_AFTER_SECONDS = 5;

export type ProgressListener = (p: { runId: string; status: RunStatus; event: RunEvent }) => void;

export interface CompletionOptions {
  /** Called with each of the run's events as it happens (for streaming). */
  onProgress?: ProgressListener;
  /** Called once the run is started, before waiting. */
  onStarted?: (runId: string) => void;
  /** Aborted when the caller went away: the wait stops (the run goes on unless the caller cancels it). */
  signal?: AbortSignal;
}

export function createChatCompletion(deps: ChatCompletionDeps) {
  /** The result text of a Done run: its delivered content, read from the artifact store when it was too large for history. */
  async function deliveredContent(view: RunView): Promise<string> {
    const result = view.result as { content?: string; contentArtifact?: string } | undefined;
    if (result?.contentArtifact) {
      const data = await deps.artifacts.read(view.runId, result.contentArtifact);
      if (data) {
        const whole = JSON.parse(data.toString('utf8')) as { content?: unknown };
        if (typeof whole.content === 'string') return whole.content;
      }
    }
    return result?.content ?? '';
  }

  function gateMessage(view: RunView): string {
    const gate = view.gate;
    const id = view.runId;
    const what = gate?.gate === 'budget' ? 'a budget raise' : gate?.gate === 'final' ? 'approval of the formatted result before it is delivered' : `approval before the ${gate?.gate} stage`;
    return [
      `Run ${id} is waiting at the ${gate?.gate} gate for ${what}.`,
      `Decide with POST /api/runs/${id}/approvals and the body {"gate":"${gate?.gate}","decision":"approve"} (or "reject", or "revise" with "feedback"), or on the page.`,
      `Follow the run at GET /api/runs/${id}; once it is Done, its result is in "result".`,
    ].join('\n');
  }

  /** Wait until the run is Done, Failed, Cancelled or waits at a gate; pushed by the watcher, checked again now and then. */
  async function settle(runId: string, opts: CompletionOptions): Promise<RunView> {
    return new Promise<RunView>((resolve, reject) => {
      let finished = false;
      const stops: (() => void)[] = [];
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        for (const s of stops) s();
        fn();
      };
      // Each event once, in order, whether it came pushed one by one or all at once with the final state.
      let lastSeq = 0;
      const progress = (status: RunStatus, event: RunEvent) => {
        if (!opts.onProgress || event.seq <= lastSeq) return;
        lastSeq = event.seq;
        opts.onProgress({ runId, status, event });
      };
      const consider = (view: RunView) => {
        for (const e of view.events ?? []) progress(view.status, e);
        if (isTerminal(view.status) || view.status === 'Review') finish(() => resolve(view));
      };
      const check = () => deps.runs.live(runId).then(consider, () => undefined);
      stops.push(deps.watcher.onState(runId, consider));
      if (opts.onProgress) stops.push(deps.watcher.onEvent((e) => e.runId === runId && progress(e.status, e.event)));
      const timer = setInterval(check, RECHECK_MS);
      stops.push(() => clearInterval(timer));
      if (opts.signal) {
        const abort = () => finish(() => reject(new Error('caller went away')));
        opts.signal.addEventListener('abort', abort, { once: true });
        stops.push(() => opts.signal!.removeEventListener('abort', abort));
      }
      // Completed runs end the wait through the result too, whether or not the watcher follows this run. The long
      // poll is aborted when the wait ends, so that it does not outlive it (a run left at a gate never completes).
      const resultPoll = new AbortController();
      stops.push(() => resultPoll.abort());
      deps.client
        .withAbortSignal(resultPoll.signal, () => deps.client.workflow.getHandle(runId).result())
        .then(check, () => (resultPoll.signal.aborted ? undefined : check()));
      void check();
    });
  }

  return {
    /** The robots, as OpenAI models. */
    async models(list: () => Promise<{ id: string; name: string; createdAt: string }[]>) {
      const robots = await list();
      return {
        object: 'list' as const,
        data: robots.map((r) => ({ id: r.id, object: 'model' as const, created: Math.floor(Date.parse(r.createdAt) / 1000), owned_by: 'mission-control', name: r.name })),
      };
    },

    /** Start a run of the robot `body.model` and wait until it has a result (or waits at a gate). */
    async complete(body: ChatCompletionBody, opts: CompletionOptions = {}): Promise<Completion> {
      const robot = await deps.robots.load(body.model).catch((err) => {
        throw err instanceof NotFound ? new ModelNotFound(`The model \`${body.model}\` does not exist: no robot has this id (GET /v1/models lists them)`) : err;
      });
      const { task, conversation } = conversationOf(body.messages);
      if (robot.concurrencyLimit) {
        const { count } = await deps.client.workflow.count(`WorkflowType = 'robotRunWorkflow' AND McRobotId = '${robot.id}' AND ExecutionStatus = 'Running'`);
        if (count >= robot.concurrencyLimit) {
          throw new RateLimited(`robot ${robot.id} is running ${count} run(s), its concurrency limit (${robot.concurrencyLimit}); try again later`, FULL_RETRY_AFTER_SECONDS);
        }
      }
      const started = await deps.startRun({
        trigger: 'openai',
        task,
        robot: { stored: robot },
        ...(conversation.length ? { context: { conversation } } : {}),
      });
      opts.onStarted?.(started.id);
      const view = await settle(started.id, opts);
      const usage = view.usage ?? { inputTokens: 0, outputTokens: 0, calls: 0, costUsd: 0 };
      const tokens = { prompt_tokens: usage.inputTokens, completion_tokens: usage.outputTokens, total_tokens: usage.inputTokens + usage.outputTokens };
      if (view.status === 'Review') return { runId: started.id, robotId: robot.id, status: 'Review', content: gateMessage(view), usage: tokens, gate: view.gate?.gate, offline: view.offline };
      if (view.status !== 'Done') {
        const why = view.error?.message ?? (view.status === 'Cancelled' ? 'the run was cancelled' : 'the run failed');
        throw new RunEnded(started.id, view.status, `run ${started.id} ended ${view.status}: ${why}`);
      }
      return { runId: started.id, robotId: robot.id, status: 'Done', content: await deliveredContent(view), usage: tokens, offline: view.offline };
    },
  };
}

export type ChatCompletion = ReturnType<typeof createChatCompletion>;
