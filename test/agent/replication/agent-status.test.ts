// The agent takes the lease from signed status requests and reports replication in its status.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HEADERS, StatusResponseSchema, signLease } from "../../../protocol";
import { startTestAgent } from "../helpers";
import { git, isolateGitConfig, makeRepos, tempDir } from "../steps/helpers";

const base = tempDir("agent-status");
let restoreEnv: () => void;
beforeAll(() => {
	restoreEnv = isolateGitConfig(base.path);
});
afterAll(() => {
	restoreEnv();
	base.remove();
});

describe("status with replication", { timeout: 60_000 }, () => {
	it("keeps the lease from x-fg-lease and reports replication; a bad lease never fails status", async () => {
		const repos = makeRepos(base.path);
		const t = await startTestAgent({
			config: {
				role: "primary",
				workspace: repos.work,
				replication: { enabled: true, settleSeconds: 0 },
			},
			io: { startReplication: false },
		});
		const lease = await signLease(
			{ pair: "home", active: "primary", term: 4, issuedAt: Date.now(), leaseSeconds: 30 },
			t.keys.privateKey,
		);
		const res = await t.send("GET", "/v1/status", { headers: { [HEADERS.lease]: lease } });
		expect(res.status).toBe(200);
		expect(t.agent.lease.activeTerm()).toBe(4);
		repos.write(repos.work, "MEMORY.md", "x\n");
		await t.agent.replicator?.cycle();
		expect(git(repos.remote, "show", "main:MEMORY.md")).toBe("x");
		const body = StatusResponseSchema.parse(await (await t.send("GET", "/v1/status")).json());
		expect(body.replication).toMatchObject({ mode: "active", leaseTerm: 4, pendingCommits: 0 });
		const bad = await t.send("GET", "/v1/status", { headers: { [HEADERS.lease]: "garbage" } });
		expect(bad.status).toBe(200);
		expect(t.agent.lease.activeTerm()).toBe(4);
	});

	it("without replication configured, status says null and older readers still parse it", async () => {
		const t = await startTestAgent();
		const body = await (await t.send("GET", "/v1/status")).json();
		expect(body.replication).toBeNull();
		expect(
			StatusResponseSchema.parse({ ...body, replication: undefined }).replication,
		).toBeUndefined();
	});
});
