/**
 * Validation: the report over the whole graph. Each node was already checked against its expected output
 * while the graph ran (activities/dag/node.ts validateNode, with bounded re-runs on the validator's feedback);
 * this stage looks at every result once more, together with those per-node verdicts and statuses.
 */
import { z } from 'zod';
import type { StageInput, StageResult } from '../../contracts/activities';
import { generateStructured } from '../models/structured';
import type { TasksOutput } from '../../contracts/dag';
import { feedbackSection, robotPreamble, StageContext } from './context';

export const ValidationReport = z.object({
  passed: z.boolean(),
  checks: z.array(z.object({ taskId: z.string().min(1), passed: z.boolean(), feedback: z.string() })),
  summary: z.string(),
});
export type ValidationReport = z.infer<typeof ValidationReport>;

export async function validation(ctx: StageContext, input: StageInput): Promise<StageResult<ValidationReport>> {
  const { tasks } = input.context.tasks as TasksOutput;
  const { value, calls } = await generateStructured(ctx.router, {
    kind: 'validate',
    schema: ValidationReport,
    system: `${robotPreamble(input.robot, 'validation')}\nCheck each result against its expected output. Answer as JSON: {"passed": boolean, "checks": [{"taskId", "passed", "feedback"}], "summary": string}.`,
    user: tasks
      .map(
        (t) =>
          `Task ${t.id} (${t.title}) — ${t.status}${t.validation ? `, node check ${t.validation.passed ? 'passed' : `failed: ${t.validation.feedback}`}` : ''}\nExpected: ${t.expectedOutput}\nResult: ${t.result}`,
      )
      .join('\n\n') + feedbackSection(input.feedback),
    signal: ctx.signal,
    maxRepairs: ctx.maxRepairs,
    offline: () => {
      const checks = tasks.map((t) => {
        const present = t.status === 'done' && t.result.trim().length > 0;
        const passed = present && (t.validation?.passed ?? true);
        const feedback = t.status !== 'done' ? `Task ${t.status}.` : !present ? 'Empty result.' : passed ? 'Result present and on topic.' : (t.validation?.feedback ?? 'Rejected.');
        return { taskId: t.id, passed, feedback };
      });
      const passed = checks.every((c) => c.passed);
      return { passed, checks, summary: `${checks.filter((c) => c.passed).length}/${checks.length} result(s) passed` };
    },
  });
  return { output: value, summary: value.summary, calls };
}
