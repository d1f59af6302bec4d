import { describe, expect, it } from "vitest";
import { checkWorkerFetchableUrl, isLoopbackHost } from "../../protocol";

const deployed = { allowLocal: false };
const local = { allowLocal: true };

describe("checkWorkerFetchableUrl", () => {
	it.each([
		"https://primary.tail1234.ts.net/readyz",
		"https://primary-ready.example.com/readyz",
		"https://agent.example.com:8443/",
	])("accepts %s", (url) => {
		expect(checkWorkerFetchableUrl(url, deployed)).toEqual({ ok: true });
	});

	it.each([
		["not a url", "not an absolute URL"],
		["ftp://example.com/readyz", "expected an https:// URL"],
		["https://user:pw@example.com/readyz", "credentials"],
		["http://primary.example.com/readyz", "plain http://"],
		["https://127.0.0.1:18789/readyz", "loopback"],
		["https://localhost/readyz", "loopback"],
		["https://[::1]/readyz", "loopback"],
		["https://100.101.102.103/readyz", "private-range"],
		["https://10.0.0.5/readyz", "private-range"],
		["https://172.20.1.1/readyz", "private-range"],
		["https://192.168.1.10/readyz", "private-range"],
		["https://169.254.169.254/latest", "link-local"],
		["https://203.0.113.7/readyz", "bare IP address"],
		["https://[2001:db8::1]/readyz", "bare IP address"],
		["https://primary/readyz", "single-label"],
	])("refuses %s (%s)", (url, why) => {
		const v = checkWorkerFetchableUrl(url, deployed);
		expect(v.ok).toBe(false);
		if (!v.ok) expect(v.message).toContain(why);
	});

	it("allows loopback and plain http only in local development", () => {
		expect(checkWorkerFetchableUrl("http://127.0.0.1:8080/readyz", local)).toEqual({ ok: true });
		expect(checkWorkerFetchableUrl("http://localhost:8080/readyz", local)).toEqual({ ok: true });
		expect(checkWorkerFetchableUrl("http://127.0.0.1:8080/readyz", deployed).ok).toBe(false);
		// Local development does not make a private address fetchable from Cloudflare.
		expect(checkWorkerFetchableUrl("https://10.0.0.5/readyz", local).ok).toBe(false);
	});

	it("knows loopback names", () => {
		expect(isLoopbackHost("127.1.2.3")).toBe(true);
		expect(isLoopbackHost("app.localhost")).toBe(true);
		expect(isLoopbackHost("128.0.0.1")).toBe(false);
	});
});
