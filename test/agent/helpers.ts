// Shared test fixtures for the agent: temp state dirs, a configured agent with a fake step runner, signed requests.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { type Agent, type AgentIo, createAgent } from "../../agent/src/agent";
import { type AgentConfig, type AgentConfigInput, parseConfig } from "../../agent/src/config";
import { silentLogger } from "../../agent/src/log";
import type { RunStep } from "../../agent/src/operations";
import type { Step } from "../../agent/src/steps/schema";
import type { StepContext, StepOutcome } from "../../agent/src/steps/types";
import { type GeneratedKeyPair, generateKeyPair, signRequest } from "../../protocol";

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

export function configFor(
	input: Partial<AgentConfigInput> & { stateDir: string },
	publicKey: string,
): AgentConfig {
	const parsed = parseConfig(
		{
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
	keys: GeneratedKeyPair;
	stateDir: string;
	/** Sends a request through app.request(), signed unless told otherwise. */
	send(method: string, path: string, options?: SendOptions): Promise<Response>;
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
	const stateDir = options.stateDir ?? (await tempDir());
	const config = configFor({ stateDir, ...options.config }, keys.publicKeyText);
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
	const send = async (method: string, path: string, opts: SendOptions = {}) => {
		const body = opts.body;
		const signed = opts.unsigned
			? {}
			: await signRequest({
					method,
					path,
					body: body ?? "",
					privateKey: (opts.keys ?? keys).privateKey,
					now: opts.signedAt ?? now(),
				});
		const headers: Record<string, string> = {
			...(method === "POST" ? { "content-type": "application/json" } : {}),
			...signed,
			...opts.headers,
		};
		const env = { incoming: { socket: { remoteAddress: opts.from ?? "192.0.2.1" } } };
		return agent.app.request(
			path,
			{ method, headers, ...(body !== undefined ? { body } : {}) },
			env,
		);
	};
	return {
		agent,
		config,
		keys,
		stateDir,
		send,
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
