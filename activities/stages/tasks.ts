/**
 * Tasks: plan the goals as concrete tasks, then execute them. Progress is checkpointed in heartbeat details
 * after every model call, so an attempt that follows a worker crash resumes where the last one stopped and
 * never pays for a completed call twice.
 */
import { z } from 'zod';
import type { ModelCallRecord, StageInput, StageResult } from '../../workflows/types';
import { generateStructured, generateText } from '../models/structured';
import type { Goals } from './goals';
import { feedbackSection, headline, robotPreamble, StageContext } from './context';

export const TASK_KINDS = ['text', 'extract', 'synthesize'] as const;

export const TaskPlan = z.object({
  tasks: z
    .array(
      z.object({
        id: z.string().min(1),
        title: z.string().min(1),
        kind: z.enum(TASK_KINDS),
        goalId: z.string().min(1),
        instructions: z.string().min(1),
        expectedOutput: z.string().min(1),
      }),
    )
    .min(1)
    .max(12),
});
export type TaskPlan = z.infer<typeof TaskPlan>;

export interface TaskOutcome {
  id: string;
  title: string;
  kind: (typeof TASK_KINDS)[number];
  expectedOutput: string;
  result: string;
}

export interface TasksOutput {
  tasks: TaskOutcome[];
}

interface Checkpoint {
  plan?: TaskPlan;
  done: TaskOutcome[];
  /** Calls not yet reported to the workflow (a resume after a budget stop starts with none). */
  calls: ModelCallRecord[];
}

export async function tasks(ctx: StageContext, input: StageInput): Promise<StageResult<TasksOutput>> {
  const { goals } = input.context.goals as Goals;
  const progress: Checkpoint = ctx.previousCheckpoint<Checkpoint>() ?? { done: [], calls: [] };

  if (!progress.plan) {
    const planned = await generateStructured(ctx.router, {
      kind: 'plan',
      schema: TaskPlan,
      system: `${robotPreamble(input.robot)}\nPlan concrete executable tasks for the goals. Kinds: ${TASK_KINDS.join(', ')}. Answer as JSON: {"tasks": [{"id","title","kind","goalId","instructions","expectedOutput"}]}.`,
      user: `Task: ${input.task}\nGoals:\n${goals.map((g) => `- ${g.id}: ${g.title} → ${g.deliverable}`).join('\n')}${feedbackSection(input.feedback)}`,
      signal: ctx.signal,
      maxRepairs: ctx.maxRepairs,
      offline: () => ({
        tasks: [
          ...goals.map((g, i) => ({
            id: `t${i + 1}`,
            title: `Work on ${g.title}`,
            kind: 'text' as const,
            goalId: g.id,
            instructions: `Produce: ${g.deliverable}`,
            expectedOutput: g.deliverable,
          })),
          {
            id: `t${goals.length + 1}`,
            title: 'Synthesize the results',
            kind: 'synthesize' as const,
            goalId: goals[0].id,
            instructions: 'Combine the results of the other tasks into one answer.',
            expectedOutput: 'One coherent answer to the task',
          },
        ],
      }),
    });
    progress.plan = planned.value;
    progress.calls.push(...planned.calls);
    ctx.checkpoint(progress);
  }

  for (const task of progress.plan.tasks) {
    if (progress.done.some((d) => d.id === task.id)) continue;
    const earlier = progress.done.map((d) => `## ${d.title}\n${d.result}`).join('\n\n');
    const answer = await generateText(ctx.router, {
      kind: task.kind,
      system: `${robotPreamble(input.robot)}\nDo this task and answer with its result only.`,
      user: `Overall task: ${input.task}\nThis task: ${task.title}\nInstructions: ${task.instructions}\nExpected output: ${task.expectedOutput}${earlier ? `\n\nResults so far:\n${earlier}` : ''}${feedbackSection(input.feedback)}`,
      signal: ctx.signal,
      offlineAnswer: () =>
        task.kind === 'synthesize'
          ? `Summary of ${progress.done.length} result(s) for "${headline(input.task, 10)}": ${progress.done.map((d) => d.title).join('; ')}.`
          : `${task.title}: ${task.expectedOutput} for "${headline(input.task, 10)}" (offline model).`,
    });
    progress.done.push({ id: task.id, title: task.title, kind: task.kind, expectedOutput: task.expectedOutput, result: answer.value });
    progress.calls.push(...answer.calls);
    ctx.checkpoint(progress);
  }

  return {
    output: { tasks: progress.done },
    summary: `${progress.done.length} task(s) done`,
    calls: progress.calls,
  };
}
