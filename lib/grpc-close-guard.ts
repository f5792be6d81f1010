/**
 * A closed connection must not crash the process. The Temporal client retries failed gRPC calls from a timer
 * (@temporalio/client's grpc-retry interceptor); when the connection is closed while a retry waits, the timer's next
 * attempt throws "Channel has been shut down" synchronously inside the timer — an uncaught exception, far from any
 * caller. This interceptor sits below the retry interceptor: an attempt that cannot even be created ends as a
 * CANCELLED call instead (not retried), so the caller's promise rejects and nothing is thrown from a timer.
 */
import { InterceptingCall, Metadata, status, type Interceptor } from '@grpc/grpc-js';
import { makeGrpcRetryInterceptor, defaultGrpcRetryOptions, type ConnectionPlugin, type GrpcRetryOptions } from '@temporalio/client';

/** What InterceptingCall wraps (grpc-js does not export the interface by name from its root). */
type CallInterface = ConstructorParameters<typeof InterceptingCall>[0];

export const closedChannelGuard: Interceptor = (options, nextCall) => {
  try {
    return new InterceptingCall(nextCall(options));
  } catch (err) {
    const details = `call not made: ${(err as Error).message}`;
    return new InterceptingCall(refusedCall(details));
  }
};

/** A call that was never made: it reports CANCELLED to whoever starts it, on the next tick. */
function refusedCall(details: string): CallInterface {
  return {
    start(_metadata, listener) {
      process.nextTick(() => listener?.onReceiveStatus?.({ code: status.CANCELLED, details, metadata: new Metadata() }));
    },
    cancelWithStatus() {},
    getPeer: () => '',
    getAuthContext: () => null,
    sendMessageWithContext() {},
    sendMessage() {},
    startRead() {},
    halfClose() {},
  };
}

/** The SDK's default interceptors (its retry policy, or `retry`), with the guard below them. */
export const guardedInterceptors = (retry: GrpcRetryOptions = defaultGrpcRetryOptions()): Interceptor[] => [makeGrpcRetryInterceptor(retry), closedChannelGuard];

/** For connections made by others (the test environment): the same interceptors through the SDK's plugin hook. */
export const closeSafeConnection: ConnectionPlugin = {
  name: 'mission-control.close-safe',
  configureConnection: (options) => ({ ...options, interceptors: options.interceptors ?? guardedInterceptors() }),
};
