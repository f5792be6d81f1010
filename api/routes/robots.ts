/** /api/robots: definitions, manual triggers, schedule control, runs. Routes validate and delegate to RobotService. */
import { Router } from 'express';
import type { RobotService } from '../robots/service';
import { BackfillBody, DeleteRobotQuery, GenerateRoleBody, RobotIdParams, TriggerBody } from '../schemas';
import { ListRunsQuery } from '../schemas';

export function robotsRouter(robots: RobotService): Router {
  const r = Router();
  const id = (params: unknown) => RobotIdParams.parse(params).id;

  r.post('/generate-role', async (req, res) => {
    res.json(await robots.generateRole(GenerateRoleBody.parse(req.body ?? {}).name));
  });
  r.get('/', async (_req, res) => {
    res.json({ robots: await robots.list() });
  });
  r.post('/', async (req, res) => {
    res.status(201).json(await robots.create(req.body));
  });
  r.get('/:id', async (req, res) => {
    res.json(await robots.get(id(req.params)));
  });
  r.put('/:id', async (req, res) => {
    res.json(await robots.replace(id(req.params), req.body));
  });
  r.patch('/:id', async (req, res) => {
    res.json(await robots.patch(id(req.params), req.body));
  });
  r.delete('/:id', async (req, res) => {
    const q = DeleteRobotQuery.parse(req.query);
    res.json(await robots.remove(id(req.params), q.force === 'true'));
  });
  r.post('/:id/trigger', async (req, res) => {
    res.status(201).json(await robots.trigger(id(req.params), TriggerBody.parse(req.body ?? {}).task));
  });
  r.get('/:id/runs', async (req, res) => {
    const q = ListRunsQuery.omit({ robotId: true }).parse(req.query);
    res.json({ runs: await robots.listRuns(id(req.params), q.limit) });
  });
  r.post('/:id/schedule/pause', async (req, res) => {
    const note = typeof req.body?.note === 'string' ? req.body.note.slice(0, 200) : undefined;
    res.json(await robots.pause(id(req.params), note));
  });
  r.post('/:id/schedule/resume', async (req, res) => {
    res.json(await robots.resume(id(req.params)));
  });
  r.post('/:id/schedule/trigger', async (req, res) => {
    res.status(202).json(await robots.triggerSchedule(id(req.params)));
  });
  r.post('/:id/schedule/backfill', async (req, res) => {
    res.status(202).json(await robots.backfill(id(req.params), BackfillBody.parse(req.body ?? {})));
  });
  r.post('/:id/webhook/rotate', async (req, res) => {
    res.json(await robots.rotateWebhook(id(req.params)));
  });
  return r;
}
