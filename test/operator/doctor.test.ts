// `failover-gateway doctor`: the token from the environment, the Worker's verdict printed, exit 0 only when all pass.
import { describe, expect, it } from "vitest";
import { runOperatorCli } from "../../operator/src/cli";
import type { DoctorReport } from "../../worker/src/doctor-report";

const good: DoctorReport = {
	ok: true,
	checks: [{ name: "config", ok: true, detail: "1 group(s), 1 pair(s)" }],
	pairs: [{ pair: "home", ok: true, checks: [{ name: "probe", ok: true, detail: "200" }] }],
};
const bad: DoctorReport = {
	ok: false,
	checks: good.checks,
	pairs: [
		{
			pair: "home",
			ok: false,
			checks: [
				{ name: "standby agent", ok: false, detail: "unknown-key", fix: "copy the config again" },
			],
		},
	],
};

async function run(args: string[], env: Record<string, string>, answer: () => Response) {
	const out: string[] = [];
	const err: string[] = [];
	const seen: { url?: string; auth?: string | null } = {};
	const code = await runOperatorCli(
		["doctor", ...args],
		{ out: (t) => out.push(t), err: (t) => err.push(t) },
		{
			env,
			fetch: async (input, init) => {
				seen.url = String(input);
				seen.auth = new Headers(init?.headers).get("authorization");
				return answer();
			},
		},
	);
	return { code, out: out.join(""), err: err.join(""), seen };
}

describe("failover-gateway doctor", () => {
	it("asks /api/v1/doctor with the admin token and exits 0 when a failover would work", async () => {
		const r = await run(["--url", "https://w.example.workers.dev"], { ADMIN_TOKEN: "t0k" }, () =>
			Response.json(good),
		);
		expect(r.code).toBe(0);
		expect(r.seen).toEqual({
			url: "https://w.example.workers.dev/api/v1/doctor",
			auth: "Bearer t0k",
		});
		expect(r.out).toMatch(/pair home: a failover would work/);
	});

	it("exits 1 and prints each failed check's fix", async () => {
		const r = await run(
			["--url", "https://w.example.workers.dev", "--notify"],
			{ ADMIN_TOKEN: "t" },
			() => Response.json(bad),
		);
		expect(r.code).toBe(1);
		expect(r.seen.url).toMatch(/\?notify=1$/);
		expect(r.out).toMatch(/FAIL standby agent: unknown-key\n\s+fix: copy the config again/);
	});

	it("names the fix when ADMIN_TOKEN is unset, and a refusal by the Worker", async () => {
		const unset = await run(["--url", "https://w.example.workers.dev"], {}, () =>
			Response.json(good),
		);
		expect(unset.code).toBe(1);
		expect(unset.err).toMatch(/export ADMIN_TOKEN=/);
		const refused = await run(
			["--url", "https://w.example.workers.dev"],
			{ ADMIN_TOKEN: "x" },
			() =>
				Response.json({ error: { code: "unauthorized", message: "wrong token" } }, { status: 401 }),
		);
		expect(refused.code).toBe(1);
		expect(refused.err).toMatch(/refused \(401\): wrong token/);
	});

	it("says when the answer is not a doctor report (an older Worker)", async () => {
		const r = await run(["--url", "https://w.example.workers.dev"], { ADMIN_TOKEN: "x" }, () =>
			Response.json({ error: { code: "not-found" } }, { status: 404 }),
		);
		expect(r.code).toBe(1);
		expect(r.err).toMatch(/unexpected answer \(404\)/);
	});

	it("is a usage error without --url", async () => {
		expect((await run([], { ADMIN_TOKEN: "x" }, () => Response.json(good))).code).toBe(2);
	});
});
