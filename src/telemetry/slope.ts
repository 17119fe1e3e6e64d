/**
 * The least-squares slope of `y` against `x` over points `0 … n-1` read
 * through accessors, so a ring of typed arrays (`MemoryMonitor`) and an
 * array of report samples (`atresolve soak`'s verdict) share one fit.
 *
 * Each point may carry a weight (default 1): a point that stands for a
 * downsampled run of several seconds counts as much as the seconds it
 * covers. Values are taken relative to the first point, which keeps the
 * sums small and exact for integer series.
 *
 * @returns the slope in y-units per x-unit; `null` with fewer than two
 *   points, no spread in `x`, or no positive weight
 */
export function leastSquaresSlope(
  n: number,
  x: (i: number) => number,
  y: (i: number) => number,
  weight: (i: number) => number = () => 1,
): number | null {
  if (n < 2) return null;
  const x0 = x(0);
  const y0 = y(0);
  let sumW = 0;
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    const w = weight(i);
    sumW += w;
    sumX += w * (x(i) - x0);
    sumY += w * (y(i) - y0);
  }
  if (!(sumW > 0)) return null;
  const meanX = sumX / sumW;
  const meanY = sumY / sumW;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const w = weight(i);
    const dx = x(i) - x0 - meanX;
    sxx += w * dx * dx;
    sxy += w * dx * (y(i) - y0 - meanY);
  }
  // All points at one x: nothing to fit against.
  return sxx === 0 ? null : sxy / sxx;
}
