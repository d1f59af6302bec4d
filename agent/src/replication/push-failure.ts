// Names why a push or fetch failed (rejected, auth, host key, network, disk) with a hint for the operator.
import { describeRun, type GitRun } from "../steps/git-session";
import { isDiskFull } from "./repo-health";

export interface Diagnosis {
	/** Stable tag: the warning repeats only when this (or the message) changes. */
	readonly kind: string;
	readonly message: string;
	readonly hint: string;
}

/** Table of git's and ssh's wording, most specific first; the first match names the fault. */
const TABLE: readonly { kind: string; re: RegExp; hint: string }[] = [
	{
		kind: "push-rejected",
		re: /\[rejected\]|\[remote rejected\]|pre-receive hook declined|non-fast-forward|protected branch/i,
		hint: "the remote refuses this push (branch protection, a hook, or history that moved): check the remote's rules; the commits are kept locally",
	},
	{
		kind: "host-key",
		re: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i,
		hint: "add the remote's host key to replication.sshKnownHostsFile (ssh-keyscan, then verify the fingerprint)",
	},
	{
		kind: "auth",
		re: /Permission denied|Authentication failed|could not read Username|access denied|403|401/i,
		hint: "the agent's user cannot write to the remote: give it a deploy key with write access (replication.sshKeyFile) and test a push as that user",
	},
	{
		kind: "remote-unreachable",
		re: /Could not resolve host|Connection refused|Connection timed out|Network is unreachable|unable to access|Operation timed out|early EOF|Could not read from remote/i,
		hint: "the remote cannot be reached: check DNS and the network; commits accumulate locally and are pushed once it answers",
	},
	{
		kind: "remote-missing",
		re: /does not appear to be a git repository|repository .* not found|No such remote/i,
		hint: "replication.remote names no repository: check `git remote -v` in the workspace",
	},
];

/** Diagnoses a failed git run against the table; unknown wording is reported as it is. */
export function diagnose(what: string, run: GitRun): Diagnosis {
	const message = describeRun(what, run);
	if (run.kind === "timeout") {
		return {
			kind: "remote-unreachable",
			message,
			hint: "the remote did not answer within replication.gitTimeoutSeconds; commits are kept and retried",
		};
	}
	const text = run.kind === "exited" ? `${run.stdout}\n${run.stderr}` : run.error;
	if (isDiskFull(text)) {
		return {
			kind: "disk-full",
			message,
			hint: "free disk space on this host; replication retries every interval",
		};
	}
	for (const row of TABLE)
		if (row.re.test(text)) return { kind: row.kind, message, hint: row.hint };
	return {
		kind: "git-failed",
		message,
		hint: "run the same git command in the workspace as the agent's user",
	};
}
