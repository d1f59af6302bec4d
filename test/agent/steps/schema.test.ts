import { describe, expect, it } from "vitest";
import {
	DEFAULT_ACTIONS,
	DEFAULT_TIMEOUT_MS,
	type Step,
	StepSchema,
} from "../../../agent/src/steps/schema";

function issues(input: unknown): string[] {
	const result = StepSchema.safeParse(input);
	expect(result.success).toBe(false);
	return result.success ? [] : result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("StepSchema", () => {
	it("fills in defaults", () => {
		expect(StepSchema.parse({ type: "git-pull" })).toEqual({
			type: "git-pull",
			remote: "origin",
			timeoutMs: DEFAULT_TIMEOUT_MS["git-pull"],
		});
		expect(StepSchema.parse({ type: "wait-ready" })).toEqual({
			type: "wait-ready",
			intervalMs: 500,
			timeoutMs: 30_000,
		});
	});

	it("accepts every documented field", () => {
		const steps = [
			{ type: "git-pull", remote: "backup", branch: "main", timeoutMs: 5_000 },
			{
				type: "git-push",
				remote: "origin",
				branch: "feature/x",
				message: "saved",
				timeoutMs: 5_000,
			},
			{
				type: "exec",
				argv: ["/usr/bin/env", "true"],
				cwd: "sub",
				env: { A_B: "1" },
				timeoutMs: 1_000,
			},
			{ type: "systemd-start", unit: "openclaw-gateway.service" },
			{ type: "systemd-stop", unit: "gateway@1.service", timeoutMs: 2_000 },
			{
				type: "wait-ready",
				url: "http://127.0.0.1:18789/readyz",
				intervalMs: 100,
				timeoutMs: 1_000,
			},
		];
		for (const step of steps) expect(StepSchema.parse(step)).toMatchObject(step);
	});

	it("names the field and what was expected", () => {
		expect(issues({ type: "reboot" })).toEqual([
			'type: expected "type" to be one of git-pull, git-push, git-sync, exec, systemd-start, systemd-stop, wait-ready',
		]);
		expect(issues({ type: "exec", argv: [] }).join()).toContain(
			"argv: expected argv to name at least the program",
		);
		expect(issues({ type: "exec", argv: [""] }).join()).toContain("argv[0] to be the program");
		expect(issues({ type: "exec", argv: "ls -la" }).join()).toContain(
			"argv: expected argv to be an array",
		);
		expect(issues({ type: "exec", argv: ["x"], env: { "NOT VALID": "1" } }).join()).toContain(
			"expected environment variable names",
		);
		expect(issues({ type: "wait-ready", url: "file:///etc/passwd" }).join()).toContain(
			"url: expected an absolute http(s) URL",
		);
		expect(issues({ type: "wait-ready", timeoutMs: 99_999_999 }).join()).toContain(
			"timeoutMs: expected timeoutMs of at most",
		);
		expect(issues({ type: "git-pull", timeoutMs: 1.5 }).join()).toContain(
			"timeoutMs: expected timeoutMs to be a whole number",
		);
	});

	it("rejects unknown fields (strict objects)", () => {
		expect(issues({ type: "git-pull", force: true }).join()).toContain("force");
		expect(issues({ type: "exec", argv: ["x"], shell: true }).join()).toContain("shell");
	});

	it("never lets a config value reach git or systemctl as an option", () => {
		expect(issues({ type: "git-pull", remote: "--upload-pack=touch /tmp/x" }).join()).toContain(
			"remote:",
		);
		expect(issues({ type: "git-push", branch: "--force" }).join()).toContain("branch:");
		expect(issues({ type: "git-push", branch: "a..b" }).join()).toContain("branch:");
		expect(issues({ type: "systemd-start", unit: "--now" }).join()).toContain("unit:");
		expect(issues({ type: "systemd-stop", unit: "a b" }).join()).toContain("unit:");
	});
});

describe("DEFAULT_ACTIONS", () => {
	it("are the OpenClaw defaults, already parsed", () => {
		const types = (steps: readonly Step[]) => steps.map((s) => s.type);
		expect(types(DEFAULT_ACTIONS.promote)).toEqual(["git-sync", "systemd-start", "wait-ready"]);
		expect(types(DEFAULT_ACTIONS.demote)).toEqual(["systemd-stop", "git-push"]);
		expect(types(DEFAULT_ACTIONS.sync)).toEqual(["git-sync"]);
		for (const steps of Object.values(DEFAULT_ACTIONS)) {
			for (const step of steps) expect(StepSchema.parse(step)).toEqual(step);
		}
	});

	it("cannot be mutated by a caller", () => {
		expect(Object.isFrozen(DEFAULT_ACTIONS)).toBe(true);
		expect(Object.isFrozen(DEFAULT_ACTIONS.promote)).toBe(true);
		expect(Object.isFrozen(DEFAULT_ACTIONS.promote[0])).toBe(true);
	});
});
