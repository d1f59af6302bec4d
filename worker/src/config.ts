// Watchdog configuration: the zod schema, parsed once at the edge into frozen objects, with per-pair errors.
import { z } from "zod";
import {
	checkWorkerFetchableUrl,
	DEFAULT_EXPECT_BODY,
	DEFAULT_LEASE_SECONDS,
	decodePublicKey,
} from "../../protocol";

/** An agent's public key, "ed25519:..." as printed by `failover-agent keygen --agent`. */
const agentPublicKey = z.string().refine((k) => decodePublicKey(k).ok, {
	message:
		'expected the agent\'s public key "ed25519:<43 base64url characters>", as printed by failover-agent keygen --agent on that VPS',
});

const httpUrl = z
	.string()
	.url("expected an absolute http(s) URL, e.g. https://primary.example.ts.net/readyz")
	.refine((u) => /^https?:\/\//i.test(u), "expected an http:// or https:// URL");

const name = z
	.string()
	.regex(
		/^[a-z0-9][a-z0-9-]{0,62}$/,
		"expected 1-63 lowercase letters, digits or dashes, starting with a letter or digit",
	);

export const TailscaleWitnessSchema = z
	.object({
		/** Device id (nodeId) of the primary, as shown by the Tailscale admin API. */
		deviceId: z.string().min(1, "expected the primary's Tailscale device id"),
		/** Request timeout for one API call, ms. */
		timeoutMs: z.number().int().min(100).max(10_000).default(2_500),
	})
	.strict();

export const PairConfigSchema = z
	.object({
		name,
		primary: z
			.object({
				/** Readiness URL the Worker probes (OpenClaw: /readyz, 200 ready, 503 not ready). */
				readyUrl: httpUrl,
				expectStatus: z.number().int().min(100).max(599).default(200),
				/**
				 * The probe body must contain this text (protocol/probe-spec.ts). Default: OpenClaw's
				 * `"ready":true`; "" turns the body check off.
				 */
				expectBody: z.string().max(256).default(DEFAULT_EXPECT_BODY),
				/** The primary's own agent behind an endpoint (told to sync after failback, read as a witness). Optional. */
				agentUrl: httpUrl.optional(),
				/**
				 * The primary agent's own key: its answers (and its dial-out hello) must be signed with it.
				 * With no agentUrl, the agent dials out to the Worker. Required with agentUrl.
				 */
				agentPublicKey: agentPublicKey.optional(),
			})
			.strict(),
		standby: z
			.object({
				/** The standby agent behind an endpoint (Funnel or Tunnel); omit it when the agent dials out. */
				agentUrl: httpUrl.optional(),
				/**
				 * The standby agent's own key: its answers (and its dial-out hello) must be signed with it; an
				 * answer not signed with it is treated as unreachable.
				 */
				agentPublicKey,
			})
			.strict(),
		/**
		 * How often a dial-out agent pushes its status, s. Default: half the probe interval, so each tick
		 * reads a status under one interval old.
		 */
		heartbeatSeconds: z.number().min(0.25).max(150).optional(),
		/** Probe deadline, ms; must stay below the interval so a tick never overlaps the next. */
		probeTimeoutMs: z.number().int().min(100).max(30_000).default(2_500),
		probeIntervalSeconds: z.number().int().min(1).max(300).default(5),
		/**
		 * How long the lease the Worker sends both agents every tick stays valid, s: an active agent
		 * replicates to the main branch only while it holds a fresh one (protocol/lease.ts). At least
		 * three probe intervals, so two lost ticks never cost an active side its lease. Default: 30 s, or
		 * three intervals when that is longer (leaseSecondsOf).
		 */
		leaseSeconds: z.number().int().min(3).max(3600).optional(),
		/**
		 * "self": a promotion waits until the primary's lease has run out plus fenceMarginSeconds, so a
		 * primary cut off from the watchdog and the standby stops its own gateway first (its agent needs
		 * fencing.standbyUrl). "off": no wait; two gateways may serve during such a partition.
		 */
		fencing: z.enum(["self", "off"]).default("self"),
		/** Room for the primary's fence to notice (1 s checks) and stop its gateway, s. */
		fenceMarginSeconds: z.number().int().min(2).max(120).default(5),
		/** Consecutive failed Worker probes before the primary can be judged down. */
		failThreshold: z.number().int().min(1).max(100).default(3),
		/** Consecutive good probes before failback. */
		recoverThreshold: z.number().int().min(1).max(1000).default(6),
		/** The standby stays active at least this long before failback. */
		minActiveSeconds: z.number().int().min(0).max(86_400).default(60),
		/**
		 * Recovery: the primary must also have been ready without a break for this long, counted from its
		 * return. 120 s outlasts a gateway's start-up grace (OpenClaw reports ready before its channels
		 * work, and crash-looping gateways stay ready for a minute or two after each restart).
		 */
		recoverSeconds: z.number().int().min(0).max(86_400).default(120),
		/**
		 * Flap damping: beyond this many failovers in the last hour, automatic failback is held
		 * (the pair rests on the standby). A failure within an hour of a failback holds it at once.
		 */
		maxFailoversPerHour: z.number().int().min(1).max(60).default(3),
		/**
		 * Restart grace: while the primary's agent reports its gateway `starting`, failing probes do not
		 * count for up to this long. 180 s: a bare OpenClaw gateway restarts in 11-16 s here, but public
		 * reports show 60-170 s starts with many channels and plugins; the grace only runs while the
		 * agent says `starting`, so a generous cap costs nothing on a real crash. Capped at 600 s.
		 */
		startGraceSeconds: z.number().int().min(0).max(600).default(180),
		failback: z.enum(["auto", "manual"]).default("auto"),
		/** Agent command deadline per call, ms. */
		commandTimeoutMs: z.number().int().min(500).max(30_000).default(4_000),
		/** Failed promote/demote attempts before the pair is held for an operator. */
		commandAttempts: z.number().int().min(1).max(10).default(3),
		witnesses: z
			.object({
				/** Count the standby agent's own probe of the primary as a witness. */
				standby: z.boolean().default(true),
				tailscale: TailscaleWitnessSchema.optional(),
				/** Down votes needed from the other witnesses that answered: "all" of them, or a number. */
				quorum: z.union([z.literal("all"), z.number().int().min(1).max(10)]).default("all"),
			})
			.strict()
			.default({ standby: true, quorum: "all" }),
	})
	.strict()
	.superRefine((p, ctx) => {
		const witnesses = (p.witnesses.standby ? 1 : 0) + (p.witnesses.tailscale ? 1 : 0);
		if (typeof p.witnesses.quorum === "number" && p.witnesses.quorum > witnesses) {
			ctx.addIssue({
				code: "custom",
				path: ["witnesses", "quorum"],
				message: `expected at most ${witnesses} (the witnesses configured besides the Worker's probe), or "all"; a larger quorum could never be met, so the pair would never fail over`,
			});
		}
		if (p.primary.agentUrl !== undefined && p.primary.agentPublicKey === undefined) {
			ctx.addIssue({
				code: "custom",
				path: ["primary", "agentPublicKey"],
				message:
					"expected the primary agent's public key (failover-agent keygen --agent on the primary's VPS) whenever primary.agentUrl is set: its answers are verified with it",
			});
		}
		if (p.leaseSeconds !== undefined && p.leaseSeconds < 3 * p.probeIntervalSeconds) {
			ctx.addIssue({
				code: "custom",
				path: ["leaseSeconds"],
				message: `expected at least 3 x probeIntervalSeconds (${3 * p.probeIntervalSeconds} s): the lease is renewed every tick, and an active agent must keep it through two lost ticks`,
			});
		}
		if (p.probeTimeoutMs >= p.probeIntervalSeconds * 1000) {
			ctx.addIssue({
				code: "custom",
				path: ["probeTimeoutMs"],
				message: `expected less than probeIntervalSeconds (${p.probeIntervalSeconds * 1000} ms), so one tick ends before the next starts`,
			});
		}
	});

export type PairConfig = Readonly<z.output<typeof PairConfigSchema>>;

/** How the Worker reaches one side's agent: an HTTPS endpoint it calls, a socket the agent dials, or none. */
export type AgentTransport =
	| { kind: "endpoint"; url: string }
	| { kind: "dial-out"; publicKey: string }
	| { kind: "none" };

/** An endpoint URL wins when both are set (the agent then also needs no outbound socket). */
export function agentTransport(pair: PairConfig, side: "primary" | "standby"): AgentTransport {
	const s = side === "primary" ? pair.primary : pair.standby;
	if (s.agentUrl !== undefined) return { kind: "endpoint", url: s.agentUrl };
	if (s.agentPublicKey !== undefined) return { kind: "dial-out", publicKey: s.agentPublicKey };
	return { kind: "none" };
}

/** Whether the pair has an agent on `side` at all (behind an endpoint or dialing out). */
export function hasAgent(pair: PairConfig, side: "primary" | "standby"): boolean {
	return agentTransport(pair, side).kind !== "none";
}

/** The status push interval of a dial-out agent, ms (heartbeatSeconds, default half the probe interval). */
export function heartbeatMs(pair: PairConfig): number {
	return Math.round((pair.heartbeatSeconds ?? pair.probeIntervalSeconds / 2) * 1000);
}

/** The lease length the Worker grants for this pair, s: leaseSeconds, or max(30, 3 probe intervals). */
export function leaseSecondsOf(pair: PairConfig): number {
	return pair.leaseSeconds ?? Math.max(DEFAULT_LEASE_SECONDS, 3 * pair.probeIntervalSeconds);
}

export interface ParseOptions {
	/**
	 * Local development (the Worker var LOCAL_DEVELOPMENT="1"): loopback and plain-http URLs are
	 * accepted. Never set in a deployment (protocol/url-policy.ts says why).
	 */
	localDevelopment: boolean;
}

/** URL fields a deployed Worker must be able to fetch, checked beyond the schema. */
function urlErrors(p: PairConfig, prefix: string, opts: ParseOptions): ConfigError[] {
	const out: ConfigError[] = [];
	const fields: [string, string | undefined][] = [
		["primary.readyUrl", p.primary.readyUrl],
		["primary.agentUrl", p.primary.agentUrl],
		["standby.agentUrl", p.standby.agentUrl],
	];
	for (const [field, url] of fields) {
		if (url === undefined) continue;
		const v = checkWorkerFetchableUrl(url, { allowLocal: opts.localDevelopment });
		if (!v.ok) out.push({ path: `${prefix}.${field}`, message: v.message });
	}
	return out;
}

const GroupSchema = z.object({ name, pairs: z.array(name).min(1) }).strict();

export interface ConfigError {
	/** Dotted path of the field, e.g. `pairs[0].failThreshold` or `pairs.home.primary.readyUrl`. */
	path: string;
	message: string;
}

export interface WatchConfig {
	/** Valid pairs by name. */
	readonly pairs: ReadonlyMap<string, PairConfig>;
	/** Group name -> pair names (valid and invalid alike, so a bad pair stays visible in its group). */
	readonly groups: ReadonlyMap<string, readonly string[]>;
	/** Problems found; pairs named here are not watched until fixed, the others are. */
	readonly errors: readonly ConfigError[];
}

export const DEFAULT_GROUP = "default";

function issuePath(prefix: string, path: readonly PropertyKey[]): string {
	let out = prefix;
	for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : `.${String(seg)}`;
	return out;
}

function issues(prefix: string, error: z.ZodError): ConfigError[] {
	return error.issues.map((i) => ({ path: issuePath(prefix, i.path), message: i.message }));
}

/**
 * Parses the WATCHDOG_CONFIG var (a JSON string or an object). Each pair is validated on its own:
 * one bad pair is reported and skipped while the others are watched.
 */
export function parseWatchConfig(
	raw: unknown,
	opts: ParseOptions = { localDevelopment: false },
): WatchConfig {
	const errors: ConfigError[] = [];
	const pairs = new Map<string, PairConfig>();
	const groups = new Map<string, string[]>();
	let doc: unknown = raw;
	if (typeof raw === "string") {
		try {
			doc = JSON.parse(raw);
		} catch (e) {
			errors.push({
				path: "WATCHDOG_CONFIG",
				message: `expected JSON: ${(e as Error).message}`,
			});
			return { pairs, groups, errors };
		}
	}
	if (doc === undefined || doc === null || typeof doc !== "object" || Array.isArray(doc)) {
		errors.push({
			path: "WATCHDOG_CONFIG",
			message: 'expected an object like {"pairs": [ ... ]}; see docs/configuration.md',
		});
		return { pairs, groups, errors };
	}
	const top = doc as Record<string, unknown>;
	for (const key of Object.keys(top)) {
		if (key !== "pairs" && key !== "groups") {
			errors.push({ path: key, message: 'unknown field; expected only "pairs" and "groups"' });
		}
	}
	if (!Array.isArray(top.pairs) || top.pairs.length === 0) {
		errors.push({ path: "pairs", message: "expected a non-empty array of pairs" });
		return { pairs, groups, errors };
	}
	const allNames: string[] = [];
	top.pairs.forEach((entry, i) => {
		const r = PairConfigSchema.safeParse(entry);
		const label =
			entry && typeof entry === "object" && typeof (entry as { name?: unknown }).name === "string"
				? (entry as { name: string }).name
				: undefined;
		if (!r.success) {
			errors.push(...issues(`pairs[${i}]`, r.error));
			if (label) allNames.push(label);
			return;
		}
		if (pairs.has(r.data.name) || allNames.includes(r.data.name)) {
			errors.push({ path: `pairs[${i}].name`, message: `duplicate pair name "${r.data.name}"` });
			return;
		}
		allNames.push(r.data.name);
		const bad = urlErrors(r.data, `pairs[${i}]`, opts);
		if (bad.length > 0) {
			errors.push(...bad);
			return;
		}
		pairs.set(r.data.name, Object.freeze(r.data));
	});
	if (top.groups === undefined) {
		groups.set(DEFAULT_GROUP, allNames);
	} else {
		const g = z.array(GroupSchema).min(1).safeParse(top.groups);
		if (!g.success) {
			errors.push(...issues("groups", g.error));
			groups.set(DEFAULT_GROUP, allNames);
		} else {
			const seen = new Map<string, string>();
			for (const [gi, group] of g.data.entries()) {
				const members: string[] = [];
				for (const p of group.pairs) {
					if (!allNames.includes(p)) {
						errors.push({ path: `groups[${gi}].pairs`, message: `unknown pair "${p}"` });
					} else if (seen.has(p)) {
						errors.push({
							path: `groups[${gi}].pairs`,
							message: `pair "${p}" is already in group "${seen.get(p)}"; a pair belongs to one group`,
						});
					} else {
						seen.set(p, group.name);
						members.push(p);
					}
				}
				groups.set(group.name, members);
			}
			const orphans = allNames.filter((n) => !seen.has(n));
			if (orphans.length > 0)
				groups.set(DEFAULT_GROUP, [...(groups.get(DEFAULT_GROUP) ?? []), ...orphans]);
		}
	}
	return { pairs, groups, errors };
}

/** The group a pair is watched in. */
export function groupOf(config: WatchConfig, pair: string): string | undefined {
	for (const [g, members] of config.groups) if (members.includes(pair)) return g;
	return undefined;
}
