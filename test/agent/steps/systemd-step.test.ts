import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { CommandRequest, CommandRunner } from "../../../agent/src/steps/run-command";
import { runStep, type StepContext } from "../../../agent/src/steps/run-step";
import { DEFAULT_ACTIONS, StepSchema } from "../../../agent/src/steps/schema";
import { systemctlArgv } from "../../../agent/src/steps/systemd-step";
import { freePort } from "./helpers";

const FAKE_GATEWAY = fileURLToPath(new URL("./fixtures/fake-gateway.mjs", import.meta.url));

describe("systemctlArgv", () => {
	it("builds plain systemctl for system units (polkit grants a non-root agent)", () => {
		const unit = { name: "openclaw-gateway.service", scope: "system" } as const;
		expect(systemctlArgv("start", unit)).toEqual([
			"systemctl",
			"start",
			"openclaw-gateway.service",
		]);
		expect(systemctlArgv("stop", unit)).toEqual(["systemctl", "stop", "openclaw-gateway.service"]);
	});

	it("adds --user for user units", () => {
		const unit = { name: "openclaw-gateway", scope: "user" } as const;
		expect(systemctlArgv("start", unit)).toEqual([
			"systemctl",
			"--user",
			"start",
			"openclaw-gateway",
		]);
		expect(systemctlArgv("stop", unit)).toEqual([
			"systemctl",
			"--user",
			"stop",
			"openclaw-gateway",
		]);
	});

	it("refuses a unit name that systemctl would read as an option", () => {
		expect(() => systemctlArgv("start", { name: "--all", scope: "system" })).toThrow(
			/invalid systemd unit name/,
		);
	});
});

/** Records every command and answers from a script, like systemctl would. */
function recordingRunner(answer: (req: CommandRequest) => { exitCode: number; output: string }) {
	const calls: CommandRequest[] = [];
	const run: CommandRunner = async (req) => {
		calls.push(req);
		return { kind: "exited", ms: 1, ...answer(req) };
	};
	return { calls, run };
}

const baseCtx = (
	scope: "system" | "user",
	runCommand: CommandRunner,
	readyUrl = "http://127.0.0.1:9/readyz",
): StepContext => ({
	workspace: "/nonexistent",
	gatewayUnit: { name: "openclaw-gateway.service", scope },
	readyUrl,
	runCommand,
});

describe("systemd steps through the injected runner", () => {
	it("run the argv for the context's unit and scope, with the step's timeout", async () => {
		const { calls, run } = recordingRunner(() => ({ exitCode: 0, output: "" }));
		const start = await runStep(
			StepSchema.parse({ type: "systemd-start", timeoutMs: 1234 }),
			baseCtx("system", run),
		);
		const stop = await runStep(StepSchema.parse({ type: "systemd-stop" }), baseCtx("user", run));
		expect(start).toMatchObject({ status: "succeeded", exitCode: 0 });
		expect(stop).toMatchObject({ status: "succeeded", exitCode: 0 });
		expect(calls.map((c) => c.argv)).toEqual([
			["systemctl", "start", "openclaw-gateway.service"],
			["systemctl", "--user", "stop", "openclaw-gateway.service"],
		]);
		expect(calls[0]?.timeoutMs).toBe(1234);
		expect(calls[1]?.timeoutMs).toBe(100_000);
	});

	it("let a step override the unit name, keeping the scope", async () => {
		const { calls, run } = recordingRunner(() => ({ exitCode: 0, output: "" }));
		await runStep(
			StepSchema.parse({ type: "systemd-start", unit: "gateway-b.service" }),
			baseCtx("user", run),
		);
		expect(calls[0]?.argv).toEqual(["systemctl", "--user", "start", "gateway-b.service"]);
	});

	it("fail with systemctl's exit code and a hint when polkit refuses", async () => {
		const { run } = recordingRunner(() => ({
			exitCode: 1,
			output: "Failed to start openclaw-gateway.service: Interactive authentication required.\n",
		}));
		const outcome = await runStep(
			StepSchema.parse({ type: "systemd-start" }),
			baseCtx("system", run),
		);
		expect(outcome).toMatchObject({ status: "failed", exitCode: 1 });
		expect(outcome.error).toContain("systemctl start openclaw-gateway.service exited with code 1");
		expect(outcome.error).toContain("polkit rule");
		expect(outcome.output).toContain("Interactive authentication required");
	});

	it("fail clearly for an unknown unit", async () => {
		const { run } = recordingRunner(() => ({
			exitCode: 5,
			output: "Failed to stop x.service: Unit x.service not loaded.\n",
		}));
		const outcome = await runStep(
			StepSchema.parse({ type: "systemd-stop" }),
			baseCtx("system", run),
		);
		expect(outcome.error).toContain("no such unit");
	});

	it("fail clearly when systemctl itself is missing (the real runner)", async () => {
		const outcome = await runStep(StepSchema.parse({ type: "systemd-start" }), {
			...baseCtx("system", async (req) => {
				const { runCommand } = await import("../../../agent/src/steps/run-command");
				return runCommand({ ...req, argv: ["fg-no-systemctl-here", ...req.argv.slice(1)] });
			}),
		});
		expect(outcome.status).toBe("failed");
		expect(outcome.error).toContain("program not found");
	});
});

describe("a fake gateway process driven in systemd's place", () => {
	let gateway: ChildProcess | undefined;
	afterEach(() => {
		gateway?.kill("SIGKILL");
		gateway = undefined;
	});

	/** Plays systemd: `start` forks the gateway and returns (as for Type=simple); `stop` waits for it to exit. */
	function fakeSystemd(port: number): { run: CommandRunner; seen: string[][] } {
		const seen: string[][] = [];
		const run: CommandRunner = async (req) => {
			seen.push([...req.argv]);
			const verb = req.argv.at(-2);
			if (verb === "start") {
				if (gateway === undefined || gateway.exitCode !== null) {
					gateway = spawn(process.execPath, [FAKE_GATEWAY, String(port), "2"], { stdio: "ignore" });
				}
				return { kind: "exited", exitCode: 0, output: "", ms: 1 };
			}
			if (verb === "stop") {
				const child = gateway;
				if (child !== undefined && child.exitCode === null && child.signalCode === null) {
					const exited = new Promise((r) => child.once("exit", r));
					child.kill("SIGTERM");
					await exited;
				}
				return { kind: "exited", exitCode: 0, output: "", ms: 1 };
			}
			return { kind: "exited", exitCode: 1, output: `unexpected ${req.argv.join(" ")}`, ms: 1 };
		};
		return { run, seen };
	}

	it("start, then wait-ready sees it become ready; stop, then it is gone", async () => {
		const port = await freePort();
		const { run, seen } = fakeSystemd(port);
		const ctx = baseCtx("user", run, `http://127.0.0.1:${port}/readyz`);

		expect((await runStep(StepSchema.parse({ type: "systemd-start" }), ctx)).status).toBe(
			"succeeded",
		);
		const ready = await runStep(
			StepSchema.parse({ type: "wait-ready", intervalMs: 50, timeoutMs: 20_000 }),
			ctx,
		);
		expect(ready.status).toBe("succeeded");
		// The fake answers 503 twice first: wait-ready had to poll past "starting".
		expect(ready.output).toMatch(/after (\d+) attempt/);
		expect(Number(/after (\d+) attempt/.exec(ready.output)?.[1])).toBeGreaterThanOrEqual(3);

		expect((await runStep(StepSchema.parse({ type: "systemd-stop" }), ctx)).status).toBe(
			"succeeded",
		);
		const gone = await runStep(
			StepSchema.parse({ type: "wait-ready", intervalMs: 50, timeoutMs: 300 }),
			ctx,
		);
		expect(gone.status).toBe("failed");
		expect(gone.error).toContain("ECONNREFUSED");
		expect(seen).toEqual([
			["systemctl", "--user", "start", "openclaw-gateway.service"],
			["systemctl", "--user", "stop", "openclaw-gateway.service"],
		]);
	});

	it("the default promote action's systemd and readiness steps bring the fake gateway up", async () => {
		const port = await freePort();
		const { run } = fakeSystemd(port);
		const ctx = baseCtx("system", run, `http://127.0.0.1:${port}/readyz`);
		const [, start, wait] = DEFAULT_ACTIONS.promote;
		if (start === undefined || wait === undefined) throw new Error("promote lost its steps");
		expect((await runStep(start, ctx)).status).toBe("succeeded");
		expect((await runStep(wait, ctx)).status).toBe("succeeded");
		const [stop] = DEFAULT_ACTIONS.demote;
		if (stop === undefined) throw new Error("demote lost its steps");
		expect((await runStep(stop, ctx)).status).toBe("succeeded");
		expect(gateway?.exitCode).toBe(0);
	});
});
