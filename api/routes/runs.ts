/** /api/runs: start, list, show, cancel. Routes validate and delegate; the story is in RunService. */
import { Router } from 'express';
import type { RunService } from '../run-service';
import { CreateRunBody, ListRunsQuery, RunIdParams } from '../schemas';

export function runsRouter(runs: RunService): Router {
  const r = Router();
  r.post('/', async (req, res) => {
    res.status(201).json(await runs.start(CreateRunBody.parse(req.body ?? {})));
  });
  r.get('/', async (req, res) => {
    res.json({ runs: await runs.list(ListRunsQuery.parse(req.query)) });
  });
  r.get('/:id', async (req, res) => {
    res.json(await runs.get(RunIdParams.parse(req.params).id));
  });
  r.post('/:id/cancel', async (req, res) => {
    res.status(202).json(await runs.cancel(RunIdParams.parse(req.params).id));
  });
  return r;
}
