/**
 * Robot Host: one turn of the clarifying conversation before a manual run's pipeline starts. The host reads the
 * task and the transcript so far and either asks questions or states the task it will work on (`satisfied`).
 * The offline model asks one question about a short task (under 8 words) and is satisfied once it has an answer.
 * The turn runs in the activity runtime (./runtime.ts) like the stages: heartbeat, cancel, metrics, budget guard.
 */
import type { HostTurnInput } from '../contracts/activities';
import { HostTurn } from '../contracts/gates';
import type { ModelCallRecord } from '../contracts/pipeline';
import type { ActivityDeps } from './deps';
import { generateStructured } from './models/structured';
import { createActivityRuntime } from './runtime';
import { robotPreamble } from './stages/context';

/** The offline host, deterministic: one question for a short task, then the task with the answers folded in. */
export function offlineHostTurn(input: Pick<HostTurnInput, 'task' | 'transcript' | 'mustSettle'>): HostTurn {
  const answers = input.transcript.filter((m) => m.role === 'person').map((m) => m.text.trim());
  const short = input.task.trim().split(/\s+/).length < 8;
  if (short && answers.length === 0 && !input.mustSettle) {
    return {
      satisfied: false,
      questions: [`"${input.task.trim()}" is short: what exactly should the result be, and who is it for?`],
    };
  }
  const confirmedTask = answers.length ? `${input.task.trim()} (clarified: ${answers.join('; ')})` : input.task.trim();
  return { satisfied: true, confirmedTask };
}

export function createHostActivities(deps: ActivityDeps) {
  const runtime = createActivityRuntime(deps);
  return {
    async hostTurn(input: HostTurnInput): Promise<{ turn: HostTurn; calls: ModelCallRecord[] }> {
      return runtime.run({ budget: input.budget }, async ({ router, signal, maxRepairs }) => {
        const transcript = input.transcript.map((m) => `${m.role === 'host' ? 'You' : 'Person'}: ${m.text}`).join('\n');
        const { value, calls } = await generateStructured(router, {
          kind: 'plan',
          schema: HostTurn,
          system:
            `${robotPreamble(input.robot)}\nYou are the Robot Host: before starting work, make sure the task is clear. ` +
            `Ask only the questions you need. When the task is clear, state it in one paragraph as confirmedTask. ` +
            `Answer as JSON: {"questions"?: string[], "confirmedTask"?: string, "satisfied": boolean}.` +
            (input.mustSettle ? ' This is your last turn: you must be satisfied now.' : ''),
          user: `Task as assigned: ${input.task}${transcript ? `\n\nConversation so far:\n${transcript}` : ''}`,
          signal,
          maxRepairs,
          offline: () => offlineHostTurn(input),
        });
        const turn: HostTurn = { ...value };
        if (input.mustSettle || (turn.satisfied === false && !turn.questions?.length)) {
          turn.satisfied = true;
        }
        if (turn.satisfied && !turn.confirmedTask) turn.confirmedTask = input.task;
        return { turn, calls };
      });
    },
  };
}
