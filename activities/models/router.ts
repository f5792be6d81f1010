/**
 * Model routing: which provider, model and temperature serve each kind of work. One table, overridable by
 * environment (MC_MODEL_LARGE / MC_MODEL_FAST / MC_MODEL_VISION), by a planner's hint on a task-graph node, and
 * by the robot (per stage, then per kind, which wins). The choice and its reason are recorded on every call.
 */
import { selectProvider, type Config } from '../../lib/config';
import type { ModelTier } from '../../contracts/pipeline';
import type { ModelOverride } from '../../contracts/run';
import { createProvider, getProvider, PROVIDERS } from './providers';
import type { ModelProvider } from './types';

/** Kinds of model work. Stages and task-graph nodes name one of these. */
export const WORK_KINDS = ['brief', 'plan', 'text', 'extract', 'synthesize', 'validate', 'format', 'vision'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

export type Tier = ModelTier;

/** Why each kind goes where it goes: planning, synthesis and judgement get the large model; formatting is fast. */
export const ROUTING_TABLE: Record<WorkKind, { tier: Tier; temperature: number; maxTokens: number }> = {
  brief: { tier: 'large', temperature: 0.7, maxTokens: 1200 },
  plan: { tier: 'large', temperature: 0.2, maxTokens: 2000 },
  text: { tier: 'fast', temperature: 0.5, maxTokens: 1500 },
  extract: { tier: 'fast', temperature: 0, maxTokens: 1500 },
  synthesize: { tier: 'large', temperature: 0.3, maxTokens: 2500 },
  validate: { tier: 'large', temperature: 0, maxTokens: 1500 },
  format: { tier: 'fast', temperature: 0.2, maxTokens: 2500 },
  vision: { tier: 'vision', temperature: 0.2, maxTokens: 1500 },
};

export interface Route {
  provider: ModelProvider;
  model: string;
  temperature: number;
  maxTokens: number;
  reason: string;
}

/** What may bend the table for one call. Precedence, lowest first: table, hint, stage override, kind override. */
export interface RoutePrefs {
  /** A planner's tier hint on a task-graph node. */
  hint?: Tier;
  /** The robot's override for the stage the call belongs to. */
  stage?: { name: string; override: ModelOverride };
  /** The robot's override for this kind of work. */
  kind?: ModelOverride;
}

export interface ModelRouter {
  readonly provider: ModelProvider;
  route(kind: WorkKind, prefs?: RoutePrefs): Route;
}

/**
 * The router over `provider` (by default the one the configuration selects, see lib/config.ts selectProvider).
 * Models come from MC_MODEL_LARGE / MC_MODEL_FAST / MC_MODEL_VISION, else from the provider's registry entry; a
 * provider not in the registry gets the OpenAI-compatible defaults.
 */
export function createModelRouter(c: Config, provider: ModelProvider = createProvider(selectProvider(c), { config: c })): ModelRouter {
  const defaults = (getProvider(provider.name) ?? PROVIDERS['openai-compatible']).defaultModels;
  const large = c.MC_MODEL_LARGE ?? defaults.large;
  const models: Record<Tier, string> = provider.offline
    ? defaults
    : { large, fast: c.MC_MODEL_FAST ?? c.MC_MODEL_LARGE ?? defaults.fast, vision: c.MC_MODEL_VISION ?? c.MC_MODEL_LARGE ?? defaults.vision };
  return {
    provider,
    route(kind, prefs = {}) {
      const entry = ROUTING_TABLE[kind];
      let tier = entry.tier;
      let temperature = entry.temperature;
      let model: string | undefined;
      const why = [`${kind} → ${entry.tier} tier`];
      if (prefs.hint) {
        why.push(prefs.hint === tier ? `planner hint ${tier} agrees` : `planner hint → ${prefs.hint} tier`);
        tier = prefs.hint;
      }
      const apply = (o: ModelOverride, label: string) => {
        if (o.tier) tier = o.tier;
        if (o.model) model = o.model;
        if (o.temperature !== undefined) temperature = o.temperature;
        const parts = [o.tier && `${o.tier} tier`, o.model && `model ${o.model}`, o.temperature !== undefined && `temperature ${o.temperature}`];
        why.push(`${label} → ${parts.filter(Boolean).join(', ')}`);
      };
      if (prefs.stage) apply(prefs.stage.override, `robot override for stage ${prefs.stage.name}`);
      if (prefs.kind) apply(prefs.kind, `robot override for ${kind}`);
      // The offline model answers every tier itself; a model name only means something to a real provider.
      const chosen = provider.offline ? models[tier] : (model ?? models[tier]);
      return { provider, model: chosen, temperature, maxTokens: entry.maxTokens, reason: `${why.join('; ')} (${provider.name} ${chosen})` };
    },
  };
}
