/**
 * The page's weight: what the browser downloads to show the board (the first load), and what the run page and a
 * robot's page add (their libraries load only when they are opened), in Debian's Chromium against the real API.
 *
 *   npm run bench:page
 *
 * Sizes are the response bodies as served (the API does not compress) and, for comparison, gzip-compressed as a
 * reverse proxy would send them. The server-sent event streams and API answers are not counted: only the page's
 * own files (HTML, JS, CSS).
 */
import { gzipSync } from 'node:zlib';
import { startTestApi } from '../testkit/api';
import { createTestEnv } from '../testkit/temporal';
import { launch } from '../test/helpers/browser';
import { runMain } from './harness';

const PASSWORD = 'page-weight';

interface Loaded {
  url: string;
  bytes: number;
  gzip: number;
}

async function main() {
  const env = await createTestEnv();
  const api = await startTestApi(env, { MC_ADMIN_PASSWORD: PASSWORD, MC_API_KEYS: 'page-weight-key' });
  const robot = await fetch(`${api.web.url}/api/robots`, {
    method: 'POST',
    headers: { authorization: 'Bearer page-weight-key', 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'weighed', name: 'Weighed', role: 'A robot to open.', workMode: 'autonomous', schedule: { cron: ['0 9 * * MON-FRI'] } }),
  });
  if (!robot.ok) throw new Error(`robot: ${robot.status}`);
  const run = (await (
    await fetch(`${api.web.url}/api/runs`, { method: 'POST', headers: { authorization: 'Bearer page-weight-key', 'content-type': 'application/json' }, body: JSON.stringify({ task: 'Weigh the page' }) })
  ).json()) as { id: string };
  const browser = await launch();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await context.request.post(`${api.web.url}/login`, { data: { password: PASSWORD } });
  const page = await context.newPage();
  const files: Loaded[] = [];
  page.on('response', async (res) => {
    const url = new URL(res.url());
    const type = res.headers()['content-type'] ?? '';
    if (!/text\/html|javascript|text\/css/.test(type)) return;
    const body = await res.body().catch(() => undefined);
    if (body) files.push({ url: url.pathname, bytes: body.length, gzip: gzipSync(body).length });
  });
  const step = async (name: string, hash: string, ready: string) => {
    const before = files.length;
    await page.goto(`${api.web.url}/${hash}`);
    await page.waitForSelector(ready, { timeout: 30_000 });
    await page.waitForTimeout(1500);
    return { name, files: files.slice(before) };
  };
  const board = await step('board (first load)', '#/', '#metrics .chart canvas');
  // Same document: a hash change, so only what the view adds is fetched.
  const before = files.length;
  await page.evaluate(`location.hash = '#/run/${run.id}'`);
  await page.waitForSelector('#run-timeline li', { timeout: 30_000 });
  await page.waitForTimeout(1500);
  const runPage = { name: 'run page adds', files: files.slice(before) };
  const before2 = files.length;
  await page.evaluate(`location.hash = '#/robot/weighed'`);
  await page.waitForSelector('#robot-form');
  await page.waitForTimeout(1500);
  const robotPage = { name: 'robot page adds', files: files.slice(before2) };

  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log('| Step | Files | As served | gzip |');
  console.log('|---|---|---|---|');
  for (const s of [board, runPage, robotPage]) {
    const bytes = s.files.reduce((n, f) => n + f.bytes, 0);
    const gz = s.files.reduce((n, f) => n + f.gzip, 0);
    console.log(`| ${s.name} | ${s.files.length} | ${kb(bytes)} | ${kb(gz)} |`);
  }
  console.log('\nFiles of the first load:');
  for (const f of board.files) console.log(`  ${f.url.padEnd(24)} ${kb(f.bytes).padStart(10)} ${kb(f.gzip).padStart(10)} gzip`);
  console.log('Added by the run page:', runPage.files.map((f) => `${f.url} ${kb(f.bytes)}`).join(', '));
  console.log('Added by the robot page:', robotPage.files.map((f) => `${f.url} ${kb(f.bytes)}`).join(', '));
  const total = (s: { files: Loaded[] }) => ({ files: s.files.length, bytes: s.files.reduce((n, f) => n + f.bytes, 0), gzip: s.files.reduce((n, f) => n + f.gzip, 0) });
  console.log(JSON.stringify({ bench: 'page', board: total(board), runPage: total(runPage), robotPage: total(robotPage) }));
  await browser.close();
  await api.stop();
  await env.teardown();
}

runMain(main);
