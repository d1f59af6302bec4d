// Test projects: workers runtime (worker/ + cross-runtime protocol checks), Node (agent, protocol), e2e.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

/**
 * The e2e projects' shared settings. Their files wait on wall-clock probe intervals far more than they
 * compute, so E2E_FILES_AT_ONCE of them run side by side (each lab has its own ports, processes and
 * temp dirs), in a group after the unit tests (groupOrder 1) so CPU-bound unit files never load a lab.
 */
const E2E_FILES_AT_ONCE = 3;
const e2e = {
	environment: "node" as const,
	testTimeout: 120_000,
	hookTimeout: 60_000,
	maxWorkers: E2E_FILES_AT_ONCE,
	sequence: { groupOrder: 1 },
	tags: [
		{
			name: "transport",
			description:
				"exercises a transport's own paths: also runs in e2e-http over the HTTP transport",
		},
	],
};

export default defineConfig({
	test: {
		projects: [
			{
				plugins: [
					// Loopback gateway URLs come from the globalSetup (Node side) into the worker's bindings.
					cloudflareTest(({ inject }) => ({
						wrangler: { configPath: "./wrangler.toml" },
						miniflare: { bindings: inject("workerBindings") },
					})),
				],
				test: {
					name: "worker",
					include: ["test/worker/**/*.test.ts"],
					globalSetup: ["./test/worker/setup/loopback-gateways.ts"],
				},
			},
			{
				test: {
					name: "node",
					environment: "node",
					include: [
						"test/agent/**/*.test.ts",
						"test/protocol/**/*.test.ts",
						"test/operator/**/*.test.ts",
					],
				},
			},
			{
				// Every scenario, on the lab's transport: dial-out (the recommended deployment) unless
				// FG_LAB_TRANSPORT says otherwise (`FG_LAB_TRANSPORT=endpoint npx vitest run --project e2e`
				// runs the whole suite over HTTP).
				test: {
					name: "e2e",
					include: ["test/e2e/**/*.test.ts"],
					env: { FG_LAB_TRANSPORT: process.env.FG_LAB_TRANSPORT ?? "dial-out" },
					...e2e,
				},
			},
			{
				// The HTTP transport's own paths (tests tagged "transport", 6 of them): the Worker calling
				// each agent's port for status and commands, an agent unreachable or restarted behind it, its
				// signed HTTP surface, the polled restart grace, init and doctor for endpoint agents.
				test: {
					name: "e2e-http",
					include: [
						"test/e2e/failover.test.ts",
						"test/e2e/agents.test.ts",
						"test/e2e/restart-grace.test.ts",
						"test/e2e/init-doctor.test.ts",
					],
					env: { FG_LAB_TRANSPORT: "endpoint" },
					setupFiles: ["./test/e2e/transport-subset.ts"],
					...e2e,
				},
			},
		],
	},
});
