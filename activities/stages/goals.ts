/** Goals: turn the brief into a few goals, each with a concrete deliverable. */
import { z } from 'zod';
import { shortText } from '../../contracts/common';
import type { StageInput, StageResult } from '../../contracts/activities';
import { generateStructured } from '../models/structured';
import type { Brief } from './inspiration';
import { feedbackSection, robotPreamble, StageContext } from './context';

/** Titles and deliverables are often copied from the task: too long, they are shortened (never a failed run). */
export const Goals = z.object({
  goals: z
    .array(z.object({ id: shortText(64), title: shortText(200), deliverable: shortText(2000) }))
    .min(1)
    .max(5),
});
export type Goals = z.infer<typeof Goals>;

export async function goals(ctx: StageContext, input: StageInput): Promise<StageResult<Goals>> {
  const brief = input.context.inspiration as Brief;
  const { value, calls } = await generateStructured(ctx.router, {
    kind: 'plan',
    schema: Goals,
    system: `${robotPreamble(input.robot, 'goals')}\nTurn the brief into 1 to 5 goals with concrete deliverables. Answer as JSON: {"goals": [{"id": string, "title": string, "deliverable": string}]}.`,
    user: `Task: ${input.task}\nBrief: ${brief.brief}\nFocus: ${brief.focus.join('; ')}${feedbackSection(input.feedback)}`,
    signal: ctx.signal,
    maxRepairs: ctx.maxRepairs,
    offline: () => ({
      goals: brief.focus.slice(0, 5).map((focus, i) => ({
        id: `g${i + 1}`,
        title: focus,
        deliverable: `A short written result for "${focus}"`,
      })),
    }),
  });
  return { output: value, summary: `${value.goals.length} goal(s): ${value.goals.map((g) => g.title).join('; ')}`, calls };
}
