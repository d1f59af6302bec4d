// The agent's JSON config: zod schema with OpenClaw defaults, parsed once into a frozen object.
import { dirname, isAbsolute, resolve } from "node:path";
import {
	decodePublicKey,
	expected,
	formatIssues,
	objectError,
	PAIR_NAME_RE,
	ROLES,
} from "../../protocol";
import * as z from "../../protocol/zod";
import { readTextFile } from "./atomic-file";
import { LOG_LEVELS } from "./log";
import { DEFAULT_REPLICATION, ReplicationConfigSchema } from "./replication/config";
import { DEFAULT_ACTIONS, type Step, StepSchema, UnitNameSchema } from "./steps/schema";

/** Not OpenClaw's 18789, so agent and gateway can share a host. */
export const DEFAULT_PORT = 18790;
export const DEFAULT_STATE_DIR = "/var/lib/failover-agent";
export const DEFAULT_LOCAL_READY_URL = "http://127.0.0.1:18789/readyz";

/** Probe the primary every 2 s: the watchdog polls every 5 s, so each poll sees a fresh view. */
export const DEFAULT_PEER_INTERVAL_MS = 2_000;
/** A ready gateway answers in milliseconds; 1.5 s leaves room for a congested tailnet and ends before the next probe. */
export const DEFAULT_PEER_TIMEOUT_MS = 1_500;

/** Check the own gateway every 2 s: the watchdog polls every 5 s, so each poll reads a report at most ~2 s old. */
export const DEFAULT_LOCAL_INTERVAL_MS = 2_000;
/** A loopback answer takes milliseconds; a gateway slower than 1 s is not serving. */
export const DEFAULT_LOCAL_TIMEOUT_MS = 1_000;
/**
 * How long after its unit started a gateway may still count as starting. A bare OpenClaw 2026.9.6
 * starts in 11 to 16 s; public reports show 60 to 170 s with many channels and plugins, so 180 s. The
 * watchdog caps its own wait (startGraceSeconds) separately.
 */
export const DEFAULT_START_WINDOW_MS = 180_000;

const httpUrl = (example: string) =>
	z.string({ error: expected(`an absolute http(s) URL, e.g. ${example}`) }).check(
		z.refine((text) => /^https?:$/.test(URL.parse(text)?.protocol ?? ""), {
			error: `expected an absolute http(s) URL, e.g. ${example}`,
		}),
	);

const path = (what: string) =>
	z
		.string({
			error: expected(
				`${what} (a path; relative paths are resolved from the config file's folder)`,
			),
		})
		.check(
			z.minLength(1),
			z.refine((text) => !text.includes("\0")),
		);

const publicKey = z.string({ error: expected('a public key "ed25519:<base64url>"') }).check(
	z.superRefine((text, ctx) => {
		const decoded = decodePublicKey(text);
		if (!decoded.ok)
			ctx.addIssue({ code: "custom", message: `${decoded.message} (from failover-agent keygen)` });
	}),
);

const actionSteps = (action: keyof typeof DEFAULT_ACTIONS) =>
	z._default(
		z
			.array(StepSchema, { error: expected('an array of steps, e.g. [{"type": "git-pull"}]') })
			.check(z.maxLength(32)),
		() => [...DEFAULT_ACTIONS[action]],
	);

export const AgentConfigSchema = z.strictObject(
	{
		listen: z._default(
			z.strictObject(
				{
					host: z._default(
						z
							.string({ error: expected('a host or IP to listen on, e.g. "127.0.0.1"') })
							.check(z.minLength(1)),
						"127.0.0.1",
					),
					// 0 asks the OS for a free port (tests); the "agent listening" log line says which.
					port: z._default(
						z
							.int({ error: expected("a TCP port from 0 to 65535") })
							.check(z.minimum(0), z.maximum(65_535)),
						DEFAULT_PORT,
					),
				},
				{ error: objectError('an object {"host", "port"}') },
			),
			{ host: "127.0.0.1", port: DEFAULT_PORT },
		),
		/** The pair's name in the Worker's config: every signed request must be for this pair. */
		pair: z
			.string({ error: expected("the pair's name as in the Worker's config, e.g. \"home\"") })
			.check(
				z.regex(PAIR_NAME_RE, {
					error:
						"expected the pair's name as in the Worker's config: 1-63 lowercase letters, digits or dashes",
				}),
			),
		/** This agent's side of the pair: it runs only that side's actions (primary: sync; standby: promote, demote). */
		role: z.enum(ROLES, { error: expected('"primary" or "standby"') }),
		/** The agent's own private key (failover-agent keygen --agent), mode 0600: it signs every answer. */
		agentKeyFile: path("the agent's private key file, from failover-agent keygen --agent"),
		watchdogPublicKeys: z
			.array(publicKey, { error: expected('an array of 1 or 2 public keys "ed25519:..."') })
			.check(
				z.minLength(1, { error: "expected at least one public key (run failover-agent keygen)" }),
				z.maxLength(2, {
					error: "expected at most two public keys (the current one and, while rotating, the next)",
				}),
				z.refine((keys) => new Set(keys.map((k) => k.trim())).size === keys.length, {
					error: "expected two different keys, got the same key twice",
				}),
			),
		primaryReadyUrl: z.optional(httpUrl("http://primary.tailnet.ts.net:18789/readyz")),
		peerProbe: z
			._default(
				z.strictObject(
					{
						intervalMs: z._default(
							z
								.int({ error: expected("an integer from 200 to 60000 (ms)") })
								.check(z.minimum(200), z.maximum(60_000)),
							DEFAULT_PEER_INTERVAL_MS,
						),
						timeoutMs: z._default(
							z
								.int({ error: expected("an integer from 100 to 30000 (ms)") })
								.check(z.minimum(100), z.maximum(30_000)),
							DEFAULT_PEER_TIMEOUT_MS,
						),
					},
					{ error: objectError('an object {"intervalMs", "timeoutMs"}') },
				),
				{ intervalMs: DEFAULT_PEER_INTERVAL_MS, timeoutMs: DEFAULT_PEER_TIMEOUT_MS },
			)
			.check(
				z.refine((p) => p.timeoutMs <= p.intervalMs, {
					error: "expected timeoutMs <= intervalMs, so one probe ends before the next starts",
				}),
			),
		workspace: path("the gateway's workspace folder, a git checkout"),
		gatewayUnit: z.strictObject(
			{
				name: UnitNameSchema,
				scope: z._default(
					z.enum(["system", "user"], { error: expected('"system" or "user"') }),
					"system",
				),
			},
			{
				error: objectError(
					'an object {"name": "openclaw-gateway.service", "scope": "system" | "user"}',
				),
			},
		),
		localReadyUrl: z._default(httpUrl(DEFAULT_LOCAL_READY_URL), DEFAULT_LOCAL_READY_URL),
		localProbe: z._default(
			z.strictObject(
				{
					intervalMs: z._default(
						z
							.int({ error: expected("an integer from 200 to 60000 (ms)") })
							.check(z.minimum(200), z.maximum(60_000)),
						DEFAULT_LOCAL_INTERVAL_MS,
					),
					timeoutMs: z._default(
						z
							.int({ error: expected("an integer from 100 to 30000 (ms)") })
							.check(z.minimum(100), z.maximum(30_000)),
						DEFAULT_LOCAL_TIMEOUT_MS,
					),
					startWindowMs: z._default(
						z
							.int({ error: expected("an integer from 5000 to 900000 (ms)") })
							.check(z.minimum(5_000), z.maximum(900_000)),
						DEFAULT_START_WINDOW_MS,
					),
				},
				{ error: objectError('an object {"intervalMs", "timeoutMs", "startWindowMs"}') },
			),
			{
				intervalMs: DEFAULT_LOCAL_INTERVAL_MS,
				timeoutMs: DEFAULT_LOCAL_TIMEOUT_MS,
				startWindowMs: DEFAULT_START_WINDOW_MS,
			},
		),
		/**
		 * The watchdog Worker's URL (https://<name>.<account>.workers.dev). When set, the agent dials out:
		 * it keeps one WebSocket to the Worker and needs no inbound port (the recommended transport).
		 */
		watchdogUrl: z.optional(
			z
				.string({
					error: expected(
						"the Worker's https URL, e.g. https://failover-gateway.example.workers.dev",
					),
				})
				.check(
					z.refine(
						(text) => {
							const u = URL.parse(text);
							if (!u) return false;
							const loopback = u.hostname === "127.0.0.1" || u.hostname === "localhost";
							return u.protocol === "https:" || (u.protocol === "http:" && loopback);
						},
						{
							error:
								"expected the Worker's https:// URL, e.g. https://failover-gateway.example.workers.dev (http only for a local Worker on 127.0.0.1)",
						},
					),
				),
		),
		actions: z._default(
			z.strictObject(
				{
					promote: actionSteps("promote"),
					demote: actionSteps("demote"),
					sync: actionSteps("sync"),
				},
				{ error: objectError('an object {"promote": [...], "demote": [...], "sync": [...]}') },
			),
			() => ({
				promote: [...DEFAULT_ACTIONS.promote],
				demote: [...DEFAULT_ACTIONS.demote],
				sync: [...DEFAULT_ACTIONS.sync],
			}),
		),
		stateDir: z._default(path("a folder the agent may write"), DEFAULT_STATE_DIR),
		/**
		 * Self-fencing, on the primary: with `standbyUrl` (any URL on the standby's host over the tailnet,
		 * e.g. its gateway's http://standby.<tailnet>.ts.net:18789/healthz), the agent stops its gateway
		 * when it has held no lease naming it active for the lease's length AND the standby's host does not
		 * answer; it starts it again when such a lease comes back. `stop`/`start`: the steps (default: the
		 * gateway unit's systemd-stop / systemd-start). Without standbyUrl the fence is off.
		 */
		fencing: z._default(
			z.strictObject(
				{
					standbyUrl: z.optional(httpUrl("http://standby.tailnet.ts.net:18789/healthz")),
					stop: z._default(z.array(StepSchema).check(z.maxLength(8)), () => [
						StepSchema.parse({ type: "systemd-stop" }),
					]),
					start: z._default(z.array(StepSchema).check(z.maxLength(8)), () => [
						StepSchema.parse({ type: "systemd-start" }),
					]),
				},
				{ error: objectError('an object {"standbyUrl", "stop"?, "start"?}') },
			),
			() => ({
				stop: [StepSchema.parse({ type: "systemd-stop" })],
				start: [StepSchema.parse({ type: "systemd-start" })],
			}),
		),
		/** Workspace replication under the watchdog's lease (agent/src/replication/config.ts). */
		replication: z._default(ReplicationConfigSchema, () => ({ ...DEFAULT_REPLICATION })),
		logLevel: z._default(
			z.enum(LOG_LEVELS, { error: expected(`one of ${LOG_LEVELS.join(", ")}`) }),
			"info",
		),
	},
	{ error: objectError("a JSON object") },
);

export type AgentConfigInput = z.input<typeof AgentConfigSchema>;
type ParsedConfig = z.output<typeof AgentConfigSchema>;
export interface AgentConfig extends Readonly<Omit<ParsedConfig, "actions">> {
	readonly actions: Readonly<Record<"promote" | "demote" | "sync", readonly Step[]>>;
	/** Where the config was read from (for messages). */
	readonly source: string;
}

export type ConfigResult = { ok: true; config: AgentConfig } | { ok: false; errors: string[] };

function deepFreeze<T>(value: T): T {
	if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
		Object.freeze(value);
		for (const child of Object.values(value)) deepFreeze(child);
	}
	return value;
}

/** Validates an already-parsed JSON value; relative paths resolve against `baseDir`. */
export function parseConfig(value: unknown, source: string, baseDir: string): ConfigResult {
	const parsed = AgentConfigSchema.safeParse(value);
	if (!parsed.success) return { ok: false, errors: formatIssues(parsed.error.issues, "(config)") };
	const data = parsed.data;
	const config: AgentConfig = {
		...data,
		workspace: isAbsolute(data.workspace) ? data.workspace : resolve(baseDir, data.workspace),
		agentKeyFile: isAbsolute(data.agentKeyFile)
			? data.agentKeyFile
			: resolve(baseDir, data.agentKeyFile),
		stateDir: isAbsolute(data.stateDir) ? data.stateDir : resolve(baseDir, data.stateDir),
		source,
	};
	return { ok: true, config: deepFreeze(config) };
}

export async function loadConfig(file: string): Promise<ConfigResult> {
	const read = await readTextFile(file);
	if (!read.ok) {
		return {
			ok: false,
			errors: [read.missing ? `${file}: no such file` : `${file}: cannot read: ${read.message}`],
		};
	}
	let value: unknown;
	try {
		value = JSON.parse(read.text);
	} catch (error) {
		return { ok: false, errors: [`${file}: not valid JSON: ${(error as Error).message}`] };
	}
	return parseConfig(value, file, dirname(resolve(file)));
}

/** Things that are valid but probably not what the operator meant. */
export function configWarnings(config: AgentConfig): string[] {
	const warnings: string[] = [];
	if (config.role === "primary" && config.primaryReadyUrl !== undefined) {
		warnings.push(
			"primaryReadyUrl is set on the primary: it will probe its own gateway, which tells the watchdog nothing",
		);
	}
	if (config.role === "standby" && config.primaryReadyUrl === undefined) {
		warnings.push(
			"primaryReadyUrl is not set: this standby will not report its own view of the primary (one witness fewer)",
		);
	}
	if (!["127.0.0.1", "::1", "localhost"].includes(config.listen.host)) {
		warnings.push(
			`listen.host is ${config.listen.host}: the agent is reachable beyond this machine; signatures still guard every command`,
		);
	}
	return warnings;
}
