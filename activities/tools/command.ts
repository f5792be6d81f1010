/**
 * command: run a program as an argument vector on a desktop (a named worker, see workers/desktop.ts).
 *
 * No shell is ever involved (spawn with `shell: false`), so arguments cannot smuggle pipes, globs or `;`. The
 * program runs in a bubblewrap sandbox (./sandbox.ts: no view of the worker's processes, files, environment or
 * network; MC_COMMAND_SANDBOX) with a minimal environment (PATH, HOME, LANG, TMPDIR). It is killed at the time limit
 * (MC_COMMAND_TIMEOUT_MS, or a shorter per-node `timeoutMs`) and when the node is cancelled; stdout and stderr are
 * kept up to MC_COMMAND_MAX_OUTPUT_BYTES each. A non-zero exit fails the node (not retried: the same command
 * would most likely fail the same way). Which machine (`hostname`), queue and pid ran it is reported in `ranOn`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Config } from '../../lib/config';
import { SandboxUnavailable, spawnPlan } from './sandbox';
import { defineTool } from './types';

export const CommandArgs = z
  .object({
    argv: z.array(z.string().max(10_000)).min(1).max(500).refine((a) => a[0].trim() !== '', 'argv[0] must name a program'),
    timeoutMs: z.number().int().positive().optional(),
  })
  .strict();
export type CommandArgs = z.infer<typeof CommandArgs>;

export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  droppedBytes: number;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Run argv with limits, in the configured sandbox; resolves with whatever happened (errors only for a program that
 * cannot start, or a sandbox that is missing).
 */
export function runArgv(
  argv: string[],
  opts: { timeoutMs: number; maxOutputBytes: number; signal: AbortSignal; sandbox: Pick<Config, 'MC_COMMAND_SANDBOX' | 'MC_COMMAND_NETWORK'> },
): Promise<CommandOutcome> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) return reject(new CancelledFailure('command cancelled before it started'));
    const plan = spawnPlan(argv, opts.sandbox);
    const child = spawn(plan.file, plan.args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env: plan.env, windowsHide: true });
    const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], kept: { stdout: 0, stderr: 0 }, dropped: 0 };
    const collect = (which: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const room = opts.maxOutputBytes - out.kept[which];
      if (room > 0) out[which].push(chunk.subarray(0, room));
      out.kept[which] += Math.min(room > 0 ? room : 0, chunk.length);
      out.dropped += Math.max(0, chunk.length - Math.max(room, 0));
    };
    child.stdout.on('data', collect('stdout'));
    child.stderr.on('data', collect('stderr'));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    const onAbort = () => child.kill('SIGKILL');
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) return reject(new CancelledFailure('command cancelled'));
      resolve({
        exitCode,
        signal,
        stdout: Buffer.concat(out.stdout).toString('utf8'),
        stderr: Buffer.concat(out.stderr).toString('utf8'),
        droppedBytes: out.dropped,
        timedOut,
        durationMs: Date.now() - started,
      });
    });
  });
}

export const commandTool = defineTool<CommandArgs>({
  name: 'command',
  description: 'Run a program on a desktop worker, as an argument vector without a shell. Args: {"argv": string[], "timeoutMs"?: number}.',
  args: CommandArgs,
  placement: 'desktop',
  async run(args, ctx) {
    const timeoutMs = Math.min(args.timeoutMs ?? ctx.config.MC_COMMAND_TIMEOUT_MS, ctx.config.MC_COMMAND_TIMEOUT_MS);
    let r: CommandOutcome;
    try {
      r = await runArgv(args.argv, { timeoutMs, maxOutputBytes: ctx.config.MC_COMMAND_MAX_OUTPUT_BYTES, signal: ctx.signal, sandbox: ctx.config });
    } catch (err) {
      if (err instanceof CancelledFailure) throw err;
      if (err instanceof SandboxUnavailable) throw ApplicationFailure.create({ message: err.message, type: 'SandboxUnavailable', nonRetryable: true });
      throw ApplicationFailure.create({ message: `command ${args.argv[0]} could not start: ${(err as Error).message}`, type: 'CommandFailed', nonRetryable: true });
    }
    const ranOn = {
      hostname: os.hostname(),
      pid: process.pid,
      queue: ctx.queue,
      sandbox: ctx.config.MC_COMMAND_SANDBOX,
      argv: args.argv,
      exitCode: r.exitCode,
      signal: r.signal,
      durationMs: r.durationMs,
      droppedBytes: r.droppedBytes,
    };
    // In the sandbox, bwrap itself starts the program: a program that is not there is bwrap's own error and exit 1.
    const notStarted = ctx.config.MC_COMMAND_SANDBOX === 'bwrap' && r.exitCode === 1 && /^bwrap: execvp /.exec(r.stderr);
    if (notStarted) {
      throw ApplicationFailure.create({ message: `command ${args.argv[0]} could not start: ${r.stderr.trim().replace(/^bwrap: /, '')}`, type: 'CommandFailed', nonRetryable: true, details: [ranOn] });
    }
    if (r.timedOut) {
      throw ApplicationFailure.create({ message: `command ${args.argv[0]} killed after ${timeoutMs} ms`, type: 'CommandTimedOut', nonRetryable: true, details: [ranOn] });
    }
    if (r.exitCode !== 0) {
      throw ApplicationFailure.create({
        message: `command ${args.argv[0]} exited with ${r.exitCode ?? r.signal}: ${r.stderr.slice(-500)}`,
        type: 'CommandFailed',
        nonRetryable: true,
        details: [ranOn],
      });
    }
    const note = r.droppedBytes ? `\n\n[command: ${r.droppedBytes} bytes of output dropped (MC_COMMAND_MAX_OUTPUT_BYTES)]` : '';
    return { text: r.stdout + note, ranOn };
  },
});
