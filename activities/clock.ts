/**
 * The clock activities read, injected so that tests can drive it. Only wall-clock readings go through it (call
 * latencies, activity durations, tool run times, Retry-After dates); timers that must really wait (the offline
 * model's simulated latency, heartbeats) use Node's timers.
 */
export interface Clock {
  /** Milliseconds since the epoch, like Date.now(). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
