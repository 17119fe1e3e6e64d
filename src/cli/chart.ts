import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MissingPeerError } from './errors.js';
import { importPeer } from './peers/load.js';
import { SOAK_ERROR_CLASSES, type SoakErrorClass, type SoakSample } from './soak-ipc.js';
import { signedKib } from './status-line.js';
import type { Verdict } from './verdict.js';

/**
 * `memory.svg`: the run on one page, so a bad run looks bad. Panels share
 * the time axis (seconds since each contender's load began):
 *
 * 1. malloc in use (the headline; a band shows the min–max of merged samples),
 * 2. resolutions/s achieved (solid) and offered (dashed),
 * 3. errors/s, one line style per error class,
 * 4. p50 (solid) and p99 (dashed) latency, log scale,
 * 5. open sockets,
 * 6. RSS.
 *
 * One colour per contender in every panel. Above the panels, one verdict
 * line per contender (green PASS, red FAIL, grey when not judged) and the
 * legend, each on a row of its own, so neither can overlap a line. The
 * warm-up is shaded in every panel, the verdict window in the malloc panel;
 * recycles are dotted lines (malloc and latency panels) and an interruption
 * a red line in every panel.
 *
 * Drawn with Apache ECharts' server-side SVG renderer (no DOM, no native
 * code). ECharts is a dev dependency and an optional peer: without it the
 * soak still writes report.json and says how to add the chart.
 */

/** One contender on the chart. */
export interface ChartContender {
  name: string;
  samples: readonly SoakSample[];
  verdict: Verdict | null;
  /** Why the contender did not run or finish, if so (shown instead of a verdict). */
  failure?: string;
  /** Second at which the load was stopped early, if it was. */
  interruptedAt?: number;
}

/** Everything the chart shows. */
export interface ChartInput {
  title: string;
  subtitle: string;
  /** Length of the warm-up, seconds (0: none). */
  warmupSeconds: number;
  contenders: readonly ChartContender[];
}

/** The panels, top to bottom. */
export const CHART_PANELS = ['malloc', 'throughput', 'errors', 'latency', 'sockets', 'rss'] as const;
/** One of `CHART_PANELS`. */
export type ChartPanel = (typeof CHART_PANELS)[number];

/** A rectangle of the chart, pixels from its top-left corner. */
export interface ChartRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where everything is on the chart (also what the rendering test checks). */
export interface ChartLayout {
  width: number;
  height: number;
  /** Each verdict line's row. */
  verdictRows: ChartRect[];
  /** The legend's row. */
  legend: ChartRect;
  /** Each panel's plot area. */
  panels: Record<ChartPanel, ChartRect>;
}

/** How to add the chart library. */
export const ECHARTS_INSTALL = 'npm i -D echarts';

/** Contender colours, in run order: distinct from each other and from the verdict's green and red. */
export const CONTENDER_COLORS = ['#1f5fbf', '#e08a00', '#7b3fb0', '#0f8f8f'];
const PASS_COLOR = '#1a7f37';
const FAIL_COLOR = '#cf222e';
const NEUTRAL_COLOR = '#57606a';
const MIB = 1_048_576;
const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Text drawn as graphics (verdicts, legend, keys). */
const FONT = { fontFamily: FONT_FAMILY, fontSize: 13 };
/** More recycle markers than this would hide the lines: the panel title gives the count instead. */
const MAX_RECYCLE_MARKERS = 60;

const WIDTH = 1200;
const LEFT = 80;
const RIGHT = 40;
const ROW = 22;
/** Space above each panel's plot area for its title. */
const PANEL_GAP = 48;

/** Each panel's title and plot height. */
const PANEL_SPECS: Record<ChartPanel, { title: string; height: number }> = {
  malloc: { title: 'malloc in use, MiB (band: lowest–highest of merged samples)', height: 250 },
  throughput: { title: 'resolutions/s: achieved (solid), offered (dashed)', height: 140 },
  errors: { title: 'errors/s by class:', height: 140 },
  latency: { title: 'latency, ms (log scale): p50 (solid), p99 (dashed)', height: 150 },
  sockets: { title: 'open sockets', height: 110 },
  rss: { title: 'RSS, MiB', height: 110 },
};

/** Line dash of each error class in the errors panel (the colour is the contender's). */
const CLASS_DASH: Record<SoakErrorClass, number[]> = {
  timeout: [],
  unavailable: [8, 4],
  overflow: [2, 3],
  not_found: [12, 3, 2, 3],
  bad_answer: [5, 5],
  invalid_input: [1, 6],
  unexpected: [12, 4, 2, 4, 2, 4],
  unfinished: [3, 8],
};

/** The layout for `input`: rows for the title, one verdict line per contender, the legend, then the panels. */
export function chartLayout(input: ChartInput): ChartLayout {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const verdictTop = 64;
  const verdictRows = input.contenders.map((_, i) => ({ left: LEFT, top: verdictTop + i * ROW, width: plotWidth, height: ROW }));
  const legend = { left: LEFT, top: verdictTop + input.contenders.length * ROW + 6, width: plotWidth, height: ROW };
  let top = legend.top + legend.height;
  const panels = {} as Record<ChartPanel, ChartRect>;
  for (const panel of CHART_PANELS) {
    top += PANEL_GAP;
    panels[panel] = { left: LEFT, top, width: plotWidth, height: PANEL_SPECS[panel].height };
    top += PANEL_SPECS[panel].height;
  }
  return { width: WIDTH, height: top + 50, verdictRows, legend, panels };
}

/** The ECharts option object for `input` (exported for tests). */
export function chartOption(input: ChartInput): Record<string, unknown> {
  const layout = chartLayout(input);
  const maxT = Math.ceil(Math.max(1, ...input.contenders.flatMap((c) => c.samples.map((s) => s.t))));
  const classes = SOAK_ERROR_CLASSES.filter((c) => input.contenders.some((k) => k.samples.some((s) => (s.errorsByClass[c] ?? 0) > 0)));
  const recycleCount = input.contenders.reduce((sum, c) => sum + c.samples.filter((s) => s.recycles > 0).length, 0);
  const markRecycles = recycleCount <= MAX_RECYCLE_MARKERS;

  const grid = CHART_PANELS.map((p) => ({ ...layout.panels[p], containLabel: false }));
  const xAxis = CHART_PANELS.map((p, i) => ({
    type: 'value',
    gridIndex: i,
    min: 0,
    max: maxT,
    ...(p === 'rss' ? { name: 'seconds since the load began', nameLocation: 'middle', nameGap: 30, nameTextStyle: { fontSize: 13 } } : {}),
    axisLabel: { fontSize: 11 },
    splitLine: { show: false },
  }));
  const yAxis = CHART_PANELS.map((p, i) => ({
    type: p === 'latency' ? 'log' : 'value',
    gridIndex: i,
    ...(p === 'latency' ? { logBase: 10 } : { min: 0 }),
    axisLabel: { fontSize: 11 },
    splitNumber: 3,
  }));

  const series: Record<string, unknown>[] = [];
  const panelIndex = (p: ChartPanel): { xAxisIndex: number; yAxisIndex: number } => ({ xAxisIndex: CHART_PANELS.indexOf(p), yAxisIndex: CHART_PANELS.indexOf(p) });
  // Earlier contenders draw wider lines, so where two runs coincide both colours still show, one inside the other.
  const widen = (i: number): number => 1 + (input.contenders.length - 1 - i);
  const line = (p: ChartPanel, name: string, color: string, data: (number | null)[][], style: { width?: number; type?: unknown } = {}): Record<string, unknown> => {
    const s: Record<string, unknown> = {
      name,
      type: 'line',
      ...panelIndex(p),
      showSymbol: false,
      connectNulls: false,
      data,
      lineStyle: { color, width: 2, ...style },
      itemStyle: { color },
      z: 3,
    };
    series.push(s);
    return s;
  };

  input.contenders.forEach((c, i) => {
    const color = CONTENDER_COLORS[i % CONTENDER_COLORS.length]!;
    const draw = (p: ChartPanel, name: string, data: (number | null)[][], style: { width?: number; type?: unknown } = {}): Record<string, unknown> =>
      line(p, name, color, data, { ...style, width: (style.width ?? 2) * widen(i) });
    const at = (value: (s: SoakSample) => number | null): (number | null)[][] => c.samples.map((s) => [s.t, value(s)]);
    const perSecond = (n: number, s: SoakSample): number => round(n / (s.seconds || 1), 2);

    if (c.samples.some((s) => s.range !== undefined && s.mallocInUse !== null)) {
      // The band: an invisible line at the lowest value, and the spread stacked on it.
      const low = at((s) => (s.range?.min.mallocInUse ?? s.mallocInUse) === null ? null : round((s.range?.min.mallocInUse ?? s.mallocInUse)! / MIB, 2));
      const spread = c.samples.map((s) => {
        const lo = s.range?.min.mallocInUse ?? s.mallocInUse;
        const hi = s.range?.max.mallocInUse ?? s.mallocInUse;
        return [s.t, lo === null || hi === null ? null : round((hi - lo) / MIB, 2)];
      });
      const stack = `band ${i}`;
      series.push({ name: `${c.name} malloc low`, type: 'line', ...panelIndex('malloc'), stack, showSymbol: false, data: low, lineStyle: { opacity: 0 }, silent: true, z: 1 });
      series.push({
        name: `${c.name} malloc range`,
        type: 'line',
        ...panelIndex('malloc'),
        stack,
        showSymbol: false,
        data: spread,
        lineStyle: { opacity: 0 },
        areaStyle: { color, opacity: 0.18 },
        silent: true,
        z: 1,
      });
    }
    const malloc = draw('malloc', c.name, at((s) => (s.mallocInUse === null ? null : round(s.mallocInUse / MIB, 2))), { width: 2.25 });
    draw('throughput', `${c.name} achieved`, at((s) => perSecond(s.ok, s)));
    draw('throughput', `${c.name} offered`, at((s) => perSecond(s.offered, s)), { type: 'dashed', width: 1.5 });
    const errorsTotal = draw('errors', `${c.name} errors`, at((s) => perSecond(s.errors, s)), { width: classes.length === 0 ? 2 : 0 });
    for (const errorClass of classes) {
      draw('errors', `${c.name} ${errorClass}`, at((s) => perSecond(s.errorsByClass[errorClass] ?? 0, s)), { type: CLASS_DASH[errorClass].length === 0 ? 'solid' : CLASS_DASH[errorClass] });
    }
    const latency = draw('latency', `${c.name} p50`, at((s) => s.p50Ms));
    draw('latency', `${c.name} p99`, at((s) => s.p99Ms), { type: 'dashed', width: 1.5 });
    draw('sockets', `${c.name} sockets`, at((s) => s.openConnections));
    draw('rss', `${c.name} RSS`, at((s) => round(s.rss / MIB, 1)));

    const marks: Record<string, unknown>[] = [];
    if (markRecycles) {
      for (const s of c.samples.filter((p) => p.recycles > 0)) {
        // Unlabelled: the panel titles say what the dotted lines are, and labels would crowd the titles.
        marks.push({ xAxis: s.t, lineStyle: { type: 'dotted', color, width: 1 }, label: { show: false } });
      }
    }
    if (marks.length > 0) {
      malloc['markLine'] = { symbol: 'none', silent: true, data: marks };
      latency['markLine'] = { symbol: 'none', silent: true, data: marks };
    }
    if (c.interruptedAt !== undefined) {
      const mark = { xAxis: c.interruptedAt, lineStyle: { type: 'solid', color: FAIL_COLOR, width: 2.5 }, label: { formatter: 'interrupted', fontSize: 11, color: FAIL_COLOR } };
      for (const s of [malloc, errorsTotal, latency]) {
        const existing = (s['markLine'] as { data: unknown[] } | undefined)?.data ?? [];
        s['markLine'] = { symbol: 'none', silent: true, data: [...existing, s === malloc ? mark : { ...mark, label: { show: false } }] };
      }
    }
  });

  // Shaded areas: the warm-up in every panel, the verdict window in the malloc panel.
  const firstOf = (p: ChartPanel): Record<string, unknown> | undefined => series.find((s) => s['xAxisIndex'] === CHART_PANELS.indexOf(p) && s['z'] === 3);
  const window = input.contenders.map((c) => c.verdict).find((v) => v !== null && v.toSecond > v.fromSecond);
  for (const p of CHART_PANELS) {
    const s = firstOf(p);
    if (s === undefined) continue;
    const areas: unknown[] = [];
    if (input.warmupSeconds > 0) {
      areas.push([
        { xAxis: 0, itemStyle: { color: 'rgba(110,119,129,0.13)' }, label: p === 'malloc' ? { formatter: 'warm-up\n(not judged)', fontSize: 11, color: NEUTRAL_COLOR, position: 'insideTop' } : { show: false } },
        { xAxis: input.warmupSeconds },
      ]);
    }
    if (p === 'malloc' && window) {
      areas.push([
        { xAxis: window.fromSecond - 1, itemStyle: { color: 'rgba(212,167,44,0.12)' }, label: { formatter: 'verdict window', fontSize: 11, color: '#9a6700', position: 'insideTop' } },
        { xAxis: window.toSecond },
      ]);
    }
    if (areas.length > 0) s['markArea'] = { silent: true, data: areas };
  }

  return {
    backgroundColor: '#ffffff',
    animation: false,
    textStyle: { fontFamily: FONT_FAMILY, fontSize: 13 },
    title: [
      { text: input.title, subtext: input.subtitle, left: LEFT, top: 10, textStyle: { fontSize: 18 }, subtextStyle: { fontSize: 13, color: NEUTRAL_COLOR } },
      ...CHART_PANELS.map((p) => ({
        text: panelTitle(p, recycleCount, markRecycles),
        left: LEFT,
        top: layout.panels[p].top - 26,
        textStyle: { fontSize: 13, fontWeight: 'bold' },
      })),
    ],
    graphic: [...verdictGraphics(input, layout), ...legendGraphics(input, layout), ...classKeyGraphics(classes, layout)],
    grid,
    xAxis,
    yAxis,
    series,
  };
}

function panelTitle(panel: ChartPanel, recycles: number, marked: boolean): string {
  const title = PANEL_SPECS[panel].title;
  if (panel === 'errors') return title;
  if ((panel === 'malloc' || panel === 'latency') && recycles > 0) {
    return `${title}; ${marked ? 'dotted lines: transport recycles' : `${recycles} seconds with recycles (too many to mark)`}`;
  }
  return title;
}

/** One text per contender: its verdict in green (PASS), red (FAIL) or grey (not judged, not finished). */
function verdictGraphics(input: ChartInput, layout: ChartLayout): Record<string, unknown>[] {
  return input.contenders.map((c, i) => {
    const row = layout.verdictRows[i]!;
    const v = c.verdict;
    const color = v === null || !v.judged ? NEUTRAL_COLOR : v.failed.length > 0 ? FAIL_COLOR : PASS_COLOR;
    return {
      type: 'text',
      left: row.left,
      top: row.top + 3,
      silent: true,
      style: { text: chartVerdict(c), fill: color, ...FONT, fontSize: 12, fontWeight: v !== null && v.failed.length > 0 ? 'bold' : 'normal' },
    };
  });
}

/** A verdict as the chart states it: shorter than the printed line, with the measured values and limits. */
export function chartVerdict(c: ChartContender): string {
  const v = c.verdict;
  if (v === null) return `${c.name}: ${c.failure ?? 'no verdict yet (running)'}`;
  const { growth, errors, achieved } = v.criteria;
  const outcome = !v.judged ? 'not judged' : v.failed.length > 0 ? `FAIL (${v.failed.join(', ')})` : 'PASS';
  const limit = (b: number): string => String(Math.round((b / 1_024) * 100) / 100);
  const pct = (f: number | null, d: number): string => (f === null ? 'n/a' : `${(f * 100).toFixed(d)}%`);
  const margin = v.growthMarginBytesPerSecond === null ? '' : ` ± ${(v.growthMarginBytesPerSecond / 1_024).toFixed(1)}`;
  return (
    `${c.name}: ${outcome}${v.interrupted ? ', interrupted' : ''} · malloc ${signedKib(growth.measured)}${margin} KiB/s ` +
    `(limit ${limit(growth.limit)}${growth.pass === null ? ', not judged' : ''}) · errors ${pct(errors.measured, 2)} (limit ${pct(errors.limit, 0)}) · ` +
    `achieved ${pct(achieved.measured, 1)} (limit ${pct(achieved.limit, 0)})`
  );
}

/** The legend: one entry per contender, a line in its colour and its name, spaced evenly on one row. */
function legendGraphics(input: ChartInput, layout: ChartLayout): Record<string, unknown>[] {
  const step = layout.legend.width / Math.max(3, input.contenders.length);
  const y = layout.legend.top + layout.legend.height / 2;
  return input.contenders.flatMap((c, i) => {
    const color = CONTENDER_COLORS[i % CONTENDER_COLORS.length]!;
    const x = layout.legend.left + i * step;
    return [
      { type: 'line', silent: true, shape: { x1: x, y1: y, x2: x + 28, y2: y }, style: { stroke: color, lineWidth: 3 } },
      { type: 'text', silent: true, left: x + 36, top: y - 8, style: { text: c.name, fill: '#24292f', ...FONT } },
    ];
  });
}

/** Where the errors panel's key starts, after its title. */
const KEY_OFFSET = 170;

/** The key of the errors panel: each class present, its line style and name, after the panel's title. */
function classKeyGraphics(classes: readonly SoakErrorClass[], layout: ChartLayout): Record<string, unknown>[] {
  const panel = layout.panels.errors;
  // The middle of the panel title's line (its top, 26 px above the panel, plus the title's 5 px padding).
  const y = panel.top - 14;
  if (classes.length === 0) {
    return [{ type: 'text', silent: true, left: panel.left + KEY_OFFSET, top: y - 7, style: { text: 'none', fill: NEUTRAL_COLOR, ...FONT } }];
  }
  return classes.flatMap((errorClass, i) => {
    const x = panel.left + KEY_OFFSET + i * 150;
    return [
      { type: 'line', silent: true, shape: { x1: x, y1: y, x2: x + 30, y2: y }, style: { stroke: '#24292f', lineWidth: 2, lineDash: CLASS_DASH[errorClass] } },
      { type: 'text', silent: true, left: x + 36, top: y - 7, style: { text: errorClass, fill: '#24292f', ...FONT, fontSize: 12 } },
    ];
  });
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * Render the chart to an SVG string.
 * @throws MissingPeerError when echarts is not installed
 */
export async function renderChart(input: ChartInput): Promise<string> {
  const echarts = await importPeer('echarts', ECHARTS_INSTALL, () => import('echarts'));
  const layout = chartLayout(input);
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: layout.width, height: layout.height });
  try {
    chart.setOption(chartOption(input));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** One sample with every figure present: enough for `warmChartRenderer` to draw every panel. */
const WARM_UP_SAMPLE: SoakSample = {
  t: 1,
  seconds: 1,
  phase: 'run',
  offered: 1,
  ok: 1,
  errors: 0,
  overflow: 0,
  errorsByClass: {},
  inFlight: 0,
  openConnections: 1,
  mallocInUse: 1,
  rss: 1,
  heapUsed: 1,
  arrayBuffers: 1,
  slopeBytesPerSecond: 0,
  p50Ms: 1,
  p99Ms: 1,
  recycles: 0,
};

/**
 * Load the chart library and draw one throw-away chart, before any load
 * runs. The first chart of a process costs ~0.6 s of CPU (the import and
 * cold code), later ones ~50 ms; drawn first at a running soak's first
 * flush, it stalled the load runner and the world on a 2-core box for a
 * few hundred ms, inside the measured run. Does nothing when the library
 * is not installed (the soak says so at its first write).
 */
export async function warmChartRenderer(): Promise<void> {
  try {
    await renderChart({ title: '', subtitle: '', warmupSeconds: 0, contenders: [{ name: '', samples: [WARM_UP_SAMPLE], verdict: null }] });
  } catch (error) {
    if (!(error instanceof MissingPeerError)) throw error;
  }
}

/** Render and write `memory.svg` into `dir`; returns its path. */
export async function writeChart(dir: string, input: ChartInput): Promise<string> {
  const path = join(dir, 'memory.svg');
  await writeFile(`${path}.tmp`, await renderChart(input));
  await rename(`${path}.tmp`, path);
  return path;
}
