// Self-fencing: a primary that has lost its lease and cannot see the standby stops its own gateway before the standby starts.

import { DEFAULT_LEASE_SECONDS, type Lease, type Role } from "../../protocol";

/** How often the fence looks at the lease and the standby, ms. Part of the watchdog's wait margin. */
export const FENCE_CHECK_MS = 1_000;

/**
 * A lease naming this side active, as the fence counts it: when it arrived and its OWN length. The two
 * always come from the same lease: a later lease naming another side (or nobody) carries a length that
 * says nothing about how long this side may serve.
 */
export interface HeldLease {
	/**
	 * When it arrived, ms since the epoch on this agent's clock. Counted from arrival, not from the
	 * lease's issue time, so clock skew between the Worker and this VPS can neither shorten nor stretch
	 * the fence's wait.
	 */
	readonly arrivedAt: number;
	/** Its length, s (the watchdog's leaseSeconds when it was issued). */
	readonly leaseSeconds: number;
}

/** What the fence reports in status and logs. */
export interface FenceState {
	mode: "self" | "off";
	/**
	 * When the newest lease naming this side arrived (ms since epoch, its own clock). Before this run's
	 * first: the recorded arrival, or the start; null when that is unknown (counted as run out).
	 */
	lastHeldAt: number | null;
	/** Set while the gateway is stopped by the fence: when, and why. */
	fenced: { at: number; reason: string } | null;
	/** The newest fence or unfence attempt that failed, if any. */
	problem: string | null;
}

export interface FenceDeps {
	mode: "self" | "off";
	/** This agent's side: only a lease naming it active counts (noteLease). */
	side: Role;
	/** The wall clock, ms since the epoch: lease arrivals as the record and the status report them. */
	now: () => number;
	/**
	 * A monotonic clock, ms from any origin (default: `now`, which tests drive): within a run the fence
	 * counts on it, so a wall clock stepped back while cut off cannot delay the stop by the step (the
	 * watchdog's wait, on its own clock, would then end first). The agent passes stopwatch().
	 */
	elapsed?: () => number;
	/**
	 * What the fence counts from until this run's first lease naming this side (noteLease):
	 * - a HeldLease: the arrival and length recorded by the run before (agent/src/lease-record.ts), so
	 *   a restart while cut off fences when the lease the watchdog counts from runs out, not a full lease
	 *   after the start;
	 * - null: unknown (an unusable record): the lease counts as already run out;
	 * - undefined (default): the fence's start counts as holding a lease of DEFAULT_LEASE_SECONDS. Safe
	 *   only because nothing was recorded: no lease naming this side has reached this agent since it
	 *   started recording, so the watchdog knows of none that could have (its ledger is empty after an
	 *   eviction too), and worker/src/fencing-wait.ts then waits from its promote decision for at least
	 *   DEFAULT_LEASE_SECONDS plus the margin: an agent started before that decision fences first.
	 *   Not covered: a lease that reached this side but was never recorded (an upgrade from an agent
	 *   that kept no record, a write that failed, a crash in the ms between the first lease and its
	 *   write), followed by a restart while cut off.
	 * Never lifts a fence: only a lease of this run does.
	 */
	heldSince?: HeldLease | null;
	/**
	 * Whether the standby's host answers over the tailnet (any HTTP answer, or a refused connection,
	 * proves it reachable; a timeout or no route does not).
	 */
	standbyReachable: (signal: AbortSignal) => Promise<boolean>;
	stopGateway: () => Promise<{ ok: boolean; detail: string }>;
	startGateway: () => Promise<{ ok: boolean; detail: string }>;
	log: {
		warn(msg: string, fields?: Record<string, unknown>): void;
		info(msg: string, fields?: Record<string, unknown>): void;
	};
	/** Deadline of one standby reachability probe, ms. */
	probeTimeoutMs?: number;
}

/**
 * The primary's fence. It stops the gateway only when BOTH hold: the newest lease naming it active has
 * run out by its own length, counted from its arrival (the watchdog cannot reach it, or has decided to
 * promote and names nobody), and the standby's host does not answer (so this side is the isolated one,
 * not a side that merely lost the Worker). It starts the gateway again only when a lease naming it
 * active arrives after the fence, and never fences within that lease's length of its arrival. A lease
 * naming the standby or nobody neither lifts the fence nor stretches (or shortens) the wait: it means
 * the watchdog has moved on, and only a lease naming this side says how long this side may serve. The
 * watchdog waits at least as long plus a margin from the last such lease it sent before it promotes
 * (worker/src/fencing-wait.ts), so the fence comes first. That holds across a restart only through
 * `heldSince`, which the agent feeds from the record the run before left (agent/src/lease-record.ts):
 * counting a full lease from the restart would let the standby start while this gateway still serves.
 */
export class Fence {
	readonly state: FenceState;
	private timer: ReturnType<typeof setInterval> | null = null;
	private busy = false;
	/** Before this run's first lease naming this side: `heldSince` resolved (null: unknown); arrival on `elapsed`. */
	private readonly heldSince: HeldLease | null;
	/** The newest lease naming this side this run kept; null before the first. Arrival on `elapsed`. */
	private held: HeldLease | null = null;
	private readonly elapsed: () => number;
	/** Whether a lease naming this side arrived since the gateway was stopped: only such a lease lifts the fence. */
	private heldSinceFenced = false;

	constructor(private readonly deps: FenceDeps) {
		this.elapsed = deps.elapsed ?? deps.now;
		const wall = deps.now();
		const since =
			deps.heldSince === undefined
				? { arrivedAt: wall, leaseSeconds: DEFAULT_LEASE_SECONDS }
				: deps.heldSince;
		// The recorded arrival moves onto the monotonic clock once, here: from now on a wall clock step
		// changes nothing the fence counts.
		this.heldSince = since && {
			arrivedAt: this.onElapsed(since.arrivedAt),
			leaseSeconds: since.leaseSeconds,
		};
		this.state = {
			mode: deps.mode,
			lastHeldAt: since?.arrivedAt ?? null,
			fenced: null,
			problem: null,
		};
	}

	/**
	 * A lease was kept (LeaseHolder.onNewLease) at `arrivedAt` (ms, this clock). Only one naming this
	 * side active counts, with its own length; any other is ignored.
	 */
	noteLease(lease: Pick<Lease, "active" | "leaseSeconds">, arrivedAt: number): void {
		if (lease.active !== this.deps.side) return;
		this.held = { arrivedAt: this.onElapsed(arrivedAt), leaseSeconds: lease.leaseSeconds };
		this.heldSinceFenced = true;
		this.state.lastHeldAt = arrivedAt;
	}

	/**
	 * When the lease this fence counts from runs out, ms on this agent's clock: the arrival of the newest
	 * lease naming this side plus that lease's length (before this run's first: `heldSince`'s);
	 * -Infinity when the arrival is unknown. The fence may stop the gateway from then on, if the standby
	 * does not answer either.
	 */
	leaseRunsOutAt(): number {
		return this.deps.now() + this.leaseLeftMs();
	}

	/** How long until the lease this fence counts from runs out, ms on `elapsed` (-Infinity: unknown). */
	private leaseLeftMs(): number {
		const held = this.held ?? this.heldSince;
		return held === null
			? Number.NEGATIVE_INFINITY
			: held.arrivedAt + held.leaseSeconds * 1000 - this.elapsed();
	}

	/** A wall-clock time (ms since epoch) as the same instant on `elapsed`, read now. */
	private onElapsed(wallAt: number): number {
		return this.elapsed() - (this.deps.now() - wallAt);
	}

	start(): void {
		if (this.deps.mode === "off" || this.timer) return;
		this.timer = setInterval(() => void this.check(), FENCE_CHECK_MS);
		this.timer.unref?.();
	}

	stop(): void {
		if (this.timer) clearInterval(this.timer);
		this.timer = null;
	}

	/** One look at the lease and the standby; runs from the timer, callable from tests. */
	async check(): Promise<void> {
		if (this.deps.mode === "off" || this.busy) return;
		this.busy = true;
		try {
			const now = this.deps.now();
			if (this.leaseLeftMs() > 0) {
				// Only a lease naming this side that arrived after the stop lifts the fence: not the record,
				// not the lease it fenced on seen again through a clock stepped back.
				if (this.state.fenced && this.heldSinceFenced) await this.unfence();
				return;
			}
			if (this.state.fenced) return;
			const signal = AbortSignal.timeout(this.deps.probeTimeoutMs ?? 800);
			const standby = await this.deps.standbyReachable(signal).catch(() => false);
			if (standby) return; // Only the watchdog is out of sight: the standby would not start on its own.
			const gone =
				this.state.lastHeldAt === null
					? "no lease since this start (the last one's time is unknown)"
					: `no lease for ${Math.round((now - this.state.lastHeldAt) / 1000)} s`;
			const reason = `${gone} and the standby does not answer: this primary is isolated`;
			this.deps.log.warn("fencing: stopping the gateway", { reason });
			// Before the stop: a lease naming this side that arrives while it runs lifts the fence next check.
			this.heldSinceFenced = false;
			const r = await this.deps.stopGateway();
			if (r.ok) {
				this.state.fenced = { at: this.deps.now(), reason };
				this.state.problem = null;
			} else {
				this.state.problem = `fence could not stop the gateway: ${r.detail}`;
				this.deps.log.warn("fencing: stop failed", { detail: r.detail });
			}
		} finally {
			this.busy = false;
		}
	}

	private async unfence(): Promise<void> {
		const r = await this.deps.startGateway();
		if (r.ok) {
			this.deps.log.info("fencing: lease back, gateway started again", {
				fencedFor: this.state.fenced ? this.deps.now() - this.state.fenced.at : 0,
			});
			this.state.fenced = null;
			this.state.problem = null;
		} else {
			this.state.problem = `lease back, but the gateway did not start: ${r.detail}`;
		}
	}
}

/**
 * A reachability probe of the standby's host over the tailnet: GET `url` with a deadline. Any HTTP
 * answer proves the host reachable, and so does a refused connection (the host's own TCP stack said
 * no); a timeout, no route or DNS failure does not.
 */
export async function hostAnswers(
	url: string,
	signal: AbortSignal,
	fetchImpl: typeof fetch = fetch,
): Promise<boolean> {
	try {
		const res = await fetchImpl(url, { signal, redirect: "manual" });
		await res.body?.cancel().catch(() => {});
		return true;
	} catch (e) {
		const cause = (e as { cause?: { code?: string; errors?: { code?: string }[] } }).cause;
		// Happy eyeballs tries several addresses: refused by any of them is an answer from the host.
		const codes = [cause?.code, ...(cause?.errors ?? []).map((x) => x.code)];
		return codes.includes("ECONNREFUSED");
	}
}
