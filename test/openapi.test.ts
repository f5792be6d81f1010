/**
 * The API's own description: /openapi.json is a valid OpenAPI 3.1 document (checked by a real validator), it
 * lists exactly the routes the Express app serves, real answers match the response schemas it promises, and
 * /docs renders it in Chromium from files this server serves, behind the page's login.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import { chromium, type Browser } from 'playwright-core';
import { createApp, type WebServer } from '../api/app';
import { createMetrics } from '../lib/metrics';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const CHROMIUM = process.env.MC_CHROMIUM_PATH ?? '/usr/bin/chromium';
const KEY = 'openapi-test-key';
let env: TestWorkflowEnvironment;
let api: TestApi;
let web: WebServer;
const call = apiClient(() => web.url, KEY);
const waitFor = runWaiter(call);

type Doc = { openapi: string; paths: Record<string, Record<string, any>>; components: Record<string, Record<string, any>> };
let doc: Doc;

beforeAll(async () => {
  env = await createTestEnv();
  api = await startTestApi(env, { MC_API_KEYS: KEY, MC_WEBHOOK_KEY: 'openapi-master-key' });
  web = api.web;
  const r = await call('GET', '/openapi.json');
  expect(r.status).toBe(200);
  doc = r.json;
});

afterAll(async () => {
  await api?.stop();
  await env?.teardown();
});

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** `GET /api/runs/{id}` for every operation of the document. */
const documentedOperations = (d: Doc) =>
  Object.entries(d.paths).flatMap(([p, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${p}`));

describe('the document', () => {
  test('When /openapi.json is fetched with a key, then it validates as OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    // The validator dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(doc) as any)).resolves.toBeDefined();
    // And it is a check that can fail: a document with a broken operation is refused.
    const broken = structuredClone(doc);
    broken.paths['/api/runs'].post.responses = { 201: { content: {} } };
    await expect(SwaggerParser.validate(broken as any)).rejects.toThrow();
  });

  test('When /openapi.json or /docs is asked for without credentials, then 401 for a client and the login page for a browser', async () => {
    for (const url of ['/openapi.json', '/docs', '/docs/assets/docs.js']) {
      const r = await fetch(`${web.url}${url}`, { redirect: 'manual' });
      expect([url, r.status]).toEqual([url, 401]);
    }
    const page = await fetch(`${web.url}/docs`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Fdocs');
  });

  test('When the document describes security, then keys and the session cookie guard the API, health and login are open, and webhooks need their signature headers', () => {
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearerKey', 'sessionCookie', 'webhookSignature']);
    expect(doc.components.securitySchemes.bearerKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.components.securitySchemes.sessionCookie).toMatchObject({ type: 'apiKey', in: 'cookie', name: 'mc_session' });
    expect(doc.components.securitySchemes.webhookSignature).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-MC-Signature' });
    expect(doc.paths['/api/runs'].post.security).toEqual([{ bearerKey: [] }, { sessionCookie: [] }]);
    expect(doc.paths['/openapi.json'].get.security).toEqual([{ bearerKey: [] }, { sessionCookie: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/login'].post.security).toEqual([]);
    const hook = doc.paths['/hooks/{robotId}'].post;
    expect(hook.security).toEqual([{ webhookSignature: [] }]);
    expect(hook.parameters.filter((p: any) => p.in === 'header').map((p: any) => p.name).sort()).toEqual(['x-mc-delivery', 'x-mc-timestamp']);
    expect(Object.keys(hook.responses).sort()).toEqual(['200', '202', '400', '401', '413', '415']);
  });

  test('When the main routes are documented, then their answers refer to the run and robot schemas of the contracts', () => {
    const ref = (op: any, status: number) => op.responses[status].content['application/json'].schema.$ref;
    expect(ref(doc.paths['/api/runs'].post, 201)).toBe('#/components/schemas/StartedRun');
    expect(ref(doc.paths['/api/runs/{id}'].get, 200)).toBe('#/components/schemas/RunView');
    expect(ref(doc.paths['/api/runs/{id}/approvals'].post, 200)).toBe('#/components/schemas/RunState');
    expect(ref(doc.paths['/api/robots/{id}'].get, 200)).toBe('#/components/schemas/RobotView');
    expect(doc.paths['/api/runs/{id}/approvals'].post.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/ApprovalBody');
    // RunState carries what the workflow reports: stages, usage, gate, approvals, graph, events.
    const runState = doc.components.schemas.RunState;
    expect(Object.keys(runState.properties)).toEqual(expect.arrayContaining(['runId', 'status', 'stages', 'usage', 'gate', 'approvals', 'dag', 'events', 'host', 'budget']));
    expect(runState.properties.status.enum).toEqual(['Pending', 'Running', 'Review', 'Done', 'Failed', 'Cancelled']);
    // Every error answer is the one error shape.
    expect(ref(doc.paths['/api/runs/{id}'].get, 404)).toBe('#/components/schemas/Error');
  });
});

describe('routes and document agree', () => {
  test('When the routes registered on the Express app are listed, then each one is in the document and the document lists no other', () => {
    // A second app from the same code, on the same Temporal client: the route table is built by createApp alone.
    const { app, http } = createApp({ client: env.client, config: api.config, credentials: { apiKeys: [KEY] }, metrics: createMetrics({ defaultMetrics: false }) });
    const stack = (app as unknown as { router: { stack: any[] } }).router.stack;
    const routes: string[] = [];
    const others: string[] = [];
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) routes.push(`${m.toUpperCase()} ${String(layer.route.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
      } else {
        // A mounted router would hide its routes' full paths from this listing: routes are added with full paths.
        expect(layer.handle?.stack).toBeUndefined();
        others.push(layer.name);
      }
    }
    // Not routes, so not operations: the security headers, the per-address rate limit, the credentials (who, the
    // limit on failing them), the /v1 key check (OpenAI's error shape), the credentials check, the limits per
    // credential, the page's static files, the JSON content-type check and parser, the 404 answer, the /v1 error
    // shape and the error middleware.
    expect(others).toEqual([
      'helmetMiddleware',
      'rateLimit',
      'identify',
      'authFailures',
      '<anonymous>',
      'requireAuth',
      'rateLimit',
      'rateLimit',
      'serveStatic',
      'requireJson',
      'jsonParser',
      '<anonymous>',
      '<anonymous>',
      '<anonymous>',
    ]);
    expect(routes.length).toBeGreaterThan(30);
    const documented = documentedOperations(http.openApiDocument() as unknown as Doc);
    expect(routes.filter((r) => !documented.includes(r))).toEqual([]);
    expect(documented.filter((d) => !routes.includes(d))).toEqual([]);
    // And the served document is that document.
    expect(documentedOperations(doc).sort()).toEqual([...documented].sort());
  });
});

describe('answers match the document', () => {
  /** Validates a real answer against the schema the document gives for that operation and status. */
  async function expectDocumented(method: string, path: string, status: number, body: unknown) {
    const deref = (await SwaggerParser.dereference(structuredClone(doc) as any)) as unknown as Doc;
    const schema = deref.paths[path][method].responses[status].content['application/json'].schema;
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(schema);
    const ok = validate(body);
    expect([`${method.toUpperCase()} ${path} ${status}`, ok ? [] : validate.errors]).toEqual([`${method.toUpperCase()} ${path} ${status}`, []]);
  }

  test('When a run is started, listed and read back, and a robot created and read, then each answer matches its documented schema', async () => {
    const started = await call('POST', '/api/runs', { task: 'Describe the API in one sentence' });
    expect(started.status).toBe(201);
    await expectDocumented('post', '/api/runs', 201, started.json);
    const done = await waitFor(started.json.id, (r) => r.status === 'Done');
    await expectDocumented('get', '/api/runs/{id}', 200, done);
    const listed = await call('GET', '/api/runs?status=Done');
    await expectDocumented('get', '/api/runs', 200, listed.json);
    const progress = await call('GET', `/task/${started.json.id}/progress`);
    await expectDocumented('get', '/task/{id}/progress', 200, progress.json);

    const robot = await call('POST', '/api/robots', {
      id: 'documented',
      name: 'Documented',
      role: 'Checks the document.',
      workMode: 'autonomous',
      schedule: { cron: ['0 9 * * MON-FRI'], timezone: 'Europe/Berlin' },
      webhook: { enabled: true },
    });
    expect(robot.status).toBe(201);
    await expectDocumented('post', '/api/robots', 201, robot.json);
    await expectDocumented('get', '/api/robots/{id}', 200, (await call('GET', '/api/robots/documented')).json);
    const missing = await call('GET', '/api/runs/run-not-there');
    await expectDocumented('get', '/api/runs/{id}', 404, missing.json);
    // The check can fail: a body the document does not allow is refused.
    await expect(expectDocumented('post', '/api/runs', 201, { ...started.json, status: 'Sleeping' })).rejects.toThrow();
  });
});

describe('/docs', () => {
  let browser: Browser;
  afterAll(async () => browser?.close());

  test('When the /docs page is served, then it loads only this server\'s files and has no inline script', async () => {
    const html = (await call('GET', '/docs')).text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThanOrEqual(2);
    for (const [, attrs, inline] of scripts) {
      expect(attrs).toMatch(/src="\/docs\/assets\//);
      expect(inline.trim()).toBe('');
    }
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'docs.js']) {
      const r = await call('GET', `/docs/assets/${file}`);
      expect([file, r.status]).toEqual([file, 200]);
    }
    expect((await call('GET', '/docs/assets/index.html')).status).toBe(400);
  });

  test('When a signed-in browser opens /docs, then Swagger UI shows every documented operation and nothing is fetched from elsewhere', async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage();
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(web.url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${web.url}/docs`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#password', KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${web.url}/docs`);
    await page.waitForSelector('.swagger-ui .opblock', { timeout: 30_000 });
    expect(await page.textContent('.swagger-ui .info .title')).toContain('Mission Control API');
    expect(await page.locator('.swagger-ui .opblock').count()).toBe(documentedOperations(doc).length);
    expect(foreign).toEqual([]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: path.join(os.tmpdir(), 'mc-docs.png') });
  });
});
