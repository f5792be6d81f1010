/**
 * What every activity is built from. The workers build it once (workers/worker.ts, workers/desktop.ts) and hand
 * it to createActivities / createDesktopActivities (./index.ts); tests swap any part (a router over a fake
 * provider, a clock, a fetch) without module mocking.
 */
import { artifactDir, createArtifactStore, type ArtifactStore } from '../lib/artifact-store';
import { selectProvider, type Config } from '../lib/config';
import type { Metrics } from '../lib/metrics';
import { type Clock, systemClock } from './clock';
import { createProvider } from './models/providers';
import { createModelRouter, type ModelRouter } from './models/router';
import type { Lookup } from './net/guarded-http';

export interface ActivityDeps {
  config: Config;
  /** Provider and routing table. */
  router: ModelRouter;
  clock: Clock;
  /** HTTP client of the model SDKs (their base URLs are the operator's configuration, not a user's choice). */
  fetch: typeof fetch;
  /**
   * Name resolution of user-chosen URLs (http_fetch, escalation and delivery webhooks), which go through the
   * outbound guard (./net/guarded-http.ts); tests swap it to point a public-looking name at a local server.
   */
  lookup?: Lookup;
  metrics?: Metrics;
  /** Where delivered files and outputs too large for history go (default: MC_ARTIFACT_DIR or MC_DATA_DIR/artifacts). */
  artifacts?: ArtifactStore;
  /** The environment credentials are read from (`MC_CREDENTIAL_<NAME>`); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Heartbeat period of the activity runtime in milliseconds (default 1000). */
  heartbeatMs?: number;
}

/**
 * The dependencies of a worker's activities: by default the system clock, the global fetch, and a router over the
 * provider the configuration selects (built with that clock and fetch).
 *
 * @example
 * const deps = createActivityDeps(loadConfig(), { metrics });
 * Worker.create({ ..., activities: createActivities(deps) });
 */
export function createActivityDeps(config: Config, parts: Partial<Omit<ActivityDeps, 'config'>> = {}): ActivityDeps {
  const clock = parts.clock ?? systemClock;
  const fetchFn = parts.fetch ?? globalThis.fetch;
  return {
    config,
    clock,
    fetch: fetchFn,
    router: parts.router ?? createModelRouter(config, createProvider(selectProvider(config), { config, clock, fetch: fetchFn })),
    metrics: parts.metrics,
    heartbeatMs: parts.heartbeatMs,
    lookup: parts.lookup,
    artifacts: parts.artifacts ?? createArtifactStore(artifactDir(config)),
    env: parts.env,
  };
}
