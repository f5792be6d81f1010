/**
 * The inbound side of a chat platform (one file per platform in ./platforms/, one registry line there): verify a
 * request the platform's own documented way and read it into events. Verification throws InvalidSignature (401);
 * nothing is started before it passed. The HTTP answer is the platform's acknowledgement (a challenge, Discord's
 * PONG or interaction response, an empty 200), sent at once: the work happens in the conversation workflow.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ChatAckRef, ChatDecision, ChatIntegrationOf, ChatPlatform, ChatRef } from '../../contracts/chat';

export interface InboundRequest {
  /** The body exactly as received (signatures are over these bytes). */
  body: Buffer;
  headers: IncomingHttpHeaders;
  /** Milliseconds since the epoch (for freshness checks). */
  now: number;
}

/** One event read from a request, before the API adds the robot's integration and run. */
export interface InboundEvent {
  eventId: string;
  user: { id: string; name?: string };
  chat: ChatRef;
  text?: string;
  action?: { decision: ChatDecision; n: number; gateKey?: string; clickId: string; messageId?: string };
  ack?: ChatAckRef;
}

export interface InboundResult {
  /** What the platform gets back, at once. */
  reply: { status: number; body?: unknown; contentType?: string };
  events: InboundEvent[];
}

export interface ChatInboundDefinition<P extends ChatPlatform> {
  platform: P;
  /** Verify and read; `secret(name)` resolves one of the integration's credentials (by its credential name). */
  receive(req: InboundRequest, integration: ChatIntegrationOf<P>, secret: (name: string) => Promise<string>): Promise<InboundResult>;
}

export const defineInbound = <P extends ChatPlatform>(d: ChatInboundDefinition<P>): ChatInboundDefinition<P> => d;

/** A header's first value. */
export const header = (h: IncomingHttpHeaders, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** The empty acknowledgement most platforms want. */
export const OK = { status: 200, body: {} };
