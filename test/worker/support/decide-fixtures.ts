// Builders for decide() tests: real parsed configs, states, observations, and a frozen-input runner.
import { type PairConfig, PairConfigSchema } from "../../../worker/src/config";
import { decide, initialState, opIdFor } from "../../../worker/src/decide";
import type {
	Command,
	CommandAction,
	CommandOutcome,
	CommandResult,
	Decision,
	Observation,
	OperatorCommand,
	PairState,
	PeerProbe,
	PendingCommand,
	ProbeResult,
	StandbyView,
	TailscaleView,
} from "../../../worker/src/types";

export const PAIR = "home";
/** A well-formed agent public key (RFC 8032 test 1, as in test/fixtures/protocol-vector.json). */
export const TEST_AGENT_PUBLIC_KEY = "ed25519:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
/** "Now" for single-step tests: well after T0, so `since`/`activeSince` of T0 are old. */
export const NOW = T0 + 10 * 60_000;

/** A config through the real schema, so every default is the shipped one. Loopback URLs only. */
export function cfg(over: Record<string, unknown> = {}): PairConfig {
	// decide() never talks to agents: any well-formed agent key will do; a primary agent needs one too.
	const primary = over.primary as Record<string, unknown> | undefined;
	const withKey =
		primary?.agentUrl !== undefined && primary.agentPublicKey === undefined
			? { ...over, primary: { ...primary, agentPublicKey: TEST_AGENT_PUBLIC_KEY } }
			: over;
	return Object.freeze(
		PairConfigSchema.parse({
			name: PAIR,
			primary: { readyUrl: "http://127.0.0.1:9001/readyz" },
			standby: { agentUrl: "http://127.0.0.1:9002", agentPublicKey: TEST_AGENT_PUBLIC_KEY },
			...withKey,
		}),
	);
}

/** Config with a Tailscale witness configured (quorum as given). */
export function cfgTailscale(over: Record<string, unknown> = {}): PairConfig {
	const { witnesses, ...rest } = over as { witnesses?: Record<string, unknown> };
	return cfg({
		witnesses: { standby: true, tailscale: { deviceId: "nPrimary" }, ...witnesses },
		...rest,
	});
}

export const OK: ProbeResult = { ok: true, status: 200, ms: 14 };
export const FAIL: ProbeResult = { ok: false, reason: "timeout", ms: 2500 };
export const REFUSED: ProbeResult = {
	ok: false,
	reason: "connect-error",
	ms: 3,
	detail: "ECONNREFUSED",
};
export const HTTP503: ProbeResult = { ok: false, reason: "http-status", status: 503, ms: 20 };

function peer(ok: boolean, ageMs = 1_000): PeerProbe {
	return ok
		? { ok, consecutiveFailures: 0, consecutiveSuccesses: 7, ageMs, latencyMs: 9 }
		: { ok, consecutiveFailures: 4, consecutiveSuccesses: 0, ageMs, reason: "timeout" };
}

/** The standby agent answers and sees the primary up. */
export function sbUp(term = 0, gatewayActive = false): StandbyView {
	return { reachable: true, primary: peer(true), term, gatewayActive };
}
/** The standby agent answers and sees the primary down. */
export function sbDown(term = 0, gatewayActive = false): StandbyView {
	return { reachable: true, primary: peer(false), term, gatewayActive };
}
/** The standby agent answers, but its probe of the primary is a minute old. */
export function sbStale(ok = false, term = 0): StandbyView {
	return { reachable: true, primary: peer(ok, 60_000), term, gatewayActive: false };
}
/** The standby agent answers but has no primary probe configured. */
export function sbNoProbe(term = 0): StandbyView {
	return { reachable: true, primary: null, term, gatewayActive: false };
}
export const SB_GONE: StandbyView = { reachable: false, reason: "timeout after 4000 ms" };

export const TS_UP: TailscaleView = { connected: true };
export const TS_DOWN: TailscaleView = { connected: false };
export const TS_ERR: TailscaleView = { error: "HTTP 500" };

export function tick(probe: ProbeResult, standby?: StandbyView, tailscale?: TailscaleView) {
	const o: Observation = { kind: "tick", probe };
	if (standby !== undefined) o.standby = standby;
	if (tailscale !== undefined) o.tailscale = tailscale;
	return o;
}

export function op(command: OperatorCommand): Observation {
	return { kind: "operator", command };
}

export function outcome(
	action: CommandAction,
	term: number,
	attempt: number,
	result: CommandResult,
	detail = "test",
): Observation {
	const o: CommandOutcome = {
		action,
		term,
		opId: opIdFor(PAIR, action, term, attempt),
		result,
		detail,
	};
	return { kind: "command", outcome: o };
}

export function pending(
	action: CommandAction,
	term: number,
	attempt = 1,
	issuedAt = NOW - 5_000,
): PendingCommand {
	return {
		action,
		target: action === "sync" ? "primary" : "standby",
		term,
		opId: opIdFor(PAIR, action, term, attempt),
		attempt,
		issuedAt,
	};
}

export function cmd(action: CommandAction, term: number, attempt = 1): Command {
	return {
		action,
		target: action === "sync" ? "primary" : "standby",
		term,
		opId: opIdFor(PAIR, action, term, attempt),
	};
}

/** A state built on initialState(T0). */
export function st(over: Partial<PairState> = {}): PairState {
	return { ...initialState(T0), ...over };
}

export function deepFreeze<T>(v: T): T {
	if (v && typeof v === "object" && !Object.isFrozen(v)) {
		Object.freeze(v);
		for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
	}
	return v;
}

/** A deep copy, so a test can freeze its input without freezing a shared fixture. */
export function clone<T>(v: T): T {
	return structuredClone(v);
}

/** decide() on a deep-frozen copy of the input: any mutation of the input throws (ES modules are strict). */
export function run(
	state: PairState,
	obs: Observation,
	config: PairConfig = cfg(),
	now = NOW,
): Decision {
	return decide(deepFreeze(clone(state)), deepFreeze(clone(obs)), config, now);
}

/** Feeds observations one after another (same `now` step per observation), returning every decision. */
export function feed(
	state: PairState,
	observations: readonly Observation[],
	config: PairConfig = cfg(),
	start = NOW,
	stepMs = config.probeIntervalSeconds * 1000,
): { state: PairState; decisions: Decision[] } {
	let s = state;
	let now = start;
	const decisions: Decision[] = [];
	for (const o of observations) {
		const d = run(s, o, config, now);
		decisions.push(d);
		s = d.state;
		if (o.kind === "tick") now += stepMs;
	}
	return { state: s, decisions };
}

export function kinds(d: Decision | readonly Decision[]): string[] {
	const list: readonly Decision[] = "state" in d ? [d] : d;
	return list.flatMap((x) => x.events.map((e) => e.kind));
}

export function notified(d: readonly Decision[]): string[] {
	return d.flatMap((x) => x.events.filter((e) => e.notify).map((e) => e.kind));
}
