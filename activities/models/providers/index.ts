/**
 * The model provider registry: a new provider is one file in this folder (a `defineProvider` with its name,
 * default models and constructor) plus one line here. Its name must also be one of MC_MODEL_PROVIDER's values
 * in lib/config.ts (the API parses the configuration without loading any SDK); `satisfies` below makes the
 * compiler hold the two lists equal.
 */
import type { Config } from '../../../lib/config';
import type { ModelProvider, ProviderDefinition, ProviderDeps } from '../types';
import { anthropicProvider } from './anthropic';
import { offlineProvider } from './offline';
import { openaiProvider } from './openai';
import { openaiCompatibleProvider } from './openai-compatible';

export type ProviderName = Exclude<Config['MC_MODEL_PROVIDER'], 'auto'>;

export const PROVIDERS = {
  offline: offlineProvider,
  openai: openaiProvider,
  'openai-compatible': openaiCompatibleProvider,
  anthropic: anthropicProvider,
} satisfies Record<ProviderName, ProviderDefinition>;

export function getProvider(name: string): ProviderDefinition | undefined {
  return Object.prototype.hasOwnProperty.call(PROVIDERS, name) ? PROVIDERS[name as ProviderName] : undefined;
}

/** Build the provider registered under `name`; an unknown name is a configuration error, said plainly. */
export function createProvider(name: string, deps: ProviderDeps): ModelProvider {
  const definition = getProvider(name);
  if (!definition) throw new Error(`unknown model provider "${name}" (known: ${Object.keys(PROVIDERS).join(', ')})`);
  return definition.create(deps);
}

export type { ProviderDefinition, ProviderDeps } from '../types';
