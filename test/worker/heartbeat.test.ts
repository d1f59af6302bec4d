// HEARTBEAT_URL: the cron pings a loopback receiver once per run, within its deadline, never throwing, never logging the secret path.
import {
	createExecutionContext,
	createScheduledController,
	waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { app } from "../../worker/src/api";
import { HEARTBEAT_TIMEOUT_MS, heartbeatTarget, pingHeartbeat } from "../../worker/src/heartbeat";
import worker from "../../worker/src/index";
import { heartbeatSkipReason } from "../../worker/src/scheduled";
import { TEST_ADMIN_TOKEN } from "./setup/watchdog-config";

const base = (env as unknown as { GATEWAY_BASE: string }).GATEWAY_BASE;
// The loopback gateway stand-in counts GETs per id; its path plays the check's secret UUID.
const SECRET = "5f1c9e0a-secret-check-uuid";
const pingUrl = (id: string) => `${base}/g/${id}-${SECRET}/readyz`;
const gate = async (id: string) =>
	(await (await fetch(`${base}/control/${id}-${SECRET}`)).json()) as { hits: number };
const setMode = (id: string, mode: string, delayMs?: number) =>
	fetch(`${base}/control/${id}-${SECRET}`, {
		method: "POST",
		body: JSON.stringify({ mode, ...(delayMs === undefined ? {} : { delayMs }) }),
	});

function capture() {
	const lines: string[] = [];
	const log = {
		error: (...a: unknown[]) => void lines.push(a.map(String).join(" ")),
		warn: (...a: unknown[]) => void lines.push(a.map(String).join(" ")),
	};
	return { lines, log };
}

afterEach(() => vi.restoreAllMocks());

describe("heartbeatTarget", () => {
	it.each([
		[undefined, "off"],
		["", "off"],
		["  ", "off"],
		["https://hc-ping.com/5f1c9e0a", "url"],
		["http://127.0.0.1:8000/ping/x", "url"],
		["http://localhost/ping", "url"],
		["http://hc-ping.com/5f1c9e0a", "invalid"],
		["ftp://hc-ping.com/x", "invalid"],
		["https://user:pw@hc-ping.com/x", "invalid"],
		["not a url", "invalid"],
	])("%j is %s", (value, kind) => {
		expect(heartbeatTarget(value).kind).toBe(kind);
	});

	it("never echoes the path (the check's secret) in what it shows or reports", () => {
		for (const value of [
			"https://hc-ping.com/5f1c9e0a-secret",
			"http://hc-ping.com/5f1c9e0a-secret",
			"https://u:p@hc-ping.com/5f1c9e0a-secret",
		]) {
			const target = heartbeatTarget(value);
			const said =
				target.kind === "url" ? target.shown : target.kind === "invalid" ? target.problem : "";
			expect(said).toContain("hc-ping.com");
			expect(said).not.toContain("5f1c9e0a-secret");
		}
	});
});

describe("pingHeartbeat against a loopback receiver", () => {
	it("sends one GET and reports the status", async () => {
		const { lines, log } = capture();
		const result = await pingHeartbeat(pingUrl("hb-ok"), { log });
		expect(result).toMatchObject({ kind: "sent", status: 200 });
		expect((await gate("hb-ok")).hits).toBe(1);
		expect(lines).toEqual([]);
	});

	it.each([
		["not-ready", /HTTP 503/],
		["redirect", /HTTP 302/],
		["reset", /request error/],
	])(
		"a receiver in mode %s: one attempt, failure logged without the path, nothing thrown",
		async (mode, reason) => {
			const id = `hb-${mode}`;
			await setMode(id, mode);
			const { lines, log } = capture();
			const result = await pingHeartbeat(pingUrl(id), { log });
			expect(result).toMatchObject({ kind: "failed", reason: expect.stringMatching(reason) });
			expect((await gate(id)).hits).toBe(1);
			expect(lines).toHaveLength(1);
			expect(lines[0]).toContain("127.0.0.1");
			expect(lines.join("\n")).not.toContain(SECRET);
		},
	);

	it(
		"gives up at its deadline on a receiver that never answers",
		async () => {
			await setMode("hb-slow", "slow", 60_000);
			const { lines, log } = capture();
			const result = await pingHeartbeat(pingUrl("hb-slow"), { log });
			expect(result).toMatchObject({
				kind: "failed",
				reason: `no answer within ${HEARTBEAT_TIMEOUT_MS} ms`,
			});
			expect((await gate("hb-slow")).hits).toBe(1);
			expect(lines.join("\n")).not.toContain(SECRET);
		},
		HEARTBEAT_TIMEOUT_MS + 10_000,
	);

	it("a refused connection is a logged failure", async () => {
		const refused = (env as unknown as { REFUSED_BASE: string }).REFUSED_BASE;
		const { lines, log } = capture();
		const result = await pingHeartbeat(`${refused}/${SECRET}`, { log });
		expect(result.kind).toBe("failed");
		expect(lines.join("\n")).not.toContain(SECRET);
	});

	it("is off without a URL, and a skip reason sends nothing", async () => {
		expect(await pingHeartbeat(undefined)).toEqual({ kind: "off" });
		const { lines, log } = capture();
		const result = await pingHeartbeat(pingUrl("hb-skip"), { skip: "group g did not answer", log });
		expect(result).toEqual({ kind: "skipped", reason: "group g did not answer" });
		expect((await gate("hb-skip")).hits).toBe(0);
		expect(lines.join("\n")).not.toContain(SECRET);
	});
});

describe("the cron run", () => {
	it("pings HEARTBEAT_URL once per scheduled run when every group answers", async () => {
		const withHeartbeat = { ...env, HEARTBEAT_URL: pingUrl("hb-cron") } as Env;
		for (let run = 1; run <= 2; run++) {
			const ctx = createExecutionContext();
			await worker.scheduled(
				createScheduledController({ scheduledTime: Date.now() + 3_600_000 }),
				withHeartbeat,
				ctx,
			);
			await waitOnExecutionContext(ctx);
			expect((await gate("hb-cron")).hits).toBe(run);
		}
	});

	it("a failing receiver does not fail the cron run", async () => {
		await setMode("hb-cron-down", "reset");
		vi.spyOn(console, "error").mockImplementation(() => {});
		const ctx = createExecutionContext();
		await expect(
			worker.scheduled(
				createScheduledController({ scheduledTime: Date.now() + 3_600_000 }),
				{ ...env, HEARTBEAT_URL: pingUrl("hb-cron-down") } as Env,
				ctx,
			),
		).resolves.toBeUndefined();
		await waitOnExecutionContext(ctx);
		expect((await gate("hb-cron-down")).hits).toBe(1);
	});

	it("skips the ping when no pair is watched or a group did not answer", () => {
		expect(heartbeatSkipReason([])).toMatch(/no pair is watched/);
		expect(
			heartbeatSkipReason([
				{ ok: false, group: "g1", error: "boom" },
				{ ok: false, group: "g2", error: "boom" },
			]),
		).toBe("group(s) g1, g2 did not answer");
	});
});

describe("/healthz and HEARTBEAT_URL", () => {
	it("answers 503 naming an unusable HEARTBEAT_URL, without its path (and, tokenless, without its host)", async () => {
		const bad = { ...env, HEARTBEAT_URL: `http://hc-ping.com/${SECRET}` };
		const admin = await app.request(
			"/healthz",
			{ headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } },
			bad,
		);
		expect(admin.status).toBe(503);
		const text = await admin.text();
		expect(text).toContain("HEARTBEAT_URL (http://hc-ping.com): expected an https URL");
		expect(text).not.toContain(SECRET);
		// A tokenless reader gets the verdict and the field, never a host (public views carry none).
		const anonymous = await app.request("/healthz", {}, bad);
		expect(anonymous.status).toBe(503);
		const publicText = await anonymous.text();
		expect(publicText).toContain("HEARTBEAT_URL");
		expect(publicText).not.toContain("hc-ping.com");
		expect(publicText).not.toContain(SECRET);
	});
});
