// Elapsed time for logs and probe results, on the monotonic clock, without the global `performance`.

/**
 * Starts a stopwatch; the returned function gives the ms (fractional) since it started, on
 * CLOCK_MONOTONIC through process.hrtime (so a wall-clock step never shows as a negative or huge
 * duration).
 * Why not `performance.now()`: the first touch of the global `performance` loads Node's
 * performance-timeline module and what it needs, 1.1 MiB of RSS in a bare Node 24 process; in the
 * agent the difference is within one run's noise (docs/agent.md, "Fifth round"), but the module is
 * no longer loaded at all.
 */
export function stopwatch(): () => number {
	const started = process.hrtime.bigint();
	return () => Number(process.hrtime.bigint() - started) / 1e6;
}
