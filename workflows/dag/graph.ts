/**
 * The working memory of one run of the task graph, shared by its scheduling (dag/executor.ts), its node runs
 * (dag/nodes.ts), its budget grants (dag/grants.ts) and the per-node updates (dag/control.ts). The nodes' states
 * themselves live in the run state (`state.dag`), which the run's queries answer.
 */
import type { CancellationScope } from '@temporalio/workflow';
import type { DagNodeState, DagState, NodeDecision, NodeStatus } from '../../contracts/dag';
import type { ModelCallRecord } from '../../contracts/pipeline';
import type { StageState } from '../../contracts/run';
import { now } from '../clock';
import type { RunPort } from './port';

export class Graph {
  /** The graph is running: the per-node updates are accepted. */
  open = false;
  /** Something changed since the scheduling loop last looked (it waits for this). */
  changed = false;
  /** The task as confirmed (the Robot Host may have restated it). */
  task = '';
  /** Each running node's cancellation scope, so that one node can be cancelled alone. */
  readonly scopes = new Map<string, CancellationScope>();
  /** Nodes a person cancelled: when their scope's activity rejects, the node stays cancelled by a person. */
  readonly cancelRequested = new Set<string>();
  /** Decisions on nodes waiting for approval (command nodes). */
  readonly decisions = new Map<string, NodeDecision>();
  /** Full node outputs (the run state keeps a preview of each). */
  readonly outputs = new Map<string, string>();
  /** Ids of the nodes in the order they finished, for the rolling summary. */
  readonly finishedOrder: string[] = [];
  /** Every model call of this graph run, as billed. */
  readonly calls: ModelCallRecord[] = [];

  constructor(readonly run: RunPort) {}

  get dag(): DagState | undefined {
    return this.run.recorder.state.dag;
  }

  /** The Tasks stage, which the graph's calls are billed into. */
  get stage(): StageState {
    return this.run.recorder.stage('tasks');
  }

  node(id: string): DagNodeState | undefined {
    return this.dag?.nodes.find((n) => n.id === id);
  }

  event(type: string, message: string): void {
    this.run.recorder.event(type, message, 'tasks');
  }

  /** A revision runs the stage again from a clean slate (the earlier graph stays in the events). */
  clear(task: string): void {
    this.outputs.clear();
    this.finishedOrder.length = 0;
    this.calls.length = 0;
    this.cancelRequested.clear();
    this.decisions.clear();
    this.task = task;
  }

  finish(n: DagNodeState, status: NodeStatus, error?: string): void {
    n.status = status;
    n.error = error;
    n.finishedAt = now();
    if (n.startedAt) n.durationMs = Date.parse(n.finishedAt) - Date.parse(n.startedAt);
  }

  /** Review while a node waits for approval or the graph waits for a retry; Running otherwise. */
  refreshStatus(why?: string): void {
    const dag = this.dag!;
    const waiting = dag.nodes.filter((n) => n.status === 'waiting');
    const review = waiting.length > 0 || !!dag.awaitingRetry;
    const { recorder } = this.run;
    // The run waits at a gate (the budget gate): that gate owns the status until it is decided.
    if (recorder.state.gate) return;
    if (review && recorder.state.status === 'Running') {
      recorder.setStatus('Review', why ?? `node(s) ${waiting.map((n) => n.id).join(', ')} waiting for approval`);
    } else if (!review && recorder.state.status === 'Review') {
      recorder.setStatus('Running', 'task graph running again');
    }
  }
}
