// Elapsed time for logs and probe results, on the monotonic clock, without the global `performance`.

/**
 * Starts a stopwatch; the returned function gives the ms (fractional) since it started, on
 * CLOCK_MONOTONIC through process.hrtime (so a wall-clock step never shows as a negative or huge
 * duration).
 * Why not `performance.now()`: the first touch of the global `performance` loads Node's perf_hooks
 * internals (performance timeline, histograms, observers), about 1 MiB of RSS the agent never uses
 * otherwise (measured on Node 24: docs/agent.md, "Measured").
 */
export function stopwatch(): () => number {
	const started = process.hrtime.bigint();
	return () => Number(process.hrtime.bigint() - started) / 1e6;
}
