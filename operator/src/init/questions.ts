// The questions `failover-gateway init` asks: one flag each, a default, and a validator built on the schemas' own rules.

import { AgentConfigSchema } from "../../../agent/src/config";
import { UnitNameSchema } from "../../../agent/src/steps/schema";
import { checkWorkerFetchableUrl } from "../../../protocol";
import { PairConfigSchema } from "../../../worker/src/config";

/**
 * The workspace is written into the systemd unit (ReadWritePaths= splits on spaces) and into shell
 * commands the operator pastes, so init takes only characters neither reads specially.
 */
const PLAIN_WORKSPACE_RE = /^\/[A-Za-z0-9._\/@+~-]+$/;

/** A validated answer, or the reason it was refused (shown at the prompt, or as the flag's error). */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/** One question: the flag that answers it, the prompt text, and how to check the answer. */
export interface Question<T> {
	flag: string;
	prompt: string;
	/** Shown as the default and used when the answer is empty; undefined means the answer is required. */
	fallback: string | undefined;
	check(text: string): Checked<T>;
}

type Schema = {
	safeParse(
		v: unknown,
	):
		| { success: true; data: unknown }
		| { success: false; error: { issues: { message: string }[] } };
};

/** Runs one field's own schema (never a copy of its rule) and names the field in the refusal. */
function bySchema<T>(
	schema: Schema,
	field: string,
	text: string,
	value: unknown = text,
): Checked<T> {
	const r = schema.safeParse(value);
	if (r.success) return { ok: true, value: r.data as T };
	return { ok: false, message: `${field}: ${r.error.issues[0]?.message ?? "invalid"}` };
}

const workerUrl =
	(field: string, allowLocal: boolean) =>
	(text: string): Checked<string> => {
		const verdict = checkWorkerFetchableUrl(text, { allowLocal });
		return verdict.ok
			? bySchema<string>(PairConfigSchema.shape.primary.shape.readyUrl, field, text)
			: { ok: false, message: `${field}: ${verdict.message}` };
	};

const optional =
	<T>(check: (t: string) => Checked<T>) =>
	(text: string): Checked<T | undefined> =>
		text === "" || text === "none" ? { ok: true, value: undefined } : check(text);

const hostOf = (url: string | undefined): string => (url ? (URL.parse(url)?.hostname ?? "") : "");

/** The agent config's own rule for `fencing.standbyUrl` (agent/src/config.ts). */
const STANDBY_URL_SCHEMA = AgentConfigSchema.shape.fencing.def.innerType.shape.standbyUrl;

/**
 * Whether the pair runs an agent on its primary, from the answers so far (the questions that decide
 * it come first): dial-out asks it, endpoint has a primary agent URL.
 */
function hasPrimaryAgentSoFar(earlier: Partial<PairAnswers>): boolean {
	return earlier.transport === "endpoint"
		? earlier.primaryAgentUrl !== undefined
		: earlier.primaryAgent !== false;
}

/**
 * How the agents reach the watchdog: "dial-out" (recommended: each agent keeps one outbound WebSocket
 * to the Worker, no inbound port) or "endpoint" (the Worker calls each agent's https URL, published
 * through Tailscale Funnel or a Cloudflare Tunnel). Source: worker/src/config.ts `agentTransport`.
 */
export type Transport = "dial-out" | "endpoint";

/** The answers init asks once, before the pairs. */
export interface SetupAnswers {
	transport: Transport;
	/** The deployed Worker's https URL: required for dial-out (the agents' watchdogUrl), else only printed. */
	workerUrl: string | undefined;
}

/** Yes/no answers ("yes", "y", "no", "n", any case). */
const yesNo =
	(field: string) =>
	(t: string): Checked<boolean> =>
		/^y(es)?$/i.test(t)
			? { ok: true, value: true }
			: /^no?$/i.test(t)
				? { ok: true, value: false }
				: { ok: false, message: `${field}: expected yes or no` };

/**
 * The Worker's own URL, as an agent dials it: a URL a deployed Worker could be reached at (the same
 * policy as every URL init asks for, protocol/url-policy.ts) that the agent's `watchdogUrl` accepts.
 */
const workerOwnUrl =
	(allowLocal: boolean) =>
	(text: string): Checked<string> => {
		const verdict = checkWorkerFetchableUrl(text, { allowLocal });
		if (!verdict.ok) return { ok: false, message: `worker URL: ${verdict.message}` };
		const u = URL.parse(text);
		if (u && (u.pathname !== "/" || u.search !== "" || u.hash !== "")) {
			return {
				ok: false,
				message: `worker URL: expected the Worker's base URL with no path (${u.origin}), as wrangler deploy prints it`,
			};
		}
		return bySchema<string>(AgentConfigSchema.shape.watchdogUrl, "worker URL", u?.origin ?? text);
	};

/** The questions asked once: the transport, then the Worker's URL (its default follows the transport). */
export function setupQuestions(
	earlier: Partial<SetupAnswers>,
	allowLocal: boolean,
): { [K in keyof SetupAnswers]: Question<SetupAnswers[K]> } {
	const dialOut = earlier.transport !== "endpoint";
	return {
		transport: {
			flag: "transport",
			prompt:
				"How the agents reach the watchdog: dial-out (recommended: no inbound port) or endpoint (Funnel or Tunnel per agent)",
			fallback: "dial-out",
			check: (t) =>
				t === "dial-out" || t === "endpoint"
					? { ok: true, value: t }
					: { ok: false, message: "transport: expected dial-out or endpoint" },
		},
		workerUrl: {
			flag: "worker-url",
			prompt: dialOut
				? "The Worker's URL, which the agents dial (https://failover-gateway.<your-subdomain>.workers.dev; the subdomain is on the dashboard's Workers & Pages page)"
				: 'The Worker\'s URL, for the printed commands ("none" to fill it in later)',
			fallback: dialOut ? undefined : "none",
			check: dialOut ? workerOwnUrl(allowLocal) : optional(workerOwnUrl(allowLocal)),
		},
	};
}

/** The answers for one pair, as the prompts ask them (in this order). */
export interface PairAnswers {
	name: string;
	/** Set by init from the setup answer (not asked per pair); decides which questions below are asked. */
	transport: Transport;
	readyUrl: string;
	expectBody: string | undefined;
	/** Endpoint transport only: the standby agent's https URL. */
	standbyAgentUrl: string | undefined;
	/** Endpoint transport only: the primary agent's https URL, undefined for no primary agent. */
	primaryAgentUrl: string | undefined;
	/** Dial-out transport only: whether the primary runs an agent too (it dials out like the standby's). */
	primaryAgent: boolean | undefined;
	probeIntervalSeconds: number;
	failback: "auto" | "manual";
	/** The primary's readiness URL over the tailnet, probed by the standby agent (not by the Worker). */
	peerReadyUrl: string;
	/**
	 * A URL on the standby's host over the tailnet, probed by the primary agent's self-fence (its
	 * `fencing.standbyUrl`, agent/src/fencing.ts); undefined: no primary agent, or the fence off ("none").
	 */
	standbyUrl: string | undefined;
	workspace: string;
	gatewayUnit: string;
	gatewayScope: "user" | "system";
	gatewayUser: string;
	/** ssh destinations used in the printed commands. */
	primarySsh: string;
	standbySsh: string;
}

/** One pair's questions; a question absent here is not asked for this transport. */
export type PairQuestions = { [K in keyof PairAnswers]?: Question<PairAnswers[K]> };

/**
 * The per-pair questions for `transport`. `earlier` holds this pair's answers so far, so defaults can
 * follow them (the tailnet URL from the Funnel host). `allowLocal` is the local-development mode
 * (loopback, http). Dial-out asks no agent URL (the agents dial the Worker) but whether the primary runs
 * an agent; endpoint asks each agent's URL.
 */
export function pairQuestions(
	index: number,
	earlier: Partial<PairAnswers>,
	allowLocal: boolean,
	transport: Transport,
): PairQuestions {
	const skip: readonly string[] =
		transport === "dial-out" ? ["standbyAgentUrl", "primaryAgentUrl"] : ["primaryAgent"];
	return Object.fromEntries(
		Object.entries(allPairQuestions(index, earlier, allowLocal)).filter(([k]) => !skip.includes(k)),
	) as PairQuestions;
}

function allPairQuestions(
	index: number,
	earlier: Partial<PairAnswers>,
	allowLocal: boolean,
): { [K in Exclude<keyof PairAnswers, "transport">]: Question<PairAnswers[K]> } {
	const primaryHost = hostOf(earlier.readyUrl) || "primary.tailnet-name.ts.net";
	return {
		name: {
			flag: "pair",
			prompt: "Pair name (a slug)",
			fallback: index === 0 ? "home" : undefined,
			check: (t) => bySchema(PairConfigSchema.shape.name, "pair name", t),
		},
		readyUrl: {
			flag: "ready-url",
			prompt: "Primary's readiness URL as the Worker reaches it (Funnel or Tunnel)",
			fallback: undefined,
			check: workerUrl("ready URL", allowLocal),
		},
		expectBody: {
			flag: "expect-body",
			prompt: 'Text the readiness body must contain ("none" for any)',
			fallback: '"ready":true',
			check: optional((t) =>
				bySchema(PairConfigSchema.shape.primary.shape.expectBody, "expect body", t),
			),
		},
		standbyAgentUrl: {
			flag: "standby-agent-url",
			prompt: "Standby agent's URL as the Worker reaches it",
			fallback: undefined,
			check: workerUrl("standby agent URL", allowLocal),
		},
		primaryAgentUrl: {
			flag: "primary-agent-url",
			prompt: 'Primary agent\'s URL, for the pull after failback ("none" to run no agent there)',
			fallback: "none",
			check: optional(workerUrl("primary agent URL", allowLocal)),
		},
		primaryAgent: {
			flag: "primary-agent",
			prompt:
				"Run an agent on the primary too (a witness for the judge, the pull after failback; yes or no)",
			fallback: "yes",
			check: yesNo("primary agent"),
		},
		probeIntervalSeconds: {
			flag: "probe-interval",
			prompt: "Probe interval (seconds)",
			fallback: "5",
			check: (t) =>
				bySchema(
					PairConfigSchema.shape.probeIntervalSeconds,
					"probe interval (seconds)",
					t,
					/^\d+$/.test(t) ? Number(t) : t,
				),
		},
		failback: {
			flag: "failback",
			prompt: "Failback (auto or manual)",
			fallback: "auto",
			check: (t) => bySchema(PairConfigSchema.shape.failback, "failback", t),
		},
		peerReadyUrl: {
			flag: "peer-ready-url",
			prompt: "Primary's readiness URL over the tailnet, probed by the standby",
			fallback: `http://${primaryHost}:18789/readyz`,
			check: (t) =>
				t === earlier.readyUrl
					? {
							ok: false,
							message:
								"peer ready URL: expected the primary's address over the tailnet (port 18789), not the Funnel or Tunnel URL the Worker uses: through the same path, a Funnel outage would look like a primary outage to both witnesses",
						}
					: bySchema(AgentConfigSchema.shape.primaryReadyUrl, "peer ready URL", t),
		},
		standbyUrl: {
			flag: "standby-url",
			prompt:
				"Standby's address over the tailnet, probed by the primary agent's self-fence (any URL on the standby's host, e.g. http://standby.<tailnet>.ts.net:18789/healthz; \"none\" turns the fence off)",
			// Required when the primary runs an agent: a guessed host would make an isolated-looking
			// standby out of a healthy one, and the fence would stop a primary that only lost the Worker.
			fallback: hasPrimaryAgentSoFar(earlier) ? undefined : "none",
			check: (t) => {
				if (!hasPrimaryAgentSoFar(earlier)) return { ok: true, value: undefined };
				if (t === "none") return { ok: true, value: undefined };
				const host = hostOf(t);
				const primaryHosts = [hostOf(earlier.peerReadyUrl), hostOf(earlier.readyUrl)];
				// Local development runs every side on loopback: one host for all, nothing to compare.
				if (!allowLocal && host !== "" && primaryHosts.includes(host)) {
					return {
						ok: false,
						message: `standby URL: ${host} is the primary's host; expected the standby's address over the tailnet (the primary always reaches itself, so its fence would never act)`,
					};
				}
				return bySchema(STANDBY_URL_SCHEMA, "standby URL", t);
			},
		},
		workspace: {
			flag: "workspace",
			prompt: "Gateway workspace (a git checkout, same path on both VPSes)",
			fallback: "/home/openclaw/.openclaw/workspace",
			check: (t) =>
				!t.startsWith("/")
					? { ok: false, message: "workspace: expected an absolute path on the VPS" }
					: !PLAIN_WORKSPACE_RE.test(t)
						? {
								ok: false,
								message: `workspace: ${JSON.stringify(t)} is not a plain absolute path (letters, digits, ".", "_", "-", "/", "@", "+", "~"); it goes unquoted into the unit's ReadWritePaths= and the printed shell steps, where a space or quote splits it: move the workspace to such a path`,
							}
						: bySchema(AgentConfigSchema.shape.workspace, "workspace", t),
		},
		gatewayUnit: {
			flag: "gateway-unit",
			prompt: "Gateway systemd unit",
			fallback: "openclaw-gateway.service",
			check: (t) => bySchema(UnitNameSchema, "gateway unit", t),
		},
		gatewayScope: {
			flag: "gateway-scope",
			prompt: "Gateway unit scope (user or system)",
			fallback: "user",
			check: (t) => bySchema(AgentConfigSchema.shape.gatewayUnit.shape.scope, "gateway scope", t),
		},
		gatewayUser: {
			flag: "gateway-user",
			prompt: "The gateway's Unix user (the agent runs as it)",
			fallback: "openclaw",
			check: (t) =>
				t === "root"
					? {
							ok: false,
							message:
								"gateway user: the agent runs as the gateway's own user and never as root (its unit's hardening assumes a normal user); see docs/deployment.md, \"A gateway that runs as root\"",
						}
					: /^[a-z_][a-z0-9_-]{0,31}$/.test(t)
						? { ok: true, value: t }
						: {
								ok: false,
								message:
									"gateway user: expected a Unix user name (lowercase letters, digits, _ or -)",
							},
		},
		primarySsh: {
			flag: "primary-ssh",
			prompt: "ssh destination of the primary VPS (for the printed commands)",
			fallback: "primary",
			check: sshDestination("primary ssh"),
		},
		standbySsh: {
			flag: "standby-ssh",
			prompt: "ssh destination of the standby VPS (for the printed commands)",
			fallback: "standby",
			check: sshDestination("standby ssh"),
		},
	};
}

/** Printed into scp/ssh lines: no spaces, no option-like leading dash, nothing a shell would expand. */
const sshDestination =
	(field: string) =>
	(t: string): Checked<string> =>
		/^[A-Za-z0-9_][A-Za-z0-9_.@:-]*$/.test(t)
			? { ok: true, value: t }
			: { ok: false, message: `${field}: expected user@host or an ssh config host name` };

/** Every per-pair flag of either transport (a flag of the other transport is refused by name). */
export const PAIR_FLAGS = Object.values(allPairQuestions(0, {}, false)).map((q) => q.flag);
