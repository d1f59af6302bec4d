// The one probe specification both vantage points use: what each answer proves, and which paths are readiness paths.
import { describe, expect, it } from "vitest";
import {
	classifyAnswer,
	classifyFailure,
	DEFAULT_EXPECT_BODY,
	isReadinessPath,
	probeSpec,
} from "../../protocol/probe-spec";

const spec = probeSpec("https://p.example.test/readyz");

describe("classifyAnswer", () => {
	it("defaults to HTTP 200 with OpenClaw's body", () => {
		expect(spec).toEqual({
			url: "https://p.example.test/readyz",
			expectStatus: 200,
			expectBody: '"ready":true',
		});
		expect(DEFAULT_EXPECT_BODY).toBe('"ready":true');
	});
	it.each<[number, string | undefined, string]>([
		[200, '{"ready":true}', "up"],
		[200, '{"ready":false}', "down/service"],
		[200, "<html>login</html>", "down/service"],
		[500, undefined, "down/service"],
		[502, undefined, "down/service"],
		[503, '{"ready":false,"failing":["startup-sidecars"]}', "down/service"],
		[599, undefined, "down/service"],
		[301, undefined, "refused"],
		[302, undefined, "refused"],
		[307, undefined, "refused"],
		[308, undefined, "refused"],
		[400, undefined, "refused"],
		[401, undefined, "refused"],
		[403, undefined, "refused"],
		[404, undefined, "refused"],
		[405, undefined, "refused"],
		[429, undefined, "refused"],
		[204, undefined, "refused"],
	])("HTTP %i %j -> %s", (status, body, want) => {
		const v = classifyAnswer(spec, status, body);
		expect(v.class === "down" ? `down/${v.level}` : v.class).toBe(want);
	});
	it("every 3xx and 4xx is refused, never down; every 5xx is down", () => {
		for (let s = 300; s < 600; s++) {
			const v = classifyAnswer(spec, s, undefined);
			expect(v.class, String(s)).toBe(s >= 500 ? "down" : "refused");
		}
	});
	it("an empty expected body turns the body check off", () => {
		expect(classifyAnswer({ expectStatus: 200, expectBody: "" }, 200, "anything").class).toBe("up");
	});
});

describe("classifyFailure", () => {
	it.each([
		["timeout", undefined, "down/connection"],
		["connect-error", undefined, "down/connection"],
		["body-mismatch", 200, "down/service"],
		["http-status", 503, "down/service"],
		["http-status", 403, "refused"],
		["http-status", 302, "refused"],
		// An old agent without the status: it answered, and not ready: the safe reading is down.
		["http-status", undefined, "down/service"],
	] as const)("%s %s -> %s", (reason, status, want) => {
		const v = classifyFailure(reason, status);
		expect(v.class === "down" ? `down/${v.level}` : v.class).toBe(want);
	});
});

describe("isReadinessPath", () => {
	it.each([
		["https://p.example.test/readyz", true],
		["https://p.example.test/ready", true],
		["https://p.example.test/readyz/", true],
		["http://127.0.0.1:18789/readyz?x=1", true],
		["https://p.example.test/", false],
		["https://p.example.test/healthz", false],
		["https://p.example.test/api/readyz", false],
		["not a url", false],
	])("%s -> %s", (url, want) => {
		expect(isReadinessPath(url)).toBe(want);
	});
});
