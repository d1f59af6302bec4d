import { describe, expect, it } from "vitest";
import { buildMessage } from "../../../worker/src/notify/message";
import {
	headerValue,
	NTFY_BODY_LIMIT_BYTES,
	ntfyBody,
	ntfyRequest,
} from "../../../worker/src/notify/ntfy";
import { utf8Length } from "../../../worker/src/notify/text";
import { event } from "./fixtures";

function decodeRfc2047(v: string): string {
	const m = /^=\?UTF-8\?B\?(.*)\?=$/.exec(v);
	if (!m?.[1]) return v;
	return new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
}

describe("ntfy", () => {
	it("puts title, priority, tags, click and auth in headers and the details in a plain body", () => {
		const r = ntfyRequest(
			buildMessage("home", event(), { dashboardUrl: "https://status.example.test/" }),
			{
				url: "https://hooks.example.test/topic",
				token: "tk_abc",
			},
		);
		expect(r.url).toBe("https://hooks.example.test/topic");
		expect(r.headers).toMatchObject({
			title: "home: Failover started: promoting the standby",
			priority: "5",
			tags: "rotating_light,promoting",
			click: "https://status.example.test/",
			authorization: "Bearer tk_abc",
			"content-type": "text/plain; charset=utf-8",
		});
		expect(r.headers).not.toHaveProperty("markdown");
		expect(r.body).toContain("Primary not ready for 3 probes");
		expect(r.body).toContain("When: 2026-05-17T12:30:00.000Z");
		expect(r.body).toContain("- worker probe: GET /readyz timed out after 2500 ms");
		expect(r.body).toContain("- standby agent: primary probe failed 4 times");
		expect(r.body).toContain("What to do next: Check the primary VPS");
	});

	it("maps severity to priority and sends no auth without a token", () => {
		const r = ntfyRequest(buildMessage("home", event({ kind: "resumed", severity: "info" })), {
			url: "https://hooks.example.test/t",
		});
		expect(r.headers.priority).toBe("3");
		expect(r.headers).not.toHaveProperty("authorization");
	});

	it("encodes non-ASCII titles per RFC 2047 and keeps header values on one line", () => {
		const v = headerValue("café\r\nX-Injected: 1");
		expect(v).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
		expect(decodeRfc2047(v)).toBe("café X-Injected: 1");
		const plain = headerValue("a\nb");
		expect(plain).toBe("a b");
		// Every produced header is accepted by the runtime's Headers (which rejects CR/LF and non-Latin-1).
		const r = ntfyRequest(buildMessage("pair\nX: y", event()), {
			url: "https://hooks.example.test/t",
		});
		expect(() => new Headers(r.headers)).not.toThrow();
	});

	it("keeps the body within 4096 bytes with multi-byte input", () => {
		const huge = "é🚨".repeat(4_000);
		const body = ntfyBody(
			buildMessage(
				"home",
				event({
					summary: huge,
					next: huge,
					evidence: Array.from({ length: 30 }, () => ({ witness: "worker" as const, saw: huge })),
				}),
			),
		);
		expect(utf8Length(body)).toBeLessThanOrEqual(NTFY_BODY_LIMIT_BYTES);
		expect(body).toMatch(/- \d+ more; see the status page/);
		expect(body).toContain("What to do next:");
		expect(body).not.toMatch(/[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u);
	});
});
