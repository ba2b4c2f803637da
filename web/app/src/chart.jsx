// Charts from Chart.js (only the parts used are registered, to keep the bundle small), in the
// theme's colours.
import {
  BarController, BarElement, CategoryScale, Chart, Filler, Legend, LinearScale, LineController,
  LineElement, PointElement, Tooltip,
} from 'chart.js';
import { useEffect, useRef } from 'preact/hooks';

Chart.register(BarController, BarElement, CategoryScale, Filler, Legend, LinearScale,
  LineController, LineElement, PointElement, Tooltip);

// A theme variable's value ("--accent"), or a "var(--good)" given for a series; other colours as
// they are (Chart.js draws on a canvas, which does not resolve CSS variables).
function colour(name) {
  const variable = /^var\((--[\w-]+)\)$/.exec(name)?.[1] ?? (name.startsWith('--') ? name : null);
  if (!variable) return name;
  return getComputedStyle(document.documentElement).getPropertyValue(variable).trim();
}

// `kind`: "line" or "bar"; `labels` along x; `series`: [{label, data, colour?}].
export function ChartView({ kind = 'line', labels, series, label, stacked = false, height = 220 }) {
  const canvas = useRef(null);
  useEffect(() => {
    const text = colour('--text-muted');
    const grid = colour('--border');
    const palette = [colour('--accent'), colour('--good'), colour('--bad'), colour('--warn')];
    const chart = new Chart(canvas.current, {
      type: kind,
      data: {
        labels,
        datasets: series.map((s, i) => ({
          label: s.label,
          data: s.data,
          borderColor: s.colour ? colour(s.colour) : palette[i % palette.length],
          backgroundColor: s.colour ? colour(s.colour) : palette[i % palette.length],
          pointRadius: labels.length > 60 ? 0 : 2,
          tension: 0.2,
        })),
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: 'index', intersect: false },
        plugins: { legend: { display: series.length > 1, labels: { color: text } } },
        scales: {
          x: { stacked, ticks: { color: text, maxTicksLimit: 10 }, grid: { color: grid } },
          y: { stacked, beginAtZero: true, ticks: { color: text, precision: 0 }, grid: { color: grid } },
        },
      },
    });
    return () => chart.destroy();
  }, [kind, labels, series, stacked]);
  return (
    <div class="chart" style={{ height: `${height}px` }}>
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}
