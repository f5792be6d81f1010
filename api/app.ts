/**
 * The Express app and its lifecycle. `createUseCases` wires the use cases and services over the Temporal client
 * (callable without HTTP); `createApp` puts the routes in front of them; `startWebServer` listens (port 0 in
 * tests) and returns a handle whose `stop` closes the server. The Temporal client is passed in and owned by the
 * caller.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import client from 'prom-client';
import type { Client } from '@temporalio/client';
import { artifactDir, createArtifactStore, type ArtifactStore } from '../lib/artifact-store';
import type { Config } from '../lib/config';
import { CredentialStore, resolveCredential, resolveSecretKey } from '../lib/credentials';
import { createLogger } from '../lib/log';
import type { Metrics } from '../lib/metrics';
import { Credentials, identify, requireAuth } from './auth';
import { IntegrationService } from './chat/integrations';
import { NotFound } from './errors';
import { errorMiddleware } from './http/error-middleware';
import { requireJsonBody, securityHeaders, verifyJsonDepth } from './http/protection';
import { createRateLimiters } from './http/rate-limits';
import { HttpApi } from './http/route';
import { TemporalReadiness } from './readiness';
import { RobotService } from './robots/service';
import { RobotStore } from './robots/store';
import { resolveWebhookKey } from './robots/webhook-signature';
import { artifactRoutes } from './routes/artifacts';
import { chatInboundRoutes, integrationRoutes } from './routes/chat';
import { compoundRoutes } from './routes/compound';
import { credentialRoutes } from './routes/credentials';
import { docsRoutes } from './routes/docs';
import { eventRoutes } from './routes/events';
import { hookRoutes } from './routes/hooks';
import { openAiAuth, openAiErrorMiddleware, openAiRoutes } from './routes/openai';
import { robotRoutes } from './routes/robots';
import { runRoutes } from './routes/runs';
import { sessionRoutes } from './routes/session';
import { healthRoute, readinessRoute, systemRoutes } from './routes/system';
import { ActivityFeed } from './activity-feed';
import { FleetService } from './fleet';
import { insightRoutes } from './routes/insights';
import { vendorRoutes } from './routes/vendor';
import { RunService } from './run-service';
import { RunStats } from './run-stats';
import { RunWatcher } from './run-watcher';
import { SessionRevocations } from './session-revocations';
import { type ChatCompletion, createChatCompletion } from './use-cases/chat-completion';
import { createReceiveChat, type ReceiveChat } from './use-cases/receive-chat';
import { createReceiveWebhook, type ReceiveWebhook } from './use-cases/receive-webhook';
import { createStartRun, type StartRun } from './use-cases/start-run';

/** The page: static files, no build step, no CDN. */
export const WEB_DIR = path.resolve(__dirname, '..', 'web');

export interface AppDeps {
  client: Client;
  config: Config;
  credentials: Credentials;
  metrics: Metrics;
}

const log = createLogger('api');

/** The use cases and services of one API process, wired once (no HTTP in them). */
export interface UseCases {
  runs: RunService;
  robots: RobotService;
  startRun: StartRun;
  receiveWebhook: ReceiveWebhook;
  /** Robots as OpenAI chat completions (/v1). */
  chat: ChatCompletion;
  watcher: RunWatcher;
  /** Delivered files and outputs too large for history (lib/artifact-store.ts). */
  artifacts: ArtifactStore;
  /** The encrypted credential store (values go in, never out). */
  credentials: CredentialStore;
  fleet: FleetService;
  activity: ActivityFeed;
  stats: RunStats;
  /** Requests from chat platforms, and a robot's chat integrations. */
  receiveChat: ReceiveChat;
  integrations: IntegrationService;
  /** Page sessions signed out, as Temporal holds them. */
  revocations: SessionRevocations;
}

/** How long the API keeps a resolved verification secret (a signing secret, a webhook token) in memory. */
const SECRET_CACHE_MS = 15_000;

export function createUseCases(deps: AppDeps): UseCases {
  const store = new RobotStore(deps.client);
  const runs = new RunService(deps.client, deps.config);
  const c = deps.config;
  const watcher = new RunWatcher(deps.client, runs, {
    catchupMaxAgeMs: c.MC_SSE_CATCHUP_MAX_AGE_SECONDS * 1000,
    catchupMaxRuns: c.MC_SSE_CATCHUP_MAX_RUNS,
    catchupMaxEvents: c.MC_SSE_CATCHUP_MAX_EVENTS,
    catchupMaxBytes: c.MC_SSE_CATCHUP_MAX_BYTES,
  });
  runs.followLive((id) => watcher.progressOf(id));
  const startRun = createStartRun({ client: deps.client, config: deps.config, metrics: deps.metrics, robots: store, onStarted: (id) => watcher.watch(id) });
  const webhookKey = resolveWebhookKey(deps.config);
  const robots = new RobotService({ client: deps.client, config: deps.config, store, runs, startRun, webhookKey });
  const receiveWebhook = createReceiveWebhook({
    robots: store,
    startRun,
    webhookKey,
    maxJsonDepth: deps.config.MC_MAX_JSON_DEPTH,
    v1Until: deps.config.MC_WEBHOOK_V1_UNTIL,
  });
  const artifacts = createArtifactStore(artifactDir(deps.config));
  const chat = createChatCompletion({ client: deps.client, startRun, runs, watcher, robots: store, artifacts });
  // The key is read (or generated) when the first credential is stored, not at start-up.
  const credentials = new CredentialStore(deps.client, () => resolveSecretKey(deps.config));
  // Verification secrets of chat platforms, resolved like a worker resolves bot tokens (environment, then the store),
  // kept briefly so a burst of requests does not read Temporal each time; a change through this API drops them at once.
  const cached = new Map<string, { value: Promise<string>; until: number }>();
  const secret = (name: string): Promise<string> => {
    const hit = cached.get(name);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = resolveCredential(name, { env: process.env, store: credentials });
    cached.set(name, { value, until: Date.now() + SECRET_CACHE_MS });
    value.catch(() => cached.delete(name));
    return value;
  };
  const receiveChat = createReceiveChat({ client: deps.client, config: deps.config, robots: store, secret, metrics: deps.metrics, maxJsonDepth: deps.config.MC_MAX_JSON_DEPTH });
  const integrations = new IntegrationService({ client: deps.client, config: deps.config, robots, store, credentials, onCredentialChanged: (name) => cached.delete(name) });
  const fleet = new FleetService(deps.client, deps.config);
  const revocations = new SessionRevocations(deps.client, deps.config.MC_TASK_QUEUE);
  return {
    runs,
    robots,
    startRun,
    receiveWebhook,
    chat,
    watcher,
    artifacts,
    credentials,
    fleet,
    activity: new ActivityFeed(runs),
    stats: new RunStats(runs),
    receiveChat,
    integrations,
    revocations,
  };
}

export interface App {
  app: express.Express;
  /** The app's routes and their OpenAPI document. */
  http: HttpApi;
  watcher: RunWatcher;
  fleet: FleetService;
  /** Stopped with the server, like the watcher: it calls Temporal. */
  revocations: SessionRevocations;
}

export function createApp(deps: AppDeps): App {
  const useCases = createUseCases(deps);
  const { runs, robots, startRun, receiveWebhook, chat, watcher, artifacts, credentials, fleet, activity, stats, receiveChat, integrations, revocations } = useCases;
  registerRunGauge(deps.metrics, runs);

  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.config.MC_TRUST_PROXY) app.set('trust proxy', trustProxy(deps.config.MC_TRUST_PROXY));
  const http = new HttpApi(app);
  // Security headers (strict CSP) on every response, errors and public routes included (http/protection.ts).
  app.use(securityHeaders());
  // Rate limits (http/rate-limits.ts): per address first, for everything but health.
  const limits = createRateLimiters(deps.config);
  app.use(limits.perAddress);

  // Public routes, then everything else behind credentials. Webhooks authenticate by signature over the raw body,
  // so they come before the credentials middleware and the JSON parser.
  // Chat platforms likewise authenticate by their own signatures over the raw body (api/chat/platforms/).
  // Probes carry no credentials: readiness answers only ready / not ready (api/readiness.ts).
  const readiness = new TemporalReadiness(deps.client, deps.config.TEMPORAL_NAMESPACE, log, { timeoutMs: Math.min(deps.config.MC_TEMPORAL_TIMEOUT_MS, 2000) });
  http.add(
    healthRoute,
    readinessRoute(readiness),
    ...hookRoutes(receiveWebhook, deps.config.MC_WEBHOOK_MAX_BODY),
    ...chatInboundRoutes(receiveChat, deps.config.MC_WEBHOOK_MAX_BODY),
    ...sessionRoutes(deps.credentials, WEB_DIR, { maxJsonDepth: deps.config.MC_MAX_JSON_DEPTH, loginLimiter: limits.login, revocations }),
  );
  // Credentials: who the request is, and the limit on failing them (for /v1 too); /v1 then checks the keys itself,
  // so that a refusal is in OpenAI's error shape; everything else needs credentials, and a state change with the
  // page's cookie must come from this site (403 otherwise); then the limits per credential.
  app.use(identify(deps.credentials, revocations), limits.authFailures);
  app.use('/v1', openAiAuth(deps.credentials));
  http.requireCredentials(requireAuth(), ...limits.perKey);

  app.use(express.static(WEB_DIR, { index: 'index.html', extensions: ['html'] }));
  // Bodies are JSON (415 otherwise), at most MC_MAX_BODY (413) and MC_MAX_JSON_DEPTH deep (400).
  app.use(requireJsonBody());
  app.use(express.json({ limit: deps.config.MC_MAX_BODY, verify: verifyJsonDepth(deps.config.MC_MAX_JSON_DEPTH) }));
  http.add(
    ...systemRoutes(deps.config, deps.metrics, runs),
    ...eventRoutes(runs, watcher, { maxStreamsPerKey: deps.config.MC_SSE_MAX_PER_KEY, pingMs: deps.config.MC_SSE_PING_SECONDS * 1000 }),
    ...runRoutes(runs, startRun),
    ...compoundRoutes(runs, startRun),
    ...robotRoutes(robots),
    ...artifactRoutes(runs, artifacts),
    ...credentialRoutes(credentials),
    ...integrationRoutes(integrations),
    ...openAiRoutes(chat, robots, runs),
    ...insightRoutes({ client: deps.client, runs, fleet, activity, stats }),
    ...vendorRoutes(),
    ...docsRoutes(http),
  );

  app.use((req, _res, next) => next(new NotFound(`no route for ${req.method} ${req.path}`)));
  app.use(openAiErrorMiddleware(log));
  app.use(errorMiddleware(log));
  return { app, http, watcher, fleet, revocations };
}

/** MC_TRUST_PROXY as Express's "trust proxy" takes it: `true`, a hop count, or addresses / CIDRs / names. */
function trustProxy(v: string): boolean | number | string {
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

/** mc_runs{status}: runs per status, counted from Temporal visibility at scrape time (true across processes). */
function registerRunGauge(metrics: Metrics, runs: RunService): void {
  if (metrics.registry.getSingleMetric('mc_runs')) metrics.registry.removeSingleMetric('mc_runs');
  new client.Gauge({
    name: 'mc_runs',
    help: 'Runs by status, from Temporal visibility',
    labelNames: ['status'],
    registers: [metrics.registry],
    async collect() {
      try {
        const counts = await runs.countByStatus();
        for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
      } catch (err) {
        log.warn('could not count runs for /metrics', { error: (err as Error).message });
      }
    },
  });
}

export interface WebServer {
  server: http.Server;
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startWebServer(deps: AppDeps, opts: { port?: number; host?: string } = {}): Promise<WebServer> {
  const { app, watcher, fleet, revocations } = createApp(deps);
  const server = http.createServer(app);
  const host = opts.host ?? deps.config.MC_HOST;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? deps.config.PORT, host, () => resolve());
  });
  watcher.start();
  const { port } = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    server,
    port,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      fleet.stop();
      await Promise.all([watcher.stop(), revocations.stop()]);
      await closed;
    },
  };
}
