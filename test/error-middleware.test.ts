/**
 * The one error middleware, over HTTP on port 0: each kind of error a route can throw becomes its status and the
 * `{ error, details? }` body, and an unexpected error is a 500 whose cause is logged and not sent.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { INVALID_DECISION, STALE_DECISION } from '../contracts/messages';
import { AlreadyStarted, Conflict, InvalidInput, InvalidSignature, NotFound, RateLimited, Unavailable } from '../api/errors';
import { ERROR_MAPPINGS, errorMiddleware, type ErrorMapping } from '../api/http/error-middleware';
import type { Logger } from '../lib/log';

/** A gRPC status error as @grpc/grpc-js makes it: a numeric code and its details. */
const grpcError = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });

const logged: string[] = [];
const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (msg, fields) => void logged.push(`${msg} ${JSON.stringify(fields)}`) };

/** Errors by name; GET /throw/:name throws one. */
const errors: Record<string, () => unknown> = {
  zod: () => z.object({ task: z.string() }).strict().parse({ colour: 'red' }),
  invalidInput: () => new InvalidInput('x-mc-delivery: must be 1-128 characters'),
  invalidSignature: () => new InvalidSignature('signature does not match'),
  notFound: () => NotFound.of('robot'),
  conflict: () => new Conflict('run already finished (Done)', { status: 'Done' }),
  alreadyStarted: () => new AlreadyStarted('run-hook-x-1'),
  rateLimited: () => new RateLimited('too many requests', 2.5),
  unavailable: () => new Unavailable('no worker drafted the role in time'),
  invalidDecision: () => new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ message: 'revise needs feedback', type: INVALID_DECISION })),
  staleDecision: () => new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ message: 'the run is not waiting at delivery', type: STALE_DECISION })),
  otherRefusal: () => new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ message: 'no host conversation', type: 'NoHost' })),
  workflowNotFound: () => new WorkflowNotFoundError('not found', 'run-x', undefined),
  workflowCompleted: () => new WorkflowNotFoundError('workflow execution already completed', 'run-x', undefined),
  // What the SDK throws when the frontend cannot be reached, or the call's deadline (MC_TEMPORAL_TIMEOUT_MS) passes.
  temporalUnreachable: () => new ServiceError('Failed to describe workflow', { cause: grpcError(14, 'No connection established') }),
  temporalTimeout: () => new ServiceError('Failed to query workflow', { cause: grpcError(4, 'Deadline exceeded') }),
  // A Node error with a string code is not a gRPC status: an ordinary 500.
  nodeError: () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', details: 'x' }),
  unexpected: () => new Error('database on fire at /secret/path'),
};

let server: http.Server;
let base: string;

function start(mappings?: readonly ErrorMapping[]): Promise<void> {
  const app = express();
  app.use(express.json({ limit: '10b' }));
  app.get('/throw/:name', (req) => {
    throw errors[req.params.name]();
  });
  app.post('/json', (_req, res) => void res.json({ ok: true }));
  app.use(errorMiddleware(log, mappings));
  server = http.createServer(app);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
}

beforeAll(async () => {
  await start();
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function get(name: string) {
  const res = await fetch(`${base}/throw/${name}`);
  return { status: res.status, body: (await res.json()) as { error: string; details?: any }, retryAfter: res.headers.get('retry-after') };
}

test.each([
  ['zod', 400, /^task: Required; body: Unrecognized key\(s\) in object: 'colour'$/],
  ['invalidInput', 400, /^x-mc-delivery: /],
  ['invalidSignature', 401, /^signature does not match$/],
  ['notFound', 404, /^robot not found$/],
  ['conflict', 409, /^run already finished/],
  ['alreadyStarted', 409, /^run run-hook-x-1 was already started$/],
  ['rateLimited', 429, /^too many requests$/],
  ['unavailable', 503, /^no worker drafted/],
  ['invalidDecision', 400, /^revise needs feedback$/],
  ['staleDecision', 409, /^the run is not waiting at delivery$/],
  ['otherRefusal', 409, /^no host conversation$/],
  ['workflowNotFound', 404, /^run not found$/],
  ['workflowCompleted', 409, /^run already finished$/],
  ['temporalUnreachable', 503, /^Temporal is unreachable; try again shortly$/],
  ['temporalTimeout', 503, /^Temporal did not answer in time; try again shortly$/],
  ['nodeError', 500, /^internal error$/],
])('When a route throws %s, then the answer is %i with the message', async (name, status, message) => {
  const r = await get(name);
  expect(r.status).toBe(status);
  expect(r.body.error).toMatch(message);
});

test('When the error carries details, then they are in the answer: zod issues, a conflict\'s data, a refused update\'s type', async () => {
  expect((await get('zod')).body.details).toEqual(
    expect.arrayContaining([
      { field: 'task', message: 'Required', code: 'invalid_type' },
      expect.objectContaining({ code: 'unrecognized_keys' }),
    ]),
  );
  expect((await get('conflict')).body.details).toEqual({ status: 'Done' });
  expect((await get('alreadyStarted')).body.details).toEqual({ id: 'run-hook-x-1' });
  expect((await get('staleDecision')).body.details).toEqual({ type: STALE_DECISION });
  expect((await get('notFound')).body).toEqual({ error: 'robot not found' });
});

test('When the caller is rate limited, then the answer says when to try again', async () => {
  expect((await get('rateLimited')).retryAfter).toBe('3');
});

test('When Temporal cannot be reached in time, then the 503 says when to try again', async () => {
  expect((await get('temporalUnreachable')).retryAfter).toBe('5');
  expect((await get('temporalTimeout')).retryAfter).toBe('5');
});

test('When a body cannot be parsed, then the body parser\'s own status comes back', async () => {
  const bad = await fetch(`${base}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: 'body is not valid JSON' });
  const big = await fetch(`${base}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":"0123456789"}' });
  expect(big.status).toBe(413);
  expect(await big.json()).toEqual({ error: 'body is too large' });
});

test('When an unexpected error is thrown, then 500 without the cause, and the cause is logged with its stack', async () => {
  logged.length = 0;
  const r = await get('unexpected');
  expect(r.status).toBe(500);
  expect(r.body).toEqual({ error: 'internal error' });
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatch(/GET \/throw\/unexpected failed/);
  expect(logged[0]).toMatch(/database on fire/);
  expect(logged[0]).toMatch(/error-middleware\.test\.ts/);
});

test('When a new kind of error needs a status, then it is one more mapping', async () => {
  class Overloaded extends Error {}
  const overloaded: ErrorMapping = (err) => (err instanceof Overloaded ? { status: 503, body: { error: 'overloaded' } } : undefined);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  errors.overloaded = () => new Overloaded('busy');
  await start([...ERROR_MAPPINGS, overloaded]);
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  expect(await get('overloaded')).toMatchObject({ status: 503, body: { error: 'overloaded' } });
  // The built-in kinds still map as before.
  expect((await get('notFound')).status).toBe(404);
});
