/**
 * A run's artifacts (delivered files, outputs too large for history), served from the artifact store
 * (lib/artifact-store.ts) with credentials like every route. The name is checked against ArtifactName before it
 * reaches the store (`..`, `/`, `\` cannot pass: 400), the run must exist (404), and the file is sent as a download
 * with its content type, `nosniff` and a sandboxing CSP, so an HTML artifact can never run as a page of ours.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { ArtifactInfo, ArtifactName } from '../../contracts/artifacts';
import { Id } from '../../contracts/common';
import type { ArtifactStore } from '../../lib/artifact-store';
import { NotFound } from '../errors';
import { route, type RouteDef } from '../http/route';
import type { RunService } from '../run-service';

export const ArtifactParams = z.object({ id: Id, name: ArtifactName }).strict();
const RunParams = z.object({ id: Id }).strict();

export function artifactRoutes(runs: RunService, store: ArtifactStore): RouteDef[] {
  return [
    route(
      {
        method: 'get',
        path: '/api/runs/:id/artifacts',
        tag: 'runs',
        summary: 'List a run\'s artifacts',
        description: 'Delivered files (the `file` destination) and outputs too large for the Temporal history (claim check), as the run state lists them.',
        params: RunParams,
        responses: { 200: ['The artifacts', z.object({ artifacts: z.array(ArtifactInfo) })], 404: 'No run with this id' },
      },
      async ({ params }) => {
        const run = await runs.get(params.id);
        return { artifacts: run.artifacts ?? [] };
      },
    ),
    route(
      {
        method: 'get',
        path: '/api/runs/:id/artifacts/:name',
        tag: 'runs',
        summary: 'Download one artifact of a run',
        description: 'The file, with its content type (`.md` text/markdown, `.json` application/json, `.txt` text/plain, else bytes), as an attachment.',
        params: ArtifactParams,
        raw: true,
        responses: {
          200: { description: 'The artifact', schema: z.string(), contentType: 'application/octet-stream' },
          404: 'No run with this id, or no artifact of this name',
        },
      },
      async ({ params, res }) => {
        await runs.get(params.id); // 404 for an unknown run
        const found = await store.locate(params.id, params.name);
        if (!found) throw new NotFound(`artifact not found: ${params.name}`);
        res.status(200).set({
          'content-type': found.contentType,
          'content-length': String(found.bytes),
          'content-disposition': `attachment; filename="${params.name}"`,
          'x-content-type-options': 'nosniff',
          'content-security-policy': "sandbox; default-src 'none'",
          'cache-control': 'private, no-store',
        });
        await new Promise<void>((resolve, reject) => {
          const stream = fs.createReadStream(found.path);
          stream.on('error', reject);
          res.on('finish', resolve);
          res.on('close', resolve);
          stream.pipe(res);
        });
      },
    ),
  ];
}
