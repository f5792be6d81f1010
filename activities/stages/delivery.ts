/**
 * Delivery, in two steps so that the `final` approval gate can sit between them: `delivery` formats the result
 * (a model call; its destinations are still `pending`), then it takes effect: the workflow sends it to each of the
 * robot's destinations (workflows/run/delivery.ts, activities/delivery/). `deliverResult` is the step runs took
 * before destinations existed (it only marks the run's own result delivered); it stays for their histories.
 */
import type { StageInput, StageResult } from '../../contracts/activities';
import { generateText } from '../models/structured';
import type { Goals } from './goals';
import type { Brief } from './inspiration';
import type { TasksOutput } from '../../contracts/dag';
import type { ValidationReport } from './validation';
import { feedbackSection, robotPreamble, StageContext } from './context';

export interface Delivery {
  format: 'markdown';
  /** The report; when it was too large for history, its beginning (the whole is in `contentArtifact`). */
  content: string;
  /** The artifact holding the whole formatted delivery (JSON), when it was too large for history. */
  contentArtifact?: string;
  /** `run` (the run's own result) and, once delivered, each configured destination (details in `state.delivery`). */
  destinations: { type: string; status: 'pending' | 'delivered' | 'failed' | 'skipped'; detail?: string }[];
}

export async function delivery(ctx: StageContext, input: StageInput): Promise<StageResult<Delivery>> {
  const brief = input.context.inspiration as Brief;
  const { goals } = input.context.goals as Goals;
  const { tasks } = input.context.tasks as TasksOutput;
  const report = input.context.validation as ValidationReport;
  const offlineReport = () =>
    [
      `# ${input.task.trim().split('\n')[0]}`,
      '',
      brief.brief,
      '',
      '## Goals',
      ...goals.map((g) => `- **${g.title}**: ${g.deliverable}`),
      '',
      '## Results',
      ...tasks.map((t) => `### ${t.title}\n${t.result}`),
      '',
      `_Validation: ${report.summary}_`,
      ...(input.feedback?.length ? ['', `_Revised after review: ${input.feedback.join(' ')}_`] : []),
    ].join('\n');
  const { value, calls } = await generateText(ctx.router, {
    kind: 'format',
    system: `${robotPreamble(input.robot, 'delivery')}\nFormat the final deliverable as a clear Markdown report.`,
    user: `Task: ${input.task}\nBrief: ${brief.brief}\nResults:\n${tasks.map((t) => `- ${t.title}: ${t.result}`).join('\n')}\nValidation: ${report.summary}${feedbackSection(input.feedback)}`,
    signal: ctx.signal,
    offlineAnswer: offlineReport,
  });
  return {
    output: { format: 'markdown', content: value, destinations: [{ type: 'run', status: 'pending' }] },
    summary: `Report of ${value.length} characters formatted`,
    calls,
  };
}

/** Make a formatted delivery take effect: the `run` destination becomes delivered. Idempotent: delivering twice changes nothing. */
export async function deliverResult(formatted: Delivery): Promise<Delivery> {
  return {
    ...formatted,
    destinations: formatted.destinations.map((d) => (d.type === 'run' ? { ...d, status: 'delivered' as const } : d)),
  };
}
