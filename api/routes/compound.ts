/**
 * Seed-compatible compound goals: `POST /task/compound { goal, robotId? }` → `{ id }` and
 * `GET /task/:id/progress` → the node list (whole ids), statuses, rolling summary and result. A compound goal is
 * an ordinary run (trigger `compound`), so everything else (/api/runs, cancel, per-node control) applies to it.
 */
import { z } from 'zod';
import { route, type RouteDef } from '../http/route';
import type { RunService } from '../run-service';
import { CompoundBody, CompoundProgress, RunIdParams } from '../schemas';
import { DEFAULT_ROBOT } from '../use-cases/run-input';
import type { StartRun } from '../use-cases/start-run';

export function compoundRoutes(runs: RunService, startRun: StartRun): RouteDef[] {
  return [
    route(
      {
        method: 'post',
        path: '/task/compound',
        tag: 'compound',
        summary: 'Start a compound goal',
        description: 'A run with trigger `compound`, of the built-in robot (`robotId` absent or `default`) or a stored one.',
        body: CompoundBody,
        responses: { 201: ['The run was started', z.object({ id: z.string() })], 404: 'No robot with this robotId' },
      },
      async ({ body }) => {
        const robotId = body.robotId && body.robotId !== DEFAULT_ROBOT.id ? body.robotId : undefined;
        const { id } = await startRun({ trigger: 'compound', task: body.goal, robot: robotId ? { id: robotId } : undefined });
        return { id };
      },
    ),
    route(
      {
        method: 'get',
        path: '/task/:id/progress',
        tag: 'compound',
        summary: 'Progress of a compound goal (or any run)',
        params: RunIdParams,
        responses: { 200: ['Nodes, statuses, summary and result', CompoundProgress], 404: 'No run with this id' },
      },
      ({ params }) => runs.progress(params.id),
    ),
  ];
}
