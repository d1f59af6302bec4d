// The per-pair doctor checks (run inside the pair's Durable Object): would a failover work right now?
import type { Role } from "../../protocol";
import type { AgentClient } from "./agent-client";
import { agentTransport, type PairConfig } from "./config";
import type { LoadedConfig } from "./config-cache";
import { deadline } from "./deadline";
import type { DoctorCheck, PairVerdict } from "./doctor-report";
import { probeHttp } from "./probe";
import { type StatusFailure, standbyViewOf, type VerifiedStatus } from "./signed-agent-client";
import type { ConnectionStats, PrimaryAgentView, Side, StandbyView, TailscaleView } from "./types";

export interface PairDoctorDeps {
	fetch: typeof fetch;
	clock: () => number;
	/**
	 * GET /v1/status of `side`'s agent, signed for that side and verified with its agentPublicKey;
	 * `undefined` when the Worker cannot sign (no WATCHDOG_PRIVATE_KEY).
	 */
	readStatus(
		pair: PairConfig,
		side: Role,
		signal: AbortSignal,
	): Promise<VerifiedStatus | undefined>;
	/** The pair's own client (both transports), for a side that dials out: its newest pushed status. */
	agentFor?(pair: PairConfig): AgentClient;
	/** A dial-out side's connection facts (connected, refusals, last close). */
	connection?(pair: PairConfig, side: Side): ConnectionStats;
	tailscale?: (deviceId: string, timeoutMs: number, signal: AbortSignal) => Promise<TailscaleView>;
}

const ok = (name: string, detail: string): DoctorCheck => ({ name, ok: true, detail });
const bad = (name: string, detail: string, fix: string): DoctorCheck => ({
	name,
	ok: false,
	detail,
	fix,
});

/** Checks one pair; every call has its own deadline (the pair's probe or command timeout). */
export async function doctorPair(
	name: string,
	config: LoadedConfig,
	deps: PairDoctorDeps,
): Promise<PairVerdict> {
	const pair = config.pairs.get(name);
	if (!pair) {
		const errors = (config.pairErrors.get(name) ?? []).map((e) => `${e.path}: ${e.message}`);
		return {
			pair: name,
			ok: false,
			checks: [
				bad(
					"config",
					`not watched: ${errors.join("; ") || "invalid"}`,
					"edit local/worker-config.json as the message says, then deploy again (npx wrangler deploy --var ...)",
				),
			],
		};
	}
	const [probe, standby, primaryAgent, tailscale] = await Promise.all([
		probeCheck(pair, deps),
		pair.standby.agentUrl !== undefined
			? agentCheck(pair, "standby", pair.standby.agentUrl, deps)
			: dialOutCheck(pair, "standby", deps),
		pair.primary.agentUrl !== undefined
			? agentCheck(pair, "primary", pair.primary.agentUrl, deps)
			: agentTransport(pair, "primary").kind === "dial-out"
				? dialOutCheck(pair, "primary", deps)
				: Promise.resolve(undefined),
		tailscaleCheck(pair, deps),
	]);
	const checks: DoctorCheck[] = [ok("config", "valid"), probe, standby.check];
	if (primaryAgent) checks.push(primaryAgent.check);
	checks.push(standbyWitness(pair, standby.view));
	if (tailscale) checks.push(tailscale);
	return { pair: name, ok: checks.every((c) => c.ok), checks };
}

async function probeCheck(pair: PairConfig, deps: PairDoctorDeps): Promise<DoctorCheck> {
	const url = pair.primary.readyUrl;
	const r = await probeHttp(url, {
		fetch: deps.fetch,
		timeoutMs: pair.probeTimeoutMs,
		expectStatus: pair.primary.expectStatus,
		...(pair.primary.expectBody !== undefined ? { expectBody: pair.primary.expectBody } : {}),
		now: deps.clock,
	});
	if (r.ok) {
		const body =
			pair.primary.expectBody === undefined
				? " (no expectBody: any 200 counts)"
				: " with the expected body";
		return ok("probe", `${url} answered ${r.status} in ${r.ms} ms${body}`);
	}
	const seen = `${url}: ${r.detail ?? r.reason}`;
	switch (r.reason) {
		case "body-mismatch":
			return bad(
				"probe",
				seen,
				`curl -si ${url}   # readyUrl must be OpenClaw's /readyz, answering {"ready":true}`,
			);
		case "http-status":
			return bad(
				"probe",
				seen,
				r.status === 404
					? "on the primary: sudo tailscale funnel --bg --set-path=/readyz http://127.0.0.1:18789/readyz   # or the tunnel's ^/readyz$ rule"
					: `curl -si ${url}   # the primary's gateway must be ready (503 = not ready)`,
			);
		default:
			return bad(
				"probe",
				seen,
				`curl -si ${url}   # from outside the tailnet; on the primary: tailscale funnel status (or cloudflared tunnel info)`,
			);
	}
}

/** One side's agent read as a failover would use it: signed for that side, its answer verified with that side's key. */
async function agentCheck(
	pair: PairConfig,
	side: Role,
	url: string,
	deps: PairDoctorDeps,
): Promise<{ check: DoctorCheck; view: StandbyView | undefined }> {
	const name = `${side} agent`;
	const dl = deadline(pair.commandTimeoutMs);
	let read: VerifiedStatus | undefined;
	try {
		read = await deps.readStatus(pair, side, dl.signal);
	} finally {
		dl.clear();
	}
	if (read === undefined) {
		return {
			view: undefined,
			check: bad(
				name,
				"the Worker has no WATCHDOG_PRIVATE_KEY, so it can neither read nor command any agent",
				"npx wrangler secret put WATCHDOG_PRIVATE_KEY < local/watchdog.key",
			),
		};
	}
	if (!read.ok) {
		return {
			view: { reachable: false, reason: read.reason },
			check: bad(name, `${url}: ${read.reason}`, agentFix(pair, side, url, read)),
		};
	}
	const s = read.status;
	if (s.role !== side) {
		// The audience already binds the side; a signed status naming the other role is an agent bug.
		return {
			view: undefined,
			check: bad(
				name,
				`${url}: the agent says it is the ${s.role}'s agent`,
				`on that VPS: sudoedit /etc/failover-agent/config.json   # "role": "${side}", then restart the agent`,
			),
		};
	}
	return {
		view: side === "standby" ? standbyViewOf(s, 0) : undefined,
		check: ok(
			name,
			`${url} answered a status signed by ${side}.agentPublicKey (protocol v${s.version}, term ${s.term})`,
		),
	};
}

/** The one-line fix for a failed status read, by what went wrong (never by what an unverified answer asks). */
function agentFix(pair: PairConfig, side: Role, url: string, f: StatusFailure): string {
	const field = `${side}.agentPublicKey`;
	const rekey = `the agent on the ${side}'s VPS holds another key than ${field}: put the public key failover-agent keygen --agent printed there into ${field} in local/worker-config.json and deploy again (or run keygen --agent again and restart the agent)`;
	const trust = `the agent's watchdogPublicKeys must hold the public half of WATCHDOG_PRIVATE_KEY: copy local/${pair.name}/${side}/config.json from failover-gateway init again, or npx wrangler secret put WATCHDOG_PRIVATE_KEY < local/watchdog.key`;
	const update =
		"update the agent to protocol v2: npm run build:agent, copy dist/agent.mjs to the VPS, sudo systemctl restart failover-agent";
	const reachable = `curl -s ${url}/healthz   # from outside; on the VPS: systemctl status failover-agent and tailscale funnel status`;
	switch (f.cause) {
		case "key":
			return f.reason.startsWith("WATCHDOG_PRIVATE_KEY")
				? "npx wrangler secret put WATCHDOG_PRIVATE_KEY < local/watchdog.key   # the value must be keygen's private key text"
				: `${field} in local/worker-config.json must be "ed25519:..." as failover-agent keygen --agent printed it`;
		case "unreachable":
		case "not-configured":
			return reachable;
		case "protocol":
			return update;
		case "refused":
			return f.agentCode === "rate-limited"
				? "wait a minute and run doctor again   # the agent limits signed requests per minute"
				: reachable;
		case "unverified":
			break;
		default:
			return f.cause satisfies never;
	}
	// The agent refuses a request it cannot authenticate without signing the refusal: its code picks the fix.
	switch (f.agentCode) {
		case "unknown-key":
			return trust;
		case "stale-timestamp":
			return "on the agent's VPS: sudo timedatectl set-ntp true   # its clock is off";
		case "wrong-audience": {
			const said = f.agentMessage ?? "";
			if (/this agent serves pair/.test(said))
				return `on the ${side}'s VPS: sudoedit /etc/failover-agent/config.json   # "pair": "${pair.name}", then restart the agent`;
			if (/this agent is the/.test(said))
				return `${side}.agentUrl in local/worker-config.json points at the other side's agent: swap the URLs, then deploy again`;
			return rekey;
		}
		// A protocol v1 agent checks a v2 signature against its v1 canonical string, and refuses it.
		case "bad-signature":
		case "malformed-headers":
			return update;
	}
	// Signed, but not by the configured key (or a replayed answer): the agent holds another key, or something
	// between the Worker and the agent answers for it.
	if (f.answerCode === "bad-answer-signature" || f.answerCode === "wrong-nonce") return rekey;
	// Unsigned, with no agent error in it: a proxy's page, the wrong URL, or an agent older than v2.
	return `${reachable}   # it must be failover-agent v2 answering; ${update}`;
}

/**
 * A side that dials out: connected, authenticated, and pushing a status the tick can read. The socket
 * carries the same signed envelope as HTTP, so a connected agent has already proved its key (hello).
 */
async function dialOutCheck(
	pair: PairConfig,
	side: Side,
	deps: PairDoctorDeps,
): Promise<{ check: DoctorCheck; view: StandbyView | undefined }> {
	const name = `${side} agent`;
	const conn = deps.connection?.(pair, side);
	const client = deps.agentFor?.(pair);
	if (!client || !conn) {
		return { view: undefined, check: bad(name, "dial-out is not available here", "report this") };
	}
	const dl = deadline(pair.commandTimeoutMs);
	let view: StandbyView | PrimaryAgentView | undefined;
	try {
		view =
			side === "standby" ? await client.status(dl.signal) : await client.primaryStatus?.(dl.signal);
	} finally {
		dl.clear();
	}
	const standbyView = side === "standby" ? (view as StandbyView | undefined) : undefined;
	if (conn.connected && view?.reachable) {
		return {
			view: standbyView,
			check: ok(
				name,
				`dials out: connected since ${new Date(conn.since ?? 0).toISOString()}, pushing its status (term ${view.term})`,
			),
		};
	}
	const why = conn.lastRefusal
		? `refused: ${conn.lastRefusal}`
		: conn.connected
			? "connected but pushes no status"
			: `not connected${conn.lastClose ? ` (last close ${conn.lastClose})` : ""}`;
	const fix = /unknown agent key/.test(why)
		? `${side}.agentPublicKey must be the key the agent signs with: on the ${side}, failover-agent keygen --agent printed it (or check agentKeyFile in its config)`
		: /clock off/.test(why)
			? `on the ${side}: sudo timedatectl set-ntp true   # its clock is off`
			: `on the ${side}: systemctl status failover-agent; journalctl -u failover-agent | grep dial-out   # watchdogUrl must be this Worker's URL`;
	return { view: standbyView, check: bad(name, `dials out: ${why}`, fix) };
}

function standbyWitness(pair: PairConfig, view: StandbyView | undefined): DoctorCheck {
	const name = "standby witness";
	if (!pair.witnesses.standby)
		return ok(name, "off for this pair: the Worker's probe decides alone");
	if (view === undefined || !view.reachable) {
		return bad(
			name,
			"cannot vote: the standby agent does not answer (see above)",
			"fix the standby agent check first",
		);
	}
	if (view.primary === null) {
		return bad(
			name,
			"cannot vote: the standby agent has no primaryReadyUrl, so every outage would look like a partition",
			'on the standby: sudoedit /etc/failover-agent/config.json   # add "primaryReadyUrl": "http://<primary>.<tailnet>.ts.net:18789/readyz", then restart the agent',
		);
	}
	if (!view.primary.ok) {
		return bad(
			name,
			`the standby cannot see the primary over the tailnet (${view.primary.reason ?? "probe failing"}), so a Worker-side outage would read as a partition`,
			"on the primary, as the gateway's user: openclaw config set gateway.bind tailnet && openclaw gateway restart   # then failover-agent doctor on the standby",
		);
	}
	return ok(name, `votes: sees the primary up (probe ${view.primary.ageMs} ms old)`);
}

async function tailscaleCheck(
	pair: PairConfig,
	deps: PairDoctorDeps,
): Promise<DoctorCheck | undefined> {
	const ts = pair.witnesses.tailscale;
	if (!ts) return undefined;
	if (!deps.tailscale) {
		return bad(
			"tailscale witness",
			"configured, but the Worker has no Tailscale API credentials: it would always vote unknown",
			"npx wrangler secret put TAILSCALE_API_KEY   # or TAILSCALE_OAUTH_CLIENT_ID and TAILSCALE_OAUTH_CLIENT_SECRET",
		);
	}
	const dl = deadline(ts.timeoutMs * 2);
	try {
		const view = await deps.tailscale(ts.deviceId, ts.timeoutMs, dl.signal);
		if ("error" in view) {
			return bad(
				"tailscale witness",
				`cannot vote: ${view.error}`,
				view.error.includes("wrangler")
					? view.error.slice(view.error.indexOf("npx"))
					: `check deviceId ${ts.deviceId} and the API key's devices:core:read scope`,
			);
		}
		return ok(
			"tailscale witness",
			`votes: the primary device is ${view.connected ? "connected" : "NOT connected"} to Tailscale`,
		);
	} finally {
		dl.clear();
	}
}
