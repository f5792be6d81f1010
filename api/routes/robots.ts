/** /api/robots: definitions, manual triggers, schedule control, runs. */
import { z } from 'zod';
import { route, type RouteDef } from '../http/route';
import type { RobotService } from '../robots/service';
import {
  BackfillBody,
  BackfillReply,
  CreateRobotBody,
  DeleteRobotQuery,
  GeneratedRole,
  GenerateRoleBody,
  PauseBody,
  RobotDeleted,
  RobotFieldsBody,
  RobotIdParams,
  RobotPatchBody,
  RobotRunsQuery,
  RobotView,
  RobotWithSecret,
  RunSummary,
  ScheduleTriggered,
  StartedRun,
  TriggerBody,
  WebhookRotated,
} from '../schemas';

const NO_ROBOT = 'No robot with this id';

export function robotRoutes(robots: RobotService): RouteDef[] {
  return [
    route(
      {
        method: 'post',
        path: '/api/robots/generate-role',
        tag: 'robots',
        summary: 'Draft a role description from a robot\'s name',
        description: 'A worker drafts it with the model (the API has no model client); `offline` says when the offline model answered.',
        body: GenerateRoleBody,
        responses: { 200: ['The drafted role', GeneratedRole], 503: 'No worker drafted the role in time (MC_GENERATE_TIMEOUT_SECONDS)' },
      },
      ({ body }) => robots.generateRole(body.name),
    ),
    route(
      { method: 'get', path: '/api/robots', tag: 'robots', summary: 'List robots', responses: { 200: ['The robots, oldest first', z.object({ robots: z.array(RobotView) })] } },
      async () => ({ robots: await robots.list() }),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots',
        tag: 'robots',
        summary: 'Create a robot',
        description: 'Version 1 of its definition. With `webhook.enabled`, the answer carries the webhook secret, shown this once.',
        body: CreateRobotBody,
        responses: { 201: ['The robot', RobotWithSecret], 409: 'A robot with this id exists' },
      },
      ({ body }) => robots.create(body),
    ),
    route(
      {
        method: 'get',
        path: '/api/robots/:id',
        tag: 'robots',
        summary: 'Show a robot',
        params: RobotIdParams,
        responses: { 200: ['The robot, with its schedule\'s state and events', RobotView], 404: NO_ROBOT },
      },
      ({ params }) => robots.get(params.id),
    ),
    route(
      {
        method: 'put',
        path: '/api/robots/:id',
        tag: 'robots',
        summary: 'Replace a robot\'s definition',
        description: 'Every field (no id); the version goes up by one. Runs in flight keep the version they started with.',
        params: RobotIdParams,
        body: RobotFieldsBody,
        responses: { 200: ['The robot', RobotWithSecret], 404: NO_ROBOT },
      },
      ({ params, body }) => robots.replace(params.id, body),
    ),
    route(
      {
        method: 'patch',
        path: '/api/robots/:id',
        tag: 'robots',
        summary: 'Change some fields of a robot (JSON merge patch)',
        description: 'An RFC 7386 merge patch over the fields (`null` removes one); the result is checked as a whole. The version goes up by one.',
        params: RobotIdParams,
        body: RobotPatchBody,
        emptyBody: undefined,
        responses: { 200: ['The robot', RobotWithSecret], 404: NO_ROBOT },
      },
      ({ params, body }) => robots.patch(params.id, body),
    ),
    route(
      {
        method: 'delete',
        path: '/api/robots/:id',
        tag: 'robots',
        summary: 'Delete a robot',
        params: RobotIdParams,
        query: DeleteRobotQuery,
        responses: { 200: ['Deleted', RobotDeleted], 404: NO_ROBOT, 409: 'Runs of the robot are going (`details.runningRuns`); delete with ?force=true to cancel them' },
      },
      ({ params, query }) => robots.remove(params.id, query.force === 'true'),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/trigger',
        tag: 'robots',
        summary: 'Run the robot now',
        description: 'A manual run (trigger `api`) with the given task, or the robot\'s duty.',
        params: RobotIdParams,
        body: TriggerBody,
        responses: { 201: ['The run was started', StartedRun], 404: NO_ROBOT },
      },
      ({ params, body }) => robots.trigger(params.id, body.task),
    ),
    route(
      {
        method: 'get',
        path: '/api/robots/:id/runs',
        tag: 'robots',
        summary: 'List the robot\'s runs',
        params: RobotIdParams,
        query: RobotRunsQuery,
        responses: { 200: ['The runs', z.object({ runs: z.array(RunSummary) })], 404: NO_ROBOT },
      },
      async ({ params, query }) => ({ runs: await robots.listRuns(params.id, query.limit) }),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/schedule/pause',
        tag: 'robots',
        summary: 'Pause the robot\'s schedule (continuous robots: stop the loop)',
        params: RobotIdParams,
        body: PauseBody,
        responses: { 200: ['The robot', RobotView], 404: NO_ROBOT, 409: 'The robot has no schedule or loop' },
      },
      ({ params, body }) => robots.pause(params.id, typeof body.note === 'string' ? body.note.slice(0, 200) : undefined),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/schedule/resume',
        tag: 'robots',
        summary: 'Resume the robot\'s schedule (continuous robots: start the loop again)',
        params: RobotIdParams,
        responses: { 200: ['The robot', RobotView], 404: NO_ROBOT, 409: 'The robot has no schedule or loop' },
      },
      ({ params }) => robots.resume(params.id),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/schedule/trigger',
        tag: 'robots',
        summary: 'Take the schedule\'s action now',
        description: 'A scheduled run now, also while paused.',
        params: RobotIdParams,
        responses: { 202: ['Triggered', ScheduleTriggered], 404: NO_ROBOT },
      },
      ({ params }) => robots.triggerSchedule(params.id),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/schedule/backfill',
        tag: 'robots',
        summary: 'Run the schedule for the times in a past window',
        params: RobotIdParams,
        body: BackfillBody,
        responses: { 202: ['Backfill requested', BackfillReply], 404: NO_ROBOT, 409: 'The robot has no schedule' },
      },
      ({ params, body }) => robots.backfill(params.id, body),
    ),
    route(
      {
        method: 'post',
        path: '/api/robots/:id/webhook/rotate',
        tag: 'robots',
        summary: 'New webhook secret',
        description: 'Shown this once; the old secret stops working at once.',
        params: RobotIdParams,
        responses: { 200: ['The new secret', WebhookRotated], 404: NO_ROBOT, 409: 'Webhooks are not enabled for this robot' },
      },
      ({ params }) => robots.rotateWebhook(params.id),
    ),
  ];
}
