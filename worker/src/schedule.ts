// Tick scheduling arithmetic for the alarm loop: which pairs are due, on what grid, and when to wake next.

// Alarm delivery jitters by a few ms; a pair this close to due ticks now rather than costing an extra alarm.
export const DUE_TOLERANCE_MS = 100;
// The soonest an alarm is ever set: strictly after now, never at exactly Date.now().
export const MIN_ALARM_DELAY_MS = 1;

/**
 * The scheduled time of the tick to run now, or null when the pair is not due (a duplicate or early
 * alarm). The next tick is scheduled from this time, not from when the tick ran, so the loop does
 * not drift by the alarm's latency. A tick more than half an interval late starts a fresh grid at
 * `now`, so a late alarm never leaves the next tick without time to run.
 */
export function slotFor(
	lastAt: number | undefined,
	intervalMs: number,
	now: number,
): number | null {
	if (lastAt === undefined) return now;
	const due = lastAt + intervalMs;
	if (now < due - DUE_TOLERANCE_MS) return null;
	return now - due <= intervalMs / 2 ? due : now;
}

/** When the alarm should fire next: the earliest due time, strictly in the future. */
export function nextAlarmAt(dueTimes: readonly number[], now: number): number | null {
	if (dueTimes.length === 0) return null;
	return Math.max(Math.min(...dueTimes), now + MIN_ALARM_DELAY_MS);
}

/**
 * How long a tick may run: until the pair's own next tick, less a margin to persist. A tick that
 * outlasts its group's next alarm runs on in the background (see Watchdog.alarm), so one slow pair
 * never holds up another, whatever their intervals.
 */
export function tickBudgetMs(nextTick: number, now: number): number {
	const room = nextTick - now;
	// 10% of the room, at most 500 ms: enough for the SQLite writes that follow.
	const margin = Math.min(500, room * 0.1);
	// Never below 50 ms, so even a squeezed tick records a (timed-out) observation.
	return Math.max(50, Math.floor(room - margin));
}

/** The backstop's re-arm decision for a group whose shortest interval is `intervalMs`. */
export type RearmReason = "missing" | "stale" | "too-far";

export function rearmReason(
	alarm: number | null,
	intervalMs: number,
	now: number,
): RearmReason | null {
	if (alarm === null) return "missing";
	// Should have fired two intervals ago: the loop is stuck.
	if (alarm < now - 2 * intervalMs) return "stale";
	// Set by an older config with a longer interval: bring it in.
	if (alarm > now + 2 * intervalMs) return "too-far";
	return null;
}
