/** What stage implementations share: their context (the activity runtime's scope) and prompt helpers. */
import type { StageName } from '../../contracts/pipeline';
import type { RobotSnapshot } from '../../contracts/run';
import type { ActivityScope } from '../runtime';

/** What a stage implementation gets besides its input: router, cancellation signal, repairs, checkpoints. */
export type StageContext = ActivityScope;

/** The robot's identity, as every stage prompt starts with it. */
export function robotPreamble(robot: Pick<RobotSnapshot, 'name' | 'role' | 'stageAgents'>, stage?: StageName): string {
  const custom = stage ? robot.stageAgents?.[stage] : undefined;
  const who = custom?.agent
    ? `You are ${custom.agent.name}, working for ${robot.name} (role: ${robot.role}).\n${custom.agent.instructions}`
    : `You are ${robot.name}, an AI team member. Your role: ${robot.role}`;
  return custom?.promptAddition ? `${who}\n${custom.promptAddition}` : who;
}

/** First words of a text, for deterministic offline answers. */
export function headline(text: string, words = 12): string {
  const parts = text.replace(/\s+/g, ' ').trim().split(' ');
  return parts.slice(0, words).join(' ') + (parts.length > words ? '…' : '');
}

/**
 * Reviewer feedback (from `revise` decisions) as a prompt section, or '' when there is none. Every stage appends it
 * to its user prompt, so a revised stage sees what the reviewer asked for.
 */
export function feedbackSection(feedback: string[] | undefined): string {
  if (!feedback?.length) return '';
  return `\n\nReviewer feedback on the previous version (address every point):\n${feedback.map((f, i) => `${i + 1}. ${f}`).join('\n')}`;
}
