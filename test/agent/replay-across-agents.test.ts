// Finding 1 against real agent processes: a watchdog-signed command replayed to another agent, side or pair runs nothing.
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
	type Audience,
	agentFingerprint,
	type GeneratedKeyPair,
	generateKeyPair,
	HEADERS,
	type Role,
	signRequest,
	verifyAnswer,
} from "../../protocol";
import { buildBundle, startAgentProcess } from "./agent-process";
import { tempDir, watchdogKeys, writeAgentKeyFile } from "./helpers";

let bundle = "";
let bundleDir = "";
beforeAll(async () => {
	({ outfile: bundle, dir: bundleDir } = await buildBundle());
}, 60_000);
afterAll(() => rm(bundleDir, { recursive: true, force: true }));

interface RealAgent {
	url: string;
	keys: GeneratedKeyPair;
	audience: Audience;
	/** A file every action of this agent appends to: it exists only if some step ran. */
	ran: string;
}

/** A real agent process for (pair, side) with its own key; each action only records that it ran. */
async function realAgent(pair: string, side: Role): Promise<RealAgent> {
	const dir = await tempDir();
	const keys = await generateKeyPair();
	await writeAgentKeyFile(dir, keys);
	const ran = join(dir, "ran");
	const step = (action: string) => [
		{ type: "exec", argv: ["sh", "-c", `echo ${action} >> ${ran}`], timeoutMs: 5_000 },
	];
	const file = join(dir, "agent.json");
	await writeFile(
		file,
		JSON.stringify({
			listen: { host: "127.0.0.1", port: 0 },
			pair,
			role: side,
			agentKeyFile: "agent.key",
			watchdogPublicKeys: [(await watchdogKeys()).publicKeyText],
			workspace: dir,
			gatewayUnit: { name: "openclaw-gateway.service", scope: "user" },
			localReadyUrl: "http://127.0.0.1:9/readyz",
			stateDir: "state",
			actions: { promote: step("promote"), demote: step("demote"), sync: step("sync") },
		}),
	);
	const process = await startAgentProcess(bundle, file);
	return {
		url: process.url,
		keys,
		audience: { pair, side, agent: await agentFingerprint(keys.publicKeyText) },
		ran,
	};
}

/** A command signed by the watchdog for `audience`, as the Worker sends it. */
async function signedCommand(action: string, audience: Audience, term: number) {
	const path = `/v1/${action}`;
	const body = JSON.stringify({ opId: `replay-${action}-${term}`, term, waitMs: 5_000 });
	const headers = {
		...(await signRequest({
			method: "POST",
			path,
			body,
			audience,
			privateKey: (await watchdogKeys()).privateKey,
		})),
		"content-type": "application/json",
	};
	return { path, body, headers };
}

async function send(agent: RealAgent, req: Awaited<ReturnType<typeof signedCommand>>) {
	const res = await fetch(agent.url + req.path, {
		method: "POST",
		headers: req.headers,
		body: req.body,
	});
	return { status: res.status, json: (await res.json()) as { error?: { code: string } } };
}

describe("commands are bound to their agent (finding 1)", () => {
	it("a standby replaying the demote it received to the primary's agent: 403 wrong-audience, the primary's gateway untouched", async () => {
		const [primary, standby] = await Promise.all([
			realAgent("home", "primary"),
			realAgent("home", "standby"),
		]);
		const demote = await signedCommand("demote", standby.audience, 3);
		const first = await send(standby, demote);
		expect(first.status).toBe(200);
		expect(existsSync(standby.ran)).toBe(true);

		// The compromised standby now holds a fresh, validly signed demote: it sends it on at once.
		const replayed = await send(primary, demote);
		expect(replayed.status).toBe(403);
		expect(replayed.json.error?.code).toBe("wrong-audience");
		expect(existsSync(primary.ran)).toBe(false);
	}, 60_000);

	it("a promote replayed to another pair's standby (and to a re-keyed agent): refused, nothing runs", async () => {
		const [home, office] = await Promise.all([
			realAgent("home", "standby"),
			realAgent("office", "standby"),
		]);
		const promote = await signedCommand("promote", home.audience, 5);
		const replayed = await send(office, promote);
		expect(replayed.status).toBe(403);
		expect(replayed.json.error?.code).toBe("wrong-audience");

		// Same pair and side, but a different agent key (a look-alike or an old key): refused too.
		const lookAlike = await signedCommand(
			"promote",
			{ ...office.audience, agent: home.audience.agent },
			6,
		);
		expect((await send(office, lookAlike)).json.error?.code).toBe("wrong-audience");
		expect(existsSync(office.ran)).toBe(false);
	}, 60_000);

	it("an agent refuses the actions its side never runs, even when signed for it", async () => {
		const [primary, standby] = await Promise.all([
			realAgent("home", "primary"),
			realAgent("home", "standby"),
		]);
		for (const action of ["promote", "demote"]) {
			const res = await send(primary, await signedCommand(action, primary.audience, 7));
			expect([res.status, res.json.error?.code]).toEqual([403, "action-not-allowed"]);
		}
		const sync = await send(standby, await signedCommand("sync", standby.audience, 7));
		expect([sync.status, sync.json.error?.code]).toEqual([403, "action-not-allowed"]);
		expect(existsSync(primary.ran) || existsSync(standby.ran)).toBe(false);
		// What each side does run still runs.
		expect((await send(primary, await signedCommand("sync", primary.audience, 8))).status).toBe(
			200,
		);
		expect(existsSync(primary.ran)).toBe(true);
	}, 60_000);

	it("answers are signed by the agent's own key over the request's nonce", async () => {
		const standby = await realAgent("home", "standby");
		const other = await generateKeyPair();
		const headers = await signRequest({
			method: "GET",
			path: "/v1/status",
			audience: standby.audience,
			privateKey: (await watchdogKeys()).privateKey,
		});
		const res = await fetch(`${standby.url}/v1/status`, { headers });
		const body = new Uint8Array(await res.arrayBuffer());
		const answer = {
			method: "GET",
			path: "/v1/status",
			nonce: headers[HEADERS.nonce] ?? "",
			audience: standby.audience,
			status: res.status,
			body,
			headers: res.headers,
		};
		expect(await verifyAnswer({ ...answer, publicKey: standby.keys.publicKey })).toEqual({
			ok: true,
		});
		expect(await verifyAnswer({ ...answer, publicKey: other.publicKey })).toMatchObject({
			ok: false,
			code: "bad-answer-signature",
		});
	}, 60_000);
});
