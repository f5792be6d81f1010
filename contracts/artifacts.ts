/**
 * Artifacts: files a run keeps outside its Temporal history — delivered files (the `file` destination) and outputs
 * too large for a history payload (the claim check). The activity that makes one writes it to the artifact store
 * (lib/artifact-store.ts) and hands the workflow only a small reference; the run state lists every artifact and
 * the API serves each at `GET /api/runs/:id/artifacts/:name`.
 */
import { z } from 'zod';
import { IsoTime } from './common';

/**
 * An artifact's name: a plain file name (letters, digits, `_ . -`, starting with a letter or digit, ending in an
 * extension), so it can never name a folder or climb out of the run's own (`..`, `/` and `\` are impossible).
 */
export const ArtifactName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*\.[a-z0-9]{1,8}$/, 'must be a file name such as report.md (letters, digits, _ . -, with an extension)')
  .max(128);
export type ArtifactName = z.infer<typeof ArtifactName>;

/** Content types by extension: what the API answers with. Anything else is served as bytes. */
export const ARTIFACT_CONTENT_TYPES: Record<string, string> = {
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  html: 'text/html; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

export const contentTypeOf = (name: string): string => ARTIFACT_CONTENT_TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';

/** One artifact as the run state lists it. */
export const ArtifactInfo = z.object({
  name: ArtifactName,
  bytes: z.number(),
  contentType: z.string(),
  /** Hex SHA-256 of the content. */
  sha256: z.string(),
  /** What made it: a destination (`delivery:<n>`) or an output too large for history (`stage:<name>`). */
  source: z.string(),
  createdAt: IsoTime,
});
export type ArtifactInfo = z.infer<typeof ArtifactInfo>;

/**
 * What stands in history for an output that was too large for it (the claim check): the artifact holding the whole
 * output as JSON, and a preview. Activities that receive one read the artifact back (activities/claim-check.ts).
 */
export const ClaimCheck = z.object({
  claimCheck: ArtifactInfo,
  /** The beginning of the output, for the page and the gate's subject. */
  preview: z.string(),
});
export type ClaimCheck = z.infer<typeof ClaimCheck>;

/** True for a claim-check reference (a pure shape test: workflow code uses it too). */
export const isClaimCheck = (v: unknown): v is ClaimCheck =>
  typeof v === 'object' && v !== null && 'claimCheck' in v && typeof (v as ClaimCheck).claimCheck?.name === 'string';

/** Where the API serves an artifact. */
export const artifactPath = (runId: string, name: string): string => `/api/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(name)}`;
