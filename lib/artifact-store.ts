/**
 * The artifact store: files a run keeps outside its Temporal history (delivered files, outputs too large for a
 * history payload), one folder per run under MC_ARTIFACT_DIR (default MC_DATA_DIR/artifacts). Activities write
 * it (activities/claim-check.ts, the `file` destination), the API reads it (`GET /api/runs/:id/artifacts/:name`).
 *
 * A plain folder because it needs nothing else to run; the price is that on several hosts the folder must be a
 * volume every worker and API replica mounts (NFS, a ReadWriteMany volume, …): see the README.
 *
 * Names cannot escape: a run id must be an Id and a name an ArtifactName (no `/`, `\`, `..`), the run's folder is
 * the URL-encoded id, and every resolved path is checked to lie inside the store anyway. Writes go to a temporary
 * file first and are renamed into place, so a worker killed mid-write leaves no half file, and writing the same
 * artifact again (an activity's retry) replaces it with the same bytes.
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { ArtifactInfo, ArtifactName, contentTypeOf } from '../contracts/artifacts';
import { Id } from '../contracts/common';
import type { Config } from './config';

/** The folder of the artifact store of a configuration. */
export const artifactDir = (c: Pick<Config, 'MC_ARTIFACT_DIR' | 'MC_DATA_DIR'>): string => path.resolve(c.MC_ARTIFACT_DIR ?? path.join(c.MC_DATA_DIR, 'artifacts'));

export interface StoredArtifact {
  path: string;
  bytes: number;
  contentType: string;
}

export interface ArtifactStore {
  readonly root: string;
  /** Write (or replace) one artifact of a run; `source` says what made it (`stage:delivery`, `delivery:2`). */
  put(runId: string, name: string, data: string | Buffer, source: string, createdAt?: string): Promise<ArtifactInfo>;
  /** The whole artifact, or undefined when there is none. */
  read(runId: string, name: string): Promise<Buffer | undefined>;
  /** Where the artifact is on disk (for streaming it), or undefined. */
  locate(runId: string, name: string): Promise<StoredArtifact | undefined>;
  /** The names of a run's artifacts. */
  list(runId: string): Promise<string[]>;
}

/** Thrown for a run id or name that is not allowed (the API answers 400 / 404 before it gets here). */
export class BadArtifactName extends Error {}

export function createArtifactStore(root: string): ArtifactStore {
  const base = path.resolve(root);
  const runDir = (runId: string) => {
    if (!Id.safeParse(runId).success) throw new BadArtifactName(`not a run id: ${runId.slice(0, 100)}`);
    const dir = path.resolve(base, encodeURIComponent(runId));
    if (path.dirname(dir) !== base) throw new BadArtifactName(`not a run id: ${runId.slice(0, 100)}`);
    return dir;
  };
  const fileOf = (runId: string, name: string) => {
    if (!ArtifactName.safeParse(name).success) throw new BadArtifactName(`not an artifact name: ${name.slice(0, 100)}`);
    const dir = runDir(runId);
    const file = path.resolve(dir, name);
    if (path.dirname(file) !== dir) throw new BadArtifactName(`not an artifact name: ${name.slice(0, 100)}`);
    return file;
  };
  return {
    root: base,
    async put(runId, name, data, source, createdAt = new Date().toISOString()) {
      const file = fileOf(runId, name);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      await fsp.mkdir(path.dirname(file), { recursive: true });
      // A leading dot: never a valid artifact name, so list() never shows a write in progress.
      const tmp = path.join(path.dirname(file), `.${name}.${randomUUID()}.tmp`);
      await fsp.writeFile(tmp, bytes, { mode: 0o640 });
      await fsp.rename(tmp, file);
      return { name, bytes: bytes.length, contentType: contentTypeOf(name), sha256: createHash('sha256').update(bytes).digest('hex'), source, createdAt };
    },
    async read(runId, name) {
      try {
        return await fsp.readFile(fileOf(runId, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async locate(runId, name) {
      const file = fileOf(runId, name);
      try {
        const st = await fsp.stat(file);
        return st.isFile() ? { path: file, bytes: st.size, contentType: contentTypeOf(name) } : undefined;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    async list(runId) {
      const dir = runDir(runId);
      if (!fs.existsSync(dir)) return [];
      return (await fsp.readdir(dir)).filter((n) => ArtifactName.safeParse(n).success).sort();
    },
  };
}
