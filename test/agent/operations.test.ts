// Operations: idempotent by opId, strictly serialized, waitMs honoured, term fencing, bounded history.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../agent/src/log";
import { OperationManager } from "../../agent/src/operations";
import { StateStore } from "../../agent/src/state-store";
import type { Step } from "../../agent/src/steps/schema";
import {
	MAX_STEP_WARNING_CHARS,
	MAX_STEP_WARNINGS,
	type OperationRecord,
	OperationRecordSchema,
} from "../../protocol";
import { deferred, fakeRunner, startTestAgent, tempDir } from "./helpers";

const ACTIONS = {
	promote: [
		{ type: "exec", argv: ["promote-1"], timeoutMs: 1000 },
		{ type: "exec", argv: ["promote-2"], timeoutMs: 1000 },
	],
	demote: [
		{ type: "exec", argv: ["demote-1"], timeoutMs: 1000 },
		{ type: "exec", argv: ["demote-2"], timeoutMs: 1000 },
	],
	sync: [{ type: "exec", argv: ["sync-1"], timeoutMs: 1000 }],
} as const satisfies Record<string, readonly Step[]>;

function label(step: Step): string {
	return step.type === "exec" ? (step.argv[0] ?? "") : step.type;
}

/** A manager over a real state dir whose steps finish only when the test releases them. */
async function gatedManager(options: { historyLimit?: number } = {}) {
	const dir = await tempDir();
	const { store } = await StateStore.open(dir, { role: "standby", now: Date.now });
	const events: string[] = [];
	const gates = new Map<string, ReturnType<typeof deferred<void>>>();
	const gate = (name: string) => {
		let g = gates.get(name);
		if (g === undefined) {
			g = deferred<void>();
			gates.set(name, g);
		}
		return g;
	};
	const started = new Map<string, ReturnType<typeof deferred<void>>>();
	const startedGate = (name: string) => {
		let g = started.get(name);
		if (g === undefined) {
			g = deferred<void>();
			started.set(name, g);
		}
		return g;
	};
	const runner = fakeRunner(async (step) => {
		const name = label(step);
		events.push(`start ${name}`);
		startedGate(name).resolve();
		await gate(name).promise;
		events.push(`end ${name}`);
		return { status: "succeeded", ms: 1, output: `${name} done` };
	});
	const manager = new OperationManager({
		store,
		actions: ACTIONS,
		runStep: runner.runStep,
		stepContext: {
			workspace: "/w",
			gatewayUnit: { name: "g.service", scope: "user" },
			readyUrl: "http://127.0.0.1:9/",
		},
		now: Date.now,
		log: silentLogger,
		...options,
	});
	const releaseAll = () => {
		for (const step of Object.values(ACTIONS).flat()) gate(label(step)).resolve();
	};
	return {
		manager,
		store,
		dir,
		events,
		runner,
		release: (name: string) => gate(name).resolve(),
		started: (name: string) => startedGate(name).promise,
		releaseAll,
	};
}

describe("idempotency", () => {
	it("a repeated opId returns the first record and never runs the steps again", async () => {
		const runner = fakeRunner();
		const t = await startTestAgent({ runStep: runner.runStep });
		const first = (await (
			await t.command("promote", { opId: "same", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(first.status).toBe("succeeded");
		expect(runner.calls).toHaveLength(3);
		for (let i = 0; i < 3; i++) {
			const again = (await (
				await t.command("promote", { opId: "same", term: 1, waitMs: 5_000 })
			).json()) as OperationRecord;
			expect(again).toEqual(first);
		}
		expect(runner.calls).toHaveLength(3);
	});

	it("a repeat while running returns the running record (a safe poll), then the finished one", async () => {
		const m = await gatedManager();
		const accepted = await m.manager.submit({ opId: "op", action: "promote", term: 1 });
		expect(accepted.kind).toBe("accepted");
		await m.started("promote-1");
		const poll = await m.manager.submit({ opId: "op", action: "promote", term: 1 });
		expect(poll).toMatchObject({ kind: "existing", record: { status: "running" } });
		expect(poll.kind === "existing" && poll.record.steps.map((s) => s.status)).toEqual([
			"running",
			"pending",
		]);
		m.releaseAll();
		await m.manager.idle();
		expect(m.runner.calls).toHaveLength(2);
		expect(await m.manager.wait("op", 0)).toMatchObject({ status: "succeeded" });
	});

	it("the same opId for another action or term -> opid-conflict over HTTP", async () => {
		const t = await startTestAgent();
		expect((await t.command("promote", { opId: "x", term: 1, waitMs: 5_000 })).status).toBe(200);
		const res = await t.command("demote", { opId: "x", term: 1 });
		expect(res.status).toBe(409);
		expect(await res.json()).toMatchObject({ error: { code: "opid-conflict" } });
	});

	it("a repeat of an old opId still answers after the term moved on", async () => {
		const t = await startTestAgent();
		await t.command("promote", { opId: "old", term: 1, waitMs: 5_000 });
		await t.command("demote", { opId: "new", term: 2, waitMs: 5_000 });
		const res = await t.command("promote", { opId: "old", term: 1 });
		expect(res.status).toBe(200);
		expect(await res.json()).toMatchObject({ opId: "old", status: "succeeded" });
	});
});

describe("serialization", () => {
	it("promote and demote arriving together run one after the other, never interleaved", async () => {
		const m = await gatedManager();
		const [a, b] = await Promise.all([
			m.manager.submit({ opId: "p", action: "promote", term: 3 }),
			m.manager.submit({ opId: "d", action: "demote", term: 3 }),
		]);
		expect(a.kind).toBe("accepted");
		expect(b.kind).toBe("accepted");
		await m.started("promote-1");
		// The demote is queued: every step pending while the promote runs.
		expect(m.manager.get("d")?.steps.map((s) => s.status)).toEqual(["pending", "pending"]);
		// Release the demote's steps first: they still must not start before the promote ends.
		m.release("demote-1");
		m.release("demote-2");
		m.release("promote-1");
		m.release("promote-2");
		await m.manager.idle();
		expect(m.events).toEqual([
			"start promote-1",
			"end promote-1",
			"start promote-2",
			"end promote-2",
			"start demote-1",
			"end demote-1",
			"start demote-2",
			"end demote-2",
		]);
		expect(m.manager.last()).toMatchObject({ opId: "d", status: "succeeded" });
	});

	it("over HTTP: concurrent promote and demote both succeed, one whole action after the other", async () => {
		const order: string[] = [];
		let active = 0;
		const runner = fakeRunner(async (step, ctx) => {
			active++;
			expect(active).toBe(1);
			order.push(`${ctx.action}:${step.type}`);
			await new Promise((r) => setTimeout(r, 5));
			active--;
			return { status: "succeeded", ms: 5, output: "" };
		});
		const t = await startTestAgent({ runStep: runner.runStep });
		const [p, d] = await Promise.all([
			t.command("promote", { opId: "p", term: 2, waitMs: 10_000 }),
			t.command("demote", { opId: "d", term: 2, waitMs: 10_000 }),
		]);
		expect(await p.json()).toMatchObject({ status: "succeeded" });
		expect(await d.json()).toMatchObject({ status: "succeeded" });
		// Which request reaches the queue first is up to the scheduler; either way one action's steps
		// all run before the other's start.
		const promoteSteps = ["promote:git-sync", "promote:systemd-start", "promote:wait-ready"];
		const demoteSteps = ["demote:systemd-stop", "demote:git-push"];
		expect([
			[...promoteSteps, ...demoteSteps],
			[...demoteSteps, ...promoteSteps],
		]).toContainEqual(order);
	});

	it("a queued command whose term was overtaken is skipped as superseded", async () => {
		const m = await gatedManager();
		await m.manager.submit({ opId: "p3", action: "promote", term: 3 });
		await m.started("promote-1");
		await m.manager.submit({ opId: "d3", action: "demote", term: 3 });
		await m.manager.submit({ opId: "p4", action: "promote", term: 4 });
		m.releaseAll();
		await m.manager.idle();
		const d3 = m.manager.get("d3");
		expect(d3).toMatchObject({ status: "failed" });
		expect(d3?.error).toMatch(/superseded/);
		expect(d3?.steps.every((s) => s.status === "skipped")).toBe(true);
		expect(m.manager.get("p4")).toMatchObject({ status: "succeeded" });
		expect(m.events.filter((e) => e.startsWith("start demote"))).toEqual([]);
	});
});

describe("waiting and results", () => {
	it("waitMs 0 answers at once with status running; a later poll gets the result", async () => {
		const m = await gatedManager();
		await m.manager.submit({ opId: "w", action: "sync", term: 0 });
		expect(await m.manager.wait("w", 0)).toMatchObject({ status: "running" });
		await m.started("sync-1");
		// A short wait that ends before the step: still running.
		expect(await m.manager.wait("w", 20)).toMatchObject({ status: "running" });
		m.release("sync-1");
		expect(await m.manager.wait("w", 10_000)).toMatchObject({
			status: "succeeded",
			steps: [{ status: "succeeded", output: "sync-1 done" }],
		});
	});

	it("a failed step fails the operation and skips the rest", async () => {
		const runner = fakeRunner((step) =>
			step.type === "systemd-start"
				? {
						status: "failed",
						ms: 3,
						exitCode: 5,
						output: "Unit not found",
						error: "systemctl exited with code 5",
					}
				: { status: "succeeded", ms: 1, output: "" },
		);
		const t = await startTestAgent({ runStep: runner.runStep });
		const record = (await (
			await t.command("promote", { opId: "f", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(record.status).toBe("failed");
		expect(record.steps).toEqual([
			{ step: "git-sync", status: "succeeded", ms: 1, output: "" },
			{
				step: "systemd-start",
				status: "failed",
				ms: 3,
				exitCode: 5,
				output: "Unit not found",
				error: "systemctl exited with code 5",
			},
			{ step: "wait-ready", status: "skipped" },
		]);
		expect(runner.calls).toHaveLength(2);
	});

	it("a step runner that throws (a bug) fails the step, and the queue keeps going", async () => {
		let first = true;
		const runner = fakeRunner(() => {
			if (first) {
				first = false;
				throw new Error("boom");
			}
			return { status: "succeeded", ms: 1, output: "" };
		});
		// sync: the primary's only action.
		const t = await startTestAgent({ runStep: runner.runStep, config: { role: "primary" } });
		const bad = (await (
			await t.command("sync", { opId: "b", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(bad.status).toBe("failed");
		expect(bad.steps[0]?.error).toContain("boom");
		const good = (await (
			await t.command("sync", { opId: "g", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(good.status).toBe("succeeded");
	});

	it("step output is bounded to the last 4 KiB", async () => {
		const runner = fakeRunner(() => ({
			status: "succeeded",
			ms: 1,
			output: `${"a".repeat(10_000)}END`,
		}));
		const t = await startTestAgent({ runStep: runner.runStep, config: { role: "primary" } });
		const record = (await (
			await t.command("sync", { opId: "o", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(record.steps[0]?.output).toHaveLength(4096);
		expect(record.steps[0]?.output?.endsWith("END")).toBe(true);
	});

	it("step warnings reach the record, cut to the protocol's bounds so the Worker always parses it", async () => {
		const runner = fakeRunner(() => ({
			status: "succeeded",
			ms: 1,
			output: "",
			warnings: Array.from({ length: 20 }, (_, i) => ({
				code: `merge-conflicts${"x".repeat(i === 0 ? 100 : 0)}`,
				message: `${i}:${"m".repeat(5_000)}`,
			})),
		}));
		const t = await startTestAgent({ runStep: runner.runStep, config: { role: "primary" } });
		const record = OperationRecordSchema.parse(
			await (await t.command("sync", { opId: "w", term: 1, waitMs: 5_000 })).json(),
		);
		const warnings = record.steps[0]?.warnings ?? [];
		expect(warnings).toHaveLength(MAX_STEP_WARNINGS);
		expect(warnings[0]?.code).toHaveLength(64);
		for (const w of warnings) expect(w.message.length).toBeLessThanOrEqual(MAX_STEP_WARNING_CHARS);
		expect(warnings[1]?.message.startsWith("1:")).toBe(true);
	});

	it("a step without warnings leaves the field out (older Workers see what they always saw)", async () => {
		const runner = fakeRunner(() => ({ status: "succeeded", ms: 1, output: "" }));
		const t = await startTestAgent({ runStep: runner.runStep, config: { role: "primary" } });
		const record = (await (
			await t.command("sync", { opId: "n", term: 1, waitMs: 5_000 })
		).json()) as OperationRecord;
		expect(record.steps[0]).not.toHaveProperty("warnings");
	});
});

describe("persistence", () => {
	it("term and operations are on disk when the answer is sent", async () => {
		const t = await startTestAgent();
		await t.command("promote", { opId: "disk", term: 7, waitMs: 5_000 });
		const saved = JSON.parse(await readFile(join(t.stateDir, "state.json"), "utf8"));
		expect(saved).toMatchObject({
			format: 1,
			role: "standby",
			term: 7,
			operations: [{ opId: "disk", status: "succeeded" }],
		});
	});

	it("an operation found running at start is reported interrupted, with the running step named", async () => {
		const m = await gatedManager();
		await m.manager.submit({ opId: "cut", action: "promote", term: 2 });
		await m.manager.submit({ opId: "queued", action: "sync", term: 2 });
		await m.started("promote-1");
		await m.store.save();
		// Simulate a crash: nothing more runs; a new process opens the same state dir.
		const reopened = await StateStore.open(m.dir, { role: "standby", now: Date.now });
		expect(reopened.interrupted.map((op) => op.opId)).toEqual(["cut", "queued"]);
		const cut = reopened.store.state.operations.find((op) => op.opId === "cut");
		expect(cut).toMatchObject({ status: "interrupted", term: 2 });
		expect(cut?.steps.map((s) => s.status)).toEqual(["interrupted", "skipped"]);
		expect(cut?.steps[0]?.error).toMatch(/stopped while this step was running/);
		expect(reopened.store.term).toBe(2);
		m.releaseAll();
		await m.manager.idle();
	});

	it("shutdown interrupts the running step and the queue, and saves", async () => {
		const m = await gatedManager();
		await m.manager.submit({ opId: "run", action: "promote", term: 1 });
		await m.manager.submit({ opId: "wait", action: "demote", term: 1 });
		await m.started("promote-1");
		const stopping = m.manager.shutdown();
		m.releaseAll();
		await stopping;
		expect(m.manager.get("run")).toMatchObject({
			status: "interrupted",
			steps: [{ status: "interrupted" }, { status: "skipped" }],
		});
		expect(m.manager.get("wait")).toMatchObject({ status: "interrupted" });
		const saved = JSON.parse(await readFile(join(m.dir, "state.json"), "utf8"));
		expect(saved.operations.map((op: OperationRecord) => op.status)).toEqual([
			"interrupted",
			"interrupted",
		]);
	});

	it("history keeps the last 50 finished operations", async () => {
		const t = await startTestAgent({ config: { role: "primary" } });
		for (let i = 0; i < 55; i++) await t.command("sync", { opId: `s${i}`, term: 1, waitMs: 5_000 });
		const ops = t.agent.state.state.operations;
		expect(ops).toHaveLength(50);
		expect(ops[0]?.opId).toBe("s5");
		expect(ops.at(-1)?.opId).toBe("s54");
	});
});
