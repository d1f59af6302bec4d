// Test projects: workers runtime (worker/ + cross-runtime protocol checks), Node (agent, protocol), e2e.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

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
				test: {
					name: "e2e",
					environment: "node",
					include: ["test/e2e/**/*.test.ts"],
					testTimeout: 120_000,
					hookTimeout: 60_000,
					fileParallelism: false,
				},
			},
		],
	},
});
