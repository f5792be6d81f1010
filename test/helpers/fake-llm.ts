/**
 * A local HTTP server that speaks the OpenAI Chat Completions and Anthropic Messages protocols, so the real
 * `openai` and `@anthropic-ai/sdk` clients can be tested without the internet. It records every request,
 * notices requests the client aborted, and answers from a script.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  api: 'openai' | 'anthropic';
  body: any;
  headers: http.IncomingHttpHeaders;
  /** Concatenated system + message text, handy for assertions on prompts. */
  prompt: string;
  aborted: boolean;
  completed: boolean;
}

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  /** Assistant text (wrapped in the protocol's envelope). */
  content?: string;
  /** Raw JSON body instead of the envelope (for error bodies). */
  body?: unknown;
  delayMs?: number;
  usage?: { input: number; output: number };
}

export type Responder = (call: RecordedCall, index: number) => ScriptedReply | Promise<ScriptedReply>;

export interface FakeLlm {
  url: string;
  /** Base URL for the `openai` client (…/v1). */
  openaiBaseUrl: string;
  /** Base URL for the `@anthropic-ai/sdk` client. */
  anthropicBaseUrl: string;
  calls: RecordedCall[];
  setResponder(r: Responder): void;
  close(): Promise<void>;
}

function promptOf(api: 'openai' | 'anthropic', body: any): string {
  const text = (c: any) => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((p) => p.text ?? '').join('') : '');
  const messages = (body?.messages ?? []).map((m: any) => text(m.content)).join('\n');
  return api === 'anthropic' ? `${text(body?.system)}\n${messages}` : messages;
}

export async function startFakeLlm(responder: Responder): Promise<FakeLlm> {
  const calls: RecordedCall[] = [];
  let respond = responder;
  const sockets = new Set<import('node:net').Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const api = req.url?.includes('/messages') ? 'anthropic' : 'openai';
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        body = {};
      }
      const call: RecordedCall = { api, body, headers: req.headers, prompt: promptOf(api, body), aborted: false, completed: false };
      calls.push(call);
      res.on('close', () => {
        if (!res.writableFinished) call.aborted = true;
      });
      const reply = await respond(call, calls.length - 1);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (call.aborted || res.destroyed) return;
      const status = reply.status ?? 200;
      const usage = reply.usage ?? { input: 11, output: 7 };
      const payload =
        reply.body ??
        (api === 'openai'
          ? {
              id: `chatcmpl-${calls.length}`,
              object: 'chat.completion',
              created: Math.floor(Date.now() / 1000),
              model: body.model ?? 'fake-model',
              choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: reply.content ?? '' } }],
              usage: { prompt_tokens: usage.input, completion_tokens: usage.output, total_tokens: usage.input + usage.output },
            }
          : {
              id: `msg_${calls.length}`,
              type: 'message',
              role: 'assistant',
              model: body.model ?? 'fake-model',
              content: [{ type: 'text', text: reply.content ?? '' }],
              stop_reason: 'end_turn',
              stop_sequence: null,
              usage: { input_tokens: usage.input, output_tokens: usage.output },
            });
      res.writeHead(status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify(payload));
      call.completed = true;
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBaseUrl: `${url}/v1`,
    anthropicBaseUrl: url,
    calls,
    setResponder(r) {
      respond = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Answers every stage of the pipeline with valid JSON or text, recognising the stage by its system prompt
 * (`tasks.plan`: the DAG planner, `tasks.run`: one node, `tasks.validate`: one node's verdict).
 * `hook` may replace the answer for some calls (delays, errors).
 */
export function pipelineResponder(hook?: (call: RecordedCall, stage: string, index: number) => ScriptedReply | undefined): Responder {
  return (call, index) => {
    const p = call.prompt + JSON.stringify(call.body?.messages?.[0] ?? '');
    const system = call.api === 'openai' ? String(call.body.messages?.[0]?.content ?? '') : String(call.body.system ?? '');
    const stage = /actionable brief/.test(system)
      ? 'inspiration'
      : /into 1 to 5 goals/.test(system)
        ? 'goals'
        : /Plan the goals as a DAG/.test(system)
          ? 'tasks.plan'
          : /Do this task/.test(system)
            ? 'tasks.run'
            : /Check this result against/.test(system)
              ? 'tasks.validate'
              : /Check each result/.test(system)
                ? 'validation'
                : /Format the final deliverable/.test(system)
                  ? 'delivery'
                  : 'unknown';
    const hooked = hook?.(call, stage, index);
    if (hooked) return hooked;
    const answers: Record<string, unknown> = {
      inspiration: { brief: 'Research the topic and write a clear summary.', focus: ['research', 'summary'] },
      goals: { goals: [{ id: 'g1', title: 'Research', deliverable: 'Notes' }] },
      'tasks.plan': {
        nodes: [{ id: 't1', title: 'Collect notes', kind: 'text', dependsOn: [], instructions: 'Collect', expectedOutput: 'Notes' }],
      },
      'tasks.validate': { passed: true, feedback: 'ok' },
      validation: { passed: true, checks: [{ taskId: 't1', passed: true, feedback: 'ok' }], summary: '1/1 passed' },
    };
    if (stage in answers) return { content: JSON.stringify(answers[stage]) };
    if (stage === 'tasks.run') return { content: 'Notes: the topic is well covered.' };
    if (stage === 'delivery') return { content: '# Report\nAll done.' };
    return { content: `unrecognised prompt: ${p.slice(0, 80)}` };
  };
}
