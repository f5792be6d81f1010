/**
 * Seed-compatible compound goals: `POST /task/compound { goal, robotId? }` → `{ id }` and
 * `GET /task/:id/progress` → the node list (whole ids), statuses, rolling summary and result. A compound goal is
 * an ordinary run (trigger `compound`), so everything else (/api/runs, cancel, per-node control) applies to it.
 */
import { Router } from 'express';
import type { RunService } from '../run-service';
import { CompoundBody, RunIdParams } from '../schemas';

export function compoundRouter(runs: RunService): Router {
  const r = Router();
  r.post('/compound', async (req, res) => {
    const body = CompoundBody.parse(req.body ?? {});
    const { id } = await runs.startCompound(body);
    res.status(201).json({ id });
  });
  r.get('/:id/progress', async (req, res) => {
    res.json(await runs.progress(RunIdParams.parse(req.params).id));
  });
  return r;
}
