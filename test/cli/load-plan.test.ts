import { describe, expect, it } from 'vitest';
import { LoadPlan, smoothRoundRobin, strideFor, type LoadKind } from '../../src/cli/load-plan.js';
import { LoadSchedule } from '../../src/cli/load-schedule.js';
import { IdentityScheme } from '../../src/world/identities.js';

describe('the soak load plan', () => {
  it('interleaves kinds by weight without runs longer than needed', () => {
    const cycle = smoothRoundRobin({ plc: 50, web: 40, handle: 10 });
    expect(cycle).toHaveLength(100);
    const count = (k: LoadKind): number => cycle.filter((c) => c === k).length;
    expect([count('plc'), count('web'), count('handle')]).toEqual([50, 40, 10]);
    let longest = 0;
    let run = 0;
    cycle.forEach((kind, i) => {
      run = i > 0 && cycle[i - 1] === kind ? run + 1 : 1;
      longest = Math.max(longest, run);
    });
    expect(longest).toBeLessThanOrEqual(2);
  });

  it.each([1, 2, 3, 10, 97, 100, 10_000, 20_000])('strideFor(%d) visits every index once per cycle', (count) => {
    const stride = strideFor(count);
    const seen = new Set<number>();
    for (let n = 0; n < count; n++) seen.add((n * stride) % count);
    expect(seen.size).toBe(count);
  });

  it('asks for world identities of the right kind, each target once before any repeats', () => {
    const world = { identities: 400, webPercent: 50 };
    const scheme = new IdentityScheme({ ...world, keyPoolSize: 1 });
    const plan = new LoadPlan({ plc: 1, web: 1, handle: 1 }, world);
    expect(plan.counts).toEqual({ plc: 200, web: 200, handle: 400 });
    const seen: Record<LoadKind, Set<string>> = { plc: new Set(), web: new Set(), handle: new Set() };
    for (let n = 0; n < 600; n++) {
      const { kind, target } = plan.next();
      seen[kind].add(target);
      if (kind === 'plc') expect(scheme.indexOfPlcDid(target)).toBeDefined();
      if (kind === 'web') expect(scheme.indexOfWebHost(target.slice('did:web:'.length))).toBeDefined();
      if (kind === 'handle') expect(scheme.indexOfHandle(target)).toBeDefined();
    }
    expect([seen.plc.size, seen.web.size, seen.handle.size]).toEqual([200, 200, 200]);
  });

  it('consecutive did:web requests go to far-apart hosts', () => {
    const plan = new LoadPlan({ plc: 0, web: 1, handle: 0 }, { identities: 20_000, webPercent: 50 });
    const hosts = Array.from({ length: 50 }, () => Number(/h(\d+)\./.exec(plan.next().target)?.[1]));
    for (let i = 1; i < hosts.length; i++) expect(Math.abs(hosts[i]! - hosts[i - 1]!)).toBeGreaterThan(100);
  });

  it('refuses a mix that asks for a kind the world lacks', () => {
    expect(() => new LoadPlan({ plc: 0, web: 1, handle: 0 }, { identities: 100, webPercent: 0 })).toThrow(RangeError);
  });
});

describe('the soak load schedule', () => {
  it('ramps from 0 to the full rate over the warm-up, then offers the full rate', () => {
    const schedule = new LoadSchedule(1000, 4_000, 10_000);
    expect(schedule.warmupCount).toBe(2_000);
    expect(schedule.totalCount).toBe(12_000);
    const dueBy = (ms: number): number => {
      let n = 0;
      while (n < schedule.totalCount && schedule.dueAt(n) <= ms) n++;
      return n;
    };
    // The count due grows as t²: a quarter of the warm-up's in its first half.
    expect(dueBy(2_000)).toBe(501);
    expect(dueBy(4_000)).toBe(2_001);
    expect(dueBy(5_000)).toBe(3_001);
    expect(dueBy(14_000)).toBe(12_000);
    expect([schedule.phaseOf(1_999), schedule.phaseOf(2_000)]).toEqual(['warmup', 'run']);
    for (let n = 1; n < schedule.totalCount; n++) expect(schedule.dueAt(n)).toBeGreaterThanOrEqual(schedule.dueAt(n - 1));
  });

  it('offers each step of a rate list for an equal part of the run', () => {
    const schedule = new LoadSchedule([1000, 3000, 1000], 2_000, 30_000);
    expect(schedule.warmupCount).toBe(1_000);
    expect(schedule.totalCount).toBe(1_000 + 10_000 + 30_000 + 10_000);
    const dueIn = (from: number, to: number): number => {
      let count = 0;
      for (let n = 0; n < schedule.totalCount; n++) {
        const at = schedule.dueAt(n);
        if (at >= from && at < to) count += 1;
      }
      return count;
    };
    // one second in each step, after the 2 s warm-up
    expect(dueIn(5_000, 6_000)).toBe(1_000);
    expect(dueIn(15_000, 16_000)).toBe(3_000);
    expect(dueIn(25_000, 26_000)).toBe(1_000);
    for (let n = 1; n < schedule.totalCount; n++) expect(schedule.dueAt(n)).toBeGreaterThanOrEqual(schedule.dueAt(n - 1));
  });

  it('without a warm-up is a steady rate from the start', () => {
    const schedule = new LoadSchedule(200, 0, 3_000);
    expect([schedule.warmupCount, schedule.totalCount]).toEqual([0, 600]);
    expect([schedule.dueAt(0), schedule.dueAt(1), schedule.dueAt(599)]).toEqual([0, 5, 2_995]);
    expect(schedule.phaseOf(0)).toBe('run');
  });
});
