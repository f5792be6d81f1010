/**
 * Rate limits (express-rate-limit), each a fixed window of MC_RATE_LIMIT_WINDOW_SECONDS, answering through the one
 * error middleware: `429 { error }` with `Retry-After` (the seconds until the window resets) via the RateLimited
 * domain error.
 *
 * - per client address, every request but /healthz and /readyz (MC_RATE_LIMIT_PER_ADDRESS);
 * - per client address, failed sign-ins at POST /login (MC_RATE_LIMIT_LOGIN): past it, every sign-in from that
 *   address is refused until the window ends, the right password too (so a guess that happens to be right is not told apart);
 * - per client address, requests refused for missing or wrong credentials (MC_RATE_LIMIT_AUTH_FAILURES): past it,
 *   every request from that address that needs credentials is refused until the window ends;
 * - per credential (an API key, the admin password, or one page session), every authenticated request
 *   (MC_RATE_LIMIT_PER_KEY), and run starts (MC_RATE_LIMIT_RUN_STARTS).
 *
 * The counters live in each API process's memory (express-rate-limit's MemoryStore): with N replicas behind a load
 * balancer a client may get up to N times each limit, and a restart forgets the counts. A shared store (e.g.
 * rate-limit-redis) plugs in here; none is the default because Temporal is the only store the system needs.
 * The client address is the socket's peer unless MC_TRUST_PROXY says which proxies' X-Forwarded-For to believe.
 */
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type Options } from 'express-rate-limit';
import type { Config } from '../../lib/config';
import { RateLimited } from '../errors';

/** Who a request authenticated as, set by the credentials middleware (../auth.ts): `key:<digest>` or `session:<id>`. */
export const principalOf = (res: Response): string | undefined => (res.locals as { principal?: string }).principal;

/** The client address as a rate-limit key (IPv6 by /56, so one host cannot dodge the limit by rotating its addresses). */
export const addressOf = (req: Request): string => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');

type LimiterOptions = Pick<Options, 'limit'> & Partial<Pick<Options, 'keyGenerator' | 'skip' | 'skipSuccessfulRequests' | 'requestWasSuccessful' | 'store'>>;

/** One limiter; `what` is the sentence a refused client reads. */
function limiter(config: Config, what: string, opts: LimiterOptions): RequestHandler {
  const handler = rateLimit({
    windowMs: config.MC_RATE_LIMIT_WINDOW_SECONDS * 1000,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => addressOf(req),
    ...opts,
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : config.MC_RATE_LIMIT_WINDOW_SECONDS;
      next(new RateLimited(`too many requests: ${what}; try again in ${seconds} s`, seconds));
    },
  });
  // Named, so a listing of the app's middleware says what it is.
  return Object.defineProperty(handler, 'name', { value: 'rateLimit' });
}

/** See RateLimiters.authFailures. */
function authFailureLimiter(config: Config, what: string): RequestHandler {
  const store = new MemoryStore();
  const count = limiter(config, what, { limit: config.MC_RATE_LIMIT_AUTH_FAILURES, store });
  return function authFailures(req, res, next) {
    if (!principalOf(res)) return count(req, res, next);
    store.get(addressOf(req)).then((info) => {
      if (!info || info.totalHits <= config.MC_RATE_LIMIT_AUTH_FAILURES) return next();
      const seconds = info.resetTime ? Math.max(1, Math.ceil((info.resetTime.getTime() - Date.now()) / 1000)) : config.MC_RATE_LIMIT_WINDOW_SECONDS;
      next(new RateLimited(`too many requests: ${what}; try again in ${seconds} s`, seconds));
    }, next);
  };
}

const RUN_STARTS = [/^\/api\/runs\/?$/, /^\/api\/robots\/[^/]+\/trigger\/?$/, /^\/api\/robots\/[^/]+\/schedule\/(trigger|backfill)\/?$/, /^\/task\/compound\/?$/];
const isRunStart = (req: Request) => req.method === 'POST' && RUN_STARTS.some((p) => p.test(req.path));

export interface RateLimiters {
  /** Every request but health, per client address: first of all. */
  perAddress: RequestHandler;
  /** Failed sign-ins per address: before POST /login's handler, which marks a success in `res.locals.signedIn`. */
  login: RequestHandler;
  /**
   * Requests refused for their credentials, per address: after `identify`, before the check that answers 401.
   * It counts the requests that carry no valid credential (they are about to get a 401) and, past the limit, refuses
   * every request from the address, a valid credential too (a right guess must not stand out). Requests with a valid
   * credential are never counted (an open event stream must not hold a count while it lasts).
   */
  authFailures: RequestHandler;
  /** Authenticated requests and run starts per credential: just after the credentials middleware. */
  perKey: RequestHandler[];
}

export function createRateLimiters(config: Config): RateLimiters {
  const window = `${config.MC_RATE_LIMIT_WINDOW_SECONDS} s`;
  return {
    perAddress: limiter(config, `more than ${config.MC_RATE_LIMIT_PER_ADDRESS} requests from this address in ${window}`, {
      limit: config.MC_RATE_LIMIT_PER_ADDRESS,
      skip: (req) => req.path === '/healthz' || req.path === '/readyz',
    }),
    login: limiter(config, `more than ${config.MC_RATE_LIMIT_LOGIN} failed sign-ins from this address in ${window}`, {
      limit: config.MC_RATE_LIMIT_LOGIN,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.locals.signedIn === true,
    }),
    authFailures: authFailureLimiter(config, `more than ${config.MC_RATE_LIMIT_AUTH_FAILURES} requests with missing or wrong credentials from this address in ${window}`),
    perKey: [
      limiter(config, `more than ${config.MC_RATE_LIMIT_PER_KEY} requests with this credential in ${window}`, {
        limit: config.MC_RATE_LIMIT_PER_KEY,
        keyGenerator: (req, res) => principalOf(res) ?? addressOf(req),
      }),
      limiter(config, `more than ${config.MC_RATE_LIMIT_RUN_STARTS} run starts with this credential in ${window}`, {
        limit: config.MC_RATE_LIMIT_RUN_STARTS,
        keyGenerator: (req, res) => principalOf(res) ?? addressOf(req),
        skip: (req) => !isRunStart(req),
      }),
    ],
  };
}
