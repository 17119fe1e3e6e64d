/**
 * How much slower than native this test process runs: `1` normally, more
 * under CPU emulation (`scripts/arm64-suite.mjs` runs the arm64 suites under
 * qemu-aarch64 with `ATRESOLVE_TEST_TIME_SCALE=4`: emulated TLS handshakes
 * cost several times more CPU). Only wall-time bounds of load loops use it;
 * counts and limits never change.
 */
export const TIME_SCALE = Math.max(1, Number(process.env['ATRESOLVE_TEST_TIME_SCALE']) || 1);
