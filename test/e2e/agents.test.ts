// End to end: the agents under stress. Standby unreachable (alert, both down, then recovery), an agent
// restarted mid-promote, replayed and forged commands (and, over dial-out, hostile connections), and the
// operator's drill and force commands. Runs on the lab's transport (FG_LAB_TRANSPORT).
import { describe, expect, it } from "vitest";
import { dialOutUrl } from "../../agent/src/dial-out";
import { CLOSE, generateKeyPair, ROUTES, signHello, signRequest } from "../../protocol";
import { type Lab, PAIR } from "../harness/lab";
import { waitFor } from "../harness/ports";
import { intervals, kinds, recordTiming, sleep, startLab, TRANSPORT } from "./support";

type Closed = { code: number; reason: string };

/**
 * Dials the Worker as the standby's agent would and waits for its challenge: a hostile connection's
 * first half. `closed` settles with the close the Worker sends.
 */
async function dialAsStandby(lab: Lab) {
	const ws = new WebSocket(dialOutUrl(lab.worker.url, PAIR, "standby"));
	const closed = new Promise<Closed>((resolve) =>
		ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })),
	);
	const challenge = await new Promise<string>((resolve, reject) => {
		ws.addEventListener("message", (e) => {
			const frame = JSON.parse(String(e.data)) as { t: string; challenge?: string };
			if (frame.t === "challenge" && frame.challenge) resolve(frame.challenge);
		});
		void closed.then((c) => reject(new Error(`closed before a challenge: ${c.code} ${c.reason}`)));
	});
	return { ws, challenge, closed };
}

/** A close within `ms`, or a failure naming what stayed open. */
function closeWithin(closed: Promise<Closed>, ms: number): Promise<Closed> {
	return Promise.race([
		closed,
		sleep(ms).then(() => {
			throw new Error(`the Worker kept a hostile connection open for ${ms} ms`);
		}),
	]);
}

describe("agents", () => {
	it(
		"standby unreachable: alerts, no promotion while both are down, promotes once the standby is back",
		TRANSPORT,
		async () => {
			const lab = await startLab();
			await lab.standbyAgent.kill();
			const t0 = Date.now();
			const alert = await lab.waitForEvent("standby-unreachable", t0, 15 * lab.interval);
			expect(alert.severity).toBe("warning");
			expect((await lab.pair()).state).toBe("primary-active");

			const down = Date.now();
			await lab.primaryGw.stop();
			const both = await lab.waitForEvent("both-down", down, 20 * lab.interval);
			expect(both.severity).toBe("critical");
			await sleep(3 * lab.interval);
			expect(kinds(await lab.events())).not.toContain("promoting");

			const back = Date.now();
			await lab.standbyAgent.start();
			const promoted = await lab.waitForEvent("promoted", back, 30 * lab.interval);
			recordTiming(
				"standby unreachable",
				"promoted after standby back",
				intervals(promoted.at - back, lab),
			);
			expect(lab.standbyGw.running).toBe(true);
		},
	);

	it("both down, then the primary comes back by itself: recovered, no failover", async () => {
		const lab = await startLab();
		await lab.standbyAgent.kill();
		await lab.primaryGw.stop();
		const t0 = Date.now();
		await lab.waitForEvent("both-down", t0, 20 * lab.interval);
		const back = Date.now();
		await lab.primaryGw.start();
		await lab.waitForEvent("recovered", back, 10 * lab.interval);
		expect((await lab.pair()).state).toBe("primary-active");
		expect(kinds(await lab.events())).not.toContain("promoting");
	});

	it(
		"agent restarted mid-promote: the cut-off operation reports interrupted, the retry completes",
		TRANSPORT,
		async () => {
			const lab = await startLab();
			// The gateway start takes 4 intervals, so the promote is still running when the agent dies.
			lab.control.startDelayMs = 4 * lab.interval;
			const t0 = Date.now();
			await lab.primaryGw.stop();
			await lab.waitForEvent("promoting", t0, 20 * lab.interval);
			// Killed while the promote runs: its gateway start has begun (with self-fencing the promote
			// goes out only after the primary's lease has run out).
			await waitFor(
				"the standby's gateway start to begin",
				() => lab.control.calls.includes("start standby"),
				20 * lab.interval + lab.fenceWaitMs,
			);
			await lab.standbyAgent.kill();
			await sleep(lab.interval);
			await lab.standbyAgent.start();
			const promoted = await lab.waitForEvent("promoted", t0, 40 * lab.interval + lab.fenceWaitMs);
			recordTiming("agent restart mid-promote", "standby ready", intervals(promoted.at - t0, lab));
			const events = await lab.events();
			const failed = events.find((e) => e.kind === "promote-failed");
			expect(failed?.summary).toContain("interrupted by an agent restart");
			expect(failed?.severity).toBe("warning"); // retried, not given up
			expect((await lab.pair()).state).toBe("standby-active");
		},
	);

	it(
		"replayed and forged commands are refused by the agent, and nothing runs",
		TRANSPORT,
		async () => {
			const lab = await startLab();
			const url = `${lab.standbyAgent.url}${ROUTES.promote}`;
			const body = JSON.stringify({ opId: "attacker:1", term: 99 });
			const send = (headers: Record<string, string>) =>
				fetch(url, {
					method: "POST",
					headers: { ...headers, "content-type": "application/json" },
					body,
				});

			const forgedKey = await generateKeyPair();
			const forged = await send(
				await signRequest({
					method: "POST",
					path: ROUTES.promote,
					body,
					privateKey: forgedKey.privateKey,
					audience: await lab.audience("standby"),
				}),
			);
			expect(forged.status).toBe(401);
			expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("unknown-key");

			// A real signature, captured and sent again: the second copy is a replay.
			const statusHeaders = await signRequest({
				method: "GET",
				path: ROUTES.status,
				privateKey: lab.keys.privateKey,
				audience: await lab.audience("standby"),
			});
			const first = await fetch(`${lab.standbyAgent.url}${ROUTES.status}`, {
				headers: statusHeaders,
			});
			expect(first.status).toBe(200);
			const replay = await fetch(`${lab.standbyAgent.url}${ROUTES.status}`, {
				headers: statusHeaders,
			});
			expect(replay.status).toBe(401);
			expect(((await replay.json()) as { error: { code: string } }).error.code).toBe(
				"replayed-nonce",
			);

			// A body changed under a valid signature.
			const signed = await signRequest({
				method: "POST",
				path: ROUTES.promote,
				body,
				privateKey: lab.keys.privateKey,
				audience: await lab.audience("standby"),
			});
			const tampered = await fetch(url, {
				method: "POST",
				headers: { ...signed, "content-type": "application/json" },
				body: body.replace("99", "100"),
			});
			expect(tampered.status).toBe(401);
			expect(((await tampered.json()) as { error: { code: string } }).error.code).toBe(
				"bad-signature",
			);

			if (lab.transport === "dial-out") {
				// Over dial-out the agent's side of the wire is its own connection: a forged key, a hello
				// replayed from another connection and a frame before hello are refused by the Worker, and
				// none of them replaces the real standby's connection.
				const forgedHello = await dialAsStandby(lab);
				forgedHello.ws.send(
					JSON.stringify(
						await signHello({
							pair: PAIR,
							side: "standby",
							challenge: forgedHello.challenge,
							privateKey: forgedKey.privateKey,
							now: Date.now(),
						}),
					),
				);
				expect((await closeWithin(forgedHello.closed, 10_000)).code).toBe(CLOSE.unauthenticated);

				// The real agent key's hello for one connection's challenge, sent on another connection.
				const recorded = await dialAsStandby(lab);
				const replayed = await dialAsStandby(lab);
				const hello = await signHello({
					pair: PAIR,
					side: "standby",
					challenge: recorded.challenge,
					privateKey: lab.agentKeys.standby.privateKey,
					now: Date.now(),
				});
				recorded.ws.close();
				replayed.ws.send(JSON.stringify(hello));
				expect((await closeWithin(replayed.closed, 10_000)).code).toBe(CLOSE.unauthenticated);

				const early = await dialAsStandby(lab);
				early.ws.send(
					JSON.stringify({ t: "response", id: 1, status: 200, headers: {}, body: "{}" }),
				);
				expect((await closeWithin(early.closed, 10_000)).code).toBe(CLOSE.malformed);

				const conn = (
					(await lab.pair()) as unknown as {
						connections?: {
							standby?: { connected: boolean; refused: number; lastClose: string | null };
						};
					}
				).connections?.standby;
				expect(conn?.connected).toBe(true);
				expect(conn?.refused).toBeGreaterThanOrEqual(3);
			}

			await sleep(lab.interval);
			expect(lab.standbyGw.running).toBe(false);
			expect(lab.control.calls).toEqual([]);
			expect((await lab.pair()).state).toBe("primary-active");
		},
	);

	it("drill: promote, standby ready, demote, with the timings reported; operator commands need the token", async () => {
		const lab = await startLab();
		const denied = await lab.worker.api(`/api/v1/pairs/home/drill`, {
			method: "POST",
			token: "wrong-token",
		});
		expect(denied.status).toBe(401);

		const t0 = Date.now();
		const started = await lab.operator("drill");
		expect(started.status).toBe(200);
		const done = await lab.waitForEvent("drill", t0 + 1, 30 * lab.interval);
		// The drill's outcome is its last "drill" event (the first says it started; with self-fencing
		// its promote waits for the primary's lease, so the end comes that much later).
		let finished: Awaited<ReturnType<Lab["events"]>>[number] | undefined;
		await waitFor(
			"the drill's outcome",
			async () => {
				finished = (await lab.events()).filter((e) => e.kind === "drill").at(-1);
				return /^drill (passed|failed)/.test(finished?.summary ?? "");
			},
			30 * lab.interval + lab.fenceWaitMs,
		);
		await lab.waitForState("primary-active", 10 * lab.interval);
		const p = await lab.pair();
		expect(p.pairState?.lastDrill?.ok).toBe(true);
		expect(p.pairState?.lastDrill?.outcome).toMatch(/^drill passed: promote .* s, demote .* s/);
		expect(finished?.summary).toMatch(/^drill passed/);
		recordTiming("drill", "drill total", intervals((finished?.at ?? done.at) - t0, lab));
		expect(lab.standbyGw.running).toBe(false);
		// A drill is a test: nothing counts toward flap damping, and the primary never stopped.
		expect(lab.primaryGw.running).toBe(true);

		// Force promote and demote through the same API.
		expect((await lab.operator("promote")).status).toBe(200);
		await lab.waitForState("standby-active", 20 * lab.interval);
		expect((await lab.operator("promote")).status).toBe(409);
		expect((await lab.operator("demote")).status).toBe(200);
		await lab.waitForState("primary-active", 20 * lab.interval);
	});
});
