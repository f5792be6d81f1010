/**
 * The tool registry's tools, called directly: http_fetch's address checks against a local canary server that
 * must never receive a request, and the command tool's limits. No Temporal server needed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { blockedReason, embeddedIPv4, safeFetch } from '../activities/tools/http-fetch';
import { capOutput, runNode } from '../activities/dag/node';
import { systemClock } from '../activities/clock';
import { createModelRouter } from '../activities/models/router';
import { getTool, TOOLS } from '../activities/tools';
import type { PlannedNode } from '../contracts/dag';
import { testConfig } from '../testkit/temporal';

let canary: http.Server;
let canaryPort: number;
const canaryHits: string[] = [];
/** On 127.0.0.2: the only address the allow-list lets through. Redirects wherever ?to= says. */
let relay: http.Server;
let relayUrl: string;

const listen = (server: http.Server, host: string) =>
  new Promise<number>((resolve) => server.listen(0, host, () => resolve((server.address() as AddressInfo).port)));

beforeAll(async () => {
  canary = http.createServer((req, res) => {
    canaryHits.push(req.url ?? '');
    res.end('canary');
  });
  canaryPort = await listen(canary, '127.0.0.1');
  relay = http.createServer((req, res) => {
    const to = new URL(req.url ?? '/', 'http://x').searchParams.get('to');
    if (to) res.writeHead(302, { location: to }).end();
    else if (req.url === '/big') res.end('x'.repeat(5000));
    else res.end(`relay says hi at ${req.url}`);
  });
  relayUrl = `http://127.0.0.2:${await listen(relay, '127.0.0.2')}`;
});

afterAll(async () => {
  await new Promise((r) => canary.close(r));
  await new Promise((r) => relay.close(r));
});

const fetchIt = (url: string, allowList = '', maxBytes = 100_000) =>
  safeFetch(url, { allowList, maxBytes, timeoutMs: 3000, signal: new AbortController().signal });

describe('http_fetch', () => {
  test.each([
    ['127.0.0.1', () => `http://127.0.0.1:${canaryPort}/a`, 'loopback'],
    ['::1', () => `http://[::1]:${canaryPort}/b`, 'loopback'],
    ['10.0.0.1', () => 'http://10.0.0.1/c', 'private'],
    ['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/', 'link-local'],
    ['2130706433', () => `http://2130706433:${canaryPort}/d`, 'loopback'],
    ['0x7f000001', () => `http://0x7f000001:${canaryPort}/e`, 'loopback'],
    ['017700000001', () => `http://017700000001:${canaryPort}/f`, 'loopback'],
    ['127.1', () => `http://127.1:${canaryPort}/g`, 'loopback'],
    ['::ffff:127.0.0.1', () => `http://[::ffff:127.0.0.1]:${canaryPort}/h`, 'loopback'],
    ['0.0.0.0', () => `http://0.0.0.0:${canaryPort}/i`, 'unspecified'],
    ['localhost', () => `http://localhost:${canaryPort}/j`, 'loopback'],
    ['fd00:ec2::254', () => 'http://[fd00:ec2::254]/', 'unique-local'],
    ['fe80::1', () => 'http://[fe80::1]/', 'link-local'],
  ])('When the URL points at %s, then it is refused before any request', async (_name, url, why) => {
    const err = await fetchIt(url()).catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('FetchBlocked');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(why);
    expect(canaryHits).toEqual([]);
  });

  test.each([
    ['127.0.0.1', () => `http://127.0.0.1:${canaryPort}/r1`],
    ['localhost', () => `http://localhost:${canaryPort}/r2`],
    ['[::ffff:7f00:1]', () => `http://[::ffff:7f00:1]:${canaryPort}/r3`],
    ['2130706433', () => `http://2130706433:${canaryPort}/r4`],
  ])('When an allowed page redirects to %s, then the hop is refused and the canary receives no request', async (_name, target) => {
    const err = await fetchIt(`${relayUrl}/go?to=${encodeURIComponent(target())}`, '127.0.0.2/32').catch((e) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.message).toMatch(/refused .*loopback/);
    expect(canaryHits).toEqual([]);
  });

  test('When a local URL is allow-listed, then it is fetched; a body over the limit is cut and reported', async () => {
    const ok = await fetchIt(`${relayUrl}/hello`, '127.0.0.2/32');
    expect(ok).toMatchObject({ status: 200, body: 'relay says hi at /hello', truncated: false });
    const big = await fetchIt(`${relayUrl}/big`, '127.0.0.2', 1024);
    expect(big).toMatchObject({ bytes: 1024, truncated: true });
    expect(big.body).toHaveLength(1024);
    const redirected = await fetchIt(`${relayUrl}/go?to=${encodeURIComponent('/hello')}`, '127.0.0.2/32');
    expect(redirected.body).toBe('relay says hi at /hello');
    expect(redirected.redirects).toEqual([`${relayUrl}/hello`]);
  });

  test('When an allow-list names a host, then that host is fetched and its neighbours are still refused', async () => {
    const ok = await fetchIt(`http://localhost:${canaryPort}/allowed`, 'localhost');
    expect(ok.body).toBe('canary');
    expect(canaryHits.splice(0)).toEqual(['/allowed']);
    await expect(fetchIt(`http://127.0.0.1:${canaryPort}/not-allowed`, 'localhost')).rejects.toThrow(/loopback/);
    expect(canaryHits).toEqual([]);
  });

  test('When addresses are classified, then IPv4 hidden in IPv6 is unwrapped and public addresses pass', () => {
    expect(embeddedIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIPv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(embeddedIPv4('2002:a9fe:a9fe::')).toBe('169.254.169.254');
    expect(blockedReason('::ffff:169.254.169.254')).toContain('link-local');
    expect(blockedReason('93.184.216.34')).toBeUndefined();
    expect(blockedReason('2606:2800:220:1:248:1893:25c8:1946')).toBeUndefined();
    expect(blockedReason('100.64.1.1')).toContain('shared');
  });

  test('When the scheme is not http(s), then it is refused', async () => {
    await expect(fetchIt('file:///etc/passwd')).rejects.toThrow(/only http and https/);
  });
});

describe('command', () => {
  const config = testConfig({ MC_COMMAND_TIMEOUT_MS: '5000', MC_COMMAND_MAX_OUTPUT_BYTES: '1024' });
  const run = (args: unknown) => getTool('command')!.run(args, { signal: new AbortController().signal, config, queue: 'desk-test' });

  test('When argv holds shell syntax, then it is passed as plain arguments (no shell)', async () => {
    const r = await run({ argv: [process.execPath, '-e', 'console.log(JSON.stringify(process.argv.slice(1)))', '$(id); rm -rf / | cat'] });
    expect(JSON.parse(r.text)).toEqual(['$(id); rm -rf / | cat']);
    expect(r.ranOn).toMatchObject({ queue: 'desk-test', exitCode: 0, pid: process.pid });
  });

  test('When a command runs too long or prints too much, then it is killed or cut, and a failing exit fails', async () => {
    await expect(run({ argv: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], timeoutMs: 300 })).rejects.toThrow(/killed after 300 ms/);
    const loud = await run({ argv: [process.execPath, '-e', 'process.stdout.write("y".repeat(5000))'] });
    expect(loud.text).toContain('y'.repeat(1024));
    expect(loud.text).toContain('3976 bytes of output dropped');
    await expect(run({ argv: [process.execPath, '-e', 'console.error("boom"); process.exit(3)'] })).rejects.toThrow(/exited with 3: boom/);
    await expect(run({ argv: ['/no/such/program'] })).rejects.toThrow(/could not start/);
  });

  test('When a robot lacks the tool, then the node activity refuses it even if the plan slipped through', async () => {
    const node: PlannedNode = {
      id: 'c',
      title: 'c',
      instructions: 'c',
      kind: 'command',
      tool: 'command',
      args: { argv: ['true'] },
      dependsOn: [],
      expectedOutput: 'x',
      placement: { on: 'desktop', taskQueue: 'desk-test' },
    };
    const robot = { id: 'r', name: 'NoTools', role: 'r', version: 0 };
    const deps = { router: createModelRouter(config), config, clock: systemClock, signal: new AbortController().signal, placement: 'desktop' as const, queue: 'desk-test' };
    await expect(runNode(deps, { runId: 'run-x', task: 't', robot, node, inputs: [] })).rejects.toThrow(/may not use tool "command"/);
    // And a desktop tool never runs on a run worker, even for a robot that has it.
    await expect(
      runNode({ ...deps, placement: 'worker' }, { runId: 'run-x', task: 't', robot: { ...robot, tools: ['command'] }, node, inputs: [] }),
    ).rejects.toThrow(/runs on a desktop worker, not here/);
  });

  test('When the registry is listed, then every tool has a schema, a placement and a description', () => {
    expect(Object.keys(TOOLS).sort()).toEqual(['command', 'http_fetch']);
    expect(TOOLS.command.placement).toBe('desktop');
    expect(TOOLS.http_fetch.placement).toBe('worker');
  });
});

describe('node outputs', () => {
  test('When an output is over the cap, then it is cut with a note of how much was dropped', () => {
    expect(capOutput('short', 100)).toEqual({ output: 'short', truncated: false });
    const cut = capOutput('z'.repeat(250), 100);
    expect(cut.truncated).toBe(true);
    expect(cut.output).toBe(`${'z'.repeat(100)}\n\n[truncated: 150 of 250 characters dropped]`);
  });
});
