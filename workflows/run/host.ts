/**
 * The Robot Host: before the pipeline, it clarifies a manually assigned task with the person (one `hostTurn`
 * activity per turn, under the run's budget) until they confirm the task it states. The person answers with the
 * `hostMessage` update and confirms with `hostConfirm`; each answers once the run has acted on it.
 */
import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { hostConfirmUpdate, hostMessageUpdate } from '../../contracts/messages';
import { HostMessageInput, HostState } from '../../contracts/gates';
import type { RunInput, RunState } from '../../contracts/run';
import { runActivityOptions } from '../activity-options';
import { RunBudget } from './budget';
import { invalidDecision, staleDecision } from './decisions';
import { now } from '../clock';
import { RunRecorder } from './recorder';

const DEFAULT_HOST_TURNS = 4;

export class RobotHost {
  /** Host turns finished: an answer's update waits for the next one. */
  private replies = 0;
  private confirmed = false;
  /** Answers since the host's last turn. */
  private readonly inbox: string[] = [];
  private readonly activities: Activities;

  /** Registers the `hostMessage` and `hostConfirm` updates. */
  constructor(
    private readonly input: RunInput,
    private readonly run: RunRecorder,
    private readonly budget: RunBudget,
  ) {
    this.activities = proxyActivities<Activities>(runActivityOptions(input.options).stage);
    const state = run.state;

    setHandler(
      hostMessageUpdate,
      async (m: { text: string; by?: string }) => {
        const host = state.host as NonNullable<RunState['host']>;
        host.transcript.push({ role: 'person', text: m.text.trim(), at: now() });
        run.event('host.answer', `${m.by?.trim() || 'person'}: ${m.text.trim().slice(0, 200)}`);
        this.inbox.push(m.text.trim());
        const seen = this.replies;
        await condition(() => this.replies > seen || run.finished);
        return state;
      },
      {
        validator: (m) => {
          const shape = HostMessageInput.safeParse(m);
          if (!shape.success) throw invalidDecision(shape.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; '));
          if (!run.inHost() || run.finished || state.host?.status === 'thinking') {
            throw staleDecision(state.host?.status === 'thinking' ? 'the host is still thinking' : 'the run has no host conversation going on');
          }
        },
      },
    );

    setHandler(
      hostConfirmUpdate,
      async (c: { by?: string }) => {
        this.confirmed = true;
        run.event('host.confirm', `${c?.by?.trim() || 'person'} confirmed the task`);
        await condition(() => state.host?.status === 'confirmed' || run.finished);
        return state;
      },
      {
        validator: (_c: { by?: string }) => {
          if (!run.inHost() || run.finished || state.host?.status !== 'confirming' || this.confirmed) {
            throw staleDecision(
              state.host?.status === 'confirmed'
                ? 'the task was already confirmed'
                : state.host
                  ? 'the host has not stated a task to confirm yet'
                  : 'the run has no host conversation',
            );
          }
        },
      },
    );
  }

  /** Schedules never have anyone to talk to: the host is for manually assigned tasks. */
  get wanted(): boolean {
    return !!this.input.host?.enabled && this.input.trigger !== 'schedule';
  }

  /** Talk until the person confirms; returns the task as confirmed. */
  async converse(): Promise<string> {
    const { input, run } = this;
    const state = run.state;
    const host: HostState = { status: 'thinking', transcript: [], turns: 0 };
    state.host = host;
    run.event('host.started', 'The Robot Host is clarifying the task');
    run.publish();
    const maxTurns = input.host?.maxTurns ?? DEFAULT_HOST_TURNS;
    for (;;) {
      host.status = 'thinking';
      const { turn, calls } = await this.budget.withBudget(undefined, (allowance) =>
        this.activities.hostTurn({
          runId: state.runId,
          task: input.task,
          robot: input.robot,
          transcript: host.transcript,
          mustSettle: host.turns + 1 >= maxTurns,
          budget: allowance,
        }),
      );
      this.budget.bill(undefined, calls);
      host.turns++;
      if (!turn.satisfied) {
        const question = (turn.questions ?? []).join('\n');
        host.transcript.push({ role: 'host', text: question, at: now() });
        host.status = 'asking';
        run.event('host.question', question.slice(0, 300));
      } else {
        host.confirmedTask = turn.confirmedTask ?? input.task;
        host.transcript.push({ role: 'host', text: `This is the task as I understand it:\n${host.confirmedTask}\nConfirm to start.`, at: now() });
        host.status = 'confirming';
        run.event('host.stated', `Task stated for confirmation: ${host.confirmedTask.slice(0, 300)}`);
      }
      this.replies++;
      run.publish();
      await condition(() => this.inbox.length > 0 || (host.status === 'confirming' && this.confirmed));
      if (host.status === 'confirming' && this.confirmed) break;
      this.inbox.splice(0); // the answers are in the transcript the next turn reads
    }
    host.status = 'confirmed';
    const task = host.confirmedTask ?? input.task;
    run.event('host.confirmed', `Task confirmed: ${task.slice(0, 300)}`);
    return task;
  }
}
