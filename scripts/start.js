#!/usr/bin/env node
/**
 * `npm start`: the whole system on one machine.
 *   1. installs npm packages if a fresh clone lacks them;
 *   2. unless TEMPORAL_ADDRESS is set: resolves/installs the Temporal CLI and runs `temporal server start-dev`
 *      with its state in MC_DATA_DIR/temporal.db (runs survive restarts) and the Web UI on MC_TEMPORAL_UI_PORT;
 *      its log goes to MC_DATA_DIR/temporal.log (the worker and API register the search attributes they need);
 *   3. runs the worker and the API (scripts/serve.ts) and prints the URLs.
 * Ctrl-C stops all of it: the API closes, the worker drains, then the dev server stops.
 */
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { ensureNodeModules, ROOT } = require('./bootstrap.js');
const { resolveTemporalCli } = require('./temporal-cli.js');

const env = process.env;
const dataDir = path.resolve(env.MC_DATA_DIR || path.join(ROOT, '.data'));
const grpcPort = Number(env.MC_TEMPORAL_PORT || 7233);
const uiPort = Number(env.MC_TEMPORAL_UI_PORT || 8233);

const say = (msg) => process.stdout.write(`[start] ${msg}\n`);

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

async function waitForPort(port, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) return false;
    if (await portOpen(port)) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** Command line of a live process, or undefined (no such process, or no /proc and no `ps`). */
function commandLineOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    try {
      const out = require('node:child_process').execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' }).trim();
      return out ? out.split(/\s+/) : undefined;
    } catch {
      return undefined;
    }
  }
}

const isDevServerOn = (args, dbFile) =>
  !!args && args.includes('start-dev') && args.some((a, i) => a === '--db-filename' && path.resolve(args[i + 1] || '') === dbFile);

/**
 * Dev servers still running on this data folder's database: the one in the pid file an earlier `npm start` wrote,
 * and (where /proc exists) any other process whose command line names the same --db-filename. An earlier
 * `npm start` killed without the chance to clean up (kill -9, OOM, a closed terminal) leaves its dev server
 * behind, because the server runs in its own process group.
 */
function leftoverDevServers(dbFile, pidFile) {
  const pids = new Set();
  try {
    const pid = Number(JSON.parse(fs.readFileSync(pidFile, 'utf8')).pid);
    if (pid > 0 && isDevServerOn(commandLineOf(pid), dbFile)) pids.add(pid);
  } catch {
    /* no pid file, or an unreadable one: the scan below still finds it */
  }
  let entries = [];
  try {
    entries = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    /* no /proc (macOS): the pid file is what we have */
  }
  for (const e of entries) if (Number(e) !== process.pid && isDevServerOn(commandLineOf(e), dbFile)) pids.add(Number(e));
  return [...pids];
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
async function stopPid(pid, graceMs) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    while (alive(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child) {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', resolve));
}

async function main() {
  ensureNodeModules();
  fs.mkdirSync(dataDir, { recursive: true });
  let temporal;

  if (!env.TEMPORAL_ADDRESS) {
    const dbFile = path.join(dataDir, 'temporal.db');
    const pidFile = path.join(dataDir, 'temporal.pid');
    // Never two dev servers on one database: one left behind by a crashed `npm start` of this folder is stopped
    // (gracefully, so SQLite is closed cleanly) and started afresh below, with its state.
    for (const pid of leftoverDevServers(dbFile, pidFile)) {
      say(`stopping the Temporal dev server an earlier npm start left running on ${path.relative(ROOT, dbFile) || dbFile} (pid ${pid})`);
      await stopPid(pid, 15_000);
    }
    if (await portOpen(grpcPort)) {
      throw new Error(
        `port ${grpcPort} is already in use. Stop what uses it, set MC_TEMPORAL_PORT to a free port, ` +
          `or set TEMPORAL_ADDRESS=127.0.0.1:${grpcPort} to use the Temporal server already running there.`,
      );
    }
    const cli = resolveTemporalCli();
    const logFile = path.join(dataDir, 'temporal.log');
    const log = fs.openSync(logFile, 'a');
    const args = [
      'server', 'start-dev',
      '--ip', '127.0.0.1',
      '--port', String(grpcPort),
      '--ui-port', String(uiPort),
      '--db-filename', path.join(dataDir, 'temporal.db'),
      '--ui-disable-news-fetch',
      '--log-level', 'warn',
    ];
    say(`starting Temporal dev server (${cli}); state in ${path.relative(ROOT, dataDir) || dataDir}/temporal.db, log in ${path.relative(ROOT, logFile)}`);
    // Own process group: a terminal Ctrl-C reaches the worker first; the server is stopped last, by us.
    temporal = spawn(cli, args, { stdio: ['ignore', log, log], detached: true });
    fs.writeFileSync(pidFile, JSON.stringify({ pid: temporal.pid, db: dbFile, startedBy: process.pid }) + '\n');
    if (!(await waitForPort(grpcPort, 60_000, temporal))) {
      throw new Error(`the Temporal dev server did not start; see ${logFile}`);
    }
    env.TEMPORAL_ADDRESS = `127.0.0.1:${grpcPort}`;
    env.MC_TEMPORAL_UI_URL = env.MC_TEMPORAL_UI_URL || `http://localhost:${uiPort}`;
  } else {
    say(`using the Temporal server at ${env.TEMPORAL_ADDRESS} (no embedded server started)`);
  }

  // stdin is a pipe that only this process holds open: when it dies, however it dies, serve.ts sees the end of it
  // and shuts down instead of being left holding the API port.
  const serve = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'serve.ts'), '--exit-with-stdin'], {
    cwd: ROOT,
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  serve.stdout.on('data', (chunk) => {
    const text = chunk.toString();
    process.stdout.write(text.replace(/^MC_READY\n/m, ''));
    if (text.includes('MC_READY')) {
      say('Mission Control is up:');
      say(`  API            http://${env.MC_HOST && env.MC_HOST !== '0.0.0.0' ? env.MC_HOST : '127.0.0.1'}:${env.PORT || 3000}`);
      if (temporal) say(`  Temporal UI    http://localhost:${uiPort}`);
      say('  Ctrl-C stops everything.');
    }
  });

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    say(`${signal} received: stopping`);
    if (serve.exitCode === null) serve.kill('SIGTERM');
    await exited(serve);
    if (temporal && temporal.exitCode === null) {
      temporal.kill('SIGTERM');
      const t = setTimeout(() => temporal.kill('SIGKILL'), 10_000);
      await exited(temporal);
      clearTimeout(t);
      fs.rmSync(path.join(dataDir, 'temporal.pid'), { force: true });
    }
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  serve.once('exit', async (code) => {
    if (stopping) return;
    say(`worker/API process exited with code ${code}`);
    if (temporal && temporal.exitCode === null) {
      temporal.kill('SIGTERM');
      await exited(temporal);
    }
    process.exit(code || 1);
  });
  if (temporal) {
    temporal.once('exit', (code) => {
      if (stopping) return;
      say(`the Temporal dev server exited (code ${code}); see ${path.join(dataDir, 'temporal.log')}`);
      stop('temporal exit');
    });
  }
}

main().catch((err) => {
  process.stderr.write(`[start] ${err.message}\n`);
  process.exit(1);
});
