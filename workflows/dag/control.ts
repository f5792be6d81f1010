/**
 * Per-node control while the graph runs: cancel one node (its dependants are skipped, its siblings go on), retry a
 * failed or cancelled one (its skipped dependants become pending again), approve or reject a command node waiting
 * for approval. Each is an update whose validator refuses (→ HTTP 409) an action the node cannot take now.
 */
import { setHandler } from '@temporalio/workflow';
import { approveNodeUpdate, cancelNodeUpdate, retryNodeUpdate } from '../../contracts/messages';
import { DagNodeState, dependantsOf, NodeControlResult, NodeStatus } from '../../contracts/dag';
import { now } from '../clock';
import type { Graph } from './graph';

export class NodeControl {
  /** Registers the `cancelNode`, `retryNode` and `approveNode` updates. */
  constructor(private readonly graph: Graph) {
    setHandler(cancelNodeUpdate, ({ nodeId }) => this.cancel(nodeId), {
      validator: ({ nodeId }) => this.expect(nodeId, ['running', 'pending', 'waiting'], 'cancelled'),
    });
    setHandler(retryNodeUpdate, ({ nodeId }) => this.retry(nodeId), {
      validator: ({ nodeId }) => this.expect(nodeId, ['failed', 'cancelled'], 'retried'),
    });
    setHandler(approveNodeUpdate, ({ nodeId, decision, feedback }) => this.approve(nodeId, decision, feedback), {
      validator: ({ nodeId, decision }) => {
        if (decision !== 'approve' && decision !== 'reject') throw new Error('decision must be approve or reject');
        this.expect(nodeId, ['waiting'], 'approved or rejected');
      },
    });
  }

  /** Update validator: throws (→ the update is rejected, HTTP 409) unless the node can take this action now. */
  private expect(nodeId: string, statuses: NodeStatus[], action: string): void {
    const { graph } = this;
    if (!graph.dag) throw new Error('this run has no task graph yet');
    if (!graph.open) throw new Error('the task graph is not running any more');
    const n = graph.node(nodeId);
    if (!n) throw new Error(`no node "${nodeId}" in this task graph`);
    if (!statuses.includes(n.status)) throw new Error(`node "${nodeId}" is ${n.status} and cannot be ${action}`);
  }

  private cancel(nodeId: string): NodeControlResult {
    const { graph } = this;
    const n = graph.node(nodeId)!;
    graph.cancelRequested.add(nodeId);
    graph.scopes.get(nodeId)?.cancel();
    graph.finish(n, 'cancelled', 'cancelled by a person');
    graph.event('node.cancelled', `node ${nodeId} cancelled`);
    graph.changed = true;
    return { nodeId, status: n.status };
  }

  private retry(nodeId: string): NodeControlResult {
    const { graph } = this;
    const n = graph.node(nodeId)!;
    this.reset(n);
    for (const id of dependantsOf(graph.dag!.nodes, nodeId)) {
      const d = graph.node(id)!;
      if (d.status === 'skipped') this.reset(d);
    }
    graph.event('node.retried', `node ${nodeId} retried`);
    graph.changed = true;
    return { nodeId, status: n.status };
  }

  private approve(nodeId: string, decision: 'approve' | 'reject', feedback?: string): NodeControlResult {
    const { graph } = this;
    graph.decisions.set(nodeId, { decision, feedback });
    graph.node(nodeId)!.approval = { decision, feedback, at: now() };
    graph.event('node.decided', `node ${nodeId} ${decision === 'approve' ? 'approved' : 'rejected'}${feedback ? `: ${feedback}` : ''}`);
    graph.changed = true;
    return { nodeId, status: 'waiting' };
  }

  /** Back to pending, as if it had never run. */
  private reset(n: DagNodeState): void {
    const { graph } = this;
    graph.cancelRequested.delete(n.id);
    graph.decisions.delete(n.id);
    graph.outputs.delete(n.id);
    n.status = 'pending';
    n.error = undefined;
    n.finishedAt = undefined;
    n.durationMs = undefined;
    n.approval = undefined;
  }
}
