// Action step schemas (what a configured step may say, with its defaults) and the OpenClaw default actions.
import * as z from "../../../protocol/zod";

/**
 * Upper bound for any step's timeout: a failover step that needs more than an hour is a misconfiguration,
 * and the cap keeps a typo (an extra zero or three) from parking the agent's action queue for days.
 */
export const MAX_STEP_TIMEOUT_MS = 3_600_000;

/** Default deadline per step type, each with its reason. */
export const DEFAULT_TIMEOUT_MS = {
	/** One fetch of a workspace repository: generous for a slow link, bounded so a hung remote cannot stall a promotion. */
	"git-pull": 60_000,
	/** Commit, push, and on rejection a fetch and a second push: up to three round trips to the remote. */
	"git-push": 120_000,
	/** Commit, fetch, merge, and up to two pushes (the saved branch, the main branch): as git-push plus one. */
	"git-sync": 180_000,
	/** An operator's own script: a minute covers typical hooks; set more explicitly for long ones. */
	exec: 60_000,
	/**
	 * systemctl waits for the job; systemd's own DefaultTimeoutStartSec/StopSec is 90 s, so ours sits just above
	 * it and systemd's more specific failure message arrives first.
	 */
	"systemd-start": 100_000,
	"systemd-stop": 100_000,
	/** An OpenClaw gateway is ready within seconds of starting; 30 s bounds one that never comes up. */
	"wait-ready": 30_000,
} as const;

/** Poll the readiness URL twice a second: adds at most half a second to a promotion, ~60 requests per window. */
export const DEFAULT_READY_INTERVAL_MS = 500;

const timeoutMs = (type: keyof typeof DEFAULT_TIMEOUT_MS) =>
	z._default(
		z
			.int("expected timeoutMs to be a whole number of milliseconds")
			.check(
				z.minimum(100, "expected timeoutMs of at least 100 ms"),
				z.maximum(
					MAX_STEP_TIMEOUT_MS,
					`expected timeoutMs of at most ${MAX_STEP_TIMEOUT_MS} ms (one hour)`,
				),
			),
		DEFAULT_TIMEOUT_MS[type],
	);

/** Anything git reads as an option (leading "-") is refused, so a config value can never become a flag. */
const remote = z
	.string()
	.check(
		z.regex(
			/^[^-\s][^\s]*$/,
			'expected a git remote name or URL (no spaces, not starting with "-"), e.g. "origin"',
		),
	);

/**
 * A branch name git's check-ref-format accepts, and nothing git reads as an option (leading "-") or as a
 * ref of another kind ("HEAD", "refs/..."): a name git refuses would pass the config and then fail every
 * push at runtime. Shared by the git steps and the replication config.
 */
export const BranchNameSchema = z
	.string()
	.check(
		z.regex(
			/^(?!-)(?!HEAD$)(?!refs\/)(?!.*\.\.)(?!.*\/\/)(?!\/)(?!.*[/.]$)(?!(?:.*\/)?\.)(?!.*\.lock(?:\/|$))[A-Za-z0-9._/-]{1,200}$/,
			'expected a branch name git accepts (letters, digits, ".", "_", "/", "-"; not starting with "-" or "refs/", not "HEAD"; no "..", "//", a part starting with "." or ending in ".lock", no trailing "/" or "."), e.g. "main"',
		),
	);
const branch = BranchNameSchema;

/** A systemd unit name as systemctl accepts it; no leading "-", so it cannot be taken for an option. */
export const UnitNameSchema = z
	.string()
	.check(
		z.regex(
			/^(?!-)[A-Za-z0-9:_.@\\-]{1,255}$/,
			'expected a systemd unit name (letters, digits, ":", "_", ".", "@", "-"), e.g. "openclaw-gateway.service"',
		),
	);

const noNul = (what: string) =>
	z.string().check(z.refine((s) => !s.includes("\0"), `expected ${what} without NUL bytes`));

const httpUrl = z.url({
	protocol: /^https?$/,
	error: "expected an absolute http(s) URL, e.g. http://127.0.0.1:18789/readyz",
});

export const GitPullStepSchema = z.strictObject({
	type: z.literal("git-pull"),
	remote: z._default(remote, "origin"),
	/** Remote branch to fast-forward from; default: the workspace's current branch. */
	branch: z.optional(branch),
	timeoutMs: timeoutMs("git-pull"),
});

export const GitPushStepSchema = z.strictObject({
	type: z.literal("git-push"),
	remote: z._default(remote, "origin"),
	/** Remote branch to push to; default: the workspace's current branch. */
	branch: z.optional(branch),
	/** Commit message; default "failover-gateway: <action> at <ISO time>". */
	message: z.optional(
		noNul("message").check(
			z.minLength(1, "expected a non-empty commit message"),
			z.maxLength(4096),
		),
	),
	timeoutMs: timeoutMs("git-push"),
});

export const GitSyncStepSchema = z.strictObject({
	type: z.literal("git-sync"),
	remote: z._default(remote, "origin"),
	/** Remote branch to merge and push; default: the workspace's current branch. */
	branch: z.optional(branch),
	/** Changed files quiet for less than this (s) are left for replication, not committed mid-write. */
	settleSeconds: z._default(
		z
			.int("expected settleSeconds to be a whole number of seconds")
			.check(z.minimum(0), z.maximum(300)),
		2,
	),
	timeoutMs: timeoutMs("git-sync"),
});

export const ExecStepSchema = z.strictObject({
	type: z.literal("exec"),
	/** Program and arguments; never run through a shell, so no quoting, globbing or pipes. */
	argv: z
		.array(
			noNul("argv entries"),
			'expected argv to be an array of strings, e.g. ["/usr/local/bin/hook", "--now"]',
		)
		.check(
			z.minLength(1, "expected argv to name at least the program"),
			z.maxLength(256),
			z.refine((a) => (a[0] ?? "") !== "", "expected argv[0] to be the program, not empty"),
		),
	/** Working directory; relative paths resolve against the workspace; default: the workspace. */
	cwd: z.optional(noNul("cwd").check(z.minLength(1))),
	/** Added to (and overriding) the agent's environment. */
	env: z.optional(
		z.record(
			z
				.string()
				.check(
					z.regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected environment variable names like MY_VAR"),
				),
			noNul("environment values"),
			{
				error: (issue) =>
					issue.code === "invalid_key"
						? `expected environment variable names like MY_VAR, got ${JSON.stringify(issue.input)}`
						: undefined,
			},
		),
	),
	timeoutMs: timeoutMs("exec"),
});

export const SystemdStartStepSchema = z.strictObject({
	type: z.literal("systemd-start"),
	/** Overrides the agent's gateway unit name (same scope). */
	unit: z.optional(UnitNameSchema),
	timeoutMs: timeoutMs("systemd-start"),
});

export const SystemdStopStepSchema = z.strictObject({
	type: z.literal("systemd-stop"),
	unit: z.optional(UnitNameSchema),
	timeoutMs: timeoutMs("systemd-stop"),
});

export const WaitReadyStepSchema = z.strictObject({
	type: z.literal("wait-ready"),
	/** Default: the agent's local readiness URL. Ready means HTTP 200. */
	url: z.optional(httpUrl),
	intervalMs: z._default(
		z
			.int("expected intervalMs to be a whole number of milliseconds")
			.check(
				z.minimum(50, "expected intervalMs of at least 50 ms"),
				z.maximum(60_000, "expected intervalMs of at most 60000 ms"),
			),
		DEFAULT_READY_INTERVAL_MS,
	),
	timeoutMs: timeoutMs("wait-ready"),
});

export const STEP_TYPES = [
	"git-pull",
	"git-push",
	"git-sync",
	"exec",
	"systemd-start",
	"systemd-stop",
	"wait-ready",
] as const;

export const StepSchema = z.discriminatedUnion(
	"type",
	[
		GitPullStepSchema,
		GitPushStepSchema,
		GitSyncStepSchema,
		ExecStepSchema,
		SystemdStartStepSchema,
		SystemdStopStepSchema,
		WaitReadyStepSchema,
	],
	{ error: () => `expected "type" to be one of ${STEP_TYPES.join(", ")}` },
);

export type Step = z.output<typeof StepSchema>;
export type StepInput = z.input<typeof StepSchema>;
export type StepType = Step["type"];

export type ActionName = "promote" | "demote" | "sync";

const steps = (input: StepInput[]): readonly Step[] =>
	Object.freeze(
		z
			.array(StepSchema)
			.parse(input)
			.map((s) => Object.freeze(s)),
	);

/**
 * OpenClaw defaults: merge what the other side replicated before starting the gateway (git-sync: a
 * standby that diverged keeps its work on a failover branch instead of failing the promote); stop the
 * gateway before pushing what it wrote; after failback, the primary commits its own pending work and
 * merges the standby's (issue 10: a fast-forward-only pull refused nearly every real failback).
 */
export const DEFAULT_ACTIONS: Readonly<Record<ActionName, readonly Step[]>> = Object.freeze({
	promote: steps([{ type: "git-sync" }, { type: "systemd-start" }, { type: "wait-ready" }]),
	demote: steps([{ type: "systemd-stop" }, { type: "git-push" }]),
	sync: steps([{ type: "git-sync" }]),
});
