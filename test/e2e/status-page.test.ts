// The status page in a real browser (the installed Chrome or Chromium, headless) against the real Worker served by the lab:
// state, a failure on the probe timeline, a clear error for a wrong token, and a pause with the right one.
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterEach, describe, expect, it } from "vitest";
import { MEMO_MS } from "../../worker/src/read-memo";
import { type Lab, PAIR } from "../harness/lab";
import { waitFor } from "../harness/ports";
import { type Browser, launchChromium } from "./chromium";
import { startLab } from "./support";

const browsers: Browser[] = [];
afterEach(async () => {
	await Promise.allSettled(browsers.splice(0).map((b) => b.close()));
});

async function open(
	url: string,
	javaScriptEnabled = true,
): Promise<{ page: Page; errors: string[] }> {
	const b = await launchChromium({ javaScriptEnabled });
	browsers.push(b);
	const page = await b.context.newPage();
	// CSP violations and script errors surface here: the page must run clean under its own policy.
	const errors: string[] = [];
	page.on("console", (m) => {
		// The one expected failure: the wrong token's 401 from the operator endpoint.
		const expected401 = m.text().includes("status of 401");
		if (m.type() === "error" && !expected401) errors.push(m.text());
	});
	page.on("pageerror", (e) => errors.push(e.message));
	await page.goto(url);
	return { page, errors };
}

/**
 * Waits until tokenless readers see `state`. They share one read of the groups per isolate for
 * MEMO_MS (worker/src/read-memo.ts), and the lab's start-up polls of /healthz fill that memo before
 * the first tick, so right after the lab is up (it waits through the admin API) the public view may
 * still show no state. Bounded by the memo's window: a public view later than that fails here.
 */
async function publicStateIs(lab: Lab, state: string): Promise<void> {
	await waitFor(
		`the tokenless summary to show ${state}`,
		async () => {
			const r = await lab.worker.api<{ pairs: { name: string; state: string | null }[] }>(
				"/api/v1/pairs",
			);
			return r.body.pairs.find((p) => p.name === PAIR)?.state === state;
		},
		// The memo was filled before the lab waited for the state, so this is generous; 1 s for the
		// request itself on a loaded machine.
		MEMO_MS + 1_000,
		// Tokenless requests count against the anonymous rate limit (60 a minute): about 12 here.
		500,
	);
}

async function useToken(page: Page, token: string): Promise<void> {
	await page.fill("#token", token);
	await page.click("#token-form button[type=submit]");
}

describe("status page in chromium", () => {
	it("shows the state, a probe failure on the timeline, refuses a wrong token clearly, pauses with the right one", async () => {
		const lab = await startLab();
		const card = `#pair-${PAIR}`;
		await publicStateIs(lab, "primary-active");
		const { page, errors } = await open(`${lab.worker.url}/`);

		// The summary is public: the state shows without a token, detail does not.
		expect(await page.getAttribute(card, "data-state")).toBe("primary-active");
		expect(await page.textContent(`${card} .badge`)).toBe("primary active");
		expect(await page.locator(`${card} .detail`).count()).toBe(0);
		expect(await page.isVisible(`${card} .controls`)).toBe(true);

		// A wrong token: the page says so, and a button answers with the API's reason, visibly.
		await useToken(page, "not-the-admin-token");
		await page.waitForSelector("#auth-refused");
		await page.click(`${card} button[data-command=pause]`);
		const message = page.locator("#message");
		await expect
			.poll(() => message.textContent(), { timeout: 10_000 })
			.toContain("failed (HTTP 401)");
		expect(await message.textContent()).toContain("the admin token is wrong");
		expect(await message.isVisible()).toBe(true);
		expect((await lab.pair()).state).not.toBe("paused");

		// The right token: detail appears (token kept in sessionStorage only, never in the URL).
		await page.click("#forget");
		await useToken(page, lab.adminToken);
		await page.waitForSelector(`${card} .detail svg.timeline`);
		expect(page.url()).toBe(`${lab.worker.url}/`);
		expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
		expect(await page.evaluate(() => localStorage.length)).toBe(0);

		// The primary goes away for a few intervals: the timeline marks the failed probes.
		await lab.primaryGw.stop();
		await waitFor(
			"two failed probes of the primary",
			async () => ((await lab.pair()).pairState?.fails ?? 0) >= 2,
			10 * lab.interval,
		);
		await lab.primaryGw.start();
		await page.reload();
		await page.waitForSelector(`${card} svg.timeline rect.tl-fail`);
		const failed = Number(await page.getAttribute(`${card} svg.timeline`, "data-failures"));
		expect(failed).toBeGreaterThanOrEqual(2);
		expect(await page.textContent(`${card} svg.timeline rect.tl-fail title`)).toMatch(
			/connect-error|failed/,
		);

		// A dangerous command asks first; dismissing it sends nothing.
		const posts: string[] = [];
		page.on("request", (r) => {
			if (r.method() === "POST") posts.push(r.url());
		});
		const dialog = new Promise<string>((resolve) =>
			page.once("dialog", (d) => {
				resolve(d.message());
				void d.dismiss();
			}),
		);
		await page.click(`${card} button[data-command=promote]`);
		expect(await dialog).toContain("Promote the standby of home");

		// Pause: the page shows it, and so does the API.
		await page.click(`${card} button[data-command=pause]`);
		await expect
			.poll(() => message.textContent(), { timeout: 10_000 })
			.toContain("done. State now paused");
		await expect
			.poll(() => page.getAttribute(card, "data-state"), { timeout: 10_000 })
			.toBe("paused");
		expect(await page.textContent(`${card} .badge`)).toBe("paused");
		expect((await lab.pair()).state).toBe("paused");
		// The dismissed promote never left the page: the only command sent since is the pause.
		expect(posts).toEqual([`${lab.worker.url}/api/v1/pairs/${PAIR}/pause`]);
		await page.waitForSelector(`${card} tr.kind-paused`);

		// One file, overwritten each run, to look at what the browser saw.
		const shot = join(tmpdir(), "failover-gateway-status-page.png");
		await page.screenshot({ path: shot, fullPage: true });
		console.log(`status page screenshot: ${shot}`);
		expect(errors).toEqual([]);
	});

	it("without JavaScript: the summary renders server-side and the page says what needs JavaScript", async () => {
		const lab = await startLab();
		await publicStateIs(lab, "primary-active");
		const { page } = await open(`${lab.worker.url}/`, false);
		expect(await page.getAttribute(`#pair-${PAIR}`, "data-state")).toBe("primary-active");
		expect(await page.textContent("#noscript-note")).toContain(
			"need JavaScript and the admin token",
		);
		// Buttons and the token form stay hidden: they could not work.
		expect(await page.isVisible("#token-form")).toBe(false);
		expect(await page.isVisible(`#pair-${PAIR} .controls`)).toBe(false);
	});
});
