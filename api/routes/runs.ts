/** /api/runs: start, list, show, cancel, decide at gates, talk to the Robot Host, per-node control. Routes validate and delegate. */
import { Router } from 'express';
import type { RunService } from '../run-service';
import { ApprovalBody, ApproveNodeBody, CreateRunBody, HostConfirmBody, HostMessageBody, ListRunsQuery, NodeParams, RunIdParams } from '../schemas';

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
  r.post('/:id/nodes/:nodeId/cancel', async (req, res) => {
    const { id, nodeId } = NodeParams.parse(req.params);
    res.json(await runs.nodeAction(id, nodeId, 'cancel'));
  });
  r.post('/:id/nodes/:nodeId/retry', async (req, res) => {
    const { id, nodeId } = NodeParams.parse(req.params);
    res.json(await runs.nodeAction(id, nodeId, 'retry'));
  });
  r.post('/:id/nodes/:nodeId/approval', async (req, res) => {
    const { id, nodeId } = NodeParams.parse(req.params);
    res.json(await runs.nodeAction(id, nodeId, 'approve', ApproveNodeBody.parse(req.body ?? {})));
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
