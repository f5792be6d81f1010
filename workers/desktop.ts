/**
 * A desktop: a named worker that runs `command` nodes (and any other desktop tool) on this machine, and nothing
 * else. It polls its own task queue (MC_DESKTOP_QUEUE, or `--queue <name>`), runs no workflows, and registers
 * only `runDesktopNode`; the run workers never register it, so a desktop tool can run nowhere but on a desktop.
 * Which robots may use it is decided by each robot's tool list (checked by the planner and again here).
 *
 * `node --import tsx workers/desktop.ts --queue desktop-alice` (script line suggested: "desktop").
 */
import { NativeConnection, Worker, DefaultLogger, Runtime } from '@temporalio/worker';
import { ActivityDeps, createActivityDeps, createDesktopActivities } from '../activities';
import { checkSandbox } from '../activities/tools/sandbox';
import { ConfigError, Config, loadConfig } from '../lib/config';
import { createLogger, setLogLevel } from '../lib/log';
import { connectWorkerConnection, temporalAddress, workerRuntimeOptions } from '../lib/temporal';

const log = createLogger('desktop');

export interface DesktopWorkerOptions extends Partial<Omit<ActivityDeps, 'config'>> {
  connection: NativeConnection;
  config: Config;
  /** Task queue of this desktop; default MC_DESKTOP_QUEUE. */
  queue?: string;
}

export async function createDesktopWorker(opts: DesktopWorkerOptions): Promise<Worker> {
  const { connection, config: c, queue: named, ...parts } = opts;
  const queue = named ?? c.MC_DESKTOP_QUEUE;
  if (!queue) throw new ConfigError('a desktop needs a task queue: set MC_DESKTOP_QUEUE or pass --queue');
  // No silent fallback: without a working sandbox (and without MC_COMMAND_SANDBOX=none), no commands run here.
  try {
    checkSandbox(c);
  } catch (err) {
    throw new ConfigError(`desktop "${queue}": ${(err as Error).message}`);
  }
  if (c.MC_COMMAND_SANDBOX === 'none') log.warn(`desktop "${queue}": MC_COMMAND_SANDBOX=none — commands run as this worker's user and can read what it can`);
  return Worker.create({
    connection,
    namespace: c.TEMPORAL_NAMESPACE,
    taskQueue: queue,
    activities: createDesktopActivities({ ...createActivityDeps(c, parts), queue }),
    maxConcurrentActivityTaskExecutions: c.MC_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: `${c.MC_SHUTDOWN_GRACE_SECONDS}s`,
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
}

async function main(): Promise<void> {
  const config = loadConfig();
  setLogLevel(config.MC_LOG_LEVEL);
  const i = process.argv.indexOf('--queue');
  const queue = i > 0 ? process.argv[i + 1] : undefined;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: ['SIGINT', 'SIGTERM'], ...workerRuntimeOptions(config) });
  const connection = await connectWorkerConnection(config);
  const worker = await createDesktopWorker({ connection, config, queue });
  log.info(`desktop polling task queue "${worker.options.taskQueue}" on ${temporalAddress(config)}`);
  await worker.run().finally(() => connection.close());
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err) => {
      log.error(err instanceof ConfigError ? err.message : `desktop failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
