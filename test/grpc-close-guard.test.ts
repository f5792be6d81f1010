/**
 * A connection closed while the client waits to retry a call: the retry ends the call (CANCELLED) instead of throwing
 * "Channel has been shut down" from its timer, which would be an uncaught exception (in production a crashed API; in
 * the suite, a failure of whichever test file runs next).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Connection } from '@temporalio/client';
import { closeSafeConnection, guardedInterceptors } from '../lib/grpc-close-guard';

/** A port nobody listens on: every call fails UNAVAILABLE, and the client retries it. */
async function deadAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

async function closeDuringRetry(connection: Connection): Promise<{ code?: number; message: string }> {
  const call = connection.workflowService.getSystemInfo({}).then(
    () => ({ message: 'answered' }),
    (err: { code?: number; message: string }) => ({ code: err.code, message: err.message }),
  );
  // The first attempt fails at once; the retry waits ~100 ms (the SDK's backoff): close meanwhile.
  await new Promise((r) => setTimeout(r, 40));
  await connection.close();
  return call;
}

test('When a connection with our interceptors is closed while a call waits to retry, then the call is rejected as CANCELLED and nothing is thrown', async () => {
  const connection = await Connection.lazy({ address: await deadAddress(), interceptors: guardedInterceptors() });
  const outcome = await closeDuringRetry(connection);
  expect(outcome.code).toBe(1); // grpc status CANCELLED
  expect(outcome.message).toMatch(/Channel has been shut down/);
});

test('When the plugin configures a connection made elsewhere (the test environment), then it behaves the same', async () => {
  const connection = await Connection.lazy({ address: await deadAddress(), plugins: [closeSafeConnection] });
  const outcome = await closeDuringRetry(connection);
  expect(outcome.code).toBe(1);
});
