import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { importPeer } from './peers/load.js';
import type { SoakSample } from './soak-ipc.js';

/**
 * `memory.svg`: malloc in use (solid) and RSS (dashed) in MiB against
 * seconds, one colour per contender, recycles marked with vertical lines.
 * Drawn with Apache ECharts' server-side SVG renderer (no DOM, no native
 * code). ECharts is a dev dependency and an optional peer: without it the
 * soak still writes report.json and says how to add the chart.
 */

/** One contender's series on the chart. */
export interface ChartSeries {
  name: string;
  samples: readonly SoakSample[];
}

/** Chart size in pixels: wide enough for a 5-minute run at one point per second, readable unzoomed. */
export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 600;

/** How to add the chart library. */
export const ECHARTS_INSTALL = 'npm i -D echarts';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const MIB = 1_048_576;

/** The ECharts option object for `series` (exported for tests and reuse). */
export function chartOption(title: string, subtitle: string, series: readonly ChartSeries[]): Record<string, unknown> {
  const lines: Record<string, unknown>[] = [];
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const recycles = s.samples.filter((p) => p.recycles > 0).map((p) => ({ xAxis: p.t }));
    const malloc = s.samples.filter((p) => p.mallocInUse !== null).map((p) => [p.t, round(p.mallocInUse! / MIB)]);
    if (malloc.length > 0) {
      lines.push({
        name: `${s.name} malloc in use`,
        type: 'line',
        showSymbol: false,
        data: malloc,
        lineStyle: { width: 2.5, color },
        itemStyle: { color },
        ...(recycles.length > 0
          ? {
              markLine: {
                symbol: 'none',
                silent: true,
                lineStyle: { type: 'dotted', color, width: 1 },
                label: { formatter: 'recycle', fontSize: 11, color },
                data: recycles,
              },
            }
          : {}),
      });
    }
    lines.push({
      name: `${s.name} RSS`,
      type: 'line',
      showSymbol: false,
      data: s.samples.map((p) => [p.t, round(p.rss / MIB)]),
      lineStyle: { width: 1.5, type: 'dashed', color },
      itemStyle: { color },
    });
  });
  return {
    backgroundColor: '#ffffff',
    animation: false,
    textStyle: { fontFamily: 'Helvetica, Arial, sans-serif', fontSize: 14 },
    title: { text: title, subtext: subtitle, left: 'center', textStyle: { fontSize: 18 }, subtextStyle: { fontSize: 13 } },
    // SSR measures text without the browser's fonts: generous gaps keep entries apart.
    legend: { top: 62, itemGap: 40, textStyle: { fontSize: 13 } },
    grid: { left: 80, right: 40, top: lines.length > 2 ? 150 : 110, bottom: 60 },
    xAxis: { type: 'value', name: 'seconds', nameLocation: 'middle', nameGap: 32, min: 0, axisLabel: { fontSize: 13 }, nameTextStyle: { fontSize: 14 } },
    yAxis: { type: 'value', name: 'MiB', nameLocation: 'middle', nameGap: 55, min: 0, axisLabel: { fontSize: 13 }, nameTextStyle: { fontSize: 14 } },
    series: lines,
  };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

/**
 * Render the chart to an SVG string.
 * @throws MissingPeerError when echarts is not installed
 */
export async function renderChart(title: string, subtitle: string, series: readonly ChartSeries[]): Promise<string> {
  const echarts = await importPeer('echarts', ECHARTS_INSTALL, () => import('echarts'));
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: CHART_WIDTH, height: CHART_HEIGHT });
  try {
    chart.setOption(chartOption(title, subtitle, series));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Render and write `memory.svg` into `dir`; returns its path. */
export async function writeChart(dir: string, title: string, subtitle: string, series: readonly ChartSeries[]): Promise<string> {
  const path = join(dir, 'memory.svg');
  await writeFile(path, await renderChart(title, subtitle, series));
  return path;
}
