// The WATCHDOG_CONFIG and secrets the worker tests run with: every readiness URL points at the loopback gateways.
import { generateKeyPairSync } from "node:crypto";

// A test value, never a real secret; strong enough for the admin-token rule (admin-token.ts).
export const TEST_ADMIN_TOKEN = "m9ReoNPPkfshqPkfqcezbCvpQsbHuorID1Dp6WQ17LQ=";

/** A fresh Ed25519 key pair in the project's text encodings (keys.ts): "ed25519-priv:" PKCS#8, "ed25519:" raw. */
function testKeyPair(): { privateKeyText: string; publicKeyText: string } {
	const { privateKey, publicKey } = generateKeyPairSync("ed25519");
	const der = privateKey.export({ format: "der", type: "pkcs8" });
	const jwk = publicKey.export({ format: "jwk" });
	return {
		privateKeyText: `ed25519-priv:${der.toString("base64")}`,
		publicKeyText: `ed25519:${jwk.x}`,
	};
}

/**
 * Keys for the doctor tests' signed fake agents (test/worker/doctor.test.ts), made per run: the
 * watchdog's, and pair doctor-a's two agent keys (their public halves are in its config). Passed as the
 * DOCTOR_KEYS binding, not as WATCHDOG_PRIVATE_KEY, so every other test keeps the no-agent client.
 */
export interface DoctorKeys {
	watchdog: string;
	standby: string;
	primary: string;
}

/** A dial-out test agent's key pair (tests only): the Worker knows the public half from the config. */
export const TEST_AGENT_PUBLIC_KEY = "ed25519:IOCnMSDph1kMLjGKw2Ztky_t0k4_JTusY4SNfX_sXFM";
export const TEST_AGENT_PRIVATE_KEY =
	"ed25519-priv:MC4CAQAwBQYDK2VwBCIEIPu0F67g7xQQvzoqzqfEHe56BAUn0bgabPoDB/Qu2s7U";

/** One pair per concern, each in its own group (its own Durable Object), so test files never share state. */
export function testWatchdogConfig(
	gatewayBase: string,
	refusedBase: string,
	doctorAgents: { standby: string; primary: string },
): unknown {
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
									agentPublicKey: doctorAgents.primary,
								},
								standby: {
									agentUrl: `${refusedBase}/standby-${n}`,
									agentPublicKey: doctorAgents.standby,
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
	const [watchdog, standby, primary] = [testKeyPair(), testKeyPair(), testKeyPair()];
	const doctorKeys: DoctorKeys = {
		watchdog: watchdog.privateKeyText,
		standby: standby.privateKeyText,
		primary: primary.privateKeyText,
	};
	return {
		WATCHDOG_CONFIG: JSON.stringify(
			testWatchdogConfig(gatewayBase, refusedBase, {
				standby: standby.publicKeyText,
				primary: primary.publicKeyText,
			}),
		),
		DOCTOR_KEYS: JSON.stringify(doctorKeys),
		ADMIN_TOKEN: TEST_ADMIN_TOKEN,
		// The tests' gateways and agents are on loopback over plain http: local development only.
		LOCAL_DEVELOPMENT: "1",
		GATEWAY_BASE: gatewayBase,
		REFUSED_BASE: refusedBase,
	};
}
