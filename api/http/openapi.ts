/**
 * The OpenAPI 3.1 document, generated from the very zod schemas the routes validate with (see ./route.ts: a route
 * is registered here when it is mounted, so the document lists exactly the routes the app serves).
 *
 * Importing this module teaches zod the `.openapi()` method (zod-to-openapi's extension); `named()` gives a schema
 * a component name so that the document refers to it by `$ref` instead of repeating it.
 */
import { extendZodWithOpenApi, OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z, type ZodTypeAny } from 'zod';
import { version } from '../../package.json';
import { SESSION_COOKIE } from '../session';

extendZodWithOpenApi(z);

export { OpenAPIRegistry };

/** The schema, registered under `#/components/schemas/<name>` wherever the document uses it. */
export function named<T extends ZodTypeAny>(name: string, schema: T, description?: string): T {
  return schema.openapi(name, description ? { description } : {});
}

/** Security schemes, by the names routes use in their `security` requirements. */
export const SECURITY_SCHEMES = {
  /** An API key from MC_API_KEYS (or the admin password) as a bearer token. */
  bearerKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (`MC_API_KEYS`, or the generated key in `.data/api-key`) or the admin password: `Authorization: Bearer <key>`.',
  },
  /** The page's session cookie, set by POST /login. */
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'The page session: an HttpOnly, SameSite=Strict cookie that `POST /login` sets in exchange for the password or an API key.',
  },
  /** Webhook requests authenticate by their HMAC signature instead of a key. */
  webhookSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'X-MC-Signature',
    description:
      '`sha256=` + hex HMAC-SHA256 with the robot\'s webhook secret over `<X-MC-Timestamp>.<raw body>`. The secret is shown once, when the robot is created, its webhook enabled or its secret rotated.',
  },
} as const;

export type SecurityScheme = keyof typeof SECURITY_SCHEMES;

const INFO = {
  title: 'Mission Control API',
  version,
  description: [
    'Runs AI robots durably on Temporal: start runs, watch them, decide at their approval gates, talk to the Robot Host, and manage robots with their schedules and webhooks.',
    '',
    'Every endpoint except `/healthz` and the login page needs credentials: an API key as `Authorization: Bearer <key>`, or the page\'s session cookie. Webhooks (`POST /hooks/{robotId}`) are authenticated by their signature instead.',
    '',
    'Errors are `{ "error": "...", "details"?: ... }`: `400` names the field (`task: Required`), `401` missing or wrong credentials, `404` unknown id or route, `409` the request does not fit the run or robot as it is now, `413` body too large, `429` too many requests, `503` a dependency (a worker, Temporal) is not available.',
  ].join('\n'),
};

/** The whole document for the routes registered so far. */
export function generateDocument(registry: OpenAPIRegistry): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const withSchemes = new OpenAPIRegistry([registry]);
  for (const [name, scheme] of Object.entries(SECURITY_SCHEMES)) withSchemes.registerComponent('securitySchemes', name, { ...scheme });
  return new OpenApiGeneratorV31(withSchemes.definitions).generateDocument({
    openapi: '3.1.0',
    info: INFO,
    security: [{ bearerKey: [] }, { sessionCookie: [] }],
    tags: [
      { name: 'runs', description: 'Start, list, show and control runs' },
      { name: 'gates', description: 'Human control: decisions at gates, the Robot Host' },
      { name: 'graph', description: 'Per-node control of a run\'s task graph' },
      { name: 'robots', description: 'Robot definitions, triggers, schedules and continuous mode' },
      { name: 'webhooks', description: 'Signed webhook triggers' },
      { name: 'chat', description: 'Chat platforms: what Telegram, Slack, Discord, Lark and DingTalk call (each verified the platform\'s way), and a robot\'s integrations' },
      { name: 'compound', description: 'Seed-compatible compound goals' },
      { name: 'stream', description: 'Server-sent events' },
      { name: 'system', description: 'Health, metrics, information, this document' },
      { name: 'page', description: 'The web page\'s password gate' },
    ],
  });
}
