// Issue 12 finding 9: `failover-agent call` never follows a redirect with a signed request, and never prints an agent's control characters.
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../agent/src/cli";
import { silentLogger } from "../../agent/src/log";
import { listenAgent } from "../../agent/src/server";
import { printable, printableJson } from "../../agent/src/terminal-text";
import {
	agentKeys,
	configFor,
	fakeRunner,
	onCleanup,
	TEST_PAIR,
	tempDir,
	writeAgentKeyFile,
} from "./helpers";

async function cli(...argv: string[]) {
	let out = "";
	let err = "";
	const code = await runCli(argv, { out: (t) => void (out += t), err: (t) => void (err += t) });
	return { code, out, err };
}

/** A plain HTTP server on 127.0.0.1 answering every request with `answer`; records what reached it. */
async function server(
	answer: (path: string) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<{ url: string; hits: string[] }> {
	const hits: string[] = [];
	const s: Server = createServer((req, res) => {
		hits.push(`${req.method} ${req.url}`);
		req.resume();
		const a = answer(req.url ?? "/");
		res.writeHead(a.status, a.headers ?? {});
		res.end(a.body ?? "");
	});
	await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
	onCleanup(() => new Promise<void>((r) => s.close(() => r())));
	return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits };
}

/** A real agent on a real port, a watchdog key file for it, and the `call` flags naming it. */
async function victim(
	behave?: Parameters<typeof fakeRunner>[0],
	role: "primary" | "standby" = "standby",
) {
	const dir = await tempDir();
	const keyFile = join(dir, "watchdog.key");
	const gen = await cli("keygen", "--out", keyFile);
	const publicKey = gen.out.match(/ed25519:[A-Za-z0-9_-]{43}/)?.[0] ?? "";
	const runner = fakeRunner(behave);
	const own = await agentKeys();
	await mkdir(join(dir, "state"), { recursive: true });
	await writeAgentKeyFile(join(dir, "state"), own);
	const config = configFor(
		{ stateDir: join(dir, "state"), listen: { host: "127.0.0.1", port: 0 }, role },
		publicKey,
	);
	const listened = await listenAgent(config, {
		runStep: runner.runStep,
		log: silentLogger,
		startPeerProbe: false,
	});
	if (!listened.ok) throw new Error(listened.message);
	onCleanup(() => listened.running.close());
	const who = ["--pair", TEST_PAIR, "--side", role, "--agent-key", own.publicKeyText];
	return { url: `http://127.0.0.1:${listened.running.port}`, keyFile, runner, who };
}

const ESCAPES = "\u001b]0;owned\u0007\u001b[2J\u001b[1A\u009b31m\u202eevil\r";

describe("failover-agent call and redirects", () => {
	for (const status of [301, 302, 303, 307, 308]) {
		it(`a ${status} to another agent is an error naming the Location; that agent never runs the command`, async () => {
			const target = await victim();
			const proxy = await server((path) => ({
				status,
				headers: { location: `${target.url}${path}` },
			}));
			const res = await cli(
				"call",
				proxy.url,
				"demote",
				"--key",
				target.keyFile,
				"--term",
				"1",
				...target.who,
			);
			expect(res.code).toBe(1);
			expect(res.err).toContain(`a redirect to "${target.url}/v1/demote"; not followed`);
			expect(res.err).toContain(`HTTP ${status}`);
			expect(proxy.hits).toEqual(["POST /v1/demote"]);
			expect(target.runner.calls).toEqual([]);
			// The same key, sent straight to that agent, does run: the refusal was the redirect's.
			const direct = await cli(
				"call",
				target.url,
				"demote",
				"--key",
				target.keyFile,
				"--term",
				"1",
				...target.who,
			);
			expect(direct.code).toBe(0);
			expect(target.runner.calls.length).toBeGreaterThan(0);
		});
	}

	it("the status read before a command (no --term) is not followed either", async () => {
		const target = await victim();
		const proxy = await server((path) => ({
			status: 307,
			headers: { location: `${target.url}${path}` },
		}));
		const res = await cli("call", proxy.url, "demote", "--key", target.keyFile, ...target.who);
		expect(res.code).toBe(1);
		expect(res.err).toContain("/v1/status");
		expect(proxy.hits).toEqual(["GET /v1/status"]);
		expect(target.runner.calls).toEqual([]);
	});

	it("a Location with a C1 control character (one-byte CSI) is printed without it", async () => {
		const { keyFile, who } = await victim();
		// Raw bytes: Node's own HTTP server refuses to send such a header, a hostile one does not.
		const raw = createNetServer((sock) => {
			sock.once("data", () => {
				sock.end(
					Buffer.from(
						"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/\x9b2Jx\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
						"latin1",
					),
				);
			});
		});
		await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
		onCleanup(() => new Promise<void>((r) => raw.close(() => r())));
		const url = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
		const res = await cli("call", url, "status", "--key", keyFile, ...who);
		expect(res.code).toBe(1);
		expect(res.err).toContain("redirect to");
		expect(res.err).toContain("2Jx");
		expect(res.err).not.toMatch(/\u009b/);
	});
});

describe("failover-agent call strips terminal control characters from an agent's answer", () => {
	it("in a real agent's operation record (a step's output and error)", async () => {
		const target = await victim(
			() => ({
				status: "failed",
				ms: 1,
				output: `pull ${ESCAPES} done`,
				error: `push ${ESCAPES} rejected`,
			}),
			"primary",
		);
		const res = await cli(
			"call",
			target.url,
			"sync",
			"--key",
			target.keyFile,
			"--term",
			"1",
			...target.who,
		);
		expect(res.code).toBe(1);
		for (const text of [res.out, res.err]) {
			expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
		}
		expect(res.out).toContain("]0;owned");
	});

	it("in an error answer and in a body that is not the protocol", async () => {
		const { keyFile, who } = await victim();
		const rejecting = await server(() => ({
			status: 401,
			headers: { "content-type": "application/json" },
			body: JSON.stringify({ error: { code: "unknown-key", message: `no ${ESCAPES}` } }),
		}));
		const rejected = await cli("call", rejecting.url, "status", "--key", keyFile, ...who);
		const garbled = await server(() => ({ status: 502, body: `<html>${ESCAPES}</html>` }));
		const bad = await cli("call", garbled.url, "status", "--key", keyFile, ...who);
		for (const r of [rejected, bad]) {
			expect(r.code).toBe(1);
			expect(r.out + r.err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
		}
		expect(rejected.err).toContain("unknown-key");
	});

	it("printable keeps newlines, tabs and ordinary text", () => {
		expect(printable("a\tb\nc ü 🙂")).toBe("a\tb\nc ü 🙂");
		expect(printableJson({ [`k${ESCAPES}`]: [ESCAPES] })).not.toMatch(/\u001b|\u009b|\u202e/);
	});
});
