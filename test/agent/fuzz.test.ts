// Fuzz: ~1000 random, garbled or tampered requests. None runs a step, none gets a 5xx, the agent keeps serving.
import { connect } from "node:net";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../agent/src/log";
import { listenAgent } from "../../agent/src/server";
import {
	type Audience,
	CommandRequestSchema,
	ErrorResponseSchema,
	formatAudience,
	HEADERS,
	MAX_BODY_BYTES,
	MAX_TERM,
	signRequest,
	toBase64Url,
} from "../../protocol";
import {
	configFor,
	fakeRunner,
	onCleanup,
	startTestAgent,
	tempDir,
	watchdogKeys,
	writeAgentKeyFile,
} from "./helpers";

/** Seeded PRNG (mulberry32): a failure reproduces from the seed in its message. */
function rng(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	const int = (n: number) => Math.floor(next() * n);
	const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
	const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
	return { next, int, pick, bytes };
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"];
const PATHS = [
	"/v1/status",
	"/v1/promote",
	"/v1/demote",
	"/v1/sync",
	"/healthz",
	"/v1/promote/",
	"/v1//promote",
	"/v1/%70romote",
	"/V1/PROMOTE",
	"/v1/promote?opId=x",
	"/v1/../v1/promote",
	"/v2/promote",
	"/",
	"/v1",
	"/v1/status/../promote",
	`/v1/${"a".repeat(3000)}`,
];
const CONTENT_TYPES = [
	"application/json",
	"text/plain",
	"",
	"application/json; charset=utf-8",
	"multipart/form-data",
	"application/x-json",
];

type Fuzzed = {
	method: string;
	path: string;
	headers: Record<string, string>;
	body?: string | Uint8Array;
	kind: string;
};

/** The standby's own audience, and audiences that differ from it in exactly one part. */
function otherAudiences(own: Audience): Audience[] {
	return [
		{ ...own, pair: "office" },
		{ ...own, pair: `${own.pair}-2` },
		{ ...own, side: "primary" },
		{ ...own, agent: toBase64Url(new Uint8Array(32)) },
		{ ...own, agent: `${own.agent.slice(0, 42)}${own.agent.endsWith("A") ? "B" : "A"}` },
	];
}

/** Terms the schema must refuse: past MAX_TERM (up to and beyond 2^53), negative, fractional, not numbers. */
const BAD_TERMS: readonly unknown[] = [
	MAX_TERM + 1,
	2 ** 32,
	Number.MAX_SAFE_INTEGER,
	Number.MAX_SAFE_INTEGER + 1,
	1e300,
	-1,
	1.5,
	"7",
	null,
];

async function generate(
	r: ReturnType<typeof rng>,
	privateKey: CryptoKey,
	now: number,
	audience: Audience,
): Promise<Fuzzed> {
	const method = r.pick(METHODS);
	const path = r.pick(PATHS);
	const headers: Record<string, string> = {};
	const canHaveBody = method !== "GET" && method !== "HEAD";
	const randomText = () => {
		switch (r.int(6)) {
			case 0:
				return toBase64Url(r.bytes(r.int(100)));
			case 1:
				return String(r.int(2 ** 31) * (r.next() < 0.5 ? -1 : 1));
			case 2:
				return "";
			case 3:
				// Latin-1 only: a header value is a byte string (a client cannot even send more).
				return "\u00e9\u00ff~ ".repeat(r.int(5));
			case 4:
				return String(now + r.int(120_000) - 60_000);
			default:
				return toBase64Url(r.bytes(r.pick([16, 64, 9, 15, 17, 63, 65])));
		}
	};
	const randomJson = (depth: number): unknown => {
		switch (depth > 3 ? r.int(4) : r.int(7)) {
			case 0:
				return r.int(1000) - 500;
			case 1:
				return randomText();
			case 2:
				return null;
			case 3:
				return r.next() < 0.5;
			case 4:
				return Array.from({ length: r.int(4) }, () => randomJson(depth + 1));
			default: {
				const keys = ["opId", "term", "waitMs", "action", "__proto__", "constructor", randomText()];
				return Object.fromEntries(
					Array.from({ length: r.int(5) }, () => [r.pick(keys), randomJson(depth + 1)]),
				);
			}
		}
	};
	const randomBody = (): string | Uint8Array => {
		switch (r.int(4)) {
			case 0:
				return r.bytes(r.int(300));
			case 1:
				return JSON.stringify(randomJson(0));
			case 2:
				return `{"opId":"${randomText()}","term":${randomText() || 0}`;
			default:
				return " ".repeat(r.pick([0, 1, MAX_BODY_BYTES, MAX_BODY_BYTES + 1]));
		}
	};

	const kind = r.int(6);
	if (kind === 4) {
		// Correctly signed and well formed, but for another agent (one part of the audience differs), or
		// an action this standby never runs: a replay across agents or sides.
		const wrongRole = r.next() < 0.25;
		const target = wrongRole ? audience : r.pick(otherAudiences(audience));
		const action = wrongRole ? "/v1/sync" : r.pick(["/v1/promote", "/v1/demote", "/v1/sync"]);
		const body = JSON.stringify({ opId: `aud${r.int(1e9)}`, term: r.int(5) });
		Object.assign(
			headers,
			await signRequest({ method: "POST", path: action, body, audience: target, privateKey, now }),
			{ "content-type": "application/json" },
		);
		return {
			method: "POST",
			path: action,
			headers,
			body,
			kind: wrongRole ? "role-forbidden" : "audience-mismatch",
		};
	}
	if (kind === 5) {
		// Correctly signed for this agent, with a term outside 0..MAX_TERM: term poisoning from the wire.
		const term = r.pick(BAD_TERMS);
		const body = `{"opId":"ovf${r.int(1e9)}","term":${JSON.stringify(term)}}`;
		const path = r.pick(["/v1/promote", "/v1/demote"]);
		Object.assign(
			headers,
			await signRequest({ method: "POST", path, body, audience, privateKey, now }),
			{ "content-type": "application/json" },
		);
		return { method: "POST", path, headers, body, kind: "term-overflow" };
	}
	if (kind === 0) {
		// Pure garbage: random auth headers, any of them missing.
		for (const name of [
			HEADERS.timestamp,
			HEADERS.nonce,
			HEADERS.signature,
			HEADERS.keyId,
			HEADERS.audience,
		]) {
			if (r.next() < 0.6) headers[name] = randomText();
		}
		if (r.next() < 0.7) headers["content-type"] = r.pick(CONTENT_TYPES);
		return {
			method,
			path,
			headers,
			kind: "garbage",
			...(canHaveBody ? { body: randomBody() } : {}),
		};
	}
	if (kind === 1) {
		// A valid signed command, then one thing changed after signing.
		const body = JSON.stringify({ opId: `fz${r.int(1e9)}`, term: r.int(5) });
		const signedPath = r.pick(["/v1/promote", "/v1/demote", "/v1/sync"]);
		const signed = await signRequest({
			method: "POST",
			path: signedPath,
			body,
			audience,
			privateKey,
			now,
		});
		Object.assign(headers, signed, { "content-type": "application/json" });
		const tamper = r.int(7);
		let outBody: string | Uint8Array = body;
		let outPath = signedPath;
		if (tamper === 0)
			outBody = body.replace(/term":(\d)/, (_, d) => `term":${(Number(d) + 1) % 10}`);
		if (tamper === 1)
			outPath = r.pick(["/v1/promote", "/v1/demote", "/v1/sync"].filter((p) => p !== signedPath));
		if (tamper === 2) headers[HEADERS.timestamp] = String(now + 1 + r.int(1000));
		if (tamper === 3) headers[HEADERS.nonce] = toBase64Url(r.bytes(16));
		if (tamper === 4) {
			const sig = headers[HEADERS.signature] ?? "";
			const i = r.int(sig.length);
			headers[HEADERS.signature] =
				sig.slice(0, i) + (sig[i] === "A" ? "B" : "A") + sig.slice(i + 1);
		}
		if (tamper === 5) outBody = `${body} `;
		// The audience header rewritten after signing: it is signed, so this is a bad signature.
		if (tamper === 6) headers[HEADERS.audience] = formatAudience(r.pick(otherAudiences(audience)));
		return { method: "POST", path: outPath, headers, body: outBody, kind: `tampered-${tamper}` };
	}
	if (kind === 2) {
		// Correctly signed, but the body is garbage (never a valid command).
		let body = randomBody();
		const text = typeof body === "string" ? body : "";
		try {
			if (CommandRequestSchema.safeParse(JSON.parse(text)).success) body = "{}";
		} catch {}
		const m = r.pick(["POST", "PUT", "PATCH"]);
		Object.assign(
			headers,
			await signRequest({ method: m, path: "/v1/promote", body, audience, privateKey, now }),
		);
		headers["content-type"] = r.pick(CONTENT_TYPES);
		return { method: m, path: "/v1/promote", headers, body, kind: "signed-garbage-body" };
	}
	// Correctly signed GET/other to random paths: only /v1/status may answer 200.
	const p = r.pick(PATHS).split("?")[0] ?? "/";
	Object.assign(headers, await signRequest({ method, path: p, audience, privateKey, now }));
	return { method, path: p, headers, kind: "signed-random-path" };
}

describe("fuzz", () => {
	it("1000 random and garbled requests: no step runs, no 5xx, every error is protocol-shaped", async () => {
		const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
		const r = rng(seed);
		const runner = fakeRunner();
		const now = 1_800_000_000_000;
		const t = await startTestAgent({ runStep: runner.runStep, now: () => now });
		const kinds = new Map<string, number>();
		for (let i = 0; i < 1000; i++) {
			const req = await generate(r, t.keys.privateKey, now, t.audience);
			kinds.set(req.kind, (kinds.get(req.kind) ?? 0) + 1);
			const env = { incoming: { socket: { remoteAddress: `10.0.${r.int(4)}.${r.int(250)}` } } };
			const init: RequestInit = { method: req.method, headers: req.headers };
			if (req.body !== undefined && req.method !== "GET" && req.method !== "HEAD")
				init.body = req.body as BodyInit;
			const res = await t.agent.app.request(req.path, init, env);
			const context = `seed ${seed}, request ${i} (${req.kind} ${req.method} ${req.path.slice(0, 40)}) -> ${res.status}`;
			expect(res.status, context).toBeLessThan(500);
			if (res.status === 200) {
				expect(["/v1/status", "/healthz"], context).toContain(
					new URL(req.path, "http://x").pathname,
				);
			} else if (req.method !== "HEAD") {
				const body = await res.json();
				expect(ErrorResponseSchema.safeParse(body).success, context).toBe(true);
				const code = (body as { error: { code: string } }).error.code;
				// 429: the address already spent its reject budget (the limiter answers first), also a refusal.
				const limited = res.status === 429;
				if (req.kind === "audience-mismatch" && !limited)
					expect([res.status, code], context).toEqual([403, "wrong-audience"]);
				if (req.kind === "role-forbidden" && !limited)
					expect([res.status, code], context).toEqual([403, "action-not-allowed"]);
				if (req.kind === "term-overflow" && !limited)
					expect([res.status, code], context).toEqual([400, "invalid-body"]);
			}
		}
		expect(runner.calls, `seed ${seed}`).toHaveLength(0);
		// Every generator branch was exercised, and the agent still serves a valid command.
		expect([...kinds.keys()].filter((k) => !k.startsWith("tampered")).sort()).toEqual([
			"audience-mismatch",
			"garbage",
			"role-forbidden",
			"signed-garbage-body",
			"signed-random-path",
			"term-overflow",
		]);
		// The standby's state kept its bounded term: no overflowing term was recorded.
		expect(t.agent.state.term).toBeLessThanOrEqual(MAX_TERM);
		const ok = await t.command("promote", { opId: "after-fuzz", term: 1, waitMs: 5_000 });
		expect(await ok.json()).toMatchObject({ status: "succeeded" });
	}, 120_000); // 1000 requests, most Ed25519-signed: a few seconds alone, far more on a loaded 2-core machine

	it("malformed HTTP on a real socket never takes the agent down", async () => {
		const keys = await watchdogKeys();
		const stateDir = await tempDir();
		await writeAgentKeyFile(stateDir);
		const config = configFor(
			{ stateDir, listen: { host: "127.0.0.1", port: 0 } },
			keys.publicKeyText,
		);
		const runner = fakeRunner();
		const listened = await listenAgent(config, {
			runStep: runner.runStep,
			log: silentLogger,
			startPeerProbe: false,
		});
		if (!listened.ok) throw new Error(listened.message);
		onCleanup(() => listened.running.close());
		const { port } = listened.running;
		const r = rng(7);
		const garbage = [
			"GARBAGE\r\n\r\n",
			"POST /v1/promote HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
			"POST /v1/promote HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
			`GET /v1/status HTTP/1.1\r\nHost: x\r\n${"X: y\r\n".repeat(5000)}\r\n`,
			"POST /v1/promote HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
			"GET /v1/status HTTP/9.9\r\n\r\n",
		];
		for (let i = 0; i < 100; i++) {
			const payload = garbage[i] ?? Buffer.from(r.bytes(1 + r.int(2000)));
			await new Promise<void>((resolve) => {
				const socket = connect(port, "127.0.0.1", () => socket.end(payload));
				socket.on("data", () => {});
				socket.on("error", () => resolve());
				socket.on("close", () => resolve());
				socket.setTimeout(2_000, () => socket.destroy());
			});
		}
		const res = await fetch(`http://127.0.0.1:${port}/healthz`);
		expect(await res.json()).toEqual({ ok: true });
		expect(runner.calls).toHaveLength(0);
	});
});
