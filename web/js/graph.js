// The task graph drawn as a graph: dagre (served by the API from its node_modules) lays the nodes out in layers,
// and each node and each edge is one SVG element, coloured by the node's live status. A node is a button: a click,
// Enter or Space selects it and the run page shows its details.
import { el, svg } from './dom.js';

let dagreModule;
export function loadDagre() {
  dagreModule ??= import('/vendor/dagre.js').then((m) => m.default ?? m);
  return dagreModule;
}

const NODE_W = 176;
const NODE_H = 54;

const cut = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The layout of a graph (positions only), so that status changes redraw without a new layout. */
export function layoutGraph(dagre, nodes, vertical) {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: vertical ? 'TB' : 'LR', nodesep: 18, ranksep: vertical ? 36 : 48, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, { width: NODE_W, height: NODE_H });
  for (const n of nodes) for (const d of n.dependsOn ?? []) if (ids.has(d)) g.setEdge(d, n.id);
  dagre.layout(g);
  return {
    width: Math.ceil(g.graph().width ?? NODE_W),
    height: Math.ceil(g.graph().height ?? NODE_H),
    nodes: new Map(g.nodes().map((id) => [id, g.node(id)])),
    edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points })),
  };
}

/** The SVG of a laid-out graph. */
export function drawGraph(layout, nodes, { selected, onSelect }) {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges = layout.edges.map((e) => {
    const d = e.points.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const to = byId.get(e.to);
    return svg('path', { class: `edge status-${to?.status ?? 'pending'}`, d, 'marker-end': 'url(#arrow)', 'data-from': e.from, 'data-to': e.to });
  });
  const shapes = nodes.map((n) => {
    const p = layout.nodes.get(n.id);
    const x = p.x - NODE_W / 2;
    const y = p.y - NODE_H / 2;
    const pick = () => onSelect(n.id);
    const title = cut(n.title, 24);
    const sub = cut(`${n.id} · ${n.kind} · ${n.status}`, 30);
    return svg('g', {
      class: `node status-${n.status}${n.id === selected ? ' selected' : ''}`,
      'data-node': n.id,
      tabindex: '0',
      role: 'button',
      'aria-pressed': String(n.id === selected),
      // No aria-label: the accessible name is the text shown (a visible label must be part of the name); the
      // node's details give the whole title.
      onclick: pick,
      onkeydown: (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') {
          ev.preventDefault();
          pick();
        }
      },
    },
      svg('rect', { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
      svg('text', { x: x + 10, y: y + 21, class: 'title' }, title),
      svg('text', { x: x + 10, y: y + 40, class: 'sub' }, sub),
    );
  });
  // Drawn a little larger than laid out on wide screens; never wider than its box (CSS max-width, height auto).
  const root = svg('svg', { class: 'graph', viewBox: `0 0 ${layout.width} ${layout.height}`, width: Math.round(layout.width * 1.25), height: Math.round(layout.height * 1.25), role: 'group', 'aria-label': `Task graph: ${nodes.length} tasks` },
    svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: '9', refY: '5', markerWidth: '7', markerHeight: '7', orient: 'auto-start-reverse' }, svg('path', { d: 'M0 0 L10 5 L0 10 z', class: 'arrow' }))),
    svg('g', { class: 'edges' }, edges),
    svg('g', { class: 'nodes' }, shapes),
  );
  return el('div', { class: 'graph-scroll' }, root);
}
