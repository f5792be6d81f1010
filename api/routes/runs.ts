/** /api/runs: start, list, show, cancel, decide at gates, talk to the Robot Host. Routes validate and delegate. */
import { Router } from 'express';
import type { RunService } from '../run-service';
import { ApprovalBody, CreateRunBody, HostConfirmBody, HostMessageBody, ListRunsQuery, RunIdParams } from '../schemas';

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
  r.post('/:id/approvals', async (req, res) => {
    res.json(await runs.decide(RunIdParams.parse(req.params).id, ApprovalBody.parse(req.body ?? {})));
  });
  r.post('/:id/messages', async (req, res) => {
    res.json(await runs.message(RunIdParams.parse(req.params).id, HostMessageBody.parse(req.body ?? {})));
  });
  r.post('/:id/confirm', async (req, res) => {
    res.json(await runs.confirm(RunIdParams.parse(req.params).id, HostConfirmBody.parse(req.body ?? {})));
  });
  return r;
}
