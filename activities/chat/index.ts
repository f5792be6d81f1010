/**
 * The activities of chat conversations (workflows/chat-conversation.ts): all their I/O. Each runs in the one
 * activity runtime (heartbeats, cancellation, metrics) and builds the platform's client from the integration's
 * credential names, resolved here on the worker (environment `MC_CREDENTIAL_<NAME>`, then the encrypted store), so
 * no token reaches a workflow. Error messages have every resolved secret replaced by `[redacted]`.
 *
 * - `chatSend`: post a text (split into parts the platform takes) with optional buttons, or edit a message;
 * - `chatAck`: answer a person's click (privately where the platform can);
 * - `chatRunControl`: a person's decision, host answer or confirmation, through the run's own updates (`decide`,
 *   `hostMessage`, `hostConfirm`), whose validators refuse a stale or repeated one: that refusal is the answer;
 * - `chatReport`: read a run (its gate, or its delivered result — from the artifact store when it was too large for
 *   history) and post it: the gate with Approve / Send back / Reject, the result split or as a file;
 * - `chatIntegrationTask`: check an integration's credentials with the platform, or set it up (Telegram's webhook,
 *   Discord's commands), for the API's connect / test / disconnect.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { type ChatAckRef, type ChatButton, type ChatIntegration, type ChatRef, encodeButton } from '../../contracts/chat';
import { decideUpdate, hostConfirmUpdate, hostMessageUpdate, runStateQuery, type ChatIntegrationTask, type ChatIntegrationTaskResult } from '../../contracts/messages';
import type { RunState } from '../../contracts/run';
import { artifactDir, createArtifactStore, type ArtifactStore } from '../../lib/artifact-store';
import { CredentialNotFound, CredentialStore, resolveCredential, resolveSecretKey } from '../../lib/credentials';
import type { ActivityDeps } from '../deps';
import { redact } from '../delivery';
import { DELIVERY_REJECTED } from '../delivery/types';
import { createActivityRuntime } from '../runtime';
import { CHAT_PLATFORM_CLIENTS } from './platforms';
import { splitText } from './split';
import type { ChatPlatformClient } from './types';

export interface ChatSendRequest {
  integration: ChatIntegration;
  chat: ChatRef;
  text: string;
  buttons?: ChatButton[];
  /** Edit this message instead of posting a new one. */
  edit?: string;
}
export interface ChatSendResult {
  /** The messages posted (several when the text was split), or the one edited. */
  messageIds: string[];
  /** The beginning of what was posted (for the thread's transcript). */
  excerpt?: string;
}

export interface ChatAckRequest {
  integration: ChatIntegration;
  chat: ChatRef;
  ack: ChatAckRef;
  text: string;
}

export interface ChatRunControlRequest {
  runId: string;
  op: 'decide' | 'hostMessage' | 'hostConfirm';
  decision?: 'approve' | 'reject' | 'revise';
  gate?: string;
  feedback?: string;
  /** The click's id: the decision id, so a retried activity applies the decision once. */
  decisionId?: string;
  text?: string;
  by: string;
}
export interface ChatRunControlResult {
  ok: boolean;
  /** For the person: what happened, or why nothing did ("already decided: …"). */
  message: string;
  status?: string;
}

export interface ChatReportRequest {
  integration: ChatIntegration;
  chat: ChatRef;
  runId: string;
  n: number;
  what: 'gate' | 'result';
  gateKey?: string;
}

/** Results longer than this many parts are sent as a file where the platform has files, else cut with a note. */
const MAX_PARTS = 6;
const EXCERPT = 1500;

export function createChatActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  const artifacts: ArtifactStore = deps.artifacts ?? createArtifactStore(artifactDir(deps.config));
  const env = deps.env ?? process.env;

  /** Run `work` with the integration's platform client; failures leave with secrets redacted. */
  function withClient<T>(integration: ChatIntegration, work: (client: ChatPlatformClient) => Promise<T>): Promise<T> {
    return runtime.run({}, async ({ signal }) => {
      const { client: temporal } = Context.current();
      const secrets: string[] = [];
      const definition = CHAT_PLATFORM_CLIENTS[integration.platform] as (typeof CHAT_PLATFORM_CLIENTS)['telegram'];
      try {
        const client = await definition.client(integration as never, {
          config: deps.config,
          signal,
          async credential(name) {
            try {
              const value = await resolveCredential(name, { env, store: new CredentialStore(temporal, () => resolveSecretKey(deps.config)) });
              secrets.push(value);
              return value;
            } catch (err) {
              if (err instanceof CredentialNotFound) throw ApplicationFailure.create({ message: err.message, type: DELIVERY_REJECTED, nonRetryable: true });
              throw err;
            }
          },
        });
        return await work(client);
      } catch (err) {
        if (signal.aborted || err instanceof CancelledFailure) throw err;
        const failure = err instanceof ApplicationFailure ? err : ApplicationFailure.create({ message: (err as Error).message ?? String(err), type: 'ChatUnavailable' });
        throw ApplicationFailure.create({
          message: redact(failure.message, secrets),
          type: failure.type ?? undefined,
          nonRetryable: failure.nonRetryable ?? false,
          nextRetryDelay: failure.nextRetryDelay ?? undefined,
        });
      }
    });
  }

  /** Post `text` in parts the platform takes (buttons on the last part). */
  async function post(client: ChatPlatformClient, chat: ChatRef, text: string, buttons?: ChatButton[]): Promise<string[]> {
    const parts = splitText(text, client.limit);
    const ids: string[] = [];
    for (let i = 0; i < parts.length; i++) ids.push(await client.send(chat, { text: parts[i], buttons: i === parts.length - 1 ? buttons : undefined }));
    return ids;
  }

  /** The run's state: from its result once it has completed, else from the workflow. */
  async function runState(runId: string): Promise<RunState> {
    const handle = Context.current().client.workflow.getHandle(runId);
    const desc = await handle.describe();
    return desc.status.name === 'COMPLETED' ? ((await handle.result()) as RunState) : handle.query(runStateQuery);
  }

  /** The delivered Markdown of a Done run (read back from the artifact store when it was too large for history). */
  async function resultText(state: RunState): Promise<string> {
    const result = state.result as { content?: string; contentArtifact?: string } | undefined;
    if (result?.contentArtifact) {
      const data = await artifacts.read(state.runId, result.contentArtifact);
      if (data) {
        const whole = JSON.parse(data.toString('utf8')) as { content?: unknown };
        if (typeof whole.content === 'string') return whole.content;
      }
    }
    return result?.content ?? '(no content)';
  }

  function gateText(state: RunState, n: number): { text: string; buttons: ChatButton[] } {
    const gate = state.gate;
    if (!gate) return { text: `Run ${n} is no longer waiting at a gate.`, buttons: [] };
    const subject = gate.subject as Record<string, unknown>;
    const last = ['delivery', 'validation', 'tasks', 'goals', 'inspiration'].find((s) => subject[s] !== undefined);
    const shown = last ? subject[last] : undefined;
    const body =
      typeof (shown as { content?: unknown })?.content === 'string'
        ? (shown as { content: string }).content
        : shown !== undefined
          ? JSON.stringify(shown, null, 1)
          : state.task;
    const excerpt = body.length > EXCERPT ? `${body.slice(0, EXCERPT)}…` : body;
    const what = gate.gate === 'final' ? 'the result before it is delivered' : gate.gate === 'budget' ? `a budget raise (${gate.budget?.reason ?? 'the budget is spent'})` : `going on to the ${gate.gate} stage`;
    const buttons: ChatButton[] = [];
    if (gate.gate !== 'budget') buttons.push({ label: 'Approve', value: encodeButton(n, 'approve', gate.key), style: 'primary' });
    if (gate.revisable && gate.revisions < gate.maxRevisions) buttons.push({ label: 'Send back', value: encodeButton(n, 'revise', gate.key) });
    buttons.push({ label: 'Reject', value: encodeButton(n, 'reject', gate.key), style: 'danger' });
    const raise = gate.gate === 'budget' ? `\nRaise the budget on the page or with POST /api/runs/${state.runId}/approvals.` : '';
    return { text: `⏸ Run ${n} waits for approval of ${what}${last ? ` (${last})` : ''}:\n\n${excerpt}${raise}`, buttons };
  }

  return {
    async chatSend(req: ChatSendRequest): Promise<ChatSendResult> {
      return withClient(req.integration, async (client) => {
        if (req.edit) {
          await client.edit(req.chat, req.edit, { text: req.text.slice(0, client.limit), buttons: req.buttons });
          return { messageIds: [req.edit] };
        }
        return { messageIds: await post(client, req.chat, req.text, req.buttons), excerpt: req.text.slice(0, 300) };
      });
    },

    async chatAck(req: ChatAckRequest): Promise<void> {
      await withClient(req.integration, (client) => client.ack(req.chat, req.ack, req.text));
    },

    async chatRunControl(req: ChatRunControlRequest): Promise<ChatRunControlResult> {
      const handle = Context.current().client.workflow.getHandle(req.runId);
      try {
        let state: RunState;
        if (req.op === 'decide') {
          state = await handle.executeUpdate(decideUpdate, {
            args: [{ gate: req.gate as never, decision: req.decision!, feedback: req.feedback, by: req.by, channel: 'chat', decisionId: req.decisionId?.replace(/[^A-Za-z0-9_.:-]/g, '_').slice(0, 200) }],
          });
        } else if (req.op === 'hostMessage') {
          state = await handle.executeUpdate(hostMessageUpdate, { args: [{ text: req.text ?? '', by: req.by }] });
        } else {
          state = await handle.executeUpdate(hostConfirmUpdate, { args: [{ by: req.by }] });
        }
        return { ok: true, message: 'done', status: state.status };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const reason = (err.cause as Error | undefined)?.message ?? err.message;
          return { ok: false, message: req.op === 'decide' ? `Already decided: ${reason}` : `Not taken: ${reason}` };
        }
        if (err instanceof WorkflowNotFoundError) return { ok: false, message: req.op === 'decide' ? 'Already decided: the run has finished.' : 'The run has finished.' };
        throw err;
      }
    },

    async chatReport(req: ChatReportRequest): Promise<ChatSendResult> {
      const state = await runState(req.runId);
      return withClient(req.integration, async (client) => {
        if (req.what === 'gate') {
          const { text, buttons } = gateText(state, req.n);
          return { messageIds: await post(client, req.chat, text, buttons), excerpt: text.slice(0, 300) };
        }
        const content = await resultText(state);
        const text = `Result of run ${req.n}:\n\n${content}`;
        const parts = splitText(text, client.limit);
        if (parts.length > MAX_PARTS) {
          const caption = `Result of run ${req.n} (${content.length} characters, attached):\n\n${content.slice(0, 600)}…`;
          if (client.sendFile) return { messageIds: [await client.sendFile(req.chat, `${req.runId}.md`, content, caption)], excerpt: content.slice(0, 300) };
          const base = deps.config.MC_PUBLIC_URL?.replace(/\/$/, '');
          const more = base ? `\n… the whole result: ${base}/api/runs/${encodeURIComponent(req.runId)}` : `\n… (cut; the whole result is in run ${req.runId})`;
          const kept = parts.slice(0, MAX_PARTS);
          kept[MAX_PARTS - 1] = kept[MAX_PARTS - 1].slice(0, client.limit - more.length) + more;
          const ids: string[] = [];
          for (const p of kept) ids.push(await client.send(req.chat, { text: p }));
          return { messageIds: ids, excerpt: content.slice(0, 300) };
        }
        return { messageIds: await post(client, req.chat, text), excerpt: content.slice(0, 300) };
      });
    },

    async chatIntegrationTask(task: ChatIntegrationTask): Promise<ChatIntegrationTaskResult> {
      try {
        return await withClient(task.integration, async (client) => {
          const who = await client.check();
          if (task.op === 'connect' && client.connect) {
            return { ok: true, detail: `${who}; ${await client.connect(task.inboundUrl ?? '')}` };
          }
          if (task.op === 'disconnect' && client.disconnect) return { ok: true, detail: `${who}; ${await client.disconnect()}` };
          return { ok: true, detail: who };
        });
      } catch (err) {
        if (err instanceof ApplicationFailure && err.nonRetryable) return { ok: false, detail: err.message };
        throw err;
      }
    },
  };
}

export type ChatActivities = ReturnType<typeof createChatActivities>;
