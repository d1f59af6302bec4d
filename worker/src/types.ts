// Domain types shared by decide(), the Watchdog Durable Object shell and the HTTP API.
import type {
	DialOutReport,
	FrameFault,
	HelloRefusal,
	ReplicationMode,
	ReplicationStatus,
	StepWarning,
} from "../../protocol";

export const STATE_NAMES = [
	"primary-active",
	"promoting",
	"standby-active",
	"demoting",
	"suspect-partition",
	"paused",
	"held",
	"both-down",
] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** Whose gateway is (meant to be) serving. */
export type Side = "primary" | "standby";

export type ProbeFailure = "timeout" | "connect-error" | "http-status" | "body-mismatch";

/** One HTTP probe of a readiness URL. Expected failures are values, never exceptions. */
export type ProbeResult =
	| { ok: true; status: number; ms: number }
	| { ok: false; reason: ProbeFailure; status?: number; ms: number; detail?: string };

/** What a witness says about the primary. A witness that cannot be reached says "unknown", never "down". */
export type Vote = "up" | "down" | "unknown";

/** The standby agent's own probe of the primary, as reported in its signed /v1/status. */
export interface PeerProbe {
	ok: boolean;
	consecutiveFailures: number;
	consecutiveSuccesses: number;
	/** How long ago the agent last probed, ms; an old probe counts as "unknown". */
	ageMs: number;
	reason?: string;
	/** HTTP status of its last probe, when it got one: a 3xx/4xx is refused or misdirected, not down. */
	status?: number;
	latencyMs?: number;
}

/**
 * An agent's report on its own gateway (the `local` field of its signed status), as decide() sees it.
 * Shapes and meaning: LocalGatewaySchema in protocol/schemas.ts.
 */
export interface GatewayReport {
	state: "ready" | "starting" | "not-ready" | "stopped";
	/** Failing readiness checks named by the gateway (empty when none or not known). */
	failing: string[];
	/** ms since the gateway's unit became active, when known. */
	uptimeMs?: number;
	detail: string;
	/** How old the report was when the tick read it, ms. */
	ageMs: number;
}

/**
 * An agent's workspace replication report as the tick read it: the `replication` field of its signed
 * status (ReplicationStatusSchema in protocol/schemas.ts), with what is needed to turn the agent's
 * times into the Worker's: the agent's clock when it answered, and how old the answer was when read.
 */
export interface ReplicationReport {
	status: ReplicationStatus;
	/** The status's `now` (agent clock, ms since epoch). */
	agentNow: number;
	/** How old the status was when the tick read it, ms (0 for an answer to this tick's request). */
	ageMs: number;
}

export type StandbyView =
	| { reachable: false; reason: string }
	| {
			reachable: true;
			/** null when the agent has no primary probe configured. */
			primary: PeerProbe | null;
			term: number;
			gatewayActive: boolean;
			/** Its own gateway's readiness (absent from agents that do not report it). */
			gateway?: GatewayReport | null;
			/** A maintenance window set on the standby VPS, ms since epoch (absent or null: none). */
			maintenanceUntil?: number | null;
			/** Workspace replication (absent from agents older than the field; null: not configured). */
			replication?: ReplicationReport | null;
	  };

/**
 * The primary's own agent, read on every tick when `primary.agentUrl` is configured: its gateway's
 * local readiness with the failing checks, and its maintenance window. Absent from the tick when no
 * primary agent is configured (then the restart grace is off).
 */
export type PrimaryAgentView =
	| { reachable: false; reason: string }
	| {
			reachable: true;
			term: number;
			/** null when the agent could not read its gateway's readiness. */
			gateway: GatewayReport | null;
			/** ms since epoch; null: no maintenance window. */
			maintenanceUntil: number | null;
			/** Workspace replication (absent from agents older than the field; null: not configured). */
			replication?: ReplicationReport | null;
	  };

export type TailscaleView = { connected: boolean } | { error: string };

export type CommandAction = "promote" | "demote" | "sync";

/** A command to an agent, returned by decide() as data; the shell sends it. */
export interface Command {
	action: CommandAction;
	/** Which agent: promote/demote go to the standby, sync to the primary. */
	target: Side;
	term: number;
	/** Deterministic per (pair, action, term, attempt): a re-send is a safe poll, never a second run. */
	opId: string;
}

/**
 * What became of a command. "running": accepted, not finished yet (re-send the same opId to poll).
 * "rejected": the agent refused it (stale term, bad signature, ...). "unreachable": no answer in time.
 * "unsupported": the shell cannot send commands (no agent client configured).
 */
export type CommandResult =
	| "succeeded"
	| "running"
	| "failed"
	| "unreachable"
	| "rejected"
	| "unsupported";

export interface CommandOutcome {
	action: CommandAction;
	term: number;
	opId: string;
	result: CommandResult;
	detail: string;
	/**
	 * Warnings of the operation's succeeded steps (protocol StepWarning: a merge that saved this side's
	 * version of conflicting paths on a failover branch, a held mass deletion). decide() raises one
	 * warning event per item. Absent when there are none or the agent predates them.
	 */
	warnings?: readonly StepWarning[];
}

export type OperatorCommand =
	| "pause"
	| "resume"
	| "promote"
	| "demote"
	| "failback"
	| "drill"
	| "reset-term";

/** A controlled failover test: promote, see the standby ready, demote at once. */
export interface DrillRun {
	startedAt: number;
	/** When the standby reported the promotion done (ready). */
	promotedAt?: number;
	finishedAt?: number;
	ok?: boolean;
	/** How it ended, in one sentence (set when finished). */
	outcome?: string;
}

/** A lease that went out to the primary's agent and may have reached it (worker/src/fencing-wait.ts). */
export interface LeaseSent {
	/**
	 * When, ms since epoch on the Worker's clock, read after the call returned or gave up, so not before
	 * it could have arrived (bar a request still in flight when the call gave up: the margin covers that).
	 */
	at: number;
	/** Its length, s (leaseSecondsOf the config it was built with). */
	seconds: number;
	/** Whether it named the primary active (only such a lease restarts the primary's fence). */
	namesPrimary: boolean;
}

/**
 * What the Worker must remember of the leases it sent the primary's agent, so a fencing wait covers the
 * lease that agent may still fence by, across evictions, redeploys and config changes (PairState
 * `primaryLease`; worker/src/fencing-wait.ts keeps it). Times are ms since epoch on the Worker's clock.
 */
export interface PrimaryLeaseMemo {
	/** When a lease naming the primary active last went out and may have reached it; null: none known. */
	heldAt: number | null;
	/** The length of the newest lease that may have reached the primary's agent, s. */
	seconds: number;
	/**
	 * A length granted before `seconds` and longer than it, that the agent may still fence by (the newer,
	 * shorter lease may not have reached it, or its record on disk may lag), and the latest time that
	 * fence can run out (before the margin). Null: none, or it is covered by `heldAt` + `seconds`.
	 */
	longer: { seconds: number; runsOutAt: number } | null;
}

/** One input to decide(). */
export type Observation =
	| {
			kind: "tick";
			probe: ProbeResult;
			/** Absent when the shell has no agent client, or the standby witness is off and no command is pending. */
			standby?: StandbyView;
			tailscale?: TailscaleView;
			/** Absent when no primary agent is configured. */
			primaryAgent?: PrimaryAgentView;
			/**
			 * The lease this tick sent the primary's agent, when it may have reached it (any HTTP attempt; a
			 * frame on an open dial-out socket); absent when none went out or none could have arrived.
			 */
			primaryLease?: LeaseSent;
	  }
	| { kind: "command"; outcome: CommandOutcome }
	| {
			kind: "operator";
			command: OperatorCommand;
			/** reset-term only: the term to set (0..MAX_TERM-1); absent: the agents' highest reported term. */
			term?: number;
	  };

/** A command that was issued and has not finished. */
export interface PendingCommand extends Command {
	attempt: number;
	issuedAt: number;
}

export interface PairState {
	state: StateName;
	active: Side;
	term: number;
	/** When the current state was entered (ms since epoch). */
	since: number;
	/** When `active` last changed. */
	activeSince: number;
	/** Consecutive failed / good Worker probes of the primary. */
	fails: number;
	oks: number;
	/** Consecutive ticks the standby agent did not answer. */
	standbyMisses: number;
	pending: PendingCommand | null;
	/** Start times of promotions within the last hour, for flap damping. */
	failovers: number[];
	/** State to return to on resume (set while paused). */
	resumeTo: StateName | null;
	/** Why the pair is in its current state, for status and notifications. */
	reason: string;
	/** Once-per-state notices already sent in the current state (cleared on every transition). */
	announced: EventKind[];
	/** The drill in progress, if any (absent in states stored before drills existed). */
	drill?: DrillRun | null;
	/** The last finished drill, for status. */
	lastDrill?: DrillRun | null;
	/**
	 * When the primary's current run of good probes began (ms since epoch); null while it fails. Recovery
	 * is measured from here, not from the promotion. Absent in states stored before it existed.
	 */
	okSince?: number | null;
	/** When the last failback completed (ms since epoch): a failure soon after it is a flap. */
	lastFailbackAt?: number | null;
	/** Set when the primary flapped: automatic failback is held until the operator resumes or fails back. */
	failbackHeld?: boolean;
	/** Conditions that persist across state transitions (config problems, silent witnesses, ...). */
	conditions?: Partial<Record<ConditionKey, Condition>>;
	/** Maintenance window that paused the pair (ms since epoch); the pair resumes by itself after it. */
	maintenanceUntil?: number | null;
	/** When the primary's restart grace began (the first failing probe while its agent said starting). */
	graceSince?: number | null;
	/**
	 * Fencing: the promote decided on waits until this time (ms since epoch), so an isolated primary has
	 * stopped its gateway before the standby starts (worker/src/fencing-wait.ts). Absent or null: none.
	 */
	promoteAfter?: number | null;
	/**
	 * Fencing: the leases the primary's agent may still hold (worker/src/fencing-wait.ts). Absent in
	 * states stored before it existed. Its `heldAt` moves every tick and is left out of what makes the
	 * state row worth rewriting (store.ts materialOf): it rides in the tick's observation row.
	 */
	primaryLease?: PrimaryLeaseMemo;
	/**
	 * When a fenced promotion was last cancelled because the primary recovered during the wait (ms
	 * since epoch). A second recovery within the flap window keeps the failover: a crash loop.
	 */
	fenceCancelledAt?: number | null;
	/** The terms the agents last reported, for reset-term without an argument. */
	agentTerms?: { standby?: number; primary?: number };
	/**
	 * Each side's workspace replication as last read, and which of its problems were announced
	 * (worker/src/replication-events.ts). Absent for a side whose agent was never read or does not report it.
	 */
	replication?: Partial<Record<Side, ReplicationMemo>>;
}

/**
 * One side's replication facts, times on the Worker's clock (ms since epoch), from its agent's status.
 * The standby's lag is `behindCommits` (commits the remote's main branch has that its copy lacks).
 */
export interface ReplicationFacts {
	mode: ReplicationMode;
	/** Last successful push to the main branch; null: none since the agent started. */
	lastPushAt: number | null;
	/** Local commits no remote branch holds yet, and when the oldest of them was made. */
	pendingCommits: number;
	oldestPendingAt: number | null;
	/** Standby: commits behind the remote's main branch (null: not fetched yet), and when it last fetched. */
	behindCommits: number | null;
	lastFetchAt: number | null;
	/** The failover/<side>-<time> branch commits go to while held. */
	heldBranch: string | null;
	watch: "watching" | "timer" | "off";
	/** The agent's current problem (message and hint bounded), `since` on the Worker's clock. */
	problem: { kind: string; message: string; hint: string; since: number } | null;
	/** How many paths the agent refuses to replicate (the paths are in its status and the events). */
	refusedCount: number;
}

/** What the Worker keeps of one side's replication between ticks (PairState.replication). */
export interface ReplicationMemo {
	/** When the facts were read (Worker clock, ms since epoch). */
	seenAt: number;
	/** null: the agent reports replication not configured. */
	facts: ReplicationFacts | null;
	/**
	 * The agent problem a warning went out for and that has not cleared: its kind, a hash of its reason
	 * (kind and message, numbers ignored) and when it was raised (Worker clock). A changed reason raises
	 * a new warning; its disappearance sends one info event.
	 */
	raised: { kind: string; reason: string; at: number } | null;
	/** Hashes of refused paths already reported, oldest first, bounded: each path is reported once. */
	refusedSeen: string[];
}

/**
 * A condition the judge tracks across ticks and states, raised once (an event) and cleared once (an
 * info event): the "problems" a pair summary shows.
 */
export type ConditionKey =
	| "probe-refused"
	| "standby-probe-refused"
	| "standby-witness-broken"
	| "standby-silent"
	| "tailscale-silent"
	| "active-not-ready"
	| "term-anomaly";

export interface Condition {
	/** When it was first seen (ms since epoch). */
	since: number;
	/** Consecutive ticks it has been seen. */
	count: number;
	/** True once its event was sent; the summary lists only raised conditions. */
	raised: boolean;
	/** One sentence for the summary and /healthz. */
	text: string;
}

export type EventKind =
	| "promoting"
	| "promoted"
	| "promote-failed"
	| "demoting"
	| "demoted"
	| "demote-failed"
	| "sync-failed"
	| "suspect-partition"
	| "partition-cleared"
	| "held"
	| "both-down"
	| "recovered"
	| "standby-unreachable"
	| "standby-reachable"
	| "standby-serving"
	| "failback-awaiting"
	| "paused"
	| "resumed"
	| "term-adopted"
	| "operator"
	| "drill"
	| "synced"
	| "notification"
	| "config-problem"
	| "witness-broken"
	| "witness-silent"
	| "witness-voting"
	| "active-not-ready"
	| "failback-held"
	| "restart-grace"
	| "maintenance"
	| "term-anomaly"
	| "term-reset"
	| "replication-failing"
	| "replication-held"
	| "replication-conflict"
	| "replication-refused"
	| "condition-cleared";

export type Severity = "info" | "warning" | "critical";

/** Who saw what, in one line each: the evidence carried by every event and notification. */
export interface Evidence {
	witness: "worker" | "standby" | "tailscale" | "agent" | "operator";
	saw: string;
}

/** A log entry returned by decide(); the shell persists every one and notifies the ones with notify: true. */
export interface PairEvent {
	kind: EventKind;
	severity: Severity;
	at: number;
	from: StateName;
	to: StateName;
	term: number;
	summary: string;
	evidence: Evidence[];
	/** What the operator should do next (empty when nothing). */
	next: string;
	notify: boolean;
}

export interface Decision {
	state: PairState;
	commands: Command[];
	events: PairEvent[];
	/** Set when an operator command does not apply in the current state: why, in one sentence. */
	refused?: string;
}

/**
 * Why the Worker refused an agent's frame or closed its socket, as counted in ConnectionStats.refusals.
 * The frame kinds come from parseFrame, the hello kinds from verifyHello (protocol/dial-out.ts).
 */
export type RefusalKind =
	| FrameFault
	| HelloRefusal
	| "before hello"
	| "second hello"
	| "not configured"
	| "hello timeout"
	/** An authenticated socket that sent nothing for silentCloseMs: closed so the agent redials. */
	| "silent"
	| "flood"
	/** A bug in the handler (an exception): never expected, counted so that it cannot go unseen. */
	| "internal error";

/** A dial-out agent's connection facts (worker/src/agent-sockets.ts), for the status API and the page. */
export interface ConnectionStats {
	connected: boolean;
	/** When the current connection authenticated (ms since epoch), if connected. */
	since: number | null;
	/** When the newest frame of the current or last connection arrived. */
	lastFrameAt: number | null;
	/**
	 * How long the side has sent nothing, ms by the Worker's clock (null before any frame). A socket that
	 * stays open but silent shows here; its status goes stale and the tick counts it unreachable.
	 */
	silentMs: number | null;
	/** Age of the newest pushed status, ms by the Worker's clock (null: none since the object started). */
	statusAgeMs: number | null;
	/** Frames received from this side since the object started (billed at 20 to 1 as requests). */
	frames: number;
	/** Frames dropped by the rate limit (a heartbeat flood), unparsed. */
	dropped: number;
	/** Connections refused or closed for a protocol fault, by kind ("clock skew" ...), and the newest reason. */
	refused: number;
	refusals: Partial<Record<RefusalKind, number>>;
	lastRefusal: string | null;
	/**
	 * The agent's clock minus the Worker's (ms): from its newest hello (refused ones too) or pushed status.
	 * Shown, never used for ordering; over MAX_SKEW_MS the hello is refused as "clock skew".
	 */
	skewMs: number | null;
	/** How the newest connection ended (code and reason), if it did. */
	lastClose: string | null;
	/**
	 * The agent's own view of its connection, from its newest pushed status (any age): its redials and the
	 * last close it saw (a redeploy), frames it dropped, requests it refused, the Worker's clock as it sees it.
	 */
	agent: DialOutReport | null;
}
