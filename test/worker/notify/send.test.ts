import { describe, expect, it } from "vitest";
import type { Notifier } from "../../../worker/src/notify/config";
import { buildMessage } from "../../../worker/src/notify/message";
import {
	DELIVERY_BUDGET_MS,
	MAX_RETRY_AFTER_MS,
	retryAfterMs,
	sendAll,
} from "../../../worker/src/notify/send";
import { verifyWebhookSignature } from "../../../worker/src/notify/webhook-signature";
import { event, fakeClock, fakeFetch, hang, T0 } from "./fixtures";

const DISCORD: Notifier = {
	kind: "discord",
	url: "https://hooks.example.test/api/webhooks/123/DISCORDSECRETTOKEN",
};
const SLACK: Notifier = {
	kind: "slack",
	url: "https://hooks.example.test/services/T0/B0/SLACKSECRETTOKEN",
};
const TELEGRAM: Notifier = {
	kind: "telegram",
	token: "123456:TELEGRAMSECRETTOKENxxxxxxxx",
	chatId: "-100",
	apiBase: "https://hooks.example.test/tg",
};
const NTFY: Notifier = {
	kind: "ntfy",
	url: "https://hooks.example.test/ntfy/secret-topic-name",
	token: "tk_NTFYSECRET",
};
const WEBHOOK: Notifier = {
	kind: "webhook",
	url: "https://hooks.example.test/hook?key=WEBHOOKURLSECRET",
	secret: "WEBHOOKHMACSECRET0123456789",
};
const ALL = [DISCORD, SLACK, TELEGRAM, NTFY, WEBHOOK];
const SECRETS = [
	"DISCORDSECRETTOKEN",
	"SLACKSECRETTOKEN",
	"TELEGRAMSECRETTOKEN",
	"secret-topic-name",
	"NTFYSECRET",
	"WEBHOOKURLSECRET",
	"WEBHOOKHMACSECRET",
];

const msg = buildMessage("home", event());
/** A short deadline so the timeout cases take tens of ms, not seconds. */
const FAST = { timeoutMs: 50 };

describe("sendAll", () => {
	it("delivers to every notifier concurrently, each request well-formed", async () => {
		let releaseFirst: () => void = () => {};
		const secondArrived = new Promise<void>((r) => {
			releaseFirst = r;
		});
		const net = fakeFetch(async (_req, n) => {
			// The first request only answers once a later one has started: sequential sending would time out.
			if (n === 1) await secondArrived;
			else releaseFirst();
			return new Response(n % 2 ? "ok" : null, { status: n % 2 ? 200 : 204 });
		});
		const clock = fakeClock();
		const results = await sendAll(msg, ALL, { fetch: net.fetch, ...clock, timeoutMs: 2_000 });
		expect(results.map((r) => [r.notifier, r.ok, r.attempts])).toEqual([
			["discord", true, 1],
			["slack", true, 1],
			["telegram", true, 1],
			["ntfy", true, 1],
			["webhook", true, 1],
		]);
		expect(clock.sleeps).toEqual([]);
		const byUrl = new Map(net.calls.map((c) => [c.url, c]));
		for (const c of net.calls) expect(c.method).toBe("POST");
		expect(JSON.parse(byUrl.get(DISCORD.url)?.body ?? "").embeds).toHaveLength(1);
		expect(JSON.parse(byUrl.get(SLACK.url)?.body ?? "").blocks.length).toBeGreaterThan(0);
		const tg = byUrl.get(
			"https://hooks.example.test/tg/bot123456:TELEGRAMSECRETTOKENxxxxxxxx/sendMessage",
		);
		expect(JSON.parse(tg?.body ?? "")).toMatchObject({ chat_id: "-100", parse_mode: "HTML" });
		const nt = byUrl.get(NTFY.url);
		expect(nt?.headers.get("authorization")).toBe("Bearer tk_NTFYSECRET");
		expect(nt?.headers.get("priority")).toBe("5");
		const wh = byUrl.get(WEBHOOK.url);
		expect(wh?.headers.get("content-type")).toBe("application/json");
		expect(
			await verifyWebhookSignature(
				"WEBHOOKHMACSECRET0123456789",
				wh?.body ?? "",
				wh?.headers ?? new Headers(),
				{
					nowMs: T0,
				},
			),
		).toMatchObject({ ok: true });
	});

	it("retries a 500 after backoff and reports the success", async () => {
		const net = fakeFetch(
			(_r, n) => new Response(n === 1 ? "boom" : "ok", { status: n === 1 ? 500 : 200 }),
		);
		const clock = fakeClock();
		const [r] = await sendAll(msg, [SLACK], { fetch: net.fetch, ...clock });
		expect(r).toEqual({ notifier: "slack", ok: true, attempts: 2, status: 200 });
		expect(clock.sleeps).toEqual([1_000]);
		// Same payload both times.
		expect(net.calls[0]?.body).toBe(net.calls[1]?.body);
	});

	it("honours Retry-After on a 429", async () => {
		const net = fakeFetch((_r, n) =>
			n === 1
				? new Response("slow down", { status: 429, headers: { "retry-after": "3" } })
				: new Response(null, { status: 204 }),
		);
		const clock = fakeClock();
		const [r] = await sendAll(msg, [DISCORD], { fetch: net.fetch, ...clock });
		expect(r).toEqual({ notifier: "discord", ok: true, attempts: 2, status: 204 });
		expect(clock.sleeps).toEqual([3_000]);
	});

	it("honours Telegram's retry_after in the JSON body", async () => {
		const net = fakeFetch((_r, n) =>
			n === 1
				? Response.json(
						{
							ok: false,
							error_code: 429,
							description: "Too Many Requests: retry after 2",
							parameters: { retry_after: 2 },
						},
						{ status: 429 },
					)
				: Response.json({ ok: true }),
		);
		const clock = fakeClock();
		const [r] = await sendAll(msg, [TELEGRAM], { fetch: net.fetch, ...clock });
		expect(r).toMatchObject({ ok: true, attempts: 2 });
		expect(clock.sleeps).toEqual([2_000]);
	});

	it("does not wait for a Retry-After beyond the cap", async () => {
		const net = fakeFetch(
			() => new Response("", { status: 429, headers: { "retry-after": "120" } }),
		);
		const clock = fakeClock();
		const [r] = await sendAll(msg, [SLACK], { fetch: net.fetch, ...clock });
		// Transient, with the hint, so the hub's outbox can honour it on a later alarm.
		expect(r).toMatchObject({
			notifier: "slack",
			ok: false,
			attempts: 1,
			status: 429,
			transient: true,
			retryAfterMs: 120_000,
		});
		expect(r?.error).toContain(
			`Retry-After 120 s exceeds the ${MAX_RETRY_AFTER_MS / 1000} s in-tick cap`,
		);
		expect(clock.sleeps).toEqual([]);
	});

	it("stops retrying when the next attempt could not finish inside the delivery budget", async () => {
		const clock = fakeClock();
		// Each answer takes 4 s of (fake) time and asks for the longest wait we honour.
		const net = fakeFetch(async () => {
			await clock.sleep(4_000);
			return new Response("", {
				status: 429,
				headers: { "retry-after": String(MAX_RETRY_AFTER_MS / 1000) },
			});
		});
		const start = clock.now();
		const [r] = await sendAll(msg, [DISCORD], {
			fetch: net.fetch,
			now: clock.now,
			sleep: clock.sleep,
		});
		expect(r).toMatchObject({ ok: false, attempts: 2, status: 429 });
		expect(r?.error).toContain(`no time left in the ${DELIVERY_BUDGET_MS / 1000} s budget`);
		expect(clock.now() - start).toBeLessThanOrEqual(DELIVERY_BUDGET_MS);
	});

	it("does not retry a 4xx other than 429, and keeps the provider's explanation", async () => {
		const net = fakeFetch(() => new Response("invalid_payload", { status: 400 }));
		const [r] = await sendAll(msg, [SLACK], { fetch: net.fetch, ...fakeClock() });
		expect(r).toEqual({
			notifier: "slack",
			ok: false,
			attempts: 1,
			status: 400,
			error: "HTTP 400: invalid_payload",
			transient: false,
		});
	});

	it("gives up on an endpoint that is down for good, bounded, with every secret redacted", async () => {
		const net = fakeFetch((req) => {
			throw new TypeError(
				`Network connection lost to ${req.url} (${req.headers.get("authorization") ?? ""})`,
			);
		});
		const clock = fakeClock();
		const results = await sendAll(msg, ALL, { fetch: net.fetch, ...clock });
		for (const r of results) {
			expect(r.ok).toBe(false);
			expect(r.attempts).toBe(3);
			expect(r.status).toBeUndefined();
			expect(r.error).toMatch(/^network error: TypeError: Network connection lost to /);
			expect(r.error).toContain("(gave up after 3 attempts)");
			expect(r.error).toContain("[redacted]");
			for (const s of SECRETS) expect(r.error).not.toContain(s);
		}
		expect(net.calls).toHaveLength(15);
		// Exponential backoff, 1 s then 2 s, for each of the five.
		expect([...clock.sleeps].sort()).toEqual([
			1_000, 1_000, 1_000, 1_000, 1_000, 2_000, 2_000, 2_000, 2_000, 2_000,
		]);
	});

	it("redacts secrets a provider echoes back in an error body", async () => {
		const net = fakeFetch((req) => new Response(`no such hook ${req.url}`, { status: 404 }));
		const [r] = await sendAll(msg, [DISCORD], { fetch: net.fetch, ...fakeClock() });
		expect(r?.error).toBe("HTTP 404: no such hook [redacted]");
	});

	it("times out a hanging endpoint and retries it a bounded number of times", async () => {
		const net = fakeFetch((_r, _n, signal) => hang(signal));
		const clock = fakeClock();
		const [r] = await sendAll(msg, [NTFY], { fetch: net.fetch, ...clock, ...FAST });
		expect(r).toEqual({
			notifier: "ntfy",
			ok: false,
			attempts: 3,
			error: "timed out after 50 ms (gave up after 3 attempts)",
			transient: true,
		});
		expect(net.calls).toHaveLength(3);
	});

	it("recovers when a timed-out endpoint answers on retry", async () => {
		const net = fakeFetch((_r, n, signal) => (n === 1 ? hang(signal) : new Response("ok")));
		const [r] = await sendAll(msg, [WEBHOOK], { fetch: net.fetch, ...fakeClock(), ...FAST });
		expect(r).toMatchObject({ ok: true, attempts: 2 });
	});

	it("re-signs the webhook on each attempt with a fresh timestamp", async () => {
		const net = fakeFetch((_r, n) => new Response("", { status: n === 1 ? 503 : 200 }));
		const clock = fakeClock();
		await sendAll(msg, [WEBHOOK], { fetch: net.fetch, ...clock });
		const [a, b] = net.calls;
		expect(
			Number(b?.headers.get("x-failover-timestamp")) -
				Number(a?.headers.get("x-failover-timestamp")),
		).toBe(1);
		expect(
			await verifyWebhookSignature(
				"WEBHOOKHMACSECRET0123456789",
				b?.body ?? "",
				b?.headers ?? new Headers(),
				{ nowMs: clock.now() },
			),
		).toMatchObject({ ok: true });
	});

	it("one failing notifier does not affect the others", async () => {
		const net = fakeFetch((req) => new Response("", { status: req.url === SLACK.url ? 500 : 200 }));
		const results = await sendAll(msg, [DISCORD, SLACK, NTFY], {
			fetch: net.fetch,
			...fakeClock(),
		});
		expect(results.map((r) => r.ok)).toEqual([true, false, true]);
		expect(results[1]).toMatchObject({ attempts: 3, status: 500 });
	});

	it("never throws, even on a bug", async () => {
		const bogus = {
			kind: "bogus",
			url: "https://hooks.example.test/x/BOGUSSECRET",
		} as unknown as Notifier;
		const net = fakeFetch(() => new Response("ok"));
		const results = await sendAll(msg, [bogus, SLACK], { fetch: net.fetch, ...fakeClock() });
		expect(results[0]).toMatchObject({ ok: false, attempts: 0 });
		expect(results[0]?.error).toBe("internal error: unknown notifier kind bogus");
		expect(results[1]).toMatchObject({ ok: true });
	});

	it("returns an empty list when nothing is configured", async () => {
		expect(await sendAll(msg, [])).toEqual([]);
	});
});

describe("retryAfterMs", () => {
	const h = (v?: string) => new Headers(v === undefined ? {} : { "retry-after": v });
	it("reads seconds, HTTP dates and JSON bodies", () => {
		expect(retryAfterMs(h("2"), "", T0)).toBe(2_000);
		expect(retryAfterMs(h("0.5"), "", T0)).toBe(500);
		expect(retryAfterMs(h(new Date(T0 + 7_000).toUTCString()), "", T0)).toBe(7_000);
		expect(retryAfterMs(h(), '{"retry_after": 1.25}', T0)).toBe(1_250);
		expect(retryAfterMs(h(), '{"parameters": {"retry_after": 4}}', T0)).toBe(4_000);
		expect(retryAfterMs(h(), "not json", T0)).toBeUndefined();
		expect(retryAfterMs(h("soon"), "", T0)).toBeUndefined();
	});
});

describe("sendAll against a hostile endpoint", () => {
	it("reads only the head of an endless error body", async () => {
		let pulled = 0;
		const chunk = new TextEncoder().encode(`{"error":"${"x".repeat(65_000)}"}`);
		const net = fakeFetch(
			() =>
				new Response(
					new ReadableStream<Uint8Array>({
						pull(c) {
							pulled += chunk.byteLength;
							c.enqueue(chunk);
						},
					}),
					{ status: 400 },
				),
		);
		const clock = fakeClock();
		const [r] = await sendAll(msg, [SLACK], {
			fetch: net.fetch,
			now: clock.now,
			sleep: clock.sleep,
		});
		expect(r).toMatchObject({ notifier: "slack", ok: false, attempts: 1, status: 400 });
		// 400 is not retried; and at most a couple of chunks were pulled, not an unbounded stream.
		expect(pulled).toBeLessThan(4 * chunk.byteLength);
	});
});
