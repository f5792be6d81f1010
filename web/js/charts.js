// The metrics sidebar: small charts where a chart reads better than a number. Runs started and finished per
// minute or hour, tokens and cost over time, and fleet CPU/RAM are uPlot charts (served by the API from its
// node_modules); the success/failure ratio and the stage duration percentiles are plain bars.
import { api, capital, debounce, el, fmtCost, fmtDuration, fmtInt, fmtPct, loadScript, loadStyle } from './dom.js';
import { on, store } from './store.js';

const STAGES = ['inspiration', 'goals', 'tasks', 'validation', 'delivery'];
let uPlotModule;
const loadUPlot = () => {
  loadStyle('/vendor/uplot.css');
  // uPlot's minified build is a classic script that sets window.uPlot.
  uPlotModule ??= loadScript('/vendor/uplot.js').then(() => window.uPlot);
  return uPlotModule;
};

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function axes(yLabel, extra = []) {
  const stroke = css('--muted');
  const grid = { stroke: css('--line'), width: 1 };
  return [
    { stroke, grid, ticks: grid, font: '11px system-ui' },
    { stroke, grid, ticks: grid, font: '11px system-ui', size: 44, label: yLabel, labelSize: 14, labelFont: '11px system-ui' },
    ...extra.map((a) => ({ stroke, grid: { show: false }, ticks: grid, font: '11px system-ui', size: 56, side: 1, ...a })),
  ];
}

/** One uPlot chart that follows its container's width. */
function chart(uPlot, box, opts, data) {
  box.replaceChildren();
  const width = Math.max(200, box.clientWidth || 300);
  const plot = new uPlot({ width, height: 130, legend: { show: true }, cursor: { drag: { x: false, y: false } }, ...opts }, data, box);
  return plot;
}

export function chartsPanel(aside) {
  let window_ = '24h';
  const buttons = ['1h', '24h'].map((w) =>
    el('button', { type: 'button', class: 'secondary small', 'data-window': w, 'aria-pressed': String(w === window_), onclick: () => { window_ = w; for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.window === w)); refresh(); } }, w === '1h' ? 'Last hour' : 'Last 24 h'),
  );
  const runsBox = el('div', { class: 'chart', id: 'chart-runs', role: 'img', 'aria-label': 'Runs started and finished over time' });
  const runsNote = el('p', { class: 'muted small' });
  const ratioBox = el('div', { id: 'chart-ratio' });
  const stagesBox = el('div', { id: 'chart-stages' });
  const spendBox = el('div', { class: 'chart', id: 'chart-spend', role: 'img', 'aria-label': 'Tokens and cost over time' });
  const spendNote = el('p', { class: 'muted small' });
  const fleetBox = el('div', { class: 'chart', id: 'chart-fleet', role: 'img', 'aria-label': 'Fleet CPU and memory over time' });
  const fleetNote = el('p', { class: 'muted small' });
  const panel = el('section', { id: 'metrics', class: 'panel', 'aria-labelledby': 'metrics-title' },
    el('div', { class: 'panel-head' }, el('h2', { id: 'metrics-title' }, 'Metrics'), el('div', { class: 'toggle' }, buttons)),
    el('h3', {}, 'Runs started / finished'), runsBox, runsNote,
    el('h3', {}, 'Success / failure'), ratioBox,
    el('h3', {}, 'Stage durations (p50 / p90)'), stagesBox,
    el('h3', {}, 'Tokens and cost'), spendBox, spendNote,
    el('h3', {}, 'Fleet CPU and RAM'), fleetBox, fleetNote,
  );
  aside.append(panel);

  let series;
  let alive = true;
  const plots = [];

  const draw = async () => {
    if (!alive) return;
    const uPlot = await loadUPlot();
    for (const p of plots.splice(0)) p.destroy();
    drawFleet(uPlot);
    if (!series) return;
    const t = series.buckets.map((b) => Date.parse(b.t) / 1000);
    const bars = uPlot.paths.bars({ size: [0.6, 24] });
    const c1 = css('--chart-1');
    const c2 = css('--chart-2');
    plots.push(chart(uPlot, runsBox, {
      series: [{}, { label: 'started', stroke: c1, fill: c1, paths: bars, points: { show: false } }, { label: 'finished', stroke: c2, width: 2, points: { show: false } }],
      axes: axes('runs'),
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    }, [t, series.buckets.map((b) => b.started), series.buckets.map((b) => b.done + b.failed + b.cancelled)]));
    const started = series.buckets.reduce((n, b) => n + b.started, 0);
    runsNote.textContent = `${fmtInt(started)} started in the window, per ${series.bucketSeconds === 60 ? 'minute' : 'hour'}${series.truncated ? ' (more runs than one answer reads)' : ''}.`;

    const done = series.buckets.reduce((n, b) => n + b.done, 0);
    const failed = series.buckets.reduce((n, b) => n + b.failed, 0);
    const cancelled = series.buckets.reduce((n, b) => n + b.cancelled, 0);
    const finished = done + failed + cancelled;
    const ratio = el('div', { class: 'ratio', role: 'img', 'aria-label': `${done} done, ${failed} failed, ${cancelled} cancelled` },
      ...[['done', done], ['failed', failed], ['cancelled', cancelled]].map(([k, n]) => {
        const seg = el('span', { class: `seg ${k}` });
        seg.style.width = `${finished ? (n / finished) * 100 : 0}%`;
        return seg;
      }),
    );
    ratioBox.replaceChildren(ratio, el('p', { class: 'small' }, finished ? `${fmtPct(done / finished)} done · ${done} done, ${failed} failed, ${cancelled} cancelled` : 'No run finished in the window.'));

    const max = Math.max(1, ...STAGES.map((s) => series.stageDurationsMs[s]?.p90 ?? 0));
    stagesBox.replaceChildren(
      el('ul', { class: 'hbars' },
        STAGES.map((s) => {
          const d = series.stageDurationsMs[s] ?? { n: 0 };
          const p50 = el('span', { class: 'p50' });
          const p90 = el('span', { class: 'p90' });
          p50.style.width = `${((d.p50 ?? 0) / max) * 100}%`;
          p90.style.width = `${((d.p90 ?? 0) / max) * 100}%`;
          return el('li', { 'data-stage': s },
            el('span', { class: 'label' }, capital(s)),
            el('span', { class: 'track' }, p90, p50),
            el('span', { class: 'value' }, d.n ? `${fmtDuration(d.p50)} / ${fmtDuration(d.p90)}` : '–'),
          );
        }),
      ),
      el('p', { class: 'muted small' }, `From the ${series.sampledRuns} newest finished runs.`),
    );

    plots.push(chart(uPlot, spendBox, {
      series: [{}, { label: 'tokens', stroke: c1, width: 2, points: { show: false } }, { label: 'cost $', stroke: c2, width: 2, scale: 'usd', points: { show: false }, value: (_u, v) => (v === null ? '' : fmtCost(v)) }],
      axes: axes('tokens', [{ scale: 'usd', values: (_u, vals) => vals.map((v) => fmtCost(v)) }]),
      scales: { y: { range: (_u, _min, m) => [0, Math.max(1, m)] }, usd: { range: (_u, _min, m) => [0, Math.max(0.0001, m)] } },
    }, [t, series.buckets.map((b) => b.tokens), series.buckets.map((b) => b.costUsd)]));
    const tokens = series.buckets.reduce((n, b) => n + b.tokens, 0);
    const cost = series.buckets.reduce((n, b) => n + b.costUsd, 0);
    spendNote.textContent = `${fmtInt(tokens)} tokens, ${fmtCost(cost)} by the runs that finished in the window.`;
  };

  const drawFleet = (uPlot) => {
    const s = store.fleetSamples;
    if (s.length < 2) {
      fleetBox.replaceChildren(el('p', { class: 'muted small' }, 'Collecting samples from the fleet…'));
      fleetNote.textContent = '';
      return;
    }
    plots.push(chart(uPlot, fleetBox, {
      series: [{}, { label: 'CPU %', stroke: css('--chart-1'), width: 2, points: { show: false } }, { label: 'RAM %', stroke: css('--chart-2'), width: 2, points: { show: false } }],
      axes: axes('%'),
      scales: { y: { range: [0, 100] } },
    }, [s.map((x) => x.t), s.map((x) => (x.cpu === null ? null : x.cpu * 100)), s.map((x) => (x.memory === null ? null : x.memory * 100))]));
    fleetNote.textContent = 'Mean over the hosts, since this page opened.';
  };

  const refresh = async () => {
    try {
      series = await api(`/api/stats/series?window=${window_}`);
    } catch {
      /* keep the last figures */
    }
    await draw();
  };
  void refresh();
  const soon = debounce(refresh, 3000);
  const fleetSoon = debounce(() => draw(), 1000);
  const offs = [on('run-event', (e) => e.type.startsWith('run.') && soon()), on('fleet', fleetSoon)];
  const timer = setInterval(refresh, 60_000);
  const scheme = window.matchMedia('(prefers-color-scheme: dark)');
  const onScheme = () => draw();
  scheme.addEventListener('change', onScheme);
  let width = 0;
  const redrawOnWidth = debounce(() => {
    if (panel.clientWidth === width) return;
    width = panel.clientWidth;
    void draw();
  }, 200);
  const resize = new ResizeObserver(redrawOnWidth);
  resize.observe(panel);
  return () => {
    alive = false;
    offs.forEach((off) => off());
    clearInterval(timer);
    scheme.removeEventListener('change', onScheme);
    resize.disconnect();
    for (const p of plots.splice(0)) p.destroy();
  };
}
