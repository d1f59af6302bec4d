// The agent config's `replication` section: what is replicated, how often, and the limits, with reasons.
import { expected } from "../../../protocol";
import * as z from "../../../protocol/zod";
import { SAFE_PATH_RE } from "../steps/git-session";
import { BranchNameSchema } from "../steps/schema";

/** Default push/fetch interval, s: the recovery point target at defaults is <= 30 s (issue 10). */
export const DEFAULT_REPLICATE_INTERVAL_SECONDS = 30;

const seconds = (min: number, max: number, fallback: number) =>
	z._default(
		z
			.int({ error: expected(`an integer from ${min} to ${max} (seconds)`) })
			.check(z.minimum(min), z.maximum(max)),
		fallback,
	);

const safePath = (what: string) =>
	z
		.string({ error: expected(`${what}: an absolute path of letters, digits, ".", "_", "/", "-"`) })
		.check(
			z.regex(SAFE_PATH_RE, `expected ${what} as a plain absolute path (it is passed to ssh)`),
		);

export const ReplicationConfigSchema = z.strictObject({
	/**
	 * Off by default in this release: an enabled agent that never receives a lease (a Worker older than
	 * the lease) would hold every commit on a failover branch. Turn it on with a lease-sending Worker.
	 */
	enabled: z._default(z.boolean(), false),
	remote: z._default(
		z.string().check(z.regex(/^[^-\s][^\s]*$/, 'expected a git remote name or URL, e.g. "origin"')),
		"origin",
	),
	/** Branch replicated to; default: the workspace's current branch. */
	branch: z.optional(BranchNameSchema),
	/** Push (active) and fetch (standby) at least this often, s. */
	replicateIntervalSeconds: seconds(1, 3_600, DEFAULT_REPLICATE_INTERVAL_SECONDS),
	/**
	 * A changed file is committed once it has been quiet this long, s: the gateway's truncate-then-write
	 * takes milliseconds, so 2 s never commits a half-written file and adds 2 s to the recovery point.
	 */
	settleSeconds: seconds(0, 300, 2),
	/** A tracked file that became empty is committed only after staying empty this long, s. */
	emptyHoldSeconds: seconds(0, 86_400, 60),
	/** Largest file replicated, bytes: GitHub refuses files over 100 MB, so 25 MiB leaves room. */
	maxFileBytes: z._default(
		z
			.int({ error: expected("an integer number of bytes") })
			.check(z.minimum(1_024), z.maximum(1_073_741_824)),
		25 * 1024 * 1024,
	),
	/** Deleting more than this share of tracked files in one cycle is held for the operator. */
	massDeleteShare: z._default(z.number().check(z.minimum(0), z.maximum(1)), 0.5),
	massDeleteMinFiles: z._default(z.int().check(z.minimum(1), z.maximum(1_000_000)), 10),
	/** Warn when the oldest unpushed commit is older than this, s (ten intervals at the default). */
	stallWarnSeconds: seconds(10, 86_400, 300),
	/** Deadline of one git command, s; also the age from which an index.lock counts as stale. */
	gitTimeoutSeconds: seconds(5, 3_600, 120),
	/** Extra gitignore-style patterns never replicated (after the built-in list; see docs/state.md). */
	ignore: z.optional(
		z
			.array(z.string().check(z.minLength(1), z.maxLength(256), z.regex(/^[^\n\r]+$/)))
			.check(z.maxLength(256)),
	),
	/** Commit identity, passed on git's command line (a sandboxed home has no global config). */
	identity: z._default(
		z.strictObject({
			name: z._default(
				z.string().check(z.minLength(1), z.maxLength(128), z.regex(/^[^\n\r<>]+$/)),
				"failover-gateway",
			),
			email: z._default(
				z.string().check(z.minLength(3), z.maxLength(254), z.regex(/^[^\s<>]+@[^\s<>]+$/)),
				"failover-gateway@localhost",
			),
		}),
		{ name: "failover-gateway", email: "failover-gateway@localhost" },
	),
	sshKnownHostsFile: z.optional(safePath("sshKnownHostsFile")),
	sshKeyFile: z.optional(safePath("sshKeyFile")),
	/** Pair name the lease must carry; default: the first valid lease's pair. */
	pair: z.optional(z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/))),
});

export type ReplicationConfig = z.output<typeof ReplicationConfigSchema>;
export const DEFAULT_REPLICATION: ReplicationConfig = Object.freeze(
	ReplicationConfigSchema.parse({}),
);
