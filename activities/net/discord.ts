/**
 * Discord's REST client as both the `discord` delivery destination and the Discord chat platform use it: discord.js's
 * @discordjs/rest at MC_DISCORD_API_URL, retries off and rate limits rejected (Temporal retries after the reset), no
 * background sweepers left running; its errors mapped to delivery failures (retryable or not, Retry-After kept).
 */
import { DiscordAPIError, HTTPError, RateLimitError, REST } from '@discordjs/rest';
import type { Config } from '../../lib/config';
import { deliveryFailure, retryableStatus } from '../delivery/types';

export function discordRest(config: Pick<Config, 'MC_DISCORD_API_URL' | 'MC_DELIVERY_TIMEOUT_MS'>, token: string): REST {
  return new REST({
    api: config.MC_DISCORD_API_URL,
    version: '10',
    retries: 0,
    timeout: config.MC_DELIVERY_TIMEOUT_MS,
    rejectOnRateLimit: () => true,
    // One client per activity: no background sweepers left running after it.
    hashSweepInterval: 0,
    handlerSweepInterval: 0,
  }).setToken(token);
}

/** Run one Discord request; its failure as a delivery failure naming `what`. */
export async function discordCall<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RateLimitError) throw deliveryFailure(`Discord rate-limited ${what}`, { retryable: true, retryAfterMs: err.retryAfter, statusCode: 429 });
    if (err instanceof DiscordAPIError) throw deliveryFailure(`Discord refused ${what}: ${err.message}`, { retryable: retryableStatus(err.status), statusCode: err.status });
    if (err instanceof HTTPError) throw deliveryFailure(`Discord answered HTTP ${err.status} to ${what}`, { retryable: retryableStatus(err.status), statusCode: err.status });
    if (signal.aborted) throw err;
    throw deliveryFailure(`Discord could not be reached: ${(err as Error).message}`, { retryable: true });
  }
}
