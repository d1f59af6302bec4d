// The questions `failover-gateway init` asks: one flag each, a default, and a validator built on the schemas' own rules.

import { AgentConfigSchema } from "../../../agent/src/config";
import { UnitNameSchema } from "../../../agent/src/steps/schema";
import { checkWorkerFetchableUrl } from "../../../protocol";
import { PairConfigSchema } from "../../../worker/src/config";

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

/** The answers for one pair, as the prompts ask them (in this order). */
export interface PairAnswers {
	name: string;
	readyUrl: string;
	expectBody: string | undefined;
	standbyAgentUrl: string;
	primaryAgentUrl: string | undefined;
	probeIntervalSeconds: number;
	failback: "auto" | "manual";
	/** The primary's readiness URL over the tailnet, probed by the standby agent (not by the Worker). */
	peerReadyUrl: string;
	workspace: string;
	gatewayUnit: string;
	gatewayScope: "user" | "system";
	gatewayUser: string;
	/** ssh destinations used in the printed commands. */
	primarySsh: string;
	standbySsh: string;
}

/**
 * The per-pair questions. `earlier` holds this pair's answers so far, so defaults can follow them (the
 * tailnet URL from the Funnel host). `allowLocal` is the local-development mode (loopback, http).
 */
export function pairQuestions(
	index: number,
	earlier: Partial<PairAnswers>,
	allowLocal: boolean,
): { [K in keyof PairAnswers]: Question<PairAnswers[K]> } {
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
		workspace: {
			flag: "workspace",
			prompt: "Gateway workspace (a git checkout, same path on both VPSes)",
			fallback: "/home/openclaw/.openclaw/workspace",
			check: (t) =>
				t.startsWith("/")
					? bySchema(AgentConfigSchema.shape.workspace, "workspace", t)
					: { ok: false, message: "workspace: expected an absolute path on the VPS" },
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

export const PAIR_FLAGS = Object.values(pairQuestions(0, {}, false)).map((q) => q.flag);
