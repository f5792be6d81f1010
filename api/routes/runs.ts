/** /api/runs: start, list, show, cancel, decide at gates, talk to the Robot Host, per-node control. */
import { route, type RouteDef } from '../http/route';
import type { RunService } from '../run-service';
import {
  ApprovalBody,
  ApproveNodeBody,
  CancelReply,
  CreateRunBody,
  HostConfirmBody,
  HostMessageBody,
  ListRunsQuery,
  NodeControlReply,
  NodeParams,
  RunIdParams,
  RunState,
  RunSummary,
  RunView,
  StartedRun,
} from '../schemas';
import { z } from 'zod';
import type { StartRun, StartRunCommand } from '../use-cases/start-run';

/** The startRun command of a POST /api/runs body. */
export function commandOf(body: CreateRunBody): StartRunCommand {
  const { task, robot, robotId, ...control } = body;
  return { trigger: 'api', task, robot: robotId ? { id: robotId } : robot ? { inline: robot } : undefined, ...control };
}

const RUN_NOT_FOUND = 'No run with this id';
const FINISHED = 'The run has already finished';

export function runRoutes(runs: RunService, startRun: StartRun): RouteDef[] {
  return [
    route(
      {
        method: 'post',
        path: '/api/runs',
        tag: 'runs',
        summary: 'Start a run',
        description: 'Starts a run of the built-in robot, an ad-hoc robot (`robot`) or a stored robot (`robotId`). Gates, budget, host and options given here win over the robot\'s own.',
        body: CreateRunBody,
        responses: { 201: ['The run was started (status Pending)', StartedRun], 404: 'No robot with this robotId' },
      },
      ({ body }) => startRun(commandOf(body)),
    ),
    route(
      {
        method: 'get',
        path: '/api/runs',
        tag: 'runs',
        summary: 'List runs',
        description: 'From Temporal visibility (no worker needed), newest first.',
        query: ListRunsQuery,
        responses: { 200: ['The runs', z.object({ runs: z.array(RunSummary) })] },
      },
      async ({ query }) => ({ runs: await runs.list(query) }),
    ),
    route(
      {
        method: 'get',
        path: '/api/runs/:id',
        tag: 'runs',
        summary: 'Show a run',
        description: 'The whole state (stages, outputs, tokens, cost, gate, approvals, task graph, events) from the workflow; without a worker, the final result or the memo (`stateSource` says which).',
        params: RunIdParams,
        responses: { 200: ['The run', RunView], 404: RUN_NOT_FOUND },
      },
      ({ params }) => runs.get(params.id),
    ),
    route(
      {
        method: 'post',
        path: '/api/runs/:id/cancel',
        tag: 'runs',
        summary: 'Cancel a run',
        description: 'Also during a stage (the model request in flight is aborted), at a gate, or in the host conversation.',
        params: RunIdParams,
        responses: { 202: ['Cancellation requested', CancelReply], 404: RUN_NOT_FOUND, 409: FINISHED },
      },
      ({ params }) => runs.cancel(params.id),
    ),
    ...(['cancel', 'retry'] as const).map((action) =>
      route(
        {
          method: 'post',
          path: `/api/runs/:id/nodes/:nodeId/${action}`,
          tag: 'graph',
          summary: action === 'cancel' ? 'Cancel one node of the task graph' : 'Run a failed or cancelled node again',
          description:
            action === 'cancel'
              ? 'A pending, running or waiting node; its dependants are skipped and the rest of the graph goes on.'
              : 'Its skipped dependants become pending again.',
          params: NodeParams,
          responses: { 200: ['The node\'s new status', NodeControlReply], 404: RUN_NOT_FOUND, 409: 'Not applicable to the node now (the reason is in `error`), or the run has finished' },
        },
        ({ params }) => runs.nodeAction(params.id, params.nodeId, action),
      ),
    ),
    route(
      {
        method: 'post',
        path: '/api/runs/:id/nodes/:nodeId/approval',
        tag: 'graph',
        summary: 'Decide on a node waiting for approval (command nodes)',
        params: NodeParams,
        body: ApproveNodeBody,
        responses: { 200: ['The node\'s new status', NodeControlReply], 404: RUN_NOT_FOUND, 409: 'The node is not waiting for approval, or the run has finished' },
      },
      ({ params, body }) => runs.nodeAction(params.id, params.nodeId, 'approve', body),
    ),
    route(
      {
        method: 'post',
        path: '/api/runs/:id/approvals',
        tag: 'gates',
        summary: 'Decide at the gate the run waits at',
        description:
          'approve, reject, or revise (with feedback: the stage before the gate runs again). Through the workflow\'s `decide` update: a stale decision (no gate, another gate, already decided, revision limit) is a 409 and a malformed one a 400, before anything changes. The same `decisionId` twice is applied once.',
        params: RunIdParams,
        body: ApprovalBody,
        responses: { 200: ['The state after the run acted on the decision', RunState], 404: RUN_NOT_FOUND, 409: 'Not waiting at that gate, already decided, revision limit, or finished' },
      },
      ({ params, body }) => runs.decide(params.id, body),
    ),
    route(
      {
        method: 'post',
        path: '/api/runs/:id/messages',
        tag: 'gates',
        summary: 'Answer the Robot Host',
        params: RunIdParams,
        body: HostMessageBody,
        responses: { 200: ['The state with the host\'s reply', RunState], 404: RUN_NOT_FOUND, 409: 'The run has no host conversation waiting for an answer' },
      },
      ({ params, body }) => runs.message(params.id, body),
    ),
    route(
      {
        method: 'post',
        path: '/api/runs/:id/confirm',
        tag: 'gates',
        summary: 'Confirm the task the Robot Host stated',
        description: 'The pipeline starts on the confirmed task.',
        params: RunIdParams,
        body: HostConfirmBody,
        responses: { 200: ['The state, pipeline started', RunState], 404: RUN_NOT_FOUND, 409: 'Nothing to confirm' },
      },
      ({ params, body }) => runs.confirm(params.id, body),
    ),
  ];
}
