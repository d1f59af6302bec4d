// The Worker's lease: who holds it in each pair state, and the signed header on every status request.
import { describe, expect, it } from "vitest";
import {
	agentFingerprint,
	generateKeyPair,
	HEADERS,
	verifyLease,
	verifyRequest,
} from "../../protocol";
import { buildLease, leaseHolder, signedLeaseFor } from "../../worker/src/lease";
import { createSignedAgentClient } from "../../worker/src/signed-agent-client";
import { STATE_NAMES } from "../../worker/src/types";

describe("leaseHolder", () => {
	it("nobody while the roles change; the active side in every other state", () => {
		for (const state of STATE_NAMES) {
			for (const active of ["primary", "standby"] as const) {
				const want = state === "promoting" || state === "demoting" ? null : active;
				expect(leaseHolder({ state, active }), `${state}/${active}`).toBe(want);
			}
		}
	});

	it("builds a lease naming pair, holder, term and lifetime", () => {
		expect(
			buildLease("home", { state: "standby-active", active: "standby", term: 4 }, 1_000.7, 20),
		).toEqual({
			pair: "home",
			active: "standby",
			term: 4,
			issuedAt: 1_000,
			leaseSeconds: 20,
		});
	});
});

describe("lease on the status request", () => {
	it("rides as x-fg-lease beside a request signature that still verifies", async () => {
		const keys = await generateKeyPair();
		const agent = await generateKeyPair();
		const audience = {
			pair: "home",
			side: "standby" as const,
			agent: await agentFingerprint(agent.publicKeyText),
		};
		const now = Date.now();
		const lease = buildLease("home", { state: "primary-active", active: "primary", term: 2 }, now);
		const seen: Request[] = [];
		const client = createSignedAgentClient({
			pair: "home",
			standbyUrl: "https://standby.example",
			standbyKey: agent.publicKeyText,
			privateKey: keys.privateKey,
			timeoutMs: 1_000,
			fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
				seen.push(new Request(input, init));
				return new Response("{}", { status: 500 });
			}) as typeof fetch,
			sleep: async () => {},
		});
		await client.status(undefined, lease);
		const req = seen[0];
		if (req === undefined) throw new Error("no request");
		const header = req.headers.get(HEADERS.lease) ?? "";
		expect(header).toBe(
			await signedLeaseFor(
				"home",
				{ state: "primary-active", active: "primary", term: 2 },
				now,
				keys.privateKey,
			),
		);
		const signed = await verifyRequest({
			method: "GET",
			path: "/v1/status",
			headers: req.headers,
			publicKeys: [keys.publicKey],
			audience,
			now,
		});
		expect(signed.ok).toBe(true);
		const v = await verifyLease(header, [keys.publicKey], now);
		expect(v).toMatchObject({ ok: true, lease: { pair: "home", active: "primary", term: 2 } });
		await client.status();
		expect(seen.at(-1)?.headers.get(HEADERS.lease)).toBeNull();
	});
});
