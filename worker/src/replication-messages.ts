// The words of replication events and labels: what each problem kind is called and what each event says. Pure.
import type { ReplicationEvent } from "./replication-events";
import type { Evidence, ReplicationFacts, Side } from "./types";

/** Paths named in one event; the agent's status has the rest. */
export const MAX_PATHS_NAMED = 10;
/** Problems that hold commits or changes back on purpose (the rest are failures). */
const HELD_KINDS: ReadonlySet<string> = new Set(["held", "clock-skew", "mass-deletion-held"]);
/**
 * Short labels by the agent's problem kinds (agent/src/replication/*), public-safe: no paths, hosts
 * or messages. A kind not listed (a newer agent) is shown by its tag.
 */
const LABELS: Readonly<Record<string, string>> = {
	auth: "pushes are refused: no write access to the remote",
	"host-key": "the remote's host key is not trusted",
	"push-rejected": "the remote rejects the push",
	"remote-unreachable": "the remote cannot be reached",
	"remote-missing": "the configured remote names no repository",
	"disk-full": "the disk is full",
	"git-failed": "a git command fails",
	stalled: "stalled: commits are not reaching the remote",
	held: "commits are held on a failover branch (no lease)",
	"clock-skew": "commits are held: this host's clock is off",
	"mass-deletion-held": "a mass deletion is held for the operator",
	"not-a-repository": "the workspace is not a git repository",
	"dubious-ownership": "git refuses the workspace (owned by another user)",
	"detached-head": "the workspace has a detached HEAD",
	"index-locked": "a git lock blocks commits",
	"leftover-state": "an unfinished merge or rebase blocks commits",
	"commit-failed": "commits fail",
	"merge-failed": "merging the other side's changes fails",
	"merge-conflicts": "a merge found paths both sides changed",
};

/** One phrase for a problem kind, without any detail from the agent (safe for the public view). */
export function problemLabel(kind: string): string {
	return LABELS[kind] ?? `problem "${kind}"`;
}
export function whose(side: Side): string {
	return side === "primary" ? "the primary's" : "the standby's";
}

function capital(s: string): string {
	return s.charAt(0).toUpperCase() + s.slice(1);
}

export function problemEvent(
	side: Side,
	f: ReplicationFacts,
	p: NonNullable<ReplicationFacts["problem"]>,
	evidence: Evidence[],
	now: number,
): ReplicationEvent {
	const who = whose(side);
	const runbook = 'See docs/runbook.md, "Workspace replication".';
	if (p.kind === "merge-conflicts") {
		return {
			kind: "replication-conflict",
			severity: "warning",
			summary: `${who} agent merged the other side's work and both had changed the same paths: ${p.message}. Nothing is lost: the workspace keeps the other side's (newer) version, ${who} own is on the failover branch`,
			evidence,
			next: `${capital(p.hint)}. ${runbook}`,
		};
	}
	if (HELD_KINDS.has(p.kind)) {
		const held =
			p.kind === "mass-deletion-held"
				? `${who} agent holds a mass deletion for the operator: ${p.message}`
				: `${who} agent holds ${f.pendingCommits} commit(s)${f.heldBranch ? ` on ${f.heldBranch}` : ""}, not on the main branch: ${p.message}`;
		return {
			kind: "replication-held",
			severity: "warning",
			summary: held,
			evidence,
			next: `${p.hint} ${runbook}`,
		};
	}
	const lastPush =
		f.lastPushAt === null ? "no push yet" : `last push ${ageText(now - f.lastPushAt)} ago`;
	return {
		kind: "replication-failing",
		severity: "warning",
		summary: `${who} workspace replication: ${problemLabel(p.kind)} (${lastPush}, ${f.pendingCommits} commit(s) pending): ${p.message}`,
		evidence,
		next: `${capital(p.hint)}. ${runbook}`,
	};
}

export function refusedEvent(
	side: Side,
	paths: readonly string[],
	evidence: Evidence[],
): ReplicationEvent {
	const named = paths.slice(0, MAX_PATHS_NAMED).join(", ");
	const more = paths.length > MAX_PATHS_NAMED ? ` and ${paths.length - MAX_PATHS_NAMED} more` : "";
	return {
		kind: "replication-refused",
		severity: "warning",
		summary: `${whose(side)} agent does not replicate ${paths.length} path(s): ${named}${more}`,
		evidence,
		next: "These stay on that host only (over the size cap, on the ignore list, a nested repository, a dangling symlink): the rest of the workspace keeps replicating. If one must reach the other side, shrink or move it, or change replication.ignore / replication.maxFileBytes in the agent's config; the agent's log says why each was refused. See docs/runbook.md, \"Workspace replication\".",
	};
}

export function cleared(kind: string, summary: string, evidence: Evidence[]): ReplicationEvent {
	return {
		kind: "condition-cleared",
		severity: "info",
		summary: `${summary} (was: ${problemLabel(kind)})`,
		evidence,
		next: "",
	};
}

export function recoveredText(side: Side, f: ReplicationFacts, now: number): string {
	const lastPush = f.lastPushAt === null ? "" : `; last push ${ageText(now - f.lastPushAt)} ago`;
	return `${whose(side)} workspace replication is healthy again: mode ${f.mode}, ${f.pendingCommits} commit(s) pending${lastPush}`;
}

/** One line on a side's replication, for evidence and logs. */
export function describeFacts(side: Side, f: ReplicationFacts, now: number): string {
	const parts = [`${side} agent: replication ${f.mode}`];
	parts.push(
		f.lastPushAt === null ? "no push yet" : `last push ${ageText(now - f.lastPushAt)} ago`,
	);
	parts.push(`${f.pendingCommits} pending`);
	if (f.behindCommits !== null) parts.push(`${f.behindCommits} behind the remote`);
	if (f.heldBranch) parts.push(`held on ${f.heldBranch}`);
	if (f.problem) parts.push(`problem ${f.problem.kind}`);
	return parts.join(", ");
}

function ageText(ms: number): string {
	const s = Math.max(0, Math.round(ms / 1000));
	if (s < 120) return `${s} s`;
	const m = Math.round(s / 60);
	return m < 120 ? `${m} min` : `${Math.round(m / 60)} h`;
}
