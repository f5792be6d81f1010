/**
 * Where a `command` node's program runs: inside a bubblewrap sandbox (`bwrap`, Debian's `bubblewrap` package) by
 * default, so that the program never sees the desktop worker's secrets.
 *
 * What the sandbox covers (MC_COMMAND_SANDBOX=bwrap):
 * - **Environment**: bwrap itself is started with an empty environment (inside a pid namespace its own
 *   /proc/1/environ is readable), and the program gets only PATH, HOME, LANG and TMPDIR.
 * - **Processes**: new pid namespace with its own /proc: the worker, its parent and every other process of the
 *   machine are invisible (no /proc/<pid>/environ, cmdline or fd of theirs).
 * - **Files**: a new mount namespace with only /usr (and the /bin, /lib... links into it) and a few files of /etc
 *   (loader cache, users, time zone, TLS roots, name resolution), all read-only; a fresh /tmp, /dev and /proc. The
 *   repository, the data folder (.data: the generated API key and webhook key), /root, /home and the rest of the
 *   file system are not there.
 * - **Identity**: new user namespace, running as uid/gid 65534 (nobody) with every capability dropped; new
 *   session (no terminal injection); the program dies with the worker.
 * - **Network**: none (a network namespace with only its own loopback): the program cannot reach Temporal, the API
 *   or the cloud metadata service. MC_COMMAND_NETWORK=true shares the host's network instead.
 *
 * What remains: the program can read what is world-readable under /usr and the /etc files listed below, use CPU and
 * memory up to the time limit (no cgroup limits), and write to its own /tmp (a tmpfs in memory, gone afterwards). The
 * kernel is shared (a kernel exploit escapes any namespace sandbox).
 *
 * MC_COMMAND_SANDBOX=none runs the program directly, as the worker's user, with the same scrubbed environment: it can
 * then read everything that user can — the worker's /proc/<pid>/environ included — so use it only where the desktop
 * worker holds no secrets. With `bwrap` (the default) and bubblewrap missing or not working, the desktop worker
 * refuses to start and a command node fails with a message saying so; nothing falls back silently.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../lib/config';

export type SandboxMode = 'bwrap' | 'none';

/** The program's whole environment, in either mode. */
export const COMMAND_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  HOME: '/tmp',
  TMPDIR: '/tmp',
  LANG: 'C.UTF-8',
};

/** Files of /etc a program commonly needs (dynamic loader, users and groups, time zone, TLS roots, DNS). */
const ETC_FILES = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'alternatives',
  'passwd',
  'group',
  'nsswitch.conf',
  'localtime',
  'timezone',
  'mime.types',
  'ssl/certs',
  'ca-certificates',
  'ca-certificates.conf',
  'hosts',
  'resolv.conf',
  'host.conf',
  'gai.conf',
];

/** Top-level folders that are links into /usr on merged-/usr systems, or folders of their own elsewhere. */
const ROOT_DIRS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The unprivileged identity inside the sandbox. */
const NOBODY = '65534';

export interface SpawnPlan {
  /** The program to start (bwrap, or the command itself). */
  file: string;
  args: string[];
  /** The environment of `file`. */
  env: Record<string, string>;
}

/** Absolute path of `bwrap` on the worker's PATH, or undefined. */
export function findBwrap(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, 'bwrap');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The bwrap arguments that build the sandbox described above, then run `argv`. */
export function bwrapArgs(argv: string[], opts: { network: boolean }): string[] {
  const args = ['--unshare-all', ...(opts.network ? ['--share-net'] : []), '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  args.push('--uid', NOBODY, '--gid', NOBODY);
  args.push('--ro-bind', '/usr', '/usr');
  for (const dir of ROOT_DIRS) {
    const p = `/${dir}`;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(p), p);
    else if (st.isDirectory()) args.push('--ro-bind', p, p);
  }
  for (const f of ETC_FILES) args.push('--ro-bind-try', `/etc/${f}`, `/etc/${f}`);
  args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--chdir', '/tmp');
  args.push('--clearenv');
  for (const [k, v] of Object.entries(COMMAND_ENV)) args.push('--setenv', k, v);
  args.push('--', ...argv);
  return args;
}

/** How to start `argv` in the configured mode. Throws SandboxUnavailable when bwrap is required but missing. */
export function spawnPlan(argv: string[], config: Pick<Config, 'MC_COMMAND_SANDBOX' | 'MC_COMMAND_NETWORK'>): SpawnPlan {
  if (config.MC_COMMAND_SANDBOX === 'none') return { file: argv[0], args: argv.slice(1), env: { ...COMMAND_ENV } };
  const bwrap = findBwrap();
  if (!bwrap) throw new SandboxUnavailable(MISSING);
  // bwrap's own environment is empty: inside the pid namespace it is process 1, and /proc/1/environ is readable.
  return { file: bwrap, args: bwrapArgs(argv, { network: config.MC_COMMAND_NETWORK }), env: {} };
}

export class SandboxUnavailable extends Error {}

const MISSING =
  'bubblewrap (bwrap) is not installed, so commands cannot run isolated from this worker: install it (Debian/Ubuntu: apt-get install -y bubblewrap) or set MC_COMMAND_SANDBOX=none to run them unisolated (see README, "Commands and their sandbox")';

/**
 * Check that the sandbox works here (bwrap present, namespaces allowed) by running `true` in it; throws
 * SandboxUnavailable saying what to do. The desktop worker calls it before it polls for work.
 */
export function checkSandbox(config: Pick<Config, 'MC_COMMAND_SANDBOX' | 'MC_COMMAND_NETWORK'>): void {
  if (config.MC_COMMAND_SANDBOX === 'none') return;
  const plan = spawnPlan(['true'], config);
  const r = spawnSync(plan.file, plan.args, { env: plan.env, encoding: 'utf8', timeout: 10_000 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`);
    throw new SandboxUnavailable(
      `bubblewrap cannot create its sandbox on this machine (${why}); user namespaces may be disabled. Allow them, or set MC_COMMAND_SANDBOX=none to run commands unisolated (see README, "Commands and their sandbox")`,
    );
  }
}
