// Zod schemas for every request and response body of the agent protocol, and the error codes.
import { expected, objectError } from "./issues";
import { MAX_TERM } from "./terms";
import { PROTOCOL_VERSION } from "./version";
import * as z from "./zod";

export const COMMAND_ACTIONS = ["promote", "demote", "sync"] as const;
export type CommandAction = (typeof COMMAND_ACTIONS)[number];

export const ROLES = ["primary", "standby"] as const;
export type Role = (typeof ROLES)[number];

/**
 * The only actions each side's agent ever runs (design: the watchdog promotes and, on failback, demotes
 * the standby; it tells the primary to sync after failback). An agent refuses the others, so a command
 * captured on one side can never be replayed into an action on the other.
 */
export const ROLE_ACTIONS: Readonly<Record<Role, readonly CommandAction[]>> = {
	primary: ["sync"],
	standby: ["promote", "demote"],
};

/** Ids are echoed into logs and file names by operators: keep them to a safe, short alphabet. */
export const OpIdSchema = z
	.string({ error: expected("a string of 1..128 characters from [A-Za-z0-9._:-]") })
	.check(z.minLength(1), z.maxLength(128), z.regex(/^[A-Za-z0-9._:-]+$/));

export const TermSchema = z
	.int({ error: expected(`an integer from 0 to ${MAX_TERM}`) })
	.check(z.minimum(0), z.maximum(MAX_TERM));

/** Body of POST /v1/promote, /v1/demote, /v1/sync. Strict: an unknown field is rejected. */
export const CommandRequestSchema = z.strictObject(
	{
		opId: OpIdSchema,
		term: TermSchema,
		waitMs: z._default(
			z
				.int({ error: expected("an integer from 0 to 25000 (ms)") })
				.check(z.minimum(0), z.maximum(25_000)),
			0,
		),
	},
	{ error: objectError("a JSON object {opId, term, waitMs?}") },
);
export type CommandRequest = z.infer<typeof CommandRequestSchema>;
export type CommandRequestInput = z.input<typeof CommandRequestSchema>;

export const STEP_STATUSES = [
	"pending",
	"running",
	"succeeded",
	"failed",
	"skipped",
	"interrupted",
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const OPERATION_STATUSES = ["running", "succeeded", "failed", "interrupted"] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** Bound on StepResult.output: the tail is what explains a failure. */
export const MAX_STEP_OUTPUT_CHARS = 4096;

/** Bounds on StepResult.warnings: a step has at most a few things worth a warning event. */
export const MAX_STEP_WARNINGS = 8;
export const MAX_STEP_WARNING_CHARS = 1024;

/**
 * Codes of a step warning: a step that succeeded but did something an operator must know about.
 * "merge-conflicts": the merge took the other side's version of some paths and saved this side's on a
 * pushed failover branch; "mass-deletion-held": deletions over the replication limit were not committed.
 * A reader that does not know a code shows its message as it is.
 */
export const STEP_WARNING_CODES = ["merge-conflicts", "mass-deletion-held"] as const;

/** A warning a step that succeeded raises: `message` says what happened and how to reconcile. */
export const StepWarningSchema = z.object({
	code: z.string().check(z.maxLength(64)),
	message: z.string().check(z.maxLength(MAX_STEP_WARNING_CHARS)),
});
export type StepWarning = z.infer<typeof StepWarningSchema>;

// Response schemas are not strict, so an older reader tolerates fields a newer agent adds.
export const StepResultSchema = z.object({
	step: z.string(),
	status: z.enum(STEP_STATUSES),
	ms: z.optional(z.number().check(z.nonnegative())),
	exitCode: z.optional(z.nullable(z.int())),
	output: z.optional(z.string()),
	error: z.optional(z.string()),
	/** What a succeeded step wants an operator to know (absent from older agents). */
	warnings: z.optional(z.array(StepWarningSchema).check(z.maxLength(MAX_STEP_WARNINGS))),
});
export type StepResult = z.infer<typeof StepResultSchema>;

export const OperationRecordSchema = z.object({
	opId: OpIdSchema,
	action: z.enum(COMMAND_ACTIONS),
	term: TermSchema,
	status: z.enum(OPERATION_STATUSES),
	startedAt: z.number(),
	finishedAt: z.optional(z.number()),
	steps: z.array(StepResultSchema),
	/** Why the operation failed as a whole when no step explains it (e.g. superseded by a higher term). */
	error: z.optional(z.string()),
});
export type OperationRecord = z.infer<typeof OperationRecordSchema>;

export const PEER_PROBE_REASONS = [
	"timeout",
	"connect-error",
	"http-status",
	"body-mismatch",
] as const;
export type PeerProbeReason = (typeof PEER_PROBE_REASONS)[number];

export const PeerProbeSchema = z.object({
	ok: z.boolean(),
	latencyMs: z.number().check(z.nonnegative()),
	reason: z.optional(z.enum(PEER_PROBE_REASONS)),
	status: z.optional(z.int()),
	consecutiveFailures: z.int().check(z.minimum(0)),
	consecutiveSuccesses: z.int().check(z.minimum(0)),
	checkedAt: z.number(),
	ageMs: z.int(),
});
export type PeerProbe = z.infer<typeof PeerProbeSchema>;

/**
 * How an agent's own gateway is doing, read from its local readiness URL by a loopback caller (which
 * OpenClaw answers with the failing checks). "starting": the unit is activating, or the process started
 * recently and only start-up checks fail (OpenClaw: `startup-sidecars`), or the port still refuses
 * within the start-up window; "not-ready": up but failing other checks; "stopped": the unit is inactive
 * or nothing listens outside the start-up window.
 */
export const LOCAL_GATEWAY_STATES = ["ready", "starting", "not-ready", "stopped"] as const;
export type LocalGatewayState = (typeof LOCAL_GATEWAY_STATES)[number];

export const LocalGatewaySchema = z.object({
	state: z.enum(LOCAL_GATEWAY_STATES),
	/** Names of the failing readiness checks from the gateway's detailed body (empty when none or unknown). */
	failing: z.array(z.string().check(z.maxLength(64))).check(z.maxLength(32)),
	/** ms since the gateway's unit became active, when the agent knows it. */
	uptimeMs: z.optional(z.int().check(z.minimum(0))),
	/** HTTP status of the local readiness URL, when it answered. */
	status: z.optional(z.int()),
	/** One line for people: what the agent saw. */
	detail: z.string().check(z.maxLength(256)),
	/** Agent clock (ms since epoch) when it checked. */
	checkedAt: z.number(),
});
export type LocalGateway = z.infer<typeof LocalGatewaySchema>;

export const REPLICATION_MODES = ["active", "held", "standby", "off"] as const;
export type ReplicationMode = (typeof REPLICATION_MODES)[number];

/** One current problem of replication, for people: what is wrong and what to do. */
export const ReplicationProblemSchema = z.object({
	/** Stable tag (e.g. "push-rejected", "remote-unreachable", "stalled", "mass-deletion-held"). */
	kind: z.string().check(z.maxLength(64)),
	message: z.string().check(z.maxLength(1024)),
	hint: z.string().check(z.maxLength(512)),
	/** Agent clock (ms since epoch) when this reason first appeared. */
	since: z.number(),
});
export type ReplicationProblem = z.infer<typeof ReplicationProblemSchema>;

/**
 * The workspace replication of one agent (issue 10). "active": holds a fresh lease naming this side and
 * pushes to the main branch; "held": commits go to a failover/<side>-<time> branch (no fresh lease);
 * "standby": the other side is active, this one only fetches (warm copy); "off": not configured.
 */
export const ReplicationStatusSchema = z.object({
	mode: z.enum(REPLICATION_MODES),
	/** Term of the newest valid lease this agent holds, and ms until it expires (negative: expired). */
	leaseTerm: z.nullable(TermSchema),
	leaseExpiresInMs: z.nullable(z.int()),
	/** Last successful push to the main branch, ms since epoch, and its age in ms. */
	lastPushAt: z.nullable(z.number()),
	lastPushAgeMs: z.nullable(z.int()),
	/** Local commits no remote branch holds yet, and the age of the oldest of them (ms). */
	pendingCommits: z.int().check(z.minimum(0)),
	oldestPendingAgeMs: z.nullable(z.int()),
	/** Branch the commits made without a lease go to, while held. */
	heldBranch: z.nullable(z.string().check(z.maxLength(256))),
	/** Standby: commits the remote main branch has that this workspace lacks, and when it last fetched. */
	behindCommits: z.nullable(z.int().check(z.minimum(0))),
	lastFetchAt: z.nullable(z.number()),
	/** "watching": filesystem events; "timer": the watch failed (e.g. inotify limit), interval only. */
	watch: z.enum(["watching", "timer", "off"]),
	problem: z.nullable(ReplicationProblemSchema),
	/** Paths refused for replication (size cap, credentials, nested repos, ...), newest first, bounded. */
	refused: z.array(z.string().check(z.maxLength(512))).check(z.maxLength(32)),
	/**
	 * The newest merge that found paths changed on both sides (kept until a newer one: a problem
	 * clears on the next cycle, this does not), so the watchdog can raise one warning per merge:
	 * when (agent clock, ms), which merge (replication's own, or the promote/sync step), the paths
	 * (bounded), and the pushed branch holding this side's version (null: its push failed; it is the
	 * merge's first parent). Absent from agents older than the field; null: no conflict since start.
	 */
	lastConflict: z.optional(
		z.nullable(
			z.object({
				at: z.number(),
				by: z.enum(["replication", "promote", "sync"]),
				paths: z.array(z.string().check(z.maxLength(512))).check(z.maxLength(32)),
				savedBranch: z.nullable(z.string().check(z.maxLength(256))),
			}),
		),
	),
});
export type ReplicationStatus = z.infer<typeof ReplicationStatusSchema>;

/**
 * A dial-out agent's view of its connection to the Worker (agent/src/dial-out.ts), pushed in its status
 * so the admin pair view shows faults only the agent sees: a redeploy that dropped the socket (connects,
 * last close), garbled frames from the Worker or a proxy (dropped), signed requests it refused, and the
 * Worker's clock far off (clock-skew refusals, skew). Counters run since the agent started.
 */
export const DialOutReportSchema = z.object({
	connected: z.boolean(),
	/** Connections opened since the agent started: more than one means it redialled. */
	connects: z.int().check(z.minimum(0)),
	/** How the previous connection ended (code and reason), and when (ms since epoch, agent clock). */
	lastClose: z.nullable(z.string().check(z.maxLength(256))),
	lastCloseAt: z.nullable(z.number()),
	/** Frames from the Worker that were not a valid frame (garbled, oversized, binary): dropped unread. */
	dropped: z.int().check(z.minimum(0)),
	/** Request frames the agent's own checks refused (signature, audience, replay, timestamp ...). */
	refused: z.int().check(z.minimum(0)),
	/** Of those, refused for the timestamp: the two clocks disagree by more than the allowed skew. */
	clockSkew: z.int().check(z.minimum(0)),
	/** The newest reason a frame was dropped or refused. */
	lastDrop: z.nullable(z.string().check(z.maxLength(256))),
	/** The agent's clock minus the Worker's at the newest frame that carried the Worker's time (ms). */
	skewMs: z.nullable(z.number()),
});
export type DialOutReport = z.infer<typeof DialOutReportSchema>;

export const StatusResponseSchema = z.object({
	version: z.literal(PROTOCOL_VERSION),
	role: z.enum(ROLES),
	term: TermSchema,
	gatewayActive: z.boolean(),
	lastOperation: z.nullable(OperationRecordSchema),
	peer: z.nullable(PeerProbeSchema),
	now: z.number(),
	/** This agent's own gateway (absent from agents older than the field). */
	local: z.optional(z.nullable(LocalGatewaySchema)),
	/** Maintenance window set on this VPS (`failover-agent maintenance --for`), ms since epoch; null: none. */
	maintenanceUntil: z.optional(z.nullable(z.number())),
	/**
	 * The primary's self-fence (absent from older agents, null when off): whether it has stopped its
	 * gateway (when, why), and the newest fence problem.
	 */
	fence: z.optional(
		z.nullable(
			z.object({
				fenced: z.nullable(
					z.object({ at: z.number(), reason: z.string().check(z.maxLength(512)) }),
				),
				problem: z.nullable(z.string().check(z.maxLength(512))),
			}),
		),
	),
	/** Workspace replication (absent from agents older than the field, null when not configured). */
	replication: z.optional(z.nullable(ReplicationStatusSchema)),
	/** The dial-out connection as the agent sees it (absent from older agents and endpoint agents). */
	dialOut: z.optional(z.nullable(DialOutReportSchema)),
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

export const HealthzResponseSchema = z.object({ ok: z.literal(true) });

export const ERROR_CODES = [
	"missing-signature",
	"bad-signature",
	"unknown-key",
	"stale-timestamp",
	"malformed-headers",
	"wrong-audience",
	"action-not-allowed",
	"replayed-nonce",
	"stale-term",
	"opid-conflict",
	"invalid-body",
	"body-too-large",
	"unsupported-media-type",
	"rate-limited",
	"not-found",
	"method-not-allowed",
	"internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every 4xx/5xx answer. `code` is a plain string so a newer agent's codes still parse. */
export const ErrorResponseSchema = z.object({
	error: z.object({ code: z.string(), message: z.string() }),
});
export type ErrorResponse = { error: { code: ErrorCode; message: string } };
