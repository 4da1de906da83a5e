// Time-series charts with uPlot (vendored, pinned: vendor/README.md). Colors come from the theme.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { h, replace } from './dom.js';

/** A theme color resolved to rgb() (canvas needs a plain color, not var() or color-mix()). */
function cssVar(name) {
  const probe = document.createElement('span');
  probe.hidden = true;
  probe.style.color = `var(${name})`;
  document.body.append(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color;
}

const SERIES_VARS = ['--color-chart-1', '--color-chart-2', '--color-chart-3', '--color-ok', '--color-danger', '--color-muted'];

/**
 * Draw series into `container`: timeSeriesChart(el, {x: [seconds...], series: [{label, values}],
 * bars: false, title}). Returns {destroy()}; redraws on resize and on theme changes.
 */
export function timeSeriesChart(container, { x, series, bars = false, title, yLabel } = {}) {
  const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null && v !== undefined).length, 0);
  container.dataset.points = String(points);
  container.dataset.series = String(series.length);
  if (!x.length || !points) {
    replace(container, h('div', { class: 'chart-empty', text: 'No data to chart for this selection.' }));
    return { destroy() {} };
  }
  let plot = null;
  const draw = () => {
    if (plot) plot.destroy();
    replace(container);
    const axis = cssVar('--color-chart-axis');
    const grid = cssVar('--color-chart-grid');
    const width = Math.max(280, container.clientWidth || 600);
    const opts = {
      title,
      width,
      height: 260,
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid }, ticks: { stroke: grid }, label: yLabel, size: 60 },
      ],
      series: [
        {},
        ...series.map((s, i) => {
          const color = cssVar(SERIES_VARS[i % SERIES_VARS.length]);
          return {
            label: s.label,
            stroke: color,
            width: 2,
            fill: bars ? color : undefined,
            spanGaps: true,
            points: { show: !bars, size: 5, fill: color },
            paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
          };
        }),
      ],
    };
    plot = new uPlot(opts, [x, ...series.map((s) => s.values)], container);
    const canvas = container.querySelector('canvas');
    if (canvas) {
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `${title || 'Chart'}: ${points} points in ${series.length} series`);
    }
  };
  draw();
  let lastWidth = container.clientWidth;
  const observer = new ResizeObserver(() => {
    if (Math.abs(container.clientWidth - lastWidth) > 8) {
      lastWidth = container.clientWidth;
      plot?.setSize({ width: Math.max(280, lastWidth), height: 260 });
    }
  });
  observer.observe(container);
  const onTheme = () => draw();
  window.addEventListener('themechange', onTheme);
  return {
    destroy() {
      observer.disconnect();
      window.removeEventListener('themechange', onTheme);
      plot?.destroy();
      plot = null;
    },
  };
}

/** Align messages by time into one series per measurement name (numeric values only). */
export function seriesFromMessages(messages, maxSeries = 6) {
  const numeric = messages.filter((m) => typeof m.value === 'number' && typeof m.time === 'number');
  const names = [...new Set(numeric.map((m) => m.name || '(no name)'))].slice(0, maxSeries);
  const times = [...new Set(numeric.map((m) => m.time))].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const series = names.map((name) => ({ label: name, values: new Array(times.length).fill(null) }));
  for (const m of numeric) {
    const s = names.indexOf(m.name || '(no name)');
    if (s >= 0) series[s].values[index.get(m.time)] = m.value;
  }
  return { x: times, series };
}
