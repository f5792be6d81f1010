/**
 * The claim check: an output too large for a history payload (more than MC_INLINE_OUTPUT_MAX_BYTES of JSON) is
 * written to the artifact store by the activity that made it, and only a reference with a preview goes into
 * history (contracts/artifacts.ts `ClaimCheck`). Activities that receive a reference read the output back here,
 * so stages, the deliverable and the destinations always work on the whole output. The workflow lists the artifact
 * in the run state, and the API serves it.
 */
import { type ClaimCheck, isClaimCheck } from '../contracts/artifacts';
import type { ArtifactStore } from '../lib/artifact-store';

const PREVIEW_CHARS = 2000;

/** The output itself, or a claim check for it when its JSON is larger than `maxBytes`. */
export async function offloadIfLarge<T>(store: ArtifactStore, maxBytes: number, runId: string, name: string, source: string, output: T): Promise<T | ClaimCheck> {
  const json = JSON.stringify(output);
  if (json === undefined || Buffer.byteLength(json) <= maxBytes) return output;
  const info = await store.put(runId, name, json, source);
  const content = (output as { content?: unknown })?.content;
  const preview = (typeof content === 'string' ? content : json).slice(0, PREVIEW_CHARS);
  return { claimCheck: info, preview };
}

/** The output a claim check stands for (read back from the store); fails if the artifact is missing. */
export async function readClaimCheck(store: ArtifactStore, runId: string, ref: ClaimCheck): Promise<unknown> {
  const data = await store.read(runId, ref.claimCheck.name);
  if (!data) throw new Error(`artifact ${ref.claimCheck.name} of run ${runId} is missing from the artifact store (${store.root}): is MC_ARTIFACT_DIR shared by every worker?`);
  return JSON.parse(data.toString('utf8'));
}

/** The same record with every claim check among its values read back (stage outputs handed to the next stage). */
export async function resolveClaimChecks<T extends Record<string, unknown>>(store: ArtifactStore, runId: string, record: T): Promise<T> {
  const entries = await Promise.all(Object.entries(record).map(async ([k, v]) => [k, isClaimCheck(v) ? await readClaimCheck(store, runId, v) : v] as const));
  return Object.fromEntries(entries) as T;
}
