/**
 * Routes as data: `route(spec, handler)` describes one endpoint — method, full path, who may call it, the zod
 * schemas of its params, query, headers and body, its responses — and `HttpApi.add` mounts it on the Express app
 * *and* registers it in the OpenAPI registry, from the same spec. The handler gets the parsed input (a zod error
 * is a 400 naming the field, see ./error-middleware.ts) and returns the response body; the document cannot drift
 * from the code because both come from one object.
 *
 * @example
 * route(
 *   { method: 'get', path: '/api/runs/:id', summary: 'Show a run', params: RunIdParams, responses: { 200: ['The run', RunView] } },
 *   ({ params }) => runs.get(params.id),
 * )
 */
import type { Express, Request, RequestHandler, Response } from 'express';
import { z, type AnyZodObject, type ZodTypeAny } from 'zod';
import { generateDocument, named, OpenAPIRegistry, type SecurityScheme } from './openapi';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route: anyone with credentials (an API key or the page session; the default), anyone (`public`:
 * health, the login page), a sender whose request carries a valid webhook signature (`signature`), or a chat
 * platform whose request carries that platform's own signature (`platform`: Slack, Discord, Lark, DingTalk, the
 * Telegram secret token; described per route).
 */
export type Access = 'credentials' | 'public' | 'signature' | 'platform';

/** One documented response: a description, and what the body is (JSON by default). */
export type ResponseSpec = string | [description: string, schema: ZodTypeAny] | { description: string; schema?: ZodTypeAny; contentType?: string };

export interface RouteSpec<P, Q, H, B> {
  method: Method;
  /** The full Express path (`/api/runs/:id`), as it is mounted on the app. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  access?: Access;
  params?: P;
  query?: Q;
  headers?: H;
  body?: B;
  /** Media types the body may come in (default JSON). */
  bodyTypes?: string[];
  /** What an absent body is validated as (default `{}`, so a missing body reads as "no fields"). */
  emptyBody?: unknown;
  /** A body the handler takes as raw bytes (it cannot be parsed before it is verified): documented, not parsed. */
  rawBody?: { contentType: string; schema: ZodTypeAny; description: string };
  /** Middleware that runs before validation, e.g. this route's own body parser. */
  middleware?: RequestHandler[];
  /** Status → response; the lowest 2xx is what the handler's return value is sent with. */
  responses: Record<number, ResponseSpec>;
  /** The handler writes the response itself (streams, files, redirects, text). */
  raw?: boolean;
}

type Out<S> = S extends ZodTypeAny ? z.output<S> : undefined;

export interface RouteInput<P, Q, H, B> {
  params: Out<P>;
  query: Out<Q>;
  headers: Out<H>;
  body: Out<B>;
  req: Request;
  res: Response;
}

/** A return value with a status other than the route's default one. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
export const withStatus = (status: number, body: unknown) => new Reply(status, body);

export interface RouteDef {
  spec: RouteSpec<AnyZodObject | undefined, AnyZodObject | undefined, AnyZodObject | undefined, ZodTypeAny | undefined>;
  handler: (input: RouteInput<ZodTypeAny, ZodTypeAny, ZodTypeAny, ZodTypeAny>) => unknown;
}

export function route<
  P extends AnyZodObject | undefined = undefined,
  Q extends AnyZodObject | undefined = undefined,
  H extends AnyZodObject | undefined = undefined,
  B extends ZodTypeAny | undefined = undefined,
>(spec: RouteSpec<P, Q, H, B>, handler: (input: RouteInput<P, Q, H, B>) => unknown): RouteDef {
  return { spec, handler } as unknown as RouteDef;
}

/** The error body every failure answers with. */
export const ErrorBody = named(
  'Error',
  z.object({
    error: z.string().describe('What went wrong; for bad input, the field and the problem (`task: Required`)'),
    details: z.unknown().optional().describe('Structured details: the zod issues of a 400, the running runs of a refused delete, ...'),
  }),
);

/** `/api/runs/:id` → `/api/runs/{id}` */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

const SECURITY: Record<Access, Partial<Record<SecurityScheme, string[]>>[]> = {
  credentials: [{ bearerKey: [] }, { sessionCookie: [] }],
  public: [],
  signature: [{ webhookSignature: [] }],
  platform: [],
};

const successStatus = (spec: RouteDef['spec']) => Math.min(...Object.keys(spec.responses).map(Number).filter((s) => s >= 200 && s < 300));

function documentedResponses(spec: RouteDef['spec']) {
  const all: Record<number, ResponseSpec> = {};
  if (spec.params || spec.query || spec.headers || spec.body) all[400] = 'Invalid input: `error` names the field';
  if (spec.access !== 'public') {
    all[401] = spec.access === 'signature' || spec.access === 'platform' ? 'Missing, wrong or stale signature' : 'Missing or invalid credentials';
  }
  if (spec.body || spec.rawBody) all[413] = 'Body too large';
  Object.assign(all, spec.responses);
  return Object.fromEntries(
    Object.entries(all).map(([status, r]) => {
      const { description, schema, contentType } = typeof r === 'string' ? { description: r, schema: undefined, contentType: undefined } : Array.isArray(r) ? { description: r[0], schema: r[1], contentType: undefined } : r;
      const body = schema ?? (Number(status) >= 400 ? ErrorBody : undefined);
      return [status, { description, ...(body ? { content: { [contentType ?? 'application/json']: { schema: body } } } : {}) }];
    }),
  );
}

/**
 * The app's routes: mounts each route on the Express app with its full path and registers it in the OpenAPI
 * registry. It also keeps the order honest: public and signature routes must be added before the credentials
 * middleware is installed, credentials routes after it, or the app refuses to start.
 */
export class HttpApi {
  readonly registry = new OpenAPIRegistry();
  private credentialsInstalled = false;
  private document?: ReturnType<typeof generateDocument>;

  constructor(readonly app: Express) {}

  /** Installs the middleware every later route (and static file) needs credentials from. */
  requireCredentials(...middleware: RequestHandler[]): void {
    this.app.use(...middleware);
    this.credentialsInstalled = true;
  }

  add(...routes: RouteDef[]): void {
    for (const r of routes) this.mount(r);
  }

  /** The OpenAPI document of every route added (generated once, on first use). */
  openApiDocument(): ReturnType<typeof generateDocument> {
    this.document ??= generateDocument(this.registry);
    return this.document;
  }

  private mount({ spec, handler }: RouteDef): void {
    const access = spec.access ?? 'credentials';
    if ((access === 'credentials') !== this.credentialsInstalled) {
      throw new Error(`${spec.method.toUpperCase()} ${spec.path}: a ${access} route must be added ${access === 'credentials' ? 'after' : 'before'} requireCredentials`);
    }
    const status = successStatus(spec);
    if (!spec.raw && !Number.isFinite(status)) throw new Error(`${spec.method.toUpperCase()} ${spec.path}: a route that returns its body needs a 2xx response`);
    this.register(spec, access);
    const run: RequestHandler = async (req, res) => {
      const params = spec.params ? spec.params.parse(req.params) : undefined;
      const query = spec.query ? spec.query.parse(req.query) : undefined;
      const headers = spec.headers ? spec.headers.parse(req.headers) : undefined;
      const body = spec.body ? spec.body.parse(req.body === undefined ? ('emptyBody' in spec ? spec.emptyBody : {}) : req.body) : undefined;
      const out = await handler({ params, query, headers, body, req, res });
      if (spec.raw) return;
      if (out instanceof Reply) res.status(out.status).json(out.body);
      else res.status(status).json(out);
    };
    this.app[spec.method](spec.path, ...(spec.middleware ?? []), run);
  }

  private register(spec: RouteDef['spec'], access: Access): void {
    const bodyContent = spec.body
      ? Object.fromEntries((spec.bodyTypes ?? ['application/json']).map((t) => [t, { schema: spec.body! }]))
      : spec.rawBody
        ? { [spec.rawBody.contentType]: { schema: spec.rawBody.schema } }
        : undefined;
    this.registry.registerPath({
      method: spec.method,
      path: openApiPath(spec.path),
      summary: spec.summary,
      ...(spec.description ? { description: spec.description } : {}),
      tags: [spec.tag],
      security: SECURITY[access],
      request: {
        ...(spec.params ? { params: spec.params } : {}),
        ...(spec.query ? { query: spec.query } : {}),
        ...(spec.headers ? { headers: spec.headers } : {}),
        ...(bodyContent ? { body: { content: bodyContent, ...(spec.rawBody ? { description: spec.rawBody.description } : {}) } } : {}),
      },
      responses: documentedResponses(spec),
    });
  }
}
