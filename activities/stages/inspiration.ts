/** Inspiration: read the task, duties and resources; write an actionable brief. */
import { z } from 'zod';
import { shortText } from '../../contracts/common';
import type { StageInput, StageResult } from '../../contracts/activities';
import { generateStructured } from '../models/structured';
import { feedbackSection, headline, robotPreamble, StageContext } from './context';

export const Brief = z.object({
  brief: z.string().min(10),
  /** Focus points become goal titles: a long one (a URL, a 400-character word from the task) is shortened. */
  focus: z.array(shortText(200)).min(1).max(6),
});
export type Brief = z.infer<typeof Brief>;

export async function inspiration(ctx: StageContext, input: StageInput): Promise<StageResult<Brief>> {
  const { value, calls } = await generateStructured(ctx.router, {
    kind: 'brief',
    schema: Brief,
    system: `${robotPreamble(input.robot, 'inspiration')}\nWrite an actionable brief for the task. Answer as JSON: {"brief": string, "focus": string[]}.`,
    user:
      (input.runContext
        ? `Task: ${input.task}\n\nContext (JSON, e.g. the webhook payload that triggered this run):\n${JSON.stringify(input.runContext).slice(0, 8000)}`
        : `Task: ${input.task}`) + feedbackSection(input.feedback),
    signal: ctx.signal,
    maxRepairs: ctx.maxRepairs,
    offline: () => ({
      brief: `${input.robot.name} (role: ${input.robot.role.replace(/\.$/, '')}) will work on: ${input.task.trim()}. The work is done when each part of the request has a concrete, checked deliverable.${input.feedback?.length ? ` Revised after review: ${input.feedback.join(' ')}` : ''}`,
      focus: input.task
        .split(/[.;\n]| and /)
        .map((s) => s.trim())
        .filter(Boolean)
        .slice(0, 3)
        .map((s) => headline(s, 8)),
    }),
  });
  if (value.focus.length === 0) value.focus = [headline(input.task, 8)];
  return { output: value, summary: headline(value.brief, 16), calls };
}
