/**
 * receiveChat: a request from a chat platform for a robot (`POST /chat/<platform>/<robotId>`). Verifies it the
 * platform's own way (api/chat/platforms/), then hands each event to the thread's conversation workflow with
 * signal-with-start — Temporal only, no worker needed — and answers the platform at once, well within its deadline
 * (Slack and Discord: 3 s). The conversation does the work and dedupes: a platform event id it has seen changes
 * nothing, and the run a message starts has an id made from the event id, which Temporal refuses to start twice.
 *
 * A robot that does not exist, or has no integration for the platform, is refused like a bad signature (401), so the
 * endpoint does not tell which robots exist. A message's run input is built here, from the robot's definition as it
 * is now, with startRun's own builder (`runInputFor`), and started by the conversation as a child run.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  chatKeyOf,
  chatRunId,
  conversationWorkflowId,
  type ChatConversationInput,
  type ChatInbound,
  type ChatIntegration,
  type ChatPlatform,
} from '../../contracts/chat';
import { chatInboundSignal } from '../../contracts/messages';
import type { StoredRobot } from '../../contracts/robot';
import { McRobotId } from '../../contracts/search-attributes';
import type { Config } from '../../lib/config';
import type { Metrics } from '../../lib/metrics';
import { chatConversationWorkflow } from '../../workflows';
import { CHAT_INBOUND } from '../chat/platforms';
import type { InboundRequest } from '../chat/types';
import { InvalidInput, InvalidSignature, NotFound } from '../errors';
import { runInputFor } from './start-run';
import { jsonDepthExceeds, tooDeep } from '../http/protection';

export interface ReceiveChatDeps {
  client: Client;
  config: Config;
  robots: { load(id: string): Promise<StoredRobot> };
  /** A credential's value by name (the API's environment, then the encrypted store). */
  secret(name: string): Promise<string>;
  metrics?: Metrics;
  /** Deepest JSON nesting a body may have. */
  maxJsonDepth?: number;
}

export interface ChatRequest {
  platform: ChatPlatform;
  robotId: string;
  body: Buffer;
  headers: InboundRequest['headers'];
}

export interface ChatReply {
  status: number;
  body?: unknown;
  /** The conversations the events went to (for tests and logs). */
  conversations: string[];
}

export type ReceiveChat = (request: ChatRequest) => Promise<ChatReply>;

const NOT_CONNECTED = 'signature does not match';

/** The conversation id of a thread: the chat key's digest keeps it short and free of a platform's characters. */
export const conversationIdOf = (robotId: string, platform: ChatPlatform, chat: { id: string; thread?: string }) =>
  conversationWorkflowId(robotId, platform, createHash('sha256').update(chatKeyOf(chat)).digest('hex').slice(0, 24));

export function createReceiveChat(deps: ReceiveChatDeps): ReceiveChat {
  const count = (platform: ChatPlatform, outcome: string, n = 1) => deps.metrics?.chatEvents.inc({ platform, outcome }, n);

  return async function receiveChat(request) {
    const { platform } = request;
    let robot: StoredRobot;
    try {
      robot = await deps.robots.load(request.robotId);
    } catch (err) {
      if (err instanceof NotFound) {
        count(platform, 'refused');
        throw new InvalidSignature(NOT_CONNECTED);
      }
      throw err;
    }
    const integration = robot.integrations?.find((i): i is ChatIntegration => i.platform === platform);
    if (!integration) {
      count(platform, 'refused');
      throw new InvalidSignature(NOT_CONNECTED);
    }
    if (deps.maxJsonDepth && jsonDepthExceeds(request.body, deps.maxJsonDepth)) throw new InvalidInput(tooDeep(deps.maxJsonDepth).message);

    let result;
    try {
      const inbound = CHAT_INBOUND[platform] as (typeof CHAT_INBOUND)['telegram'];
      result = await inbound.receive({ body: request.body, headers: request.headers, now: Date.now() }, integration as never, deps.secret);
    } catch (err) {
      if (err instanceof InvalidSignature) count(platform, 'refused');
      if (err instanceof SyntaxError) throw new InvalidInput('body is not valid JSON');
      throw err;
    }

    const conversations: string[] = [];
    for (const event of result.events) {
      const workflowId = conversationIdOf(robot.id, platform, event.chat);
      const runId = chatRunId(robot.id, platform, event.eventId);
      const signal: ChatInbound = {
        eventId: event.eventId,
        at: new Date().toISOString(),
        user: event.user,
        ...(event.text !== undefined ? { text: event.text } : {}),
        ...(event.action ? { action: event.action } : {}),
        ...(event.ack ? { ack: event.ack } : {}),
        integration,
        ...(event.text !== undefined && !event.text.startsWith('/')
          ? {
              run: {
                runId,
                input: {
                  ...runInputFor({ trigger: 'chat', task: event.text, robot: { stored: robot } }, robot, deps.config, new Date().toISOString()),
                  // The Robot Host talks in the chat when the robot has it (runInputOf keeps it for manual API runs only).
                  host: robot.host,
                },
              },
            }
          : {}),
      };
      const input: ChatConversationInput = { robotId: robot.id, platform, chat: event.chat, maxHistoryEvents: deps.config.MC_CHAT_MAX_HISTORY };
      await deps.client.workflow.signalWithStart(chatConversationWorkflow, {
        workflowId,
        taskQueue: deps.config.MC_TASK_QUEUE,
        args: [input],
        signal: chatInboundSignal,
        signalArgs: [signal],
        typedSearchAttributes: [{ key: McRobotId, value: robot.id }],
        memo: { chat: { platform, chatKey: chatKeyOf(event.chat), runs: 0 } },
      });
      conversations.push(workflowId);
    }
    count(platform, result.events.length ? 'accepted' : 'acknowledged');
    return { status: result.reply.status, body: result.reply.body, conversations };
  };
}
