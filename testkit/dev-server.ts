/**
 * A Temporal dev server that keeps its state in a file, so a test can stop it and start it again (same file, same
 * port) and see what survives; plus a worker that can be stopped and started against it.
 */
import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { ensureSearchAttributes } from '../lib/temporal';
import { createRobotWorker } from '../workers/worker';
import { eventually, workflowBundle } from './temporal';

/** A TCP port nothing listens on right now (loopback). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export class PersistentDevServer {
  private process?: ChildProcess;
  private connection?: Connection;
  /** Connected client; set while the server runs. */
  client?: Client;

  constructor(
    readonly dbFile: string,
    readonly port: number,
    readonly namespace = 'default',
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Start (or start again) on the same file and port; resolves once it answers and has our search attributes. */
  async start(): Promise<Client> {
    this.process = spawn(
      process.env.TEMPORAL_CLI_PATH as string,
      ['server', 'start-dev', '--db-filename', this.dbFile, '--port', String(this.port), '--headless', '--ip', '127.0.0.1', '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    const connection = await eventually(async () => {
      const c = await Connection.connect({ address: this.address, connectTimeout: 1000 });
      await c.workflowService.getSystemInfo({});
      return c;
    }, 60_000, 250);
    await eventually(async () => {
      await ensureSearchAttributes(connection, this.namespace);
      return true;
    }, 30_000, 250);
    this.connection = connection;
    this.client = new Client({ connection, namespace: this.namespace });
    return this.client;
  }

  async stop(): Promise<void> {
    await this.connection?.close();
    this.connection = undefined;
    this.client = undefined;
    const p = this.process;
    this.process = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGTERM');
    await exited;
  }
}

/** A worker on its own connection to `address`; stop() drains it and closes the connection. */
export async function startWorkerAt(address: string, config: Config): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const connection = await NativeConnection.connect({ address });
  const worker = await createRobotWorker({ connection, config, workflowBundle: workflowBundle() });
  const done = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
      await connection.close();
    },
  };
}
