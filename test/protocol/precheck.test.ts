// precheckRequest: verifyRequest's header and clock rules without a key or the body, for refusing early (issue 12 finding 6).
import { describe, expect, it } from "vitest";
import {
	agentFingerprint,
	generateKeyPair,
	HEADERS,
	precheckRequest,
	signRequest,
} from "../../protocol";

const T0 = 1_800_000_000_000;

describe("precheckRequest", async () => {
	const keys = await generateKeyPair();
	const good = await signRequest({
		method: "GET",
		path: "/v1/status",
		privateKey: keys.privateKey,
		audience: { pair: "home", side: "standby", agent: await agentFingerprint(keys.publicKeyText) },
		now: T0,
	});
	const cases: [string, Record<string, string>, number, string | null][] = [
		["signed headers, any key", good, T0, null],
		["no headers at all", {}, T0, "missing-signature"],
		[
			"no signature",
			{ ...good, [HEADERS.signature]: undefined as unknown as string },
			T0,
			"missing-signature",
		],
		["short nonce", { ...good, [HEADERS.nonce]: "short" }, T0, "malformed-headers"],
		["timestamp not a number", { ...good, [HEADERS.timestamp]: "soon" }, T0, "malformed-headers"],
		["signature not 64 bytes", { ...good, [HEADERS.signature]: "AAAA" }, T0, "malformed-headers"],
		["key id malformed", { ...good, [HEADERS.keyId]: "x" }, T0, "malformed-headers"],
		["clock too far behind", good, T0 + 31_000, "stale-timestamp"],
		["clock too far ahead", good, T0 - 31_000, "stale-timestamp"],
	];
	for (const [name, headers, now, code] of cases) {
		it(name, async () => {
			const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined));
			const r = await precheckRequest({ headers: clean, now });
			expect(r.ok ? null : r.code).toBe(code);
		});
	}
});
