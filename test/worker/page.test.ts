import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../worker/src/api";
import { summaryMemo } from "../../worker/src/read-memo";
import {
	dropAlarm,
	setGateway,
	TestClock,
	testEnv,
	useClock,
	watchdog,
} from "./support/watchdog-harness";

const TOKEN = testEnv.ADMIN_TOKEN as string;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const get = (path: string, headers: Record<string, string> = {}, e: Env = env) =>
	app.request(path, { headers }, e);

// Each test reads what it just ticked: the anonymous memo (read-memo.ts) has its own tests in cost.test.ts.
beforeEach(() => summaryMemo.clear());

afterAll(async () => {
	await dropAlarm(watchdog("g-api"));
});

describe("status page route", () => {
	it("answers HTML under a strict CSP whose nonce is the one on the page's script and style", async () => {
		const res = await get("/");
		expect(res.status).toBe(200);
		expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
		expect(res.headers.get("cache-control")).toBe("no-store");
		expect(res.headers.get("x-frame-options")).toBe("DENY");
		expect(res.headers.get("x-content-type-options")).toBe("nosniff");
		const csp = res.headers.get("content-security-policy") ?? "";
		expect(csp).toContain("default-src 'none'");
		expect(csp).toContain("frame-ancestors 'none'");
		expect(csp).toContain("form-action 'none'");
		expect(csp).not.toContain("unsafe-inline");
		const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
		expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
		const body = await res.text();
		expect(body).toContain(`<script nonce="${nonce}">`);
		expect(body).toContain(`<style nonce="${nonce}">`);
		// No external assets: nothing is loaded from anywhere.
		expect(body).not.toMatch(/\s(src|href)="(https?:)?\/\//);
		// A fresh nonce per response.
		const again = (await get("/")).headers.get("content-security-policy");
		expect(again).not.toBe(csp);
	});

	it("public by default: the summary renders server-side, detail only with the token", async () => {
		const clock = new TestClock();
		await setGateway("api", "up");
		const stub = watchdog("g-api");
		await stub.ensureAlarm("g-api", clock.now);
		await useClock(stub, clock);
		await runDurableObjectAlarm(stub);

		const anon = await (await get("/")).text();
		expect(anon).toContain('id="pair-api"');
		expect(anon).toMatch(/id="pair-api"[^>]*data-state="primary-active"/);
		expect(anon).toContain('data-auth="missing"');
		expect(anon).not.toContain("Probe timeline");
		expect(anon).toContain("<noscript>");

		const admin = await (await get("/", bearer(TOKEN))).text();
		expect(admin).toContain('data-auth="valid"');
		expect(admin).toMatch(/id="pair-api"[\s\S]*Probe timeline[\s\S]*<svg class="timeline/);
		expect(admin).toContain("Event log");

		const wrong = await (await get("/", bearer("not-it"))).text();
		expect(wrong).toContain('data-auth="wrong"');
		expect(wrong).toContain('id="auth-refused"');
		expect(wrong).not.toContain("Probe timeline");
	});

	it("?part=content answers only the swappable <main>, under the same headers", async () => {
		const res = await get("/?part=content", bearer(TOKEN));
		expect(res.headers.get("cache-control")).toBe("no-store");
		const body = await res.text();
		expect(body).toMatch(/^<main id="content" data-auth="valid"/);
		expect(body).not.toContain("<script");
		expect(body).not.toContain("<style");
	});

	it("STATUS_PAGE=private hides the summary until the token is given", async () => {
		const priv = { ...env, STATUS_PAGE: "private" };
		const res = await get("/", {}, priv);
		expect(res.status).toBe(200);
		const body = await res.text();
		expect(body).toContain("This status page is private");
		expect(body).toContain('data-mode="private"');
		for (const name of ["api", "mixed-good", "mixed-broken"]) {
			expect(body).not.toContain(`pair-${name}"`);
			expect(body).not.toContain(`>${name}<`);
		}
		const admin = await (await get("/", bearer(TOKEN), priv)).text();
		expect(admin).toContain('id="pair-api"');
		expect(admin).not.toContain("This status page is private");
	});

	it("names Worker-wide config errors (here: WATCHDOG_CONFIG that is not JSON)", async () => {
		const body = await (await get("/", {}, { ...env, WATCHDOG_CONFIG: "{nope" })).text();
		expect(body).toMatch(/class="banner warn">config WATCHDOG_CONFIG[^<]*JSON/);
	});

	it("says how to enable detail when no admin token is set", async () => {
		const body = await (await get("/", bearer(TOKEN), { ...env, ADMIN_TOKEN: undefined })).text();
		expect(body).toContain("npx wrangler secret put ADMIN_TOKEN");
		expect(body).not.toContain("Probe timeline");
	});
});
