/**
 * Model calls with validated answers. A structured answer is parsed as JSON and checked with its zod schema;
 * an invalid answer is sent back with the validation errors, a bounded number of times, then the call fails
 * with a non-retryable `InvalidModelOutput` (retrying the activity would only repeat the same conversation).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { z } from 'zod';
import type { ModelCallRecord } from '../../contracts/pipeline';
import { costOf } from './prices';
import type { ModelRouter, RoutePrefs, WorkKind } from './router';
import type { ModelCall } from './types';

export interface TextRequest {
  kind: WorkKind;
  system: string;
  user: string;
  signal: AbortSignal;
  offlineAnswer: () => string;
  /** Hints and robot overrides for the routing table. */
  prefs?: RoutePrefs;
  /** Offline model only: latency of this call instead of MC_OFFLINE_DELAY_MS. */
  simulatedLatencyMs?: number;
}

export interface StructuredRequest<T> {
  kind: WorkKind;
  schema: z.ZodType<T>;
  system: string;
  user: string;
  signal: AbortSignal;
  /** Deterministic, schema-valid answer of the offline model. */
  offline: () => T;
  maxRepairs: number;
  prefs?: RoutePrefs;
}

export interface Answer<T> {
  value: T;
  calls: ModelCallRecord[];
}

async function callOnce(
  router: ModelRouter,
  kind: WorkKind,
  call: Omit<ModelCall, 'model' | 'temperature' | 'maxTokens'>,
  prefs?: RoutePrefs,
) {
  const route = router.route(kind, prefs);
  const reply = await route.provider.complete({
    ...call,
    model: route.model,
    temperature: route.temperature,
    maxTokens: route.maxTokens,
  });
  const { costUsd, priced } = costOf(route.provider.offline ? 'offline' : reply.model, reply.inputTokens, reply.outputTokens);
  const record: ModelCallRecord = {
    provider: route.provider.name,
    model: reply.model,
    inputTokens: reply.inputTokens,
    outputTokens: reply.outputTokens,
    costUsd,
    latencyMs: reply.latencyMs,
    offline: route.provider.offline,
    reason: priced ? route.reason : `${route.reason}; no price known for ${reply.model}`,
  };
  return { text: reply.text, record };
}

export async function generateText(router: ModelRouter, req: TextRequest): Promise<Answer<string>> {
  const { text, record } = await callOnce(router, req.kind, {
    system: req.system,
    messages: [{ role: 'user', content: req.user }],
    json: false,
    signal: req.signal,
    offlineAnswer: req.offlineAnswer,
    simulatedLatencyMs: req.simulatedLatencyMs,
  }, req.prefs);
  return { value: text.trim(), calls: [record] };
}

/** Pull the JSON object out of an answer that may wrap it in prose or a code fence. */
export function extractJson(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const body = (fenced ? fenced[1] : text).trim();
  try {
    return JSON.parse(body);
  } catch {
    const start = body.indexOf('{');
    const end = body.lastIndexOf('}');
    if (start >= 0 && end > start) return JSON.parse(body.slice(start, end + 1));
    throw new Error('the answer is not JSON');
  }
}

export async function generateStructured<T>(router: ModelRouter, req: StructuredRequest<T>): Promise<Answer<T>> {
  const messages: ModelCall['messages'] = [{ role: 'user', content: req.user }];
  const calls: ModelCallRecord[] = [];
  let lastError = '';
  for (let attempt = 0; attempt <= req.maxRepairs; attempt++) {
    const { text, record } = await callOnce(router, req.kind, {
      system: req.system,
      messages,
      json: true,
      signal: req.signal,
      offlineAnswer: () => JSON.stringify(req.offline()),
    }, req.prefs);
    calls.push(record);
    let candidate: unknown;
    try {
      candidate = extractJson(text);
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (candidate !== undefined) {
      const parsed = req.schema.safeParse(candidate);
      if (parsed.success) return { value: parsed.data, calls };
      lastError = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    }
    messages.push(
      { role: 'assistant', content: text },
      {
        role: 'user',
        content: `Your answer was invalid: ${lastError}. Answer again with one corrected JSON object only.`,
      },
    );
  }
  throw ApplicationFailure.create({
    message: `model output still invalid after ${req.maxRepairs} repair(s): ${lastError}`,
    type: 'InvalidModelOutput',
    nonRetryable: true,
    details: [{ calls }],
  });
}
