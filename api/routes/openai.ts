/**
 * `/v1`: the OpenAI-compatible endpoint, so any OpenAI client (the `openai` SDKs, Open WebUI, LangChain, curl)
 * can run a robot: `GET /v1/models` lists the robots, `POST /v1/chat/completions` with `model` = a robot id runs it
 * (../use-cases/chat-completion.ts). Same API keys as the rest of the API (`Authorization: Bearer <key>`), but
 * every error here is in OpenAI's shape — `{ error: { message, type, param, code } }` — with OpenAI's statuses,
 * so clients raise their usual exceptions (401 AuthenticationError, 404 NotFoundError, 429 RateLimitError, …).
 *
 * Streaming (`stream: true`) sends `chat.completion.chunk`s as server-sent events: first the role, then one chunk
 * per event of the run while it goes — progress travels in the extension field `mission_control` with an empty
 * `delta`, never as content, so that the streamed content is exactly the delivered result (clients that join the
 * deltas get the report, and ignore a field they do not know) — then the result, a final chunk with
 * `finish_reason: "stop"`, the usage chunk if `stream_options.include_usage`, and `data: [DONE]`.
 *
 * A client that disconnects does not cancel the run (a robot's work is worth keeping; find it by the run id):
 * send `X-MC-Cancel-On-Disconnect: true` to have it cancelled instead.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { z, ZodError } from 'zod';
import { allSecrets, bearerToken, matchesSecret, type Credentials } from '../auth';
import { DomainError, NotFound, RateLimited, Unavailable } from '../errors';
import { describeZodError, temporalErrors } from '../http/error-middleware';
import { named } from '../http/openapi';
import { route, type RouteDef } from '../http/route';
import type { RobotService } from '../robots/service';
import type { RunService } from '../run-service';
import { ChatCompletionBody, ModelNotFound, RunEnded, type ChatCompletion, type Completion } from '../use-cases/chat-completion';
import type { Logger } from '../../lib/log';

export const RUN_ID_HEADER = 'x-mc-run-id';
export const CANCEL_ON_DISCONNECT_HEADER = 'x-mc-cancel-on-disconnect';

/** OpenAI's error body. */
export const OpenAiError = named(
  'OpenAiError',
  z.object({ error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }) }),
  'An error in the shape OpenAI clients parse',
);

interface OpenAiErrorReply {
  status: number;
  body: z.infer<typeof OpenAiError>;
  headers?: Record<string, string>;
}

const oaiError = (status: number, message: string, type: string, code: string | null, param: string | null = null, headers?: Record<string, string>): OpenAiErrorReply => ({
  status,
  body: { error: { message, type, param, code } },
  ...(headers ? { headers } : {}),
});

/** Any error → OpenAI's status and shape. */
export function openAiErrorOf(err: unknown): OpenAiErrorReply {
  if (err instanceof ZodError) return oaiError(400, describeZodError(err), 'invalid_request_error', 'invalid_value', err.issues[0]?.path.join('.') || null);
  if (err instanceof ModelNotFound) return oaiError(404, err.message, 'invalid_request_error', 'model_not_found', 'model');
  if (err instanceof NotFound) return oaiError(404, err.message, 'invalid_request_error', 'unknown_url');
  if (err instanceof RateLimited) {
    return oaiError(429, err.message, 'requests', 'rate_limit_exceeded', null, err.retryAfterSeconds !== undefined ? { 'retry-after': String(err.retryAfterSeconds) } : undefined);
  }
  // A run that ended without a result: do not make the client start it again.
  if (err instanceof RunEnded) return oaiError(500, err.message, 'server_error', err.status === 'Cancelled' ? 'run_cancelled' : 'run_failed', null, { 'x-should-retry': 'false', [RUN_ID_HEADER]: err.runId });
  // Temporal unreachable (or no worker answering): 503, which OpenAI clients retry after Retry-After.
  const temporalDown = temporalErrors(err);
  if (temporalDown) return oaiError(503, temporalDown.body.error, 'server_error', 'service_unavailable', null, temporalDown.headers);
  if (err instanceof Unavailable) return oaiError(503, err.message, 'server_error', 'service_unavailable');
  if (err instanceof DomainError) return oaiError(400, err.message, 'invalid_request_error', null);
  const { status, type } = (err ?? {}) as { status?: unknown; type?: unknown };
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return oaiError(status, type === 'entity.parse.failed' ? 'We could not parse the JSON body of your request.' : (err as Error).message, 'invalid_request_error', null);
  }
  return oaiError(500, 'The server had an error while processing your request.', 'server_error', null);
}

function send(res: Response, reply: OpenAiErrorReply): void {
  if (reply.headers) res.set(reply.headers);
  res.status(reply.status).json(reply.body);
}

/** Auth for `/v1` before the app's own: the same keys, answered in OpenAI's shape (401 `invalid_api_key`). */
export function openAiAuth(creds: Credentials): RequestHandler {
  const secrets = allSecrets(creds);
  return (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (token && matchesSecret(token, secrets)) return next();
    res.set('WWW-Authenticate', 'Bearer realm="mission-control"');
    send(
      res,
      oaiError(401, token ? 'Incorrect API key provided.' : 'You didn\'t provide an API key. Send it as Authorization: Bearer <key>.', 'invalid_request_error', 'invalid_api_key'),
    );
  };
}

/** The error handler of `/v1` (installed before the app's own). */
export function openAiErrorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (!req.path.startsWith('/v1/') && req.path !== '/v1') return next(err);
    if (res.headersSent) return;
    const reply = openAiErrorOf(err);
    if (reply.status >= 500 && !(err instanceof RunEnded)) log.error(`${req.method} ${req.path} failed`, { error: (err as Error)?.stack ?? String(err) });
    send(res, reply);
  };
}

const ModelList = named(
  'ModelList',
  z.object({ object: z.literal('list'), data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.number(), owned_by: z.string(), name: z.string() })) }),
);

const Usage = z.object({ prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number() });

/** Our extension field on completions and chunks. */
const MissionControlField = z
  .object({
    run_id: z.string(),
    status: z.string(),
    gate: z.string().optional(),
    offline: z.boolean().optional(),
    event: z.object({ seq: z.number(), type: z.string(), stage: z.string().optional(), message: z.string(), at: z.string() }).optional(),
  })
  .describe('Mission Control extension: the run, its status, the gate it waits at; in stream chunks, one event of the run (progress)');

export const ChatCompletionReply = named(
  'ChatCompletion',
  z.object({
    id: z.string().describe('The run id'),
    object: z.literal('chat.completion'),
    created: z.number(),
    model: z.string(),
    choices: z.array(z.object({ index: z.number(), message: z.object({ role: z.literal('assistant'), content: z.string() }), finish_reason: z.literal('stop'), logprobs: z.null() })),
    usage: Usage,
    mission_control: MissionControlField,
  }),
);

export const ChatCompletionChunk = named(
  'ChatCompletionChunk',
  z.object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number(),
    model: z.string(),
    choices: z.array(z.object({ index: z.number(), delta: z.object({ role: z.literal('assistant').optional(), content: z.string().optional() }), finish_reason: z.literal('stop').nullable() })),
    usage: Usage.nullable().optional(),
    mission_control: MissionControlField.optional(),
  }),
);

const nowSeconds = () => Math.floor(Date.now() / 1000);

function completionBody(c: Completion, created: number): z.infer<typeof ChatCompletionReply> {
  return {
    id: c.runId,
    object: 'chat.completion',
    created,
    model: c.robotId,
    choices: [{ index: 0, message: { role: 'assistant', content: c.content }, finish_reason: 'stop', logprobs: null }],
    usage: c.usage,
    mission_control: { run_id: c.runId, status: c.status, ...(c.gate ? { gate: c.gate } : {}), ...(c.offline !== undefined ? { offline: c.offline } : {}) },
  };
}

/** Pieces of the result sent as separate content deltas. */
const CHUNK_CHARS = 2000;

/** Cancel the run when the client goes away, if it asked; else only stop waiting. */
function onDisconnect(req: Request, res: Response, runs: RunService, state: { runId?: string }, abort: AbortController): void {
  const cancel = String(req.headers[CANCEL_ON_DISCONNECT_HEADER] ?? '').toLowerCase() === 'true';
  res.on('close', () => {
    if (res.writableFinished) return;
    abort.abort();
    if (cancel && state.runId) void runs.cancel(state.runId).catch(() => undefined);
  });
}

export function openAiRoutes(chat: ChatCompletion, robots: RobotService, runs: RunService): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/v1/models',
        tag: 'openai',
        summary: 'List the robots as OpenAI models',
        description: 'Every robot (any API key may use every robot); `id` is the robot id to pass as `model`.',
        responses: { 200: ['The robots', ModelList], 401: { description: 'Missing or invalid API key', schema: OpenAiError } },
      },
      () => chat.models(() => robots.list()),
    ),
    route(
      {
        method: 'post',
        path: '/v1/chat/completions',
        tag: 'openai',
        summary: 'Run a robot as a chat completion (OpenAI-compatible)',
        description:
          'Starts a run of the robot named by `model`; its task is the last user message, earlier messages are its context. Answers with the delivered result as the assistant message, `usage` from the run\'s real token counts, and the run id (`id`, `X-MC-Run-Id`). ' +
          'A run that stops at an approval gate answers at once with what it waits for and how to decide (`mission_control.status = "Review"`). `stream: true` streams `chat.completion.chunk`s (progress in `mission_control.event`, then the result, then `[DONE]`). ' +
          'Sampling fields (temperature, max_tokens, …) are accepted and ignored: the robot\'s routing decides. A disconnect does not cancel the run unless `X-MC-Cancel-On-Disconnect: true`.',
        body: ChatCompletionBody,
        raw: true,
        responses: {
          200: { description: 'The completion (JSON), or with `stream: true` server-sent `chat.completion.chunk`s', schema: ChatCompletionReply },
          400: { description: 'Invalid body', schema: OpenAiError },
          401: { description: 'Missing or invalid API key', schema: OpenAiError },
          404: { description: 'No robot of this id (`model_not_found`)', schema: OpenAiError },
          429: { description: 'The robot is at its concurrency limit (Retry-After)', schema: OpenAiError },
          500: { description: 'The run failed or was cancelled (`run_failed`, `run_cancelled`; `x-should-retry: false`)', schema: OpenAiError },
        },
      },
      async ({ body, req, res }) => {
        const created = nowSeconds();
        const state: { runId?: string } = {};
        const abort = new AbortController();
        onDisconnect(req, res, runs, state, abort);
        if (!body.stream) {
          const c = await chat.complete(body, { signal: abort.signal, onStarted: (id) => (state.runId = id) });
          res.set(RUN_ID_HEADER, c.runId).status(200).json(completionBody(c, created));
          return;
        }
        // Streaming: nothing is sent before the run has started, so a bad model or a full robot is a plain error.
        const write = (data: unknown) => {
          if (!res.writableEnded && !res.destroyed) res.write(`data: ${JSON.stringify(data)}\n\n`);
        };
        const chunk = (delta: Record<string, string>, extra: Record<string, unknown> = {}, finish: 'stop' | null = null) => ({
          id: state.runId!,
          object: 'chat.completion.chunk',
          created,
          model: body.model,
          choices: [{ index: 0, delta, finish_reason: finish }],
          ...extra,
        });
        let completion: Completion;
        try {
          completion = await chat.complete(body, {
            signal: abort.signal,
            onStarted: (id) => {
              state.runId = id;
              res.status(200).set({
                'content-type': 'text/event-stream; charset=utf-8',
                'cache-control': 'no-cache, no-transform',
                connection: 'keep-alive',
                'x-accel-buffering': 'no',
                [RUN_ID_HEADER]: id,
              });
              res.flushHeaders();
              write(chunk({ role: 'assistant', content: '' }, { mission_control: { run_id: id, status: 'Pending' } }));
            },
            onProgress: (p) => write(chunk({}, { mission_control: { run_id: p.runId, status: p.status, event: p.event } })),
          });
        } catch (err) {
          if (!res.headersSent) throw err;
          // The stream is open: the error goes as an OpenAI error event (the SDKs raise it), then the end.
          write(openAiErrorOf(err).body);
          if (!res.destroyed) res.end('data: [DONE]\n\n');
          return;
        }
        for (let i = 0; i < completion.content.length; i += CHUNK_CHARS) write(chunk({ content: completion.content.slice(i, i + CHUNK_CHARS) }));
        write(chunk({}, { mission_control: { run_id: completion.runId, status: completion.status, ...(completion.gate ? { gate: completion.gate } : {}) } }, 'stop'));
        if (body.stream_options?.include_usage) write({ id: completion.runId, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: completion.usage });
        res.end('data: [DONE]\n\n');
      },
    ),
  ];
}
