// Replicates the workspace: the lease holder commits and pushes to the main branch, others hold or fetch.
import type { ReplicationProblem, ReplicationStatus, Role } from "../../../protocol";
import type { Logger } from "../log";
import { failoverBranchName } from "../steps/git-push";
import { type GitCapture, gitCapture, ok, shownRemote } from "../steps/git-session";
import type { MergeConflict } from "../steps/types";
import { commitChanges, ensureExcludes, ignoredPaths } from "./commit-changes";
import type { ReplicationConfig } from "./config";
import { newPolicyMemory, type PolicyOptions } from "./content-policy";
import { integrateBusy, refusalKind } from "./integrate";
import type { LeaseHolder } from "./lease-holder";
import { type Diagnosis, diagnose } from "./push-failure";
import { repairRepository } from "./repo-health";
import { type WorkspaceWatch, watchWorkspace } from "./watch";
import { withWorkspaceLock } from "./workspace-lock";

/** Bound on the refused-paths list in status: the first few name the problem; the log has them all. */
const MAX_REFUSED_SHOWN = 32;
/** After a file event, wait this long past the settle time before looking, so a burst of writes is one cycle. */
const DEBOUNCE_EXTRA_MS = 250;
/**
 * A merge's conflicts stay the status's problem this long after the merge (unless another problem comes
 * first), so the watchdog reads them: the next cycle, as soon as a file settles, would otherwise clear
 * them before a tick asks. Twice the longest tick interval (probeIntervalSeconds <= 300).
 */
export const CONFLICT_NOTICE_MS = 600_000;

export interface ReplicatorOptions {
	readonly workspace: string;
	readonly side: Role;
	readonly config: ReplicationConfig;
	readonly lease: LeaseHolder;
	readonly log: Logger;
	readonly now?: () => number;
	/** Injectable git (tests simulate a full disk by wrapping the real one). */
	readonly git?: GitCapture;
	/** Injectable process check for stale locks (tests). */
	readonly liveGit?: (workspace: string) => Promise<boolean | "unknown">;
}

/** What one cycle did, for tests and logs. */
export interface CycleReport {
	readonly mode: ReplicationStatus["mode"];
	readonly committed: string | null;
	readonly pushedTo: string | null;
	readonly problem: Diagnosis | null;
	readonly conflicts: readonly string[];
}

export class Replicator {
	readonly #o: ReplicatorOptions;
	readonly #git: GitCapture;
	readonly #now: () => number;
	readonly #policy: PolicyOptions;
	readonly #memory = newPolicyMemory();
	#mode: ReplicationStatus["mode"] = "standby";
	#lastPushAt: number | null = null;
	#pending = 0;
	#oldestPendingAt: number | null = null;
	#heldBranch: string | null = null;
	/** HEAD last pushed to the held branch: an unchanged HEAD is not pushed again every cycle. */
	#heldPushed: string | null = null;
	#behind: number | null = null;
	#lastFetchAt: number | null = null;
	#problem: ReplicationProblem | null = null;
	/** The last merge's conflicts, reported until `until` (CONFLICT_NOTICE_MS) unless another problem comes. */
	#conflictNotice: { problem: Diagnosis; until: number } | null = null;
	#refused: string[] = [];
	#lastConflict: MergeConflict | null = null;
	#watch: WorkspaceWatch | null = null;
	#watchMode: ReplicationStatus["watch"] = "off";
	#timer: ReturnType<typeof setInterval> | null = null;
	#debounce: ReturnType<typeof setTimeout> | null = null;
	#running: Promise<CycleReport> | null = null;
	#again = false;
	#stopped = false;
	#unsubscribe: (() => void) | null = null;

	constructor(o: ReplicatorOptions) {
		this.#o = o;
		this.#now = o.now ?? Date.now;
		const c = o.config;
		this.#git =
			o.git ??
			gitCapture(
				o.workspace,
				{
					identity: c.identity,
					...(c.sshKnownHostsFile ? { knownHostsFile: c.sshKnownHostsFile } : {}),
					...(c.sshKeyFile ? { sshKeyFile: c.sshKeyFile } : {}),
				},
				c.gitTimeoutSeconds * 1000,
			);
		this.#policy = {
			settleMs: c.settleSeconds * 1000,
			emptyHoldMs: c.emptyHoldSeconds * 1000,
			maxFileBytes: c.maxFileBytes,
			massDeleteShare: c.massDeleteShare,
			massDeleteMinFiles: c.massDeleteMinFiles,
			// Half the interval: a file that never goes quiet is committed, and pushed, well within the
			// interval (the recovery point target is one interval, push time included).
			maxWaitMs: Math.max(c.settleSeconds * 1000, (c.replicateIntervalSeconds * 1000) / 2),
		};
	}

	/** Starts the interval timer and the filesystem watch (falling back to the timer alone, and saying so). */
	start(): void {
		const intervalMs = this.#o.config.replicateIntervalSeconds * 1000;
		this.#timer = setInterval(() => this.trigger(), intervalMs);
		this.#timer.unref?.();
		this.#watch = watchWorkspace(this.#o.workspace, {
			onChange: () => this.#debounced(),
			onFallback: (why) => {
				this.#watchMode = "timer";
				this.#o.log.warn("replication: file watch unavailable, replicating on the timer only", {
					reason: why,
					intervalSeconds: this.#o.config.replicateIntervalSeconds,
					hint: "raise fs.inotify.max_user_watches (sysctl) to get change-driven replication back",
				});
			},
		});
		this.#watchMode = this.#watch.active ? "watching" : "timer";
		// A regained lease pushes held commits at once rather than at the next interval.
		this.#unsubscribe = this.#o.lease.onNewLease(() => {
			if (this.#o.lease.activeTerm() !== null && this.#mode !== "active") this.trigger();
		});
		this.trigger();
	}

	async stop(): Promise<void> {
		this.#stopped = true;
		if (this.#timer) clearInterval(this.#timer);
		if (this.#debounce) clearTimeout(this.#debounce);
		this.#watch?.close();
		this.#unsubscribe?.();
		await this.#running?.catch(() => {});
	}

	/** Asks for a cycle soon; cycles never overlap (one more runs after the current one if asked meanwhile). */
	trigger(): void {
		if (this.#stopped) return;
		if (this.#running) {
			this.#again = true;
			return;
		}
		void this.cycle().catch((e) =>
			this.#o.log.error("replication cycle threw (a bug)", { error: String(e) }),
		);
	}

	/**
	 * One cycle per burst of file events, at most settle time + 250 ms after the burst's first event. Not
	 * reset by later events: a file written every second would otherwise postpone the cycle forever.
	 */
	#debounced(): void {
		if (this.#debounce) return;
		this.#debounce = setTimeout(() => {
			this.#debounce = null;
			this.trigger();
		}, this.#policy.settleMs + DEBOUNCE_EXTRA_MS);
		this.#debounce.unref?.();
	}

	/** Runs one cycle now (waiting for the one in progress first). Tests drive replication through this. */
	async cycle(): Promise<CycleReport> {
		while (this.#running) await this.#running.catch(() => {});
		const run = withWorkspaceLock(this.#o.workspace, () => this.#cycle());
		this.#running = run;
		try {
			return await run;
		} finally {
			this.#running = null;
			if (this.#again && !this.#stopped) {
				this.#again = false;
				this.trigger();
			}
		}
	}

	status(now: number = this.#now()): ReplicationStatus {
		const view = this.#o.lease.view(now);
		return {
			mode: this.#mode,
			leaseTerm: view.kind === "none" ? null : view.lease.term,
			leaseExpiresInMs:
				view.kind === "fresh" ? view.expiresInMs : view.kind === "expired" ? -view.agoMs : null,
			lastPushAt: this.#lastPushAt,
			lastPushAgeMs: this.#lastPushAt === null ? null : Math.max(0, now - this.#lastPushAt),
			pendingCommits: this.#pending,
			oldestPendingAgeMs:
				this.#oldestPendingAt === null ? null : Math.max(0, now - this.#oldestPendingAt),
			heldBranch: this.#heldBranch,
			behindCommits: this.#behind,
			lastFetchAt: this.#lastFetchAt,
			watch: this.#watchMode,
			problem: this.#problem,
			refused: this.#refused.slice(0, MAX_REFUSED_SHOWN),
			lastConflict:
				this.#lastConflict === null
					? null
					: {
							...this.#lastConflict,
							paths: this.#lastConflict.paths.slice(0, MAX_REFUSED_SHOWN),
						},
		};
	}

	/** Keeps the newest merge with conflicts for status (the git-sync step reports its own here too). */
	noteConflict(conflict: MergeConflict): void {
		if (this.#lastConflict === null || conflict.at >= this.#lastConflict.at)
			this.#lastConflict = conflict;
	}

	async #cycle(): Promise<CycleReport> {
		const now = this.#now();
		const git = this.#git;
		const report = (problem: Diagnosis | null, extra: Partial<CycleReport> = {}): CycleReport => {
			this.#setProblem(problem, now);
			return {
				mode: this.#mode,
				committed: null,
				pushedTo: null,
				problem: this.#problem === null ? null : problem,
				conflicts: [],
				...extra,
			};
		};

		const gitDirRun = await git(["rev-parse", "--absolute-git-dir"]);
		if (!ok(gitDirRun)) {
			const text = gitDirRun.kind === "exited" ? gitDirRun.stderr : "";
			return report(
				/dubious ownership/i.test(text)
					? {
							kind: "dubious-ownership",
							message: `git refuses ${this.#o.workspace}: owned by another user`,
							hint: "run the agent as the workspace's owner (safe.directory is already passed for the workspace itself)",
						}
					: {
							kind: "not-a-repository",
							message: `${this.#o.workspace} is not a git repository`,
							hint: "clone the workspace's remote into it (docs/deployment.md), then replication starts by itself",
						},
			);
		}
		const gitDir = gitDirRun.stdout.trim();

		for (const repair of await repairRepository({
			workspace: this.#o.workspace,
			gitDir,
			staleLockMs: this.#o.config.gitTimeoutSeconds * 1000,
			now,
			git,
			...(this.#o.liveGit ? { liveGit: this.#o.liveGit } : {}),
		})) {
			switch (repair.kind) {
				case "stale-lock-cleared":
					this.#o.log.warn("replication: cleared a stale git lock", {
						path: repair.path,
						ageSeconds: Math.round(repair.ageMs / 1000),
					});
					break;
				case "lock-held":
					return report({
						kind: "index-locked",
						message: `${repair.path} exists (${Math.round(repair.ageMs / 1000)} s old): ${repair.why}`,
						hint: "it is cleared automatically once it is older than replication.gitTimeoutSeconds and no git runs in the workspace",
					});
				case "state-aborted":
					this.#o.log.warn("replication: aborted a leftover git operation", {
						state: repair.state,
					});
					break;
				case "state-stuck":
					return report({
						kind: "leftover-state",
						message: `a ${repair.state} in progress could not be aborted: ${repair.error}`,
						hint: `finish or abort it by hand in the workspace (git ${repair.state} --abort)`,
					});
			}
		}

		const branchRun = this.#o.config.branch
			? null
			: await git(["symbolic-ref", "--quiet", "--short", "HEAD"]);
		const branch =
			this.#o.config.branch ?? (branchRun && ok(branchRun) ? branchRun.stdout.trim() : "");
		if (branch === "") {
			return report({
				kind: "detached-head",
				message: `the workspace ${this.#o.workspace} has a detached HEAD`,
				hint: "check out the replicated branch (git switch main) or set replication.branch; nothing is committed until then",
			});
		}
		await ensureExcludes(gitDir, this.#o.config.ignore ?? []);
		for (const path of await ignoredPaths(git)) this.#noteRefused(path, "ignore list");

		const term = this.#o.lease.activeTerm(now);
		const side = this.#o.side;
		const subject =
			term !== null
				? `failover-gateway: ${side} at term ${term}`
				: `failover-gateway: ${side} without a lease (held)`;
		const committed = await commitChanges({
			git,
			workspace: this.#o.workspace,
			gitDir,
			now,
			options: this.#policy,
			memory: this.#memory,
			extraIgnore: this.#o.config.ignore ?? [],
			subject,
		});
		let problem: Diagnosis | null = null;
		let committedSha: string | null = null;
		if (committed.kind === "committed" || committed.kind === "nothing") {
			const verdict = committed.verdict;
			if (committed.kind === "committed") {
				committedSha = committed.sha;
				// A path refused earlier (too large, not a file) that is now committed is replicated: the
				// status must stop naming it as refused.
				const staged = new Set(committed.verdict.stage);
				this.#refused = this.#refused.filter((p) => !staged.has(p));
			}
			for (const r of verdict?.refused ?? []) this.#noteRefused(r.path, r.reason);
			if (verdict && verdict.heldDeletions.length > 0) {
				problem = {
					kind: "mass-deletion-held",
					message: `${verdict.heldDeletions.length} tracked files were deleted at once (over ${Math.round(this.#policy.massDeleteShare * 100)}% of the workspace): not replicated`,
					hint: "if the deletion is intended, commit it by hand in the workspace (git add -A && git commit); the agent then pushes it",
				};
			}
			if (verdict?.nextSettleAt != null && !this.#stopped) {
				const wait = Math.max(0, verdict.nextSettleAt - now) + DEBOUNCE_EXTRA_MS;
				const t = setTimeout(() => this.trigger(), wait);
				t.unref?.();
			}
		} else if (committed.kind === "disk-full") {
			problem = {
				kind: "disk-full",
				message: `${committed.reason} (${committed.fsck})`,
				hint: "free disk space on this host; the changes stay in the workspace and are committed on a later cycle",
			};
		} else {
			problem =
				refusalKind(committed.reason).kind === "locked"
					? {
							kind: "index-locked",
							message: committed.reason,
							hint: "a killed git left a lock file: it is cleared automatically once it is older than replication.gitTimeoutSeconds and no git runs in the workspace; the changes stay in the workspace",
						}
					: {
							kind: "commit-failed",
							message: committed.reason,
							hint: "run git status in the workspace as the agent's user; the changes stay in the workspace (unstaged) and are committed on a later cycle",
						};
		}

		const remote = this.#o.config.remote;
		let pushedTo: string | null = null;
		let conflicts: readonly string[] = [];
		if (term !== null) {
			this.#mode = "active";
			const pushed = await this.#pushMain(git, remote, branch, now, gitDir);
			pushedTo = pushed.pushedTo;
			conflicts = pushed.conflicts;
			// A failed commit is usually why the merge or push failed after it: its reason stays in the message.
			problem =
				pushed.problem !== null && problem !== null && problem.kind !== "mass-deletion-held"
					? {
							...pushed.problem,
							message: `${pushed.problem.message}; before it, ${problem.message}`,
						}
					: (pushed.problem ?? problem);
		} else {
			const fetched = await this.#fetchWarm(git, remote, branch, now);
			problem = fetched ?? problem;
		}

		await this.#measure(git, remote, branch);
		if (term === null) {
			this.#mode = this.#pending > 0 ? "held" : "standby";
			if (this.#pending > 0) {
				this.#heldBranch ??= `failover/${side}-${failoverBranchName(now).slice("failover/".length)}`;
				const head = await git(["rev-parse", "HEAD"]);
				const sha = ok(head) ? head.stdout.trim() : null;
				if (sha === null || sha !== this.#heldPushed) {
					const saved = await git([
						"push",
						"--porcelain",
						remote,
						`HEAD:refs/heads/${this.#heldBranch}`,
					]);
					if (ok(saved)) {
						pushedTo = this.#heldBranch;
						this.#heldPushed = sha;
					} else problem = diagnose(`git push to ${this.#heldBranch}`, saved);
				}
				if (problem === null && this.#o.lease.expiredOnArrival()) {
					problem = {
						kind: "clock-skew",
						message: `the watchdog's lease was already expired when it arrived: this clock is ahead of the watchdog's by more than the lease's lifetime; ${this.#pending} commit(s) held on ${this.#heldBranch}`,
						hint: "check NTP on this host (timedatectl); replication to the main branch resumes once the clocks agree",
					};
				}
				problem ??= {
					kind: "held",
					message: `no fresh lease naming ${side} active: ${this.#pending} commit(s) kept on ${this.#heldBranch}, not on ${branch}`,
					hint: "they go to the main branch when the lease returns; after a failover the sync merges them",
				};
			}
		}
		// The stall warning carries the reason underneath and keeps a constant message (no changing
		// numbers: those are in status), so it is logged once when it starts and again only if the reason changes.
		const stallSeconds = this.#o.config.stallWarnSeconds;
		if (
			term !== null &&
			this.#oldestPendingAt !== null &&
			now - this.#oldestPendingAt > stallSeconds * 1000
		) {
			problem = {
				kind: "stalled",
				message: `commits unpushed for over ${stallSeconds} s${problem === null ? "" : `: ${problem.message}`}`,
				hint:
					problem?.hint ??
					"replication is not reaching the remote: see the agent's log for the push errors",
			};
		}
		if (conflicts.length > 0 && problem?.kind === "merge-conflicts")
			this.#conflictNotice = { problem, until: now + CONFLICT_NOTICE_MS };
		else if (problem !== null || (this.#conflictNotice && now >= this.#conflictNotice.until))
			this.#conflictNotice = null;
		else if (this.#conflictNotice) problem = this.#conflictNotice.problem;
		return report(problem, { committed: committedSha, pushedTo, conflicts });
	}

	/** Pushes HEAD to the main branch; when the remote moved, merges it first (conflicts saved on a branch). */
	async #pushMain(
		git: GitCapture,
		remote: string,
		branch: string,
		now: number,
		gitDir: string,
	): Promise<{ pushedTo: string | null; conflicts: readonly string[]; problem: Diagnosis | null }> {
		const none = { pushedTo: null, conflicts: [] as readonly string[] };
		// A URL remote may carry a token: messages (status, log, the merge commit) name it without one.
		const shown = shownRemote(remote);
		const head = await git(["rev-parse", "--verify", "--quiet", "HEAD"]);
		if (!ok(head)) return { ...none, problem: null };
		const unpushed = await this.#unpushedCount(git, branch);
		if (unpushed === 0) return { ...none, problem: null };
		let pushed = await git(["push", "--porcelain", remote, `HEAD:refs/heads/${branch}`]);
		let conflicts: readonly string[] = [];
		let savedBranch: string | null = null;
		if (!ok(pushed) && diagnose("push", pushed).kind === "push-rejected") {
			// The remote moved (the other side served meanwhile): integrate, then push once more.
			const fetched = await git([
				"fetch",
				"--no-tags",
				remote,
				`+refs/heads/${branch}:${warmRef(branch)}`,
			]);
			if (!ok(fetched)) return { ...none, problem: diagnose(`git fetch from ${shown}`, fetched) };
			const saveBranch = `failover/${this.#o.side}-${failoverBranchName(now).slice("failover/".length)}`;
			const merged = await integrateBusy({
				git,
				// A file written between this cycle's commit and the merge is committed as it is now rather
				// than blocking the merge until a cycle happens to fall between two writes.
				commitPaths: async (paths) => {
					const busy = await commitChanges({
						git,
						workspace: this.#o.workspace,
						gitDir,
						now: this.#now(),
						options: { ...this.#policy, settleMs: 0, maxWaitMs: 0 },
						memory: this.#memory,
						extraIgnore: this.#o.config.ignore ?? [],
						subject: `failover-gateway: ${this.#o.side} commits files still being written before a merge`,
						only: paths,
					});
					return busy.kind === "committed"
						? busy.sha
						: busy.kind === "nothing"
							? null
							: { error: busy.reason };
				},
				theirs: warmRef(branch),
				saveBranch,
				saveOurs: async (name, rev = "HEAD") => {
					const saved = await git(["push", "--porcelain", remote, `${rev}:refs/heads/${name}`]);
					return ok(saved) ? null : diagnose(`git push to ${name}`, saved).message;
				},
				message: `failover-gateway: ${this.#o.side} merges ${shown}/${branch}`,
			});
			if (merged.kind === "failed") {
				return {
					...none,
					problem:
						merged.lock !== undefined
							? {
									kind: "index-locked",
									message: `merging ${shown}/${branch}: ${merged.reason}`,
									hint: "another git runs in the workspace, or a killed one left the lock: it is cleared automatically once it is older than replication.gitTimeoutSeconds and no git runs in the workspace",
								}
							: {
									kind: "merge-failed",
									message: merged.reason,
									hint: "the workspace is unchanged; the merge is retried next cycle",
								},
				};
			}
			if (merged.kind === "merged" && merged.conflicts.length > 0) {
				conflicts = merged.conflicts;
				savedBranch = merged.savedBranch;
				this.noteConflict({
					at: now,
					by: "replication",
					paths: merged.conflicts,
					savedBranch: merged.savedBranch,
				});
				this.#o.log.warn("replication: merged with conflicts; our versions saved on a branch", {
					paths: merged.conflicts.slice(0, 50),
					branch: merged.savedBranch,
					hint: `compare and reconcile by hand: git diff ${branch} ${merged.savedBranch ?? "HEAD^1"} -- <path>`,
				});
			}
			pushed = await git(["push", "--porcelain", remote, `HEAD:refs/heads/${branch}`]);
		}
		if (!ok(pushed))
			return { ...none, conflicts, problem: diagnose(`git push to ${shown}/${branch}`, pushed) };
		await git(["update-ref", pushedRef(branch), "HEAD"]);
		this.#lastPushAt = now;
		if (this.#heldBranch !== null) {
			this.#o.log.info("replication: held commits are on the main branch again", {
				heldBranch: this.#heldBranch,
			});
			this.#heldBranch = null;
			this.#heldPushed = null;
		}
		return {
			pushedTo: branch,
			conflicts,
			problem:
				conflicts.length === 0
					? null
					: {
							kind: "merge-conflicts",
							message: `conflicting paths took ${shown}/${branch}'s version: ${conflicts.slice(0, 10).join(", ")}${conflicts.length > 10 ? ` and ${conflicts.length - 10} more` : ""}; ${this.#o.side}'s versions are on ${savedBranch ?? "a failover branch (see the log)"}`,
							hint: `reconcile by hand: git diff ${branch} ${savedBranch ?? "failover/<side>-<time>"} -- <path>, commit the merged file on the active side, then delete the branch`,
						},
		};
	}

	/** The warm copy: fetch (never merge) the main branch once per interval; count how far behind HEAD is. */
	async #fetchWarm(
		git: GitCapture,
		remote: string,
		branch: string,
		now: number,
	): Promise<Diagnosis | null> {
		const intervalMs = this.#o.config.replicateIntervalSeconds * 1000;
		if (this.#lastFetchAt !== null && now - this.#lastFetchAt < intervalMs) return null;
		const fetched = await git([
			"fetch",
			"--no-tags",
			remote,
			`+refs/heads/${branch}:${warmRef(branch)}`,
		]);
		if (!ok(fetched)) return diagnose(`git fetch from ${shownRemote(remote)}`, fetched);
		this.#lastFetchAt = now;
		const behind = await git(["rev-list", "--count", `HEAD..${warmRef(branch)}`]);
		this.#behind = ok(behind) ? Number(behind.stdout.trim()) : null;
		return null;
	}

	/** Commits on HEAD that no known copy of the main branch holds (our last push, the warm fetch, origin/<branch>). */
	async #unpushedCount(git: GitCapture, branch: string): Promise<number> {
		const refs = await knownMainRefs(git, this.#o.config.remote, branch);
		const count = await git(["rev-list", "--count", "HEAD", ...refs.map((r) => `^${r}`)]);
		return ok(count) ? Number(count.stdout.trim()) : 0;
	}

	/** Recomputed every cycle, so a stall shows even when nothing new is committed. */
	async #measure(git: GitCapture, remote: string, branch: string): Promise<void> {
		const refs = await knownMainRefs(git, remote, branch);
		const log = await git(["log", "--format=%ct", "HEAD", ...refs.map((r) => `^${r}`)]);
		if (!ok(log)) {
			this.#pending = 0;
			this.#oldestPendingAt = null;
			return;
		}
		const times = log.stdout.split("\n").filter((l) => l !== "");
		this.#pending = times.length;
		const oldest = times.at(-1);
		this.#oldestPendingAt = oldest === undefined ? null : Number(oldest) * 1000;
	}

	#noteRefused(path: string, reason: string): void {
		if (this.#refused.includes(path)) return;
		this.#refused.unshift(path);
		this.#refused.length = Math.min(this.#refused.length, MAX_REFUSED_SHOWN);
		this.#o.log.warn("replication: path not replicated", { path, reason });
	}

	/** The current problem; logged as a warning only when its kind or message changes. */
	#setProblem(problem: Diagnosis | null, now: number): void {
		const old = this.#problem;
		if (problem === null) {
			if (old !== null) this.#o.log.info("replication: recovered", { was: old.kind });
			this.#problem = null;
			return;
		}
		if (old !== null && old.kind === problem.kind && old.message === problem.message) return;
		this.#problem = {
			kind: problem.kind,
			message: problem.message.slice(0, 1024),
			hint: problem.hint.slice(0, 512),
			since: old !== null && old.kind === problem.kind ? old.since : now,
		};
		this.#o.log.warn("replication problem", {
			kind: problem.kind,
			reason: problem.message,
			hint: problem.hint,
		});
	}
}

/** Local refs (never pushed anywhere): what we last pushed, and the warm copy of the remote's branch. */
export const pushedRef = (branch: string) => `refs/remotes/failover-gateway/pushed/${branch}`;
export const warmRef = (branch: string) => `refs/remotes/failover-gateway/warm/${branch}`;

async function knownMainRefs(git: GitCapture, remote: string, branch: string): Promise<string[]> {
	const candidates = [pushedRef(branch), warmRef(branch), `refs/remotes/${remote}/${branch}`];
	const found = await git(["for-each-ref", "--format=%(refname)", ...candidates]);
	if (!ok(found)) return [];
	const existing = new Set(found.stdout.split("\n").filter((l) => l !== ""));
	return candidates.filter((c) => existing.has(c));
}
