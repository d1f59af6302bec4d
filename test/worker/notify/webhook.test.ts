import { describe, expect, it } from "vitest";
import { buildMessage } from "../../../worker/src/notify/message";
import { WEBHOOK_PAYLOAD_VERSION, webhookRequest } from "../../../worker/src/notify/webhook";
import {
	SIGNATURE_HEADER,
	signWebhook,
	TIMESTAMP_HEADER,
	verifyWebhookSignature,
} from "../../../worker/src/notify/webhook-signature";
import { event, HOSTILE, T0 } from "./fixtures";

const SECRET = "0123456789abcdef0123456789abcdef";
const n = { url: "https://hooks.example.test/hook", secret: SECRET };

describe("generic webhook", () => {
	it("posts the event itself with pair, version and a stable id", async () => {
		const ev = event({ summary: HOSTILE });
		const r = await webhookRequest(
			buildMessage("home", ev, { dashboardUrl: "https://status.example.test/" }),
			n,
			T0,
		);
		const body = JSON.parse(r.body);
		expect(body).toEqual({
			version: WEBHOOK_PAYLOAD_VERSION,
			id: `home:4:promoting:${T0}`,
			pair: "home",
			title: "home: Failover started: promoting the standby",
			when: "2026-05-17T12:30:00.000Z",
			dashboardUrl: "https://status.example.test/",
			event: ev,
		});
		expect(r.headers["content-type"]).toBe("application/json");
	});

	it("signs sha256=<hex> over `<timestamp>.<body>`, verifiable by a receiver", async () => {
		const r = await webhookRequest(buildMessage("home", event()), n, T0 + 999);
		const headers = new Headers(r.headers);
		expect(headers.get(TIMESTAMP_HEADER)).toBe(String(Math.floor(T0 / 1000)));
		expect(headers.get(SIGNATURE_HEADER)).toMatch(/^sha256=[0-9a-f]{64}$/);
		// Independent recomputation with WebCrypto, as a receiver in any language would do.
		const key = await crypto.subtle.importKey(
			"raw",
			new TextEncoder().encode(SECRET),
			{ name: "HMAC", hash: "SHA-256" },
			false,
			["sign"],
		);
		const mac = await crypto.subtle.sign(
			"HMAC",
			key,
			new TextEncoder().encode(`${headers.get(TIMESTAMP_HEADER)}.${r.body}`),
		);
		const hex = Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
		expect(headers.get(SIGNATURE_HEADER)).toBe(`sha256=${hex}`);
		expect(await verifyWebhookSignature(SECRET, r.body, headers, { nowMs: T0 + 10_000 })).toEqual({
			ok: true,
			timestamp: Math.floor(T0 / 1000),
		});
	});

	it("rejects a tampered body, a wrong secret, a stale timestamp and malformed headers", async () => {
		const body = '{"a":1}';
		const ts = Math.floor(T0 / 1000);
		const h = new Headers(await signWebhook(SECRET, body, ts));
		const at = { nowMs: T0 };
		expect(await verifyWebhookSignature(SECRET, '{"a":2}', h, at)).toMatchObject({
			ok: false,
			reason: "bad-signature",
		});
		expect(await verifyWebhookSignature(`${SECRET}x`, body, h, at)).toMatchObject({
			ok: false,
			reason: "bad-signature",
		});
		expect(await verifyWebhookSignature(SECRET, body, h, { nowMs: T0 + 301_000 })).toMatchObject({
			ok: false,
			reason: "stale-timestamp",
		});
		expect(await verifyWebhookSignature(SECRET, body, h, { nowMs: T0 - 301_000 })).toMatchObject({
			ok: false,
			reason: "stale-timestamp",
		});
		expect(await verifyWebhookSignature(SECRET, body, new Headers(), at)).toMatchObject({
			ok: false,
			reason: "missing-header",
		});
		const bad = (sig: string, t = String(ts)) =>
			verifyWebhookSignature(
				SECRET,
				body,
				new Headers({ [TIMESTAMP_HEADER]: t, [SIGNATURE_HEADER]: sig }),
				at,
			);
		expect(await bad("sha1=abcd")).toMatchObject({ reason: "bad-signature" });
		expect(await bad("sha256=zz")).toMatchObject({ reason: "bad-signature" });
		expect(await bad(h.get(SIGNATURE_HEADER) ?? "", "12a")).toMatchObject({
			reason: "bad-timestamp",
		});
		// The signature is bound to the timestamp: replaying it with a fresh timestamp fails.
		expect(await bad(h.get(SIGNATURE_HEADER) ?? "", String(ts + 1))).toMatchObject({
			reason: "bad-signature",
		});
	});
});
