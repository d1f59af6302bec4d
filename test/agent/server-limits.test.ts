// Issue 12 finding 6, as attacks on a real agent process on a real port: header trickle, idle connections, unsigned body flood.
import { rm, writeFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH_FAILURE_LIMIT } from "../../agent/src/auth-limiter";
import { callAgent } from "../../agent/src/client";
import { HEADERS_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_CONNECTIONS } from "../../agent/src/server";
import type { Audience } from "../../protocol";
import { MAX_BODY_BYTES } from "../../protocol";
import { type AgentProcess, buildBundle, startAgentProcess } from "./agent-process";
import {
	agentKeys,
	audienceOf,
	onCleanup,
	tempDir,
	watchdogKeys,
	writeAgentKeyFile,
} from "./helpers";

let bundle = "";
let bundleDir = "";
beforeAll(async () => {
	({ outfile: bundle, dir: bundleDir } = await buildBundle());
}, 60_000);
afterAll(() => rm(bundleDir, { recursive: true, force: true }));

/** Node checks its header and request timeouts once a second (server.ts), plus a loaded machine. */
const SLACK_MS = 3_000;

interface Started {
	agent: AgentProcess;
	privateKey: CryptoKey;
	audience: Audience;
	agentKey: CryptoKey;
}

async function start(promote: unknown[] = []): Promise<Started> {
	const dir = await tempDir();
	const keys = await watchdogKeys();
	const own = await agentKeys();
	const agentKeyFile = await writeAgentKeyFile(dir, own);
	const file = join(dir, "agent.json");
	await writeFile(
		file,
		JSON.stringify({
			listen: { host: "127.0.0.1", port: 0 },
			role: "standby",
			pair: "home",
			agentKeyFile,
			watchdogPublicKeys: [keys.publicKeyText],
			workspace: dir,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			localReadyUrl: "http://127.0.0.1:9/readyz",
			stateDir: "state",
			actions: { promote, demote: [], sync: [] },
		}),
	);
	return {
		agent: await startAgentProcess(bundle, file),
		privateKey: keys.privateKey,
		audience: await audienceOf(own, "standby", "home"),
		agentKey: own.publicKey,
	};
}

/** A raw TCP connection that records what comes back and when it closes (ms after opening). */
interface Raw {
	socket: Socket;
	data: () => string;
	status: () => number | null;
	closed: Promise<number>;
}
function raw(port: number): Promise<Raw> {
	return new Promise((resolve, reject) => {
		const opened = Date.now();
		let text = "";
		const socket = connect(port, "127.0.0.1");
		socket.setNoDelay(true);
		socket.on("data", (d) => {
			text += d.toString("latin1");
		});
		socket.on("error", () => {});
		const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now() - opened)));
		onCleanup(async () => {
			socket.destroy();
		});
		socket.once("connect", () =>
			resolve({
				socket,
				data: () => text,
				status: () => {
					const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
					return m ? Number(m[1]) : null;
				},
				closed,
			}),
		);
		socket.once("error", reject);
	});
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | "still open"> =>
	Promise.race([p, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);

async function signedStatus(t: Started): Promise<number | string> {
	const r = await callAgent({
		baseUrl: t.agent.url,
		action: "status",
		privateKey: t.privateKey,
		audience: t.audience,
		agentPublicKey: t.agentKey,
		timeoutMs: 5_000,
	});
	return r.ok ? r.httpStatus : r.kind;
}

describe("the agent's own limits, on a real process", () => {
	it("a header trickle (slowloris) is cut off after the header timeout, and the watchdog is served meanwhile", async () => {
		const t = await start();
		const { agent } = t;
		const c = await raw(agent.port);
		c.socket.write("GET /v1/status HTTP/1.1\r\nHost: agent\r\n");
		const trickle = setInterval(() => c.socket.write("X-Pad: a\r\n"), 400);
		onCleanup(async () => clearInterval(trickle));
		expect(await signedStatus(t)).toBe(200);
		const closedAfter = await within(c.closed, HEADERS_TIMEOUT_MS + SLACK_MS);
		clearInterval(trickle);
		expect(closedAfter).not.toBe("still open");
		expect(c.status() === null || c.status() === 408).toBe(true);
	}, 30_000);

	it("many idle connections: those over the cap are closed at once, the rest after the idle timeout; then the watchdog gets in", async () => {
		const t = await start();
		const { agent } = t;
		const extra = 20;
		const conns = await Promise.all(
			Array.from({ length: MAX_CONNECTIONS + extra }, () => raw(agent.port)),
		);
		const results = await Promise.all(
			conns.map((c) => within(c.closed, IDLE_TIMEOUT_MS + SLACK_MS)),
		);
		expect(results.filter((r) => r === "still open")).toEqual([]);
		// At least the ones over the cap went quickly (well before the idle timeout).
		const quick = results.filter((r) => typeof r === "number" && r < IDLE_TIMEOUT_MS / 2);
		expect(quick.length).toBeGreaterThanOrEqual(extra);
		expect(await signedStatus(t)).toBe(200);
	}, 30_000);

	it("an unsigned POST declaring a large body is refused before the body is read (never sent here), and the connection closed", async () => {
		const { agent } = await start();
		const c = await raw(agent.port);
		c.socket.write(
			`POST /v1/promote HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY_BYTES}\r\n\r\n`,
		);
		const closedAfter = await within(c.closed, 2_000);
		expect(closedAfter).not.toBe("still open");
		expect(c.status()).toBe(401);
		expect(c.data()).toContain("missing-signature");
	}, 30_000);

	it("an unsigned body flood is shed with 429 after the limit without reading a body, and a signed request from the same address still passes", async () => {
		const t = await start();
		const { agent } = t;
		// Each declares a full body and never sends it: an answer proves the body was not waited for.
		const statuses: (number | null)[] = [];
		for (let i = 0; i < AUTH_FAILURE_LIMIT + 20; i++) {
			const c = await raw(agent.port);
			c.socket.write(
				`POST /v1/promote HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY_BYTES}\r\n\r\n`,
			);
			await within(c.closed, 2_000);
			statuses.push(c.status());
		}
		expect(statuses.slice(0, AUTH_FAILURE_LIMIT).every((s) => s === 401)).toBe(true);
		expect(statuses.slice(AUTH_FAILURE_LIMIT).every((s) => s === 429)).toBe(true);
		// The rate limit never locks out a correctly signed request (behind a tunnel all share 127.0.0.1).
		expect(await signedStatus(t)).toBe(200);
		// One warning when the limit tripped, not one line per shed request.
		const rejected = agent.lines.filter((l) => l.includes('"request rejected"'));
		expect(rejected.length).toBe(AUTH_FAILURE_LIMIT);
	}, 60_000);

	it("a command that waits longer than the idle timeout is not cut: only connections with no request in progress are", async () => {
		const stepMs = IDLE_TIMEOUT_MS + 2_000;
		const t = await start([
			{ type: "exec", argv: ["sleep", String(stepMs / 1000)], timeoutMs: 30_000 },
		]);
		const r = await callAgent({
			baseUrl: t.agent.url,
			action: "promote",
			privateKey: t.privateKey,
			audience: t.audience,
			agentPublicKey: t.agentKey,
			term: 1,
			opId: "long-wait",
			waitMs: 20_000,
		});
		expect(r).toMatchObject({ ok: true, body: { opId: "long-wait", status: "succeeded" } });
	}, 60_000);
});
