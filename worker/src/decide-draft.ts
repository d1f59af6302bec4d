// The draft every decide() step builds: the next state, the commands and events, and the conditions it tracks across states.
import type { PairConfig } from "./config";
import type {
	Command,
	CommandAction,
	Condition,
	ConditionKey,
	Decision,
	EventKind,
	Evidence,
	PairEvent,
	PairState,
	PendingCommand,
	Severity,
	StateName,
} from "./types";

export const HOUR_MS = 3_600_000;

export function initialState(now: number): PairState {
	return {
		state: "primary-active",
		active: "primary",
		term: 0,
		since: now,
		activeSince: now,
		fails: 0,
		oks: 0,
		standbyMisses: 0,
		pending: null,
		failovers: [],
		resumeTo: null,
		reason: "watching the primary",
		announced: [],
	};
}

/** The operation id of a command: deterministic, so re-sending it is a poll, never a second run. */
export function opIdFor(
	pair: string,
	action: CommandAction,
	term: number,
	attempt: number,
): string {
	return `${pair}:${action}:t${term}:a${attempt}`;
}

/** Accumulates the next state and its outputs; every transition goes through `moveTo`. */
export class Draft {
	commands: Command[] = [];
	readonly events: PairEvent[] = [];
	refused: string | undefined;
	/** Set by countProbe: this tick's failed probe counted toward failThreshold (not refused, not in a grace). */
	failCounted = false;
	s: PairState;

	constructor(
		prev: PairState,
		readonly config: PairConfig,
		readonly now: number,
	) {
		this.s = { ...prev, failovers: prev.failovers.filter((t) => now - t < HOUR_MS) };
	}

	moveTo(to: StateName, reason: string): void {
		if (to !== this.s.state) {
			this.s.since = this.now;
			this.s.announced = [];
		}
		this.s.state = to;
		this.s.reason = reason;
	}

	event(
		kind: EventKind,
		severity: Severity,
		from: StateName,
		summary: string,
		evidence: Evidence[],
		next = "",
		notify = true,
	): void {
		this.events.push({
			kind,
			severity,
			at: this.now,
			from,
			to: this.s.state,
			term: this.s.term,
			summary,
			evidence,
			next,
			notify,
		});
	}

	/** Announces a condition once while the pair stays in the current state. */
	once(kind: EventKind): boolean {
		if (this.s.announced.includes(kind)) return false;
		this.s.announced = [...this.s.announced, kind];
		return true;
	}

	issue(action: CommandAction, term: number, attempt: number): void {
		const pending: PendingCommand = {
			action,
			target: action === "sync" ? "primary" : "standby",
			term,
			opId: opIdFor(this.config.name, action, term, attempt),
			attempt,
			issuedAt: this.now,
		};
		this.s.pending = pending;
		this.commands.push(strip(pending));
	}

	/** Re-send the pending command (same op id): the agent answers with its current progress. */
	poll(): void {
		if (this.s.pending) this.commands.push(strip(this.s.pending));
	}

	/**
	 * Counts one more tick of a condition; once `count` reaches `after` (ticks) or it has lasted
	 * `afterMs`, it is raised: `onRaise` runs once (it sends the event). The text is what the pair
	 * summary and /healthz show while it is raised.
	 */
	see(
		key: ConditionKey,
		text: string,
		onRaise: () => void,
		opts: { after?: number; afterMs?: number } = {},
	): void {
		const prev = this.s.conditions?.[key];
		const next: Condition = prev
			? { ...prev, count: prev.count + 1, text }
			: { since: this.now, count: 1, raised: false, text };
		const due =
			next.count >= (opts.after ?? 1) &&
			(opts.afterMs === undefined || this.now - next.since >= opts.afterMs);
		if (!next.raised && due) {
			next.raised = true;
			this.s.conditions = { ...this.s.conditions, [key]: next };
			onRaise();
			return;
		}
		this.s.conditions = { ...this.s.conditions, [key]: next };
	}

	/** Forgets a condition; `onClear` runs when it had been raised (it sends the info event). */
	clear(key: ConditionKey, onClear?: (c: Condition) => void): void {
		const prev = this.s.conditions?.[key];
		if (!prev) return;
		const { [key]: _gone, ...others } = this.s.conditions ?? {};
		this.s.conditions = others;
		if (prev.raised) onClear?.(prev);
	}

	raised(key: ConditionKey): boolean {
		return this.s.conditions?.[key]?.raised === true;
	}

	done(): Decision {
		const d: Decision = { state: this.s, commands: this.commands, events: this.events };
		if (this.refused !== undefined) d.refused = this.refused;
		return d;
	}
}

export function strip(p: PendingCommand): Command {
	return { action: p.action, target: p.target, term: p.term, opId: p.opId };
}

export function activeState(d: Draft): StateName {
	return d.s.active === "primary" ? "primary-active" : "standby-active";
}
