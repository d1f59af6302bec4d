// Shared test fixtures for the agent: temp state dirs, a configured agent with a fake step runner, signed requests.
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll } from "vitest";
import { type Agent, type AgentIo, createAgent } from "../../agent/src/agent";
import { type AgentConfig, type AgentConfigInput, parseConfig } from "../../agent/src/config";
import { silentLogger } from "../../agent/src/log";
import type { RunStep } from "../../agent/src/operations";
import type { Step } from "../../agent/src/steps/schema";
import type { StepContext, StepOutcome } from "../../agent/src/steps/types";
import {
	type Audience,
	agentFingerprint,
	type GeneratedKeyPair,
	generateKeyPair,
	HEADERS,
	type Role,
	signRequest,
} from "../../protocol";
import { listenLoopback } from "../harness/ports";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

export function onCleanup(fn: () => Promise<void>): void {
	cleanups.push(fn);
}

export async function tempDir(prefix = "fg-agent-"): Promise<string> {
	const dir = await mkdtemp(join(tmpdir(), prefix));
	onCleanup(() => rm(dir, { recursive: true, force: true }));
	return dir;
}

let sharedKeys: Promise<GeneratedKeyPair> | null = null;
/** One watchdog key pair per test file (generation is cheap, but stable keys keep logs readable). */
export function watchdogKeys(): Promise<GeneratedKeyPair> {
	sharedKeys ??= generateKeyPair();
	return sharedKeys;
}

let sharedAgentKeys: Promise<GeneratedKeyPair> | null = null;
/** One agent key pair per test file: the key the test agents sign their answers with. */
export function agentKeys(): Promise<GeneratedKeyPair> {
	sharedAgentKeys ??= generateKeyPair();
	return sharedAgentKeys;
}

/** The pair name test agents serve unless told otherwise. */
export const TEST_PAIR = "home";

/** Writes an agent private key file (mode 0600) as `failover-agent keygen --agent` does; returns its path. */
export async function writeAgentKeyFile(
	dir: string,
	keys?: GeneratedKeyPair,
	name = "agent.key",
): Promise<string> {
	const file = join(dir, name);
	await mkdir(dir, { recursive: true });
	await writeFile(file, `${(keys ?? (await agentKeys())).privateKeyText}\n`, { mode: 0o600 });
	await chmod(file, 0o600);
	return file;
}

/** The audience a request to an agent with this key, pair and side must be signed for. */
export async function audienceOf(
	keys: GeneratedKeyPair,
	side: Role = "standby",
	pair = TEST_PAIR,
): Promise<Audience> {
	return { pair, side, agent: await agentFingerprint(keys.publicKeyText) };
}

/**
 * A parsed test config. `agentKeyFile` defaults to `<stateDir>/agent.key`, which startTestAgent writes
 * (a test calling createAgent itself writes it with writeAgentKeyFile(stateDir)).
 */
export function configFor(
	input: Partial<AgentConfigInput> & { stateDir: string },
	publicKey: string,
): AgentConfig {
	const parsed = parseConfig(
		{
			pair: TEST_PAIR,
			agentKeyFile: join(input.stateDir, "agent.key"),
			role: "standby",
			watchdogPublicKeys: [publicKey],
			workspace: "/nonexistent/workspace",
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			// Port 9 (discard) on loopback: refused at once, so gatewayActive is false without a wait.
			localReadyUrl: "http://127.0.0.1:9/readyz",
			...input,
		},
		"test",
		input.stateDir,
	);
	if (!parsed.ok) throw new Error(`test config invalid: ${parsed.errors.join("; ")}`);
	return parsed.config;
}

/** A step runner that records calls; each step succeeds unless `behave` says otherwise. */
export function fakeRunner(
	behave?: (step: Step, ctx: StepContext) => Promise<StepOutcome> | StepOutcome,
) {
	const calls: { step: Step; action: string | undefined }[] = [];
	const runStep: RunStep = async (step, ctx) => {
		calls.push({ step, action: ctx.action });
		if (behave) return behave(step, ctx);
		return { status: "succeeded", ms: 1, output: `${step.type} ok` };
	};
	return { runStep, calls };
}

export interface TestAgent {
	agent: Agent;
	config: AgentConfig;
	/** The watchdog's keys (sign requests). */
	keys: GeneratedKeyPair;
	/** The agent's own keys (sign its answers). */
	agentKeys: GeneratedKeyPair;
	/** Who this agent is: requests are signed for it unless a test says otherwise. */
	audience: Audience;
	stateDir: string;
	/** Sends a request through app.request(), signed unless told otherwise. */
	send(method: string, path: string, options?: SendOptions): Promise<Response>;
	/** As send(), and returns the request's nonce too (to verify the signed answer). */
	request(
		method: string,
		path: string,
		options?: SendOptions,
	): Promise<{ res: Response; nonce: string }>;
	command(
		action: "promote" | "demote" | "sync",
		body: Record<string, unknown>,
		options?: SendOptions,
	): Promise<Response>;
}

export interface SendOptions {
	body?: string;
	headers?: Record<string, string>;
	/** Signing clock; default the agent's clock. */
	signedAt?: number;
	/** Sign with this key pair instead of the configured one. */
	keys?: GeneratedKeyPair;
	/** Sign for this audience instead of the agent's own. */
	audience?: Audience;
	unsigned?: boolean;
	/** Source address seen by the rate limiter. */
	from?: string;
}

export async function startTestAgent(
	options: {
		runStep?: RunStep;
		now?: () => number;
		stateDir?: string;
		config?: Partial<AgentConfigInput>;
		io?: Partial<AgentIo>;
	} = {},
): Promise<TestAgent> {
	const keys = await watchdogKeys();
	const ownKeys = await agentKeys();
	const stateDir = options.stateDir ?? (await tempDir());
	if (options.config?.agentKeyFile === undefined) await writeAgentKeyFile(stateDir, ownKeys);
	const config = configFor({ stateDir, ...options.config }, keys.publicKeyText);
	const audience = await audienceOf(ownKeys, config.role, config.pair);
	const now = options.now ?? Date.now;
	const agent = await createAgent(config, {
		runStep: options.runStep ?? fakeRunner().runStep,
		log: silentLogger,
		now,
		startPeerProbe: false,
		// Tests drive agent.local.checkOnce() with a fake systemctl; no real systemctl in unit tests.
		startLocalCheck: false,
		...options.io,
	});
	onCleanup(() => agent.close());
	const request = async (method: string, path: string, opts: SendOptions = {}) => {
		const body = opts.body;
		const signed: Record<string, string> = opts.unsigned
			? {}
			: await signRequest({
					method,
					path,
					body: body ?? "",
					audience: opts.audience ?? audience,
					privateKey: (opts.keys ?? keys).privateKey,
					now: opts.signedAt ?? now(),
				});
		const headers: Record<string, string> = {
			...(method === "POST" ? { "content-type": "application/json" } : {}),
			...signed,
			...opts.headers,
		};
		const env = { incoming: { socket: { remoteAddress: opts.from ?? "192.0.2.1" } } };
		const res = await agent.app.request(
			path,
			{ method, headers, ...(body !== undefined ? { body } : {}) },
			env,
		);
		return { res, nonce: headers[HEADERS.nonce] ?? "" };
	};
	const send = async (method: string, path: string, opts: SendOptions = {}) =>
		(await request(method, path, opts)).res;
	return {
		agent,
		config,
		keys,
		agentKeys: ownKeys,
		audience,
		stateDir,
		send,
		request,
		command: (action, body, opts = {}) =>
			send("POST", `/v1/${action}`, { ...opts, body: JSON.stringify(body) }),
	};
}

export async function errorOf(
	res: Response,
): Promise<{ status: number; code: string; message: string }> {
	const json = (await res.json()) as { error?: { code: string; message: string } };
	if (json.error === undefined)
		throw new Error(`expected an error body, got ${JSON.stringify(json)}`);
	return { status: res.status, ...json.error };
}

/** A promise with its resolve exposed, for steps that finish when a test says so. */
export function deferred<T = void>() {
	let resolve!: (value: T) => void;
	const promise = new Promise<T>((r) => {
		resolve = r;
	});
	return { promise, resolve };
}

/**
 * For a test file's fence tests: a standby host that accepts connections and never answers, so a
 * primary's fence probe times out and the primary counts as isolated. Returns a getter for its URL
 * (set once the file's beforeAll has run); the server closes after the file.
 */
export function useSilentStandby(): () => string {
	let url = "";
	beforeAll(async () => {
		const server = createServer(() => {
			// Never answers.
		});
		const port = await listenLoopback(server);
		url = `http://127.0.0.1:${port}/healthz`;
		return () => {
			server.closeAllConnections();
			server.close();
		};
	});
	return () => url;
}
