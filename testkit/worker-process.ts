/**
 * The real worker entry point (workers/main.ts) in a process of its own, configured only through the environment,
 * for tests that kill or signal it. Started with `node --import tsx` (one process: a signal reaches the worker
 * itself, not a wrapper). Its output is collected so a failing test can print it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Fail (so the caller can print the worker's output) instead of hanging until jest's timeout. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Spawn a worker whose environment is this process's minus any app settings, plus `vars`; lines go to `output`.
 * `entry` picks another entry point (e.g. `workers/desktop.ts`), with its arguments.
 */
export function spawnWorkerProcess(
  name: string,
  vars: Record<string, string>,
  output: string[],
  opts: { entry?: string; args?: string[] } = {},
): WorkerProcess {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(MC_|TEMPORAL_|OPENAI_|ANTHROPIC_)/.test(k)),
  ) as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, ['--import', 'tsx', opts.entry ?? 'workers/main.ts', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...base, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => output.push(`[${name} stdout] ${d.toString().trimEnd()}`));
  child.stderr!.on('data', (d: Buffer) => output.push(`[${name} stderr] ${d.toString().trimEnd()}`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      output.push(`[${name}] exited code=${code} signal=${signal}`);
      resolve({ code, signal });
    }),
  );
  return { name, child, exited };
}

/** Run `fn`; when it fails, print what the worker processes wrote (`output`) before passing the failure on. */
export async function withWorkerLogs(output: readonly string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    console.error(`worker output:\n${output.join('\n')}`);
    throw err;
  }
}
