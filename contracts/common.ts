/**
 * Small shapes every other contract uses: ids, durations, URLs, times.
 *
 * The contracts layer (this folder) is pure: zod schemas, the types inferred from them, constants and pure
 * functions. No Node imports, no I/O, no clock, no randomness — workflow code imports it too.
 */
import { z } from 'zod';

/** Run ids and other ids the API takes: whole, URL-safe and bounded. */
export const Id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$/, 'must be 1-200 characters of letters, digits, _ . : -');

/** Robot ids are short, lower-case and URL-safe: they become part of schedule and workflow ids. */
export const RobotId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be 1-63 characters of lower-case letters, digits, _ and -, starting with a letter or digit');

/** Task-graph node ids: unique within a graph, shown whole everywhere. */
export const NodeId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'ids are 1-64 letters, digits, _ . : -');

/** An ISO-8601 time as the workflow writes it (`new Date().toISOString()`). */
export const IsoTime = z.string();

/** `30s`, `5m`, `2h`, `1d`, `500ms`. */
export const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'must be a duration like 500ms, 30s, 5m, 2h or 1d');

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a Duration string. */
export function durationMs(d: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Milliseconds of a Duration string, or undefined when it is not one (refinements run after a failed regex). */
export const tryDurationMs = (d: string): number | undefined => (/^\d+(ms|s|m|h|d)$/.test(d) ? durationMs(d) : undefined);

/** A Duration of at least `ms` milliseconds (a malformed one is left to the regex's own message). */
export const atLeast = (ms: number) => (d: string) => (tryDurationMs(d) ?? ms) >= ms;

/** An http(s) URL: outbound requests take no other schemes. */
export const HttpUrl = z
  .string()
  .url()
  .max(2000)
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');

/** Free text a person writes (feedback, an answer to the host), bounded. */
export const MAX_TEXT = 10_000;

/** Who did something (a user name, an email, "ops"). */
export const Actor = z.string().trim().min(1).max(200);

/**
 * Cut `text` to at most `max` characters, ending with "…" when cut, without splitting a surrogate pair.
 *
 * @example clip('abcdef', 4) // → 'abc…'
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Text a model wrote or derived from user input (a title, a goal), bounded: longer text is shortened with `clip`,
 * never refused, so the length of someone's task can never fail a run. Caller-supplied fields keep plain `.max()`
 * limits (a 400 says what is too long).
 */
export const shortText = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .transform((s) => clip(s, max));
