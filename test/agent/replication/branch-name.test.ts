// Branch names in the config: a name git refuses fails at load with the reason, never at every push.
import { describe, expect, it } from "vitest";
import { ReplicationConfigSchema } from "../../../agent/src/replication/config";
import { GitSyncStepSchema } from "../../../agent/src/steps/schema";

const refused = [
	"main.lock",
	"a.lock/b",
	"a/",
	"x.",
	"a//b",
	"/main",
	"a..b",
	".hidden",
	"team/.hidden",
	"HEAD",
	"refs/heads/main",
	"-main",
	"--force",
	"",
	"a b",
	"main@{1}",
	"x".repeat(201),
];
const accepted = ["main", "master", "feature/x-1", "v1.2", "release/2026.11", "a.b/c_d", "HEADS"];

describe("branch names", () => {
	it.each(refused)(
		"refuses %j in replication.branch and in a git step, naming the rule",
		(branch) => {
			const r = ReplicationConfigSchema.safeParse({ branch });
			expect(r.success).toBe(false);
			expect(JSON.stringify(r.error?.issues)).toContain("expected a branch name");
			expect(GitSyncStepSchema.safeParse({ type: "git-sync", branch }).success).toBe(false);
		},
	);

	it.each(accepted)("accepts %j", (branch) => {
		expect(ReplicationConfigSchema.parse({ branch }).branch).toBe(branch);
		expect(GitSyncStepSchema.safeParse({ type: "git-sync", branch }).success).toBe(true);
	});
});
