/**
 * The deliverable as destinations send it: its Markdown content (read back from the artifact store when it was too
 * large for history), a title, links, and renderings — plain text cut to a platform's limit, HTML for mail
 * (markdown-it with raw HTML disabled, so a report cannot inject markup), the JSON every webhook and file gets.
 */
import MarkdownIt from 'markdown-it';
import { isClaimCheck } from '../../contracts/artifacts';
import { artifactPath } from '../../contracts/artifacts';
import type { Deliverable } from '../../contracts/delivery';
import type { Usage } from '../../contracts/pipeline';
import type { ArtifactStore } from '../../lib/artifact-store';
import type { Config } from '../../lib/config';
import { runUiLink } from '../../lib/temporal';
import { readClaimCheck } from '../claim-check';

const markdown = new MarkdownIt({ html: false, linkify: true });

export interface DeliverableMessage {
  runId: string;
  robot: Deliverable['robot'];
  task: string;
  title: string;
  markdown: string;
  usage: Usage;
  offline: boolean;
  links: { temporalUi: string; run?: string; content?: string };
  /** `title` + content, cut to `limit` characters with a note (and the link to the whole report, if known). */
  text(limit?: number): string;
  html(): string;
  /** The JSON body of webhooks and the `file` destination's .json. */
  json(idempotencyKey: string): Record<string, unknown>;
}

export async function messageOf(d: Deliverable, config: Config, store: ArtifactStore): Promise<DeliverableMessage> {
  let content: string;
  let contentArtifact: string | undefined;
  if (isClaimCheck(d.content)) {
    const formatted = (await readClaimCheck(store, d.runId, d.content)) as { content?: unknown };
    content = typeof formatted?.content === 'string' ? formatted.content : JSON.stringify(formatted);
    contentArtifact = d.content.claimCheck.name;
  } else {
    content = d.content;
  }
  const firstLine = d.task.trim().split('\n')[0].slice(0, 120);
  const title = `${d.robot.name}: ${firstLine}`;
  const base = config.MC_PUBLIC_URL?.replace(/\/$/, '');
  const links = {
    temporalUi: runUiLink(config, d.runId),
    ...(base ? { run: `${base}/api/runs/${encodeURIComponent(d.runId)}` } : {}),
    ...(base && contentArtifact ? { content: `${base}${artifactPath(d.runId, contentArtifact)}` } : {}),
  };
  return {
    runId: d.runId,
    robot: d.robot,
    task: d.task,
    title,
    markdown: content,
    usage: d.usage,
    offline: d.offline,
    links,
    text(limit = Infinity) {
      const whole = `${title}\n\n${content}`;
      if (whole.length <= limit) return whole;
      const more = links.content ?? links.run;
      const note = `\n\n… (cut at ${limit} characters${more ? `; the whole report: ${more}` : ''})`;
      return whole.slice(0, Math.max(0, limit - note.length)) + note;
    },
    html() {
      return `<!doctype html><html><body><h1>${markdown.utils.escapeHtml(title)}</h1>\n${markdown.render(content)}</body></html>`;
    },
    json(idempotencyKey) {
      return {
        type: 'run.delivered',
        idempotencyKey,
        runId: d.runId,
        robot: d.robot,
        task: d.task,
        format: 'markdown',
        content,
        usage: d.usage,
        offline: d.offline,
        links,
      };
    },
  };
}
