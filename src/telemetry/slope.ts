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
  return leastSquaresFit(n, x, y, weight)?.slope ?? null;
}

/** A fitted line's slope and how sure it is. */
export interface SlopeFit {
  /** y-units per x-unit. */
  slope: number;
  /**
   * The slope's standard error, from the scatter of the points around the
   * line (`null` with two points: a line through two points has no
   * scatter to measure). A slope within about two standard errors of a
   * value cannot be told apart from it.
   */
  standardError: number | null;
}

/**
 * `leastSquaresSlope()` with the slope's standard error.
 * @returns `undefined` where `leastSquaresSlope()` returns `null`
 */
export function leastSquaresFit(
  n: number,
  x: (i: number) => number,
  y: (i: number) => number,
  weight: (i: number) => number = () => 1,
): SlopeFit | undefined {
  if (n < 2) return undefined;
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
  if (!(sumW > 0)) return undefined;
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
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  if (n < 3) return { slope, standardError: null };
  // s² / Sxx with s² the residual variance on n - 2 degrees of freedom; the weights
  // (normalized to add up to n) cancel out of the ratio.
  let residuals = 0;
  for (let i = 0; i < n; i++) {
    const r = y(i) - y0 - meanY - slope * (x(i) - x0 - meanX);
    residuals += weight(i) * r * r;
  }
  return { slope, standardError: Math.sqrt(residuals / ((n - 2) * sxx)) };
}
