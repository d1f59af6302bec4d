// The WATCHDOG_CONFIG and secrets the worker tests run with: every readiness URL points at the loopback gateways.

// A test value, never a real secret; strong enough for the admin-token rule (admin-token.ts).
export const TEST_ADMIN_TOKEN = "m9ReoNPPkfshqPkfqcezbCvpQsbHuorID1Dp6WQ17LQ=";

/** A dial-out test agent's key pair (tests only): the Worker knows the public half from the config. */
export const TEST_AGENT_PUBLIC_KEY = "ed25519:IOCnMSDph1kMLjGKw2Ztky_t0k4_JTusY4SNfX_sXFM";
export const TEST_AGENT_PRIVATE_KEY =
	"ed25519-priv:MC4CAQAwBQYDK2VwBCIEIPu0F67g7xQQvzoqzqfEHe56BAUn0bgabPoDB/Qu2s7U";

/** One pair per concern, each in its own group (its own Durable Object), so test files never share state. */
export function testWatchdogConfig(gatewayBase: string, refusedBase: string): unknown {
	const pair = (name: string, extra: Record<string, unknown> = {}) => ({
		name,
		primary: { readyUrl: `${gatewayBase}/g/${name}/readyz` },
		// Never contacted while there is no agent client; refused if it ever were.
		standby: {
			agentUrl: `${refusedBase}/standby-${name}`,
			agentPublicKey: "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
		},
		probeTimeoutMs: 1_000,
		...extra,
	});
	// Pairs alone in a group named g-<pair>; two groups hold two pairs each (concurrency, a bad pair).
	const solos = [
		"loop-grid",
		"loop-dup",
		"loop-rows",
		"loop-fail",
		"loop-evict",
		"loop-counters",
		"loop-operator",
		"loop-partition",
		"loop-tailnet-down",
		"loop-tailnet-nocreds",
		"loop-outbox",
		"api",
		"api-ops",
		"cron-missing",
		"cron-stale",
		"cron-fresh",
		"cron-far",
		"public-scrub",
		"doctor-a",
	];
	return {
		pairs: [
			...solos.map((n) =>
				n === "loop-partition" || n.startsWith("loop-tailnet")
					? pair(n, { witnesses: { standby: false, tailscale: { deviceId: `dev-${n}` } } })
					: n === "doctor-a"
						? pair(n, {
								primary: {
									readyUrl: `${gatewayBase}/g/${n}/readyz`,
									expectBody: '"ready":true',
									agentUrl: `${refusedBase}/primary-${n}`,
								},
							})
						: pair(n),
			),
			pair("multi-fast"),
			pair("multi-slow"),
			pair("mixed-good"),
			pair("mixed-broken", { failThreshold: 0 }),
			// Two intervals in one group: the slow pair's probe may take up to its own timeout.
			pair("mix-fast", { probeIntervalSeconds: 1, probeTimeoutMs: 500 }),
			pair("mix-slow", { probeIntervalSeconds: 5, probeTimeoutMs: 2_500 }),
			// Faults in the loop (a throwing agent client, eviction mid-failover), with a scripted agent.
			pair("fault-a"),
			pair("fault-b"),
			// Three pairs in one group: what one admin tab and an anonymous flood cost (cost.test.ts).
			pair("cost-a"),
			pair("cost-b"),
			pair("cost-c"),
			// Both agents dial out (WebSocket) instead of answering at an endpoint.
			{
				name: "dial",
				primary: {
					readyUrl: `${gatewayBase}/g/dial/readyz`,
					agentPublicKey: TEST_AGENT_PUBLIC_KEY,
				},
				standby: { agentPublicKey: TEST_AGENT_PUBLIC_KEY },
				probeTimeoutMs: 1_000,
			},
		],
		groups: [
			...solos.map((n) => ({ name: `g-${n}`, pairs: [n] })),
			{ name: "g-multi", pairs: ["multi-fast", "multi-slow"] },
			{ name: "g-mixed", pairs: ["mixed-good", "mixed-broken"] },
			{ name: "g-mix-interval", pairs: ["mix-fast", "mix-slow"] },
			{ name: "g-faults", pairs: ["fault-a", "fault-b"] },
			{ name: "g-cost", pairs: ["cost-a", "cost-b", "cost-c"] },
			{ name: "g-dial", pairs: ["dial"] },
		],
	};
}

export function testBindings(gatewayBase: string, refusedBase: string): Record<string, string> {
	return {
		WATCHDOG_CONFIG: JSON.stringify(testWatchdogConfig(gatewayBase, refusedBase)),
		ADMIN_TOKEN: TEST_ADMIN_TOKEN,
		// The tests' gateways and agents are on loopback over plain http: local development only.
		LOCAL_DEVELOPMENT: "1",
		GATEWAY_BASE: gatewayBase,
		REFUSED_BASE: refusedBase,
	};
}
