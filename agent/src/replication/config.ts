// The agent config's `replication` section: what is replicated, how often, and the limits, with reasons.
import { z } from "zod";
import { expected } from "../../../protocol";
import { SAFE_PATH_RE } from "../steps/git-session";
import { BranchNameSchema } from "../steps/schema";

/** Default push/fetch interval, s: the recovery point target at defaults is <= 30 s (issue 10). */
export const DEFAULT_REPLICATE_INTERVAL_SECONDS = 30;

const seconds = (min: number, max: number, fallback: number) =>
	z
		.int({ error: expected(`an integer from ${min} to ${max} (seconds)`) })
		.min(min)
		.max(max)
		.default(fallback);

const safePath = (what: string) =>
	z
		.string({ error: expected(`${what}: an absolute path of letters, digits, ".", "_", "/", "-"`) })
		.regex(SAFE_PATH_RE, `expected ${what} as a plain absolute path (it is passed to ssh)`);

export const ReplicationConfigSchema = z.strictObject({
	/**
	 * Off by default in this release: an enabled agent that never receives a lease (a Worker older than
	 * the lease) would hold every commit on a failover branch. Turn it on with a lease-sending Worker.
	 */
	enabled: z.boolean().default(false),
	remote: z
		.string()
		.regex(/^[^-\s][^\s]*$/, 'expected a git remote name or URL, e.g. "origin"')
		.default("origin"),
	/** Branch replicated to; default: the workspace's current branch. */
	branch: BranchNameSchema.optional(),
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
	maxFileBytes: z
		.int({ error: expected("an integer number of bytes") })
		.min(1_024)
		.max(1_073_741_824)
		.default(25 * 1024 * 1024),
	/** Deleting more than this share of tracked files in one cycle is held for the operator. */
	massDeleteShare: z.number().min(0).max(1).default(0.5),
	massDeleteMinFiles: z.int().min(1).max(1_000_000).default(10),
	/** Warn when the oldest unpushed commit is older than this, s (ten intervals at the default). */
	stallWarnSeconds: seconds(10, 86_400, 300),
	/** Deadline of one git command, s; also the age from which an index.lock counts as stale. */
	gitTimeoutSeconds: seconds(5, 3_600, 120),
	/** Extra gitignore-style patterns never replicated (after the built-in list; see docs/state.md). */
	ignore: z
		.array(
			z
				.string()
				.min(1)
				.max(256)
				.regex(/^[^\n\r]+$/),
		)
		.max(256)
		.optional(),
	/** Commit identity, passed on git's command line (a sandboxed home has no global config). */
	identity: z
		.strictObject({
			name: z
				.string()
				.min(1)
				.max(128)
				.regex(/^[^\n\r<>]+$/)
				.default("failover-gateway"),
			email: z
				.string()
				.min(3)
				.max(254)
				.regex(/^[^\s<>]+@[^\s<>]+$/)
				.default("failover-gateway@localhost"),
		})
		.default({ name: "failover-gateway", email: "failover-gateway@localhost" }),
	sshKnownHostsFile: safePath("sshKnownHostsFile").optional(),
	sshKeyFile: safePath("sshKeyFile").optional(),
	/** Pair name the lease must carry; default: the first valid lease's pair. */
	pair: z
		.string()
		.regex(/^[A-Za-z0-9._-]{1,64}$/)
		.optional(),
});

export type ReplicationConfig = z.output<typeof ReplicationConfigSchema>;
export const DEFAULT_REPLICATION: ReplicationConfig = Object.freeze(
	ReplicationConfigSchema.parse({}),
);
