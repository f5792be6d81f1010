/**
 * A production-shaped Temporal on this machine, without Docker: PostgreSQL (persistence and SQL visibility) and the
 * real `temporal-server` binary, optionally as two nodes (all services in one process; history + matching in a
 * second process that joins through the database's membership table). For tests, benchmarks and people without
 * Docker; `deploy/` is the way to run Temporal for real.
 *
 *   npm run cluster:up                  # or: node --import tsx scripts/cluster.ts up [--nodes 2]
 *   npm run cluster:down                # stops it (data kept); `-- --purge` also deletes the data
 *   node --import tsx scripts/cluster.ts status | env | restart [node1|node2]
 *   node --import tsx scripts/cluster.ts check   # exit 0 if the server is built or Go can build it, else 3 and why
 *
 * What it needs and does, step by step (each step is skipped when already done):
 *   1. `go install go.temporal.io/server/cmd/server@<version>` and `.../cmd/tools/sql@<version>` into
 *      .tools/temporal-server/bin (Go's module and build caches make it seconds after the first, ~15 min, build);
 *      the schema files and the upstream development config are copied beside them from the module;
 *   2. PostgreSQL's server binaries (Debian: `apt-get install postgresql`, installed here when running as root
 *      with apt-get); `initdb` of a cluster of our own in MC_CLUSTER_DIR (as the `postgres` user when we are root,
 *      since PostgreSQL refuses to run as root), listening on 127.0.0.1 only, password authentication;
 *   3. the `temporal` and `temporal_visibility` databases created and migrated by the sql tool;
 *   4. one config file per node derived from upstream's config/development-postgres12.yaml, and the nodes started;
 *   5. the namespace and the project's search attributes created.
 *
 * Settings (environment): MC_CLUSTER_DIR (.data/cluster), MC_CLUSTER_PORT (frontend gRPC port), MC_CLUSTER_PG_PORT,
 * MC_CLUSTER_NODES (1 or 2), MC_CLUSTER_NAMESPACE (default), MC_CLUSTER_PG_BIN (folder with initdb/pg_ctl),
 * MC_CLUSTER_LOG_LEVEL (warn). Ports not given are picked free once and kept in the state file, so the address
 * stays the same across restarts.
 */
import { execFileSync, spawn, spawnSync, SpawnSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import YAML from 'yaml';
import { ensureSearchAttributes } from '../lib/temporal';

/** The server version built; v1.32.1 builds with the Go on the project's machines, 1.26.8 (later ones ask for newer Go). */
export const TEMPORAL_SERVER_VERSION = 'v1.32.1';
const MODULE = 'go.temporal.io/server';

const ROOT = path.resolve(__dirname, '..');
const TOOLS = path.join(ROOT, '.tools', 'temporal-server');
const BIN = path.join(TOOLS, 'bin');

/** A failure whose message tells the user what to do; printed without a stack. */
export class ClusterError extends Error {}

export type NodeName = 'node1' | 'node2';

/** What each node runs: node1 everything, node2 the two services that hold state and scale by shards/partitions. */
export const NODE_SERVICES: Record<NodeName, string[]> = {
  node1: ['frontend', 'history', 'matching', 'worker'],
  node2: ['history', 'matching'],
};

interface Ports {
  postgres: number;
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  node2History: number;
  node2HistoryMembership: number;
  node2Matching: number;
  node2MatchingMembership: number;
  node1Metrics: number;
  node2Metrics: number;
}

export interface ClusterState {
  version: string;
  dir: string;
  namespace: string;
  ports: Ports;
  /** Password of the `temporal` database role (the cluster listens on 127.0.0.1 only). */
  pgPassword: string;
  pgBin?: string;
  schemaReady?: boolean;
  nodes: Partial<Record<NodeName, { pid: number; config: string; log: string; startedAt: string }>>;
}

const say = (msg: string) => process.stderr.write(`[cluster] ${msg}\n`);

export function clusterDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.MC_CLUSTER_DIR || path.join(ROOT, '.data', 'cluster'));
}

const stateFile = (dir: string) => path.join(dir, 'state.json');

export function readState(dir = clusterDir()): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function writeState(s: ClusterState): void {
  fs.mkdirSync(s.dir, { recursive: true });
  fs.writeFileSync(stateFile(s.dir), JSON.stringify(s, null, 2), { mode: 0o600 });
}

/** host:port of the cluster's frontend. */
export const frontendAddress = (s: ClusterState) => `127.0.0.1:${s.ports.frontend}`;

/**
 * A port free on 127.0.0.1 below 32768: Temporal's PostgreSQL schema keeps membership ports in a smallint column
 * (cluster_membership.rpc_port), so the kernel's ephemeral ports (32768 and up) would make the nodes fail at start.
 */
async function freePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const candidate = 20_000 + Math.floor(Math.random() * 12_700);
    if (taken.has(candidate)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(candidate, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(candidate);
      return candidate;
    }
  }
}

function portFromEnv(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ClusterError(`${name} must be a port number (1-65535), got "${v}"`);
  return n;
}

async function pickPorts(previous?: Ports): Promise<Ports> {
  const taken = new Set<number>(Object.values(previous ?? {}) as number[]);
  const keys: (keyof Ports)[] = [
    'postgres', 'frontend', 'frontendHttp', 'frontendMembership', 'history', 'historyMembership', 'matching',
    'matchingMembership', 'worker', 'workerMembership', 'node2History', 'node2HistoryMembership', 'node2Matching',
    'node2MatchingMembership', 'node1Metrics', 'node2Metrics',
  ];
  const ports = {} as Ports;
  for (const k of keys) ports[k] = previous?.[k] ?? (await freePort(taken));
  ports.postgres = portFromEnv('MC_CLUSTER_PG_PORT') ?? ports.postgres;
  ports.frontend = portFromEnv('MC_CLUSTER_PORT') ?? ports.frontend;
  return ports;
}

function run(cmd: string, args: string[], opts: SpawnSyncOptions & { what: string }): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new ClusterError(`${opts.what}: ${r.error.message}`);
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    throw new ClusterError(`${opts.what} failed (exit ${r.status}):\n${out.split('\n').slice(-25).join('\n')}`);
  }
  return String(r.stdout ?? '');
}

const which = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || undefined;

// ---- 1. temporal-server and its sql tool ------------------------------------------------------------------

/** The Go that the server module asks for (the `go` line of its go.mod): an older toolchain refuses to build it. */
export const MIN_GO_VERSION = '1.26.8';

const GO_HOWTO = `  - Go ${MIN_GO_VERSION} or later: the tarball from https://go.dev/dl/ (Debian 12's golang-go, 1.19, is too old);
    with Go 1.21 or later already installed, \`GOTOOLCHAIN=go${MIN_GO_VERSION} npm run cluster:up\` lets go fetch the
    toolchain itself through the Go module proxy
  - then: npm run cluster:up
It runs: GOBIN=$PWD/${path.relative(ROOT, BIN)} go install ${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION} ${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}
and copies schema/postgresql/v12 and config/development-postgres12.yaml from that module beside the binaries.
(No Go? Use Docker instead: deploy/docker-compose.yml runs the same topology.)`;

const GO_MISSING = `Go is needed once to build temporal-server ${TEMPORAL_SERVER_VERSION} (no Docker needed), and it is not on PATH.
Install it, then run this again:
${GO_HOWTO}`;

/** "1.26.8" >= "1.26"? Versions compared number by number (a missing part is 0). */
function versionAtLeast(have: string, want: string): boolean {
  const a = have.split('.').map((n) => parseInt(n, 10) || 0);
  const b = want.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

/** Why the server cannot be built here (no Go, or one too old), or undefined when it can. */
export function goProblem(): string | undefined {
  const go = which('go');
  if (!go) return GO_MISSING;
  // A toolchain the user chose (GOTOOLCHAIN=go1.26.8, …) is fetched by go itself: trust it.
  if (process.env.GOTOOLCHAIN && process.env.GOTOOLCHAIN !== 'local') return undefined;
  const version = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout?.trim().replace(/^go/, '') ?? '';
  if (versionAtLeast(version, MIN_GO_VERSION)) return undefined;
  return `${go} is Go ${version || '(unknown version)'}; temporal-server ${TEMPORAL_SERVER_VERSION} needs Go ${MIN_GO_VERSION} or later.
Install it, then run this again:
${GO_HOWTO}`;
}

/** Whether temporal-server and its sql tool of TEMPORAL_SERVER_VERSION are built (no Go needed then). */
export function serverBuilt(): boolean {
  const stamp = path.join(TOOLS, 'version');
  return fs.existsSync(path.join(BIN, 'server')) && fs.existsSync(path.join(BIN, 'sql')) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === TEMPORAL_SERVER_VERSION;
}

/** Builds (or finds) temporal-server and the sql tool, and copies the schema files and upstream config beside them. */
export function ensureServerBinaries(): { server: string; sql: string; schemaDir: string; upstreamConfig: string } {
  const server = path.join(BIN, 'server');
  const sql = path.join(BIN, 'sql');
  const schemaDir = path.join(TOOLS, 'schema', 'postgresql', 'v12');
  const upstreamConfig = path.join(TOOLS, 'config', 'development-postgres12.yaml');
  const stamp = path.join(TOOLS, 'version');
  const built = () => fs.existsSync(server) && fs.existsSync(sql) && fs.existsSync(schemaDir) && fs.existsSync(upstreamConfig);
  if (built() && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === TEMPORAL_SERVER_VERSION) {
    return { server, sql, schemaDir, upstreamConfig };
  }

  const problem = goProblem();
  if (problem) throw new ClusterError(problem);
  const go = which('go')!;
  fs.mkdirSync(BIN, { recursive: true });
  say(`building temporal-server ${TEMPORAL_SERVER_VERSION} and its sql tool with ${go} (the first build takes ~15 minutes on 2 cores and fills Go's caches; later ones take seconds)`);
  const started = Date.now();
  // GOFLAGS=-mod=mod: `go install pkg@version` ignores any go.mod around; -buildvcs=false since .tools is inside our git checkout.
  run(go, ['install', `${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`], {
    what: 'go install of temporal-server',
    cwd: os.tmpdir(),
    env: { ...process.env, GOBIN: BIN, GOFLAGS: '-buildvcs=false' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const moduleDir = JSON.parse(
    run(go, ['mod', 'download', '-json', `${MODULE}@${TEMPORAL_SERVER_VERSION}`], { what: 'locating the server module', cwd: os.tmpdir() }),
  ).Dir as string;
  fs.rmSync(path.join(TOOLS, 'schema'), { recursive: true, force: true });
  fs.cpSync(path.join(moduleDir, 'schema', 'postgresql', 'v12'), schemaDir, { recursive: true });
  fs.mkdirSync(path.dirname(upstreamConfig), { recursive: true });
  fs.copyFileSync(path.join(moduleDir, 'config', 'development-postgres12.yaml'), upstreamConfig);
  // Files copied out of the read-only module cache keep its modes: make ours writable so a rebuild can replace them.
  execFileSync('chmod', ['-R', 'u+w', path.join(TOOLS, 'schema'), path.dirname(upstreamConfig)]);
  fs.writeFileSync(stamp, `${TEMPORAL_SERVER_VERSION}\n`);
  say(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  return { server, sql, schemaDir, upstreamConfig };
}

// ---- 2. PostgreSQL -------------------------------------------------------------------------------------------

const PG_MISSING = `PostgreSQL's server binaries (initdb, pg_ctl, postgres; version 12 or later) are needed and were not found.
Install them, then run this again:
  - Debian/Ubuntu: sudo apt-get install postgresql
  - Fedora: sudo dnf install postgresql-server; macOS: brew install postgresql
  - or point MC_CLUSTER_PG_BIN at the folder that holds initdb and pg_ctl.
No system database is used: the cluster gets its own data folder and port, listening on 127.0.0.1 only.`;

function findPgBin(): string | undefined {
  const given = process.env.MC_CLUSTER_PG_BIN;
  if (given) {
    if (!fs.existsSync(path.join(given, 'pg_ctl'))) throw new ClusterError(`MC_CLUSTER_PG_BIN=${given} holds no pg_ctl.\n\n${PG_MISSING}`);
    return given;
  }
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((v) => fs.existsSync(path.join(debian, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length) return path.join(debian, versions[0], 'bin');
  }
  const initdb = which('initdb');
  return initdb ? path.dirname(fs.realpathSync(initdb)) : undefined;
}

/** The server binaries; installs Debian's package when running as root with apt-get, else explains. */
export function ensurePostgres(): string {
  const found = findPgBin();
  if (found) return found;
  const apt = which('apt-get');
  if (!apt || process.getuid?.() !== 0) throw new ClusterError(PG_MISSING);
  say('installing PostgreSQL from the Debian packages (apt-get install postgresql) ...');
  run(apt, ['update', '-qq'], { what: 'apt-get update', stdio: ['ignore', 'ignore', 'pipe'] });
  run(apt, ['install', '-y', '-qq', 'postgresql'], {
    what: 'apt-get install postgresql',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const bin = findPgBin();
  if (!bin) throw new ClusterError(PG_MISSING);
  return bin;
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` user the package creates. */
function pgUser(): { uid: number; gid: number; name: string } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) {
    throw new ClusterError(
      'Running as root, and PostgreSQL refuses to run as root; there is no `postgres` user to run it as.\n' +
        'Create one (useradd --system postgres) or run this as an ordinary user.',
    );
  }
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid), name: 'postgres' };
}

function pgCommand(bin: string, tool: string, args: string[]): [string, string[]] {
  const user = pgUser();
  const exe = path.join(bin, tool);
  return user ? ['runuser', ['-u', user.name, '--', exe, ...args]] : [exe, args];
}

const pgDataDir = (s: ClusterState) => path.join(s.dir, 'postgres', 'data');
const pgLog = (s: ClusterState) => path.join(s.dir, 'postgres', 'postgres.log');

function pgRunning(s: ClusterState): boolean {
  const pidFile = path.join(pgDataDir(s), 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return false;
  const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
  return alive(pid);
}

function initPostgres(s: ClusterState, bin: string): void {
  const base = path.join(s.dir, 'postgres');
  if (fs.existsSync(path.join(pgDataDir(s), 'PG_VERSION'))) return;
  say(`initdb ${path.relative(ROOT, pgDataDir(s))} (PostgreSQL from ${bin})`);
  fs.mkdirSync(pgDataDir(s), { recursive: true, mode: 0o700 });
  const pwFile = path.join(base, 'initdb-password');
  fs.writeFileSync(pwFile, `${s.pgPassword}\n`, { mode: 0o600 });
  const user = pgUser();
  if (user) {
    for (const p of [base, pgDataDir(s), pwFile]) fs.chownSync(p, user.uid, user.gid);
    // The postgres user must be able to reach its folder through ours.
    const check = spawnSync('runuser', ['-u', user.name, '--', 'test', '-w', base]);
    if (check.status !== 0) {
      fs.rmSync(base, { recursive: true, force: true });
      throw new ClusterError(
        `The postgres user cannot write ${base} (a parent folder is closed to other users). ` +
          'Set MC_CLUSTER_DIR to a folder it can reach (e.g. /tmp/mc-cluster), or run as an ordinary user.',
      );
    }
  }
  try {
    const [cmd, args] = pgCommand(bin, 'initdb', [
      '-D', pgDataDir(s), '-U', 'temporal', `--pwfile=${pwFile}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C',
    ]);
    run(cmd, args, { what: 'initdb' });
  } finally {
    fs.rmSync(pwFile, { force: true });
  }
}

function startPostgres(s: ClusterState, bin: string): void {
  if (pgRunning(s)) return;
  const options = [
    `-p ${s.ports.postgres}`,
    '-c listen_addresses=127.0.0.1',
    // TCP only: no socket file in a shared folder.
    "-c unix_socket_directories=''",
    // Every service of every node keeps its own pools (see the maxConns in the node configs).
    '-c max_connections=300',
  ].join(' ');
  const [cmd, args] = pgCommand(bin, 'pg_ctl', ['-D', pgDataDir(s), '-l', pgLog(s), '-w', '-t', '60', '-o', options, 'start']);
  run(cmd, args, { what: `starting PostgreSQL on 127.0.0.1:${s.ports.postgres} (log: ${pgLog(s)})` });
}

function stopPostgres(s: ClusterState, bin: string): void {
  if (!pgRunning(s)) return;
  const [cmd, args] = pgCommand(bin, 'pg_ctl', ['-D', pgDataDir(s), '-m', 'fast', '-w', '-t', '60', 'stop']);
  run(cmd, args, { what: 'stopping PostgreSQL' });
}

/** Runs SQL with psql (the client is part of the server package) and returns the rows, tab-separated. */
export function psql(s: ClusterState, database: string, sql: string): string[][] {
  const bin = s.pgBin ?? findPgBin();
  const psqlBin = bin && fs.existsSync(path.join(bin, 'psql')) ? path.join(bin, 'psql') : 'psql';
  const out = run(psqlBin, ['-h', '127.0.0.1', '-p', String(s.ports.postgres), '-U', 'temporal', '-d', database, '-AtF', '\t', '-c', sql], {
    what: 'psql',
    env: { ...process.env, PGPASSWORD: s.pgPassword, PGCONNECT_TIMEOUT: '5' },
  });
  return out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

// ---- 3. schema --------------------------------------------------------------------------------------------

function setupSchema(s: ClusterState, sqlTool: string, schemaDir: string): void {
  const env = { ...process.env, SQL_PASSWORD: s.pgPassword };
  const base = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(s.ports.postgres), '-u', 'temporal'];
  for (const [db, dir] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ]) {
    if (!s.schemaReady) {
      say(`creating database ${db}`);
      const exists = psql(s, 'postgres', `SELECT 1 FROM pg_database WHERE datname = '${db}'`).length > 0;
      if (!exists) run(sqlTool, [...base, '--db', db, 'create-database'], { what: `creating database ${db}`, env });
      run(sqlTool, [...base, '--db', db, 'setup-schema', '-v', '0.0'], { what: `setting up the ${db} schema`, env });
    }
    // Idempotent: brings an existing database to the schema version of the binary we run.
    run(sqlTool, [...base, '--db', db, 'update-schema', '-d', path.join(schemaDir, dir, 'versioned')], { what: `updating the ${db} schema`, env });
  }
  s.schemaReady = true;
  writeState(s);
}

// ---- 4. temporal-server nodes -----------------------------------------------------------------------------

/** One node's config: upstream's development-postgres12.yaml with our database, ports, and no fixed ports left. */
export function nodeConfig(s: ClusterState, node: NodeName, upstreamConfig: string): string {
  const doc = YAML.parse(fs.readFileSync(upstreamConfig, 'utf8'));
  const p = s.ports;
  doc.log = { stdout: true, level: process.env.MC_CLUSTER_LOG_LEVEL || 'warn' };
  for (const [name, store] of Object.entries(doc.persistence.datastores) as [string, { sql: Record<string, unknown> }][]) {
    Object.assign(store.sql, {
      connectAddr: `127.0.0.1:${p.postgres}`,
      user: 'temporal',
      password: s.pgPassword,
      // Each service of a node keeps its own pool; these keep two nodes well under max_connections.
      ...(name.includes('visibility') ? { maxConns: 5, maxIdleConns: 5 } : { maxConns: 15, maxIdleConns: 15 }),
    });
  }
  doc.global.membership.broadcastAddress = '127.0.0.1';
  doc.global.pprof = { port: 0 };
  doc.global.metrics.prometheus.listenAddress = `127.0.0.1:${node === 'node1' ? p.node1Metrics : p.node2Metrics}`;
  const history = node === 'node1' ? [p.history, p.historyMembership] : [p.node2History, p.node2HistoryMembership];
  const matching = node === 'node1' ? [p.matching, p.matchingMembership] : [p.node2Matching, p.node2MatchingMembership];
  doc.services = {
    frontend: { rpc: { grpcPort: p.frontend, membershipPort: p.frontendMembership, bindOnLocalHost: true, httpPort: p.frontendHttp } },
    history: { rpc: { grpcPort: history[0], membershipPort: history[1], bindOnLocalHost: true } },
    matching: { rpc: { grpcPort: matching[0], membershipPort: matching[1], bindOnLocalHost: true } },
    worker: { rpc: { grpcPort: p.worker, membershipPort: p.workerMembership, bindOnLocalHost: true } },
  };
  doc.clusterMetadata.clusterInformation.active.rpcAddress = `127.0.0.1:${p.frontend}`;
  // No archival: it would write under /tmp; runs are kept for the namespace's retention period.
  doc.archival = { history: { state: 'disabled' }, visibility: { state: 'disabled' } };
  delete doc.namespaceDefaults;
  doc.dynamicConfigClient = { filepath: path.join(s.dir, 'dynamicconfig.yaml'), pollInterval: '10s' };
  const file = path.join(s.dir, `${node}.yaml`);
  fs.writeFileSync(
    file,
    `# Generated by scripts/cluster.ts from temporal-server ${TEMPORAL_SERVER_VERSION}'s config/development-postgres12.yaml.\n` +
      `# ${node} runs: ${NODE_SERVICES[node].join(', ')}. Regenerated on every start; edit scripts/cluster.ts instead.\n` +
      YAML.stringify(doc),
    { mode: 0o600 },
  );
  return file;
}

/**
 * Dynamic config: upstream's development-sql.yaml settings that matter here, and search attributes visible as soon
 * as they are created (tests and the API create them at start, then use them at once).
 */
function writeDynamicConfig(s: ClusterState): void {
  const doc = {
    'limit.maxIDLength': [{ value: 255, constraints: {} }],
    'system.forceSearchAttributesCacheRefreshOnRead': [{ value: true, constraints: {} }],
    'frontend.enableUpdateWorkflowExecution': [{ value: true }],
    'frontend.enableUpdateWorkflowExecutionAsyncAccepted': [{ value: true }],
  };
  fs.writeFileSync(path.join(s.dir, 'dynamicconfig.yaml'), YAML.stringify(doc));
}

export function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie or a recycled pid is not our node.
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
  } catch {
    /* no /proc: trust kill(0) */
  }
  return true;
}

function isOurNode(s: ClusterState, node: NodeName): boolean {
  const n = s.nodes[node];
  if (!n || !alive(n.pid)) return false;
  try {
    return fs.readFileSync(`/proc/${n.pid}/cmdline`, 'utf8').includes(n.config);
  } catch {
    return true;
  }
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, failFast?: () => string | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const fatal = failFast?.();
    if (fatal) throw new ClusterError(`${what}: ${fatal}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new ClusterError(`${what}: not within ${Math.round(timeoutMs / 1000)} s${last ? ` (${last})` : ''}`);
}

function logTail(file: string, lines = 30): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Membership rows (the table the second node joins through): each service's membership port and when its session
 * started. Times in that table are UTC without a zone.
 */
export function members(s: ClusterState): { port: number; sessionStart: Date; heartbeatAgeS: number }[] {
  return psql(
    s,
    'temporal',
    `SELECT rpc_port, session_start, EXTRACT(EPOCH FROM (now() AT TIME ZONE 'UTC') - last_heartbeat) FROM cluster_membership WHERE record_expiry > now() AT TIME ZONE 'UTC'`,
  ).map(([port, start, age]) => ({ port: Number(port), sessionStart: new Date(`${start.replace(' ', 'T')}Z`), heartbeatAgeS: Number(age) }));
}

/**
 * Which history host owns each shard, read from the shards table: a shard's info records its owner as
 * `<host>:<history gRPC port>-...`. Shows that the second node really holds part of the state.
 */
export function shardOwners(s: ClusterState): Map<number, number> {
  const owners = new Map<number, number>();
  for (const [id, hex] of psql(s, 'temporal', `SELECT shard_id, encode(data, 'hex') FROM shards ORDER BY shard_id`)) {
    const m = /127\.0\.0\.1:(\d+)-/.exec(Buffer.from(hex, 'hex').toString('latin1'));
    if (m) owners.set(Number(id), Number(m[1]));
  }
  return owners;
}

/** Start one node (if not running) and wait until it serves: the frontend answers, or node2's services joined. */
export async function startNode(node: NodeName, s = requireState()): Promise<void> {
  if (isOurNode(s, node)) return;
  const { server, upstreamConfig } = ensureServerBinaries();
  const config = nodeConfig(s, node, upstreamConfig);
  const log = path.join(s.dir, `${node}.log`);
  const out = fs.openSync(log, 'a');
  fs.writeSync(out, `\n==== ${new Date().toISOString()} starting ${node}: ${NODE_SERVICES[node].join(', ')}\n`);
  const args = ['--config-file', config, '--allow-no-auth', 'start', ...NODE_SERVICES[node].flatMap((svc) => ['--service', svc])];
  // Own session: the node outlives this script (cluster:up returns), and a terminal's Ctrl-C does not reach it.
  const child = spawn(server, args, { stdio: ['ignore', out, out], detached: true, cwd: s.dir });
  child.unref();
  fs.closeSync(out);
  s.nodes[node] = { pid: child.pid!, config, log, startedAt: new Date().toISOString() };
  writeState(s);
  const died = () => (alive(child.pid) ? undefined : `temporal-server exited; the end of ${log}:\n${logTail(log)}`);
  if (node === 'node1') {
    await waitFor(`${node} to answer on ${frontendAddress(s)}`, 120_000, async () => {
      const c = await Connection.connect({ address: frontendAddress(s), connectTimeout: 2000 });
      try {
        await c.withDeadline(Date.now() + 3000, () => c.workflowService.getSystemInfo({}));
        return true;
      } finally {
        await c.close();
      }
    }, died);
  } else {
    // Joined when both its services have a membership session that started after we spawned it.
    const ports = [s.ports.node2HistoryMembership, s.ports.node2MatchingMembership];
    const spawnedAt = Date.now() - 5000;
    await waitFor(`${node} to join the cluster (membership table)`, 120_000, async () => {
      const joined = members(s).filter((m) => m.sessionStart.getTime() >= spawnedAt).map((m) => m.port);
      return ports.every((p) => joined.includes(p)) ? true : undefined;
    }, died);
  }
  say(`${node} up (pid ${child.pid}; ${NODE_SERVICES[node].join(', ')}; log ${path.relative(ROOT, log)})`);
}

/** Stop one node: SIGTERM (graceful: it hands its shards over) or SIGKILL (a crash); waits until it is gone. */
export async function stopNode(node: NodeName, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', s = requireState()): Promise<void> {
  const n = s.nodes[node];
  if (!n || !isOurNode(s, node)) {
    delete s.nodes[node];
    writeState(s);
    return;
  }
  process.kill(n.pid, signal);
  const deadline = Date.now() + 30_000;
  while (alive(n.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (alive(n.pid)) {
    process.kill(n.pid, 'SIGKILL');
    while (alive(n.pid)) await new Promise((r) => setTimeout(r, 100));
  }
  delete s.nodes[node];
  writeState(s);
}

// ---- 5. namespace and search attributes -------------------------------------------------------------------

/** Create a namespace (idempotent) and wait until every service knows it; then register our search attributes. */
export async function ensureNamespace(address: string, namespace: string, retentionDays = 3): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
        description: 'Mission Control',
      });
    } catch (err) {
      if (!/already exists|already registered/i.test((err as Error).message)) throw err;
    }
    // Namespaces reach every service's cache within seconds (system.namespaceCacheRefreshInterval).
    await waitFor(`namespace ${namespace}`, 60_000, async () => {
      await connection.workflowService.listWorkflowExecutions({ namespace, pageSize: 1 });
      return true;
    });
    await waitFor(`search attributes in ${namespace}`, 60_000, async () => {
      await ensureSearchAttributes(connection, namespace);
      return true;
    });
  } finally {
    await connection.close();
  }
}

// ---- commands ---------------------------------------------------------------------------------------------

function requireState(): ClusterState {
  const s = readState();
  if (!s) throw new ClusterError(`no cluster in ${clusterDir()}: run \`npm run cluster:up\` first`);
  return s;
}

export interface UpOptions {
  nodes?: 1 | 2;
}

/** Bring everything up (each step skipped when done); returns the state with the frontend address. */
export async function up(opts: UpOptions = {}): Promise<ClusterState> {
  const nodes = opts.nodes ?? (Number(process.env.MC_CLUSTER_NODES || 1) === 2 ? 2 : 1);
  const dir = clusterDir();
  const previous = readState(dir);
  const { sql, schemaDir } = ensureServerBinaries();
  const pgBin = ensurePostgres();
  const s: ClusterState = {
    version: TEMPORAL_SERVER_VERSION,
    dir,
    namespace: process.env.MC_CLUSTER_NAMESPACE || previous?.namespace || 'default',
    ports: await pickPorts(previous?.ports),
    pgPassword: previous?.pgPassword ?? randomBytes(18).toString('base64url'),
    pgBin,
    schemaReady: previous?.schemaReady,
    nodes: previous?.nodes ?? {},
  };
  fs.mkdirSync(dir, { recursive: true });
  writeState(s);
  initPostgres(s, pgBin);
  startPostgres(s, pgBin);
  setupSchema(s, sql, schemaDir);
  writeDynamicConfig(s);
  await startNode('node1', s);
  if (nodes === 2) await startNode('node2', s);
  await ensureNamespace(frontendAddress(s), s.namespace);
  return s;
}

/** Stop the nodes, then PostgreSQL; `purge` deletes the data folder too. */
export async function down(opts: { purge?: boolean } = {}): Promise<void> {
  const s = readState();
  if (!s) return;
  await stopNode('node2', 'SIGTERM', s);
  await stopNode('node1', 'SIGTERM', s);
  const bin = s.pgBin ?? findPgBin();
  if (bin) stopPostgres(s, bin);
  if (opts.purge) fs.rmSync(s.dir, { recursive: true, force: true });
}

function status(): Record<string, unknown> {
  const s = readState();
  if (!s) return { running: false, dir: clusterDir() };
  return {
    dir: s.dir,
    address: frontendAddress(s),
    namespace: s.namespace,
    postgres: { address: `127.0.0.1:${s.ports.postgres}`, running: pgRunning(s) },
    nodes: Object.fromEntries(
      (['node1', 'node2'] as NodeName[]).map((n) => [n, s.nodes[n] && isOurNode(s, n) ? { pid: s.nodes[n]!.pid, services: NODE_SERVICES[n], log: s.nodes[n]!.log } : 'stopped']),
    ),
  };
}

async function main(argv: string[]): Promise<void> {
  const [cmd = 'up', ...rest] = argv;
  const nodesArg = rest.indexOf('--nodes');
  switch (cmd) {
    case 'up': {
      const s = await up(nodesArg >= 0 ? { nodes: Number(rest[nodesArg + 1]) === 2 ? 2 : 1 } : {});
      const address = frontendAddress(s);
      process.stdout.write(
        `Temporal cluster is up: temporal-server ${s.version} on PostgreSQL 127.0.0.1:${s.ports.postgres}\n` +
          `  frontend   ${address}   (namespace ${s.namespace})\n` +
          `  nodes      ${Object.keys(s.nodes).map((n) => `${n} [${NODE_SERVICES[n as NodeName].join(', ')}]`).join('; ')}\n` +
          `  data/logs  ${path.relative(ROOT, s.dir) || s.dir}\n` +
          `Use it:\n  TEMPORAL_ADDRESS=${address} TEMPORAL_NAMESPACE=${s.namespace} npm run worker\n` +
          `  TEMPORAL_ADDRESS=${address} TEMPORAL_NAMESPACE=${s.namespace} npm run api\n` +
          `Stop it: npm run cluster:down\n`,
      );
      return;
    }
    case 'down':
      await down({ purge: rest.includes('--purge') });
      say('stopped');
      return;
    case 'status':
      process.stdout.write(`${JSON.stringify(status(), null, 2)}\n`);
      return;
    case 'env': {
      const s = requireState();
      process.stdout.write(`export TEMPORAL_ADDRESS=${frontendAddress(s)}\nexport TEMPORAL_NAMESPACE=${s.namespace}\n`);
      return;
    }
    case 'restart': {
      const which = (rest.find((a) => a === 'node1' || a === 'node2') as NodeName | undefined) ?? undefined;
      const s = requireState();
      const targets: NodeName[] = which ? [which] : (Object.keys(s.nodes) as NodeName[]);
      for (const n of [...targets].reverse()) await stopNode(n, 'SIGTERM', s);
      for (const n of targets) await startNode(n, s);
      return;
    }
    case 'check': {
      // For CI: can `up` get a server here? (PostgreSQL is installed by `up` itself where apt-get is.)
      if (serverBuilt()) {
        say(`temporal-server ${TEMPORAL_SERVER_VERSION} is built`);
        return;
      }
      const problem = goProblem();
      if (problem) {
        process.stderr.write(`[cluster] ${problem}\n`);
        process.exit(3);
      }
      say(`temporal-server ${TEMPORAL_SERVER_VERSION} is not built yet; ${which('go')} can build it`);
      return;
    }
    default:
      throw new ClusterError(`unknown command "${cmd}": use up [--nodes 2] | down [--purge] | status | env | restart [node1|node2] | check`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`[cluster] ${err instanceof ClusterError ? err.message : (err as Error).stack}\n`);
      process.exit(1);
    },
  );
}
