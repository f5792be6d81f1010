/**
 * `file`: the deliverable kept as two artifacts of the run — `<name>.md` (the Markdown report) and `<name>.json`
 * (the same JSON a webhook receives) — in the artifact store (MC_ARTIFACT_DIR), listed in the run state and served
 * at `GET /api/runs/:id/artifacts/:name`. Writing again (a retry) replaces them with the same bytes.
 */
import type { z } from 'zod';
import type { FileDestination } from '../../../contracts/delivery';
import { defineDestination } from '../types';

export const fileDestination = defineDestination<z.infer<typeof FileDestination>>({
  type: 'file',
  async send(d, ctx) {
    const source = `delivery:${ctx.n}`;
    const md = await ctx.artifacts.put(ctx.message.runId, `${d.name}.md`, ctx.message.markdown, source);
    const json = await ctx.artifacts.put(ctx.message.runId, `${d.name}.json`, JSON.stringify(ctx.message.json(ctx.idempotencyKey), null, 2), source);
    return { messageId: md.name, artifacts: [md, json] };
  },
});
