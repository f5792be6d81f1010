/**
 * The claim check: a stage answer far larger than a Temporal payload may be (5 MB from the fake provider, through
 * the real `openai` client) is kept in the artifact store by the activity, only a reference goes into history, the
 * run is Done, and the whole output is downloadable over the API — and reaches the destinations and /v1 whole.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type FakeLlm, pipelineResponder, startFakeLlm } from './helpers/fake-llm';
import { apiClient, runWaiter } from './helpers/http';
import { startTestApi, type TestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';

const KEY = 'claim-check-key';
const FIVE_MB = 5 * 1024 * 1024;
/** A Markdown report of 5 MB whose end differs from its beginning, so a cut copy cannot pass for the whole. */
const HUGE = `# The huge report\n\n${'All work and no play. '.repeat(Math.ceil(FIVE_MB / 22))}\n\nThe very end.`;

let env: TestWorkflowEnvironment;
let llm: FakeLlm;
let api: TestApi;
let artifactDir: string;
const call = apiClient(() => api.web.url, KEY);
const waitFor = runWaiter(call);

beforeAll(async () => {
  artifactDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mc-claim-'));
  [env, llm] = await Promise.all([createTestEnv(), startFakeLlm(pipelineResponder((_call, stage) => (stage === 'delivery' ? { content: HUGE } : undefined)))]);
  api = await startTestApi(env, {
    MC_API_KEYS: KEY,
    MC_ARTIFACT_DIR: artifactDir,
    MC_MODEL_PROVIDER: 'openai-compatible',
    OPENAI_BASE_URL: llm.openaiBaseUrl,
    OPENAI_API_KEY: 'fake',
  });
}, 60_000);

afterAll(async () => {
  await api?.stop();
  await llm?.close();
  await env?.teardown();
  fs.rmSync(artifactDir, { recursive: true, force: true });
});

test('When a stage answers with 5 MB, then the run is Done, history holds a reference, and the whole output is downloadable, delivered and answered by /v1', async () => {
  expect(HUGE.length).toBeGreaterThan(FIVE_MB);
  expect((await call('POST', '/api/robots', { id: 'verbose', name: 'Verbose', role: 'Writes at length.', delivery: [{ type: 'file', name: 'report' }] })).status).toBe(201);
  const openai = new OpenAI({ apiKey: KEY, baseURL: `${api.web.url}/v1`, maxRetries: 0 });
  const completion = await openai.chat.completions.create({ model: 'verbose', messages: [{ role: 'user', content: 'Write everything down' }] });
  const run = await waitFor(completion.id, (r) => r.status === 'Done', 60_000);

  // In history and state: a reference with a preview, not the 5 MB.
  const delivery = run.stages.find((s: any) => s.name === 'delivery');
  expect(delivery.output.claimCheck).toMatchObject({ name: 'delivery-output.json', source: 'stage:delivery', contentType: 'application/json; charset=utf-8' });
  expect(delivery.output.claimCheck.bytes).toBeGreaterThan(FIVE_MB);
  expect(delivery.output.preview).toBe(HUGE.slice(0, 2000));
  expect(run.result).toMatchObject({ contentArtifact: 'delivery-output.json', content: HUGE.slice(0, 2000) });
  expect(run.artifacts.map((a: any) => a.name).sort()).toEqual(['delivery-output.json', 'report.json', 'report.md']);
  const history = await env.client.workflow.getHandle(completion.id).fetchHistory();
  expect(JSON.stringify(history).length).toBeLessThan(1024 * 1024);

  // The whole output over the API.
  const stored = await call('GET', `/api/runs/${completion.id}/artifacts/delivery-output.json`);
  expect(stored.status).toBe(200);
  expect(stored.json.content).toBe(HUGE);
  // The file destination and /v1 got it whole too.
  const md = await fetch(`${api.web.url}/api/runs/${completion.id}/artifacts/report.md`, { headers: { authorization: `Bearer ${KEY}` } });
  expect(await md.text()).toBe(HUGE);
  expect(completion.choices[0].message.content).toBe(HUGE);
}, 120_000);
