import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { CHART_PANELS, CONTENDER_COLORS, chartLayout, renderChart, type ChartInput, type ChartRect } from '../../src/cli/chart.js';
import { reportJson, type SoakReport } from '../../src/cli/report.js';
import type { SoakSample } from '../../src/cli/soak-ipc.js';
import { Timeline } from '../../src/cli/timeline.js';
import { DEFAULT_CRITERIA, verdictOf } from '../../src/cli/verdict.js';
import { sample, totals } from './samples.js';

// The chart checked the way a user sees it: the SVG rendered to a PNG by
// resvg, then its pixels read back panel by panel.

const MIB = 1_048_576;
const PASS = [0x1a, 0x7f, 0x37];
const FAIL = [0xcf, 0x22, 0x2e];

interface Rendered {
  svg: string;
  png: Buffer;
  pixels: Buffer;
  width: number;
}

async function render(input: ChartInput): Promise<Rendered> {
  const svg = await renderChart(input);
  const image = new Resvg(svg, { font: { loadSystemFonts: true }, fitTo: { mode: 'original' } }).render();
  return { svg, png: image.asPng(), pixels: image.pixels, width: image.width };
}

function rgb(hex: string): number[] {
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** Hue (degrees) and saturation (0–1) of an RGB colour: anti-aliasing blends a line with the white page, keeping its hue. */
function hueOf([r, g, b]: number[]): { hue: number; saturation: number } {
  const max = Math.max(r!, g!, b!);
  const min = Math.min(r!, g!, b!);
  const d = max - min;
  if (max === 0 || d === 0) return { hue: 0, saturation: 0 };
  const hue = max === r ? ((g! - b!) / d) % 6 : max === g ? (b! - r!) / d + 2 : (r! - g!) / d + 4;
  return { hue: (hue * 60 + 360) % 360, saturation: d / max };
}

/** Pixels inside `rect` of the hue of `color` (greys, the page and the shaded areas do not count). */
function pixelsOf(image: Rendered, rect: ChartRect, color: number[]): number {
  const want = hueOf(color).hue;
  let n = 0;
  for (let y = Math.ceil(rect.top); y < rect.top + rect.height; y++) {
    for (let x = Math.ceil(rect.left); x < rect.left + rect.width; x++) {
      const i = (y * image.width + x) * 4;
      const { hue, saturation } = hueOf([image.pixels[i]!, image.pixels[i + 1]!, image.pixels[i + 2]!]);
      const apart = Math.abs(hue - want);
      if (saturation > 0.3 && Math.min(apart, 360 - apart) < 10) n += 1;
    }
  }
  return n;
}

/** A 30 s run after a 5 s warm-up; `failing` has half its resolutions failing from second 10. */
function run(failing: boolean, extra: (t: number) => Partial<SoakSample> = () => ({})): SoakSample[] {
  return Array.from({ length: 35 }, (_, i) => {
    const t = i + 1;
    const warmup = t <= 5;
    const bad = failing && t >= 10;
    return sample(t, {
      phase: warmup ? 'warmup' : 'run',
      offered: warmup ? t * 200 : 1000,
      ok: bad ? 500 : warmup ? t * 200 : 1000,
      errors: bad ? 500 : 0,
      errorsByClass: bad ? { timeout: 300, unavailable: 200 } : {},
      mallocInUse: (10 + Math.sin(t) / 4) * MIB,
      p50Ms: bad ? 900 : 4,
      p99Ms: bad ? 3000 : 15,
      openConnections: bad ? 250 : 64,
      ...extra(t),
    });
  });
}

function input(contenders: { name: string; samples: SoakSample[]; failing: boolean; interruptedAt?: number }[]): ChartInput {
  return {
    title: 'atresolve soak',
    subtitle: '30s at 1000/s after a 5s warm-up',
    warmupSeconds: 5,
    contenders: contenders.map((c) => {
      const t = totals(30, c.failing ? { errors: 10_500, errorsByClass: { timeout: 6_300, unavailable: 4_200 } } : {});
      return {
        name: c.name,
        samples: c.samples,
        verdict: verdictOf(c.name, c.samples, t, { criteria: DEFAULT_CRITERIA, judged: true, interrupted: c.interruptedAt !== undefined }),
        ...(c.interruptedAt === undefined ? {} : { interruptedAt: c.interruptedAt }),
      };
    }),
  };
}

describe('the soak chart, rendered', () => {
  it('draws every panel for every contender in its own colour, with the verdicts above and a legend', async () => {
    const chart = input([
      { name: 'atresolve (curl)', samples: run(false), failing: false },
      { name: 'atresolve (undici)', samples: run(true), failing: true },
    ]);
    const layout = chartLayout(chart);
    const image = await render(chart);
    for (const [i, color] of CONTENDER_COLORS.slice(0, 2).map(rgb).entries()) {
      for (const panel of CHART_PANELS) {
        // The good run has no errors: its errors line lies on the axis, still drawn.
        expect(pixelsOf(image, layout.panels[panel], color), `${panel} of contender ${i}`).toBeGreaterThan(30);
      }
      expect(pixelsOf(image, layout.legend, color)).toBeGreaterThan(20);
    }
    // The verdicts: the good run's in green, the failing one's in red, each on its own row.
    expect(pixelsOf(image, layout.verdictRows[0]!, PASS)).toBeGreaterThan(100);
    expect(pixelsOf(image, layout.verdictRows[0]!, FAIL)).toBe(0);
    expect(pixelsOf(image, layout.verdictRows[1]!, FAIL)).toBeGreaterThan(100);
    expect(image.svg).toContain('FAIL (errors, achieved)');
    expect(image.svg).toContain('warm-up');
    expect(image.svg).toContain('verdict window');
    for (const errorClass of ['timeout', 'unavailable']) expect(image.svg).toContain(errorClass);
    expect(image.png.length).toBeLessThan(400_000);
  });

  it('makes a failing run look failing: errors, a gap between achieved and offered, latency up', async () => {
    const chart = input([{ name: 'atresolve (curl)', samples: run(true), failing: true }]);
    const layout = chartLayout(chart);
    const image = await render(chart);
    const blue = rgb(CONTENDER_COLORS[0]!);
    const { errors, throughput } = layout.panels;
    // Errors/s well above the axis: the upper half of the errors panel has the line.
    expect(pixelsOf(image, { ...errors, height: errors.height / 2 }, blue)).toBeGreaterThan(50);
    // Achieved at half of offered: lines in both the upper and the middle of the panel.
    expect(pixelsOf(image, { ...throughput, height: throughput.height / 3 }, blue)).toBeGreaterThan(50);
    expect(pixelsOf(image, { ...throughput, top: throughput.top + throughput.height / 3, height: throughput.height / 3 }, blue)).toBeGreaterThan(50);
    expect(pixelsOf(image, layout.verdictRows[0]!, FAIL)).toBeGreaterThan(100);
  });

  it('marks an interruption and recycles', async () => {
    const samples = run(false, (t) => ({ recycles: t === 20 ? 1 : 0 })).slice(0, 25);
    samples.push(sample(25.4, { seconds: 0.4, offered: 400, ok: 400 }));
    const chart = input([{ name: 'atresolve (curl)', samples, failing: false, interruptedAt: 25.4 }]);
    const layout = chartLayout(chart);
    const image = await render(chart);
    expect(image.svg).toContain('interrupted');
    expect(image.svg).toContain('recycle');
    // The red interruption line crosses the malloc panel.
    expect(pixelsOf(image, layout.panels.malloc, FAIL)).toBeGreaterThan(layout.panels.malloc.height);
  });

  it('stays the same size for a day as for twenty minutes (a fast-forwarded clock)', async () => {
    const sizes = async (seconds: number): Promise<{ report: number; svg: number; png: number }> => {
      const timeline = new Timeline();
      for (let t = 1; t <= seconds; t++) {
        timeline.add(sample(t, { phase: t <= 5 ? 'warmup' : 'run', mallocInUse: (10 + Math.sin(t / 50)) * MIB, p99Ms: 10 + (t % 7), cpu: { runner: 70, world: 40, soak: 1, machine: 115 } }));
      }
      const points = timeline.points();
      const t = totals(seconds - 5);
      const verdict = verdictOf('atresolve (curl)', points, t, { criteria: DEFAULT_CRITERIA, judged: true, interrupted: false });
      const report = {
        tool: 'atresolve soak',
        contenders: [{ id: 'curl', name: 'atresolve (curl)', samples: points, totals: t, verdict }],
      } as unknown as SoakReport;
      const image = await render({ title: 't', subtitle: 's', warmupSeconds: 5, contenders: [{ name: 'atresolve (curl)', samples: points, verdict }] });
      return { report: Buffer.byteLength(reportJson(report)), svg: Buffer.byteLength(image.svg), png: image.png.length };
    };
    const short = await sizes(1_200);
    const day = await sizes(86_400);
    expect(day.report).toBeLessThan(1_000_000);
    expect(day.svg).toBeLessThan(1_500_000);
    expect(day.png).toBeLessThan(600_000);
    expect(day.report / short.report).toBeLessThan(1.5);
    expect(day.svg / short.svg).toBeLessThan(1.5);
  });
});
