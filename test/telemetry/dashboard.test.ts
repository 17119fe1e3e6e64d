import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { histogramMetricNames, metricNames } from '../../src/telemetry/metrics.js';

/**
 * The Grafana dashboard and the telemetry doc must stay in step with the
 * metric table: every query uses only names `registerMetrics()` exports, and
 * every exported name is documented and shown.
 */

const dashboard = JSON.parse(readFileSync(new URL('../../docs/dashboards/atresolve.json', import.meta.url), 'utf8')) as {
  panels: Panel[];
  templating: { list: Array<{ name: string; query?: unknown; definition?: string }> };
};
const doc = readFileSync(new URL('../../docs/telemetry.md', import.meta.url), 'utf8');

interface Panel {
  id: number;
  type: string;
  title: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string }>;
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every PromQL text in the dashboard: panel targets and templating queries. */
function queries(): string[] {
  const out: string[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    if (panel.type === 'row') continue;
    expect(panel.targets?.length, `panel "${panel.title}" has targets`).toBeGreaterThan(0);
    for (const target of panel.targets ?? []) {
      expect(typeof target.expr, `panel "${panel.title}" target has an expr`).toBe('string');
      out.push(target.expr!);
    }
  }
  for (const variable of dashboard.templating.list) {
    if (typeof variable.definition === 'string') out.push(variable.definition);
    const q = variable.query;
    if (typeof q === 'string') out.push(q);
    else if (typeof q === 'object' && q !== null && typeof (q as { query?: unknown }).query === 'string') out.push((q as { query: string }).query);
  }
  return out;
}

const seriesNames = new Set(metricNames.flatMap((n) => (histogramMetricNames.includes(n) ? [`${n}_bucket`, `${n}_sum`, `${n}_count`] : [n])));

describe('docs/dashboards/atresolve.json', () => {
  const exprs = queries();
  const used = new Set(exprs.flatMap((e) => e.match(/\batresolve_[a-z0-9_]+/g) ?? []));

  it('references only documented metric names', () => {
    expect(exprs.length).toBeGreaterThan(0);
    for (const name of used) expect(seriesNames, `${name} in the dashboard`).toContain(name);
  });

  it('shows every metric', () => {
    for (const name of metricNames) {
      const forms = histogramMetricNames.includes(name) ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      expect(forms.some((f) => used.has(f)), `${name} on a panel`).toBe(true);
    }
  });

  it('has unique panel ids and no unresolved data source', () => {
    const ids = allPanels(dashboard.panels).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(JSON.stringify(dashboard)).not.toContain('${DS_');
  });
});

describe('docs/telemetry.md', () => {
  it('documents every metric name, and no other', () => {
    for (const name of metricNames) expect(doc, name).toContain(`\`${name}\``);
    const mentioned = new Set(doc.match(/\batresolve_[a-z0-9_]+/g) ?? []);
    const known = new Set([...metricNames, ...seriesNames]);
    for (const name of mentioned) expect(known, `${name} in the doc`).toContain(name);
  });
});
