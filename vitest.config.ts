// Test projects: workers runtime (worker/ + cross-runtime protocol checks), Node (agent, protocol), e2e.
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The unit projects (worker, node) run one file per core, on every core: CPU-bound, they gain nothing
 * from more. Said explicitly because vitest's default is cores - 1, which on a 2-core machine is 1, and
 * a project with maxWorkers 1 is taken out of its group and run alone after every other group: the unit
 * files then ran one at a time after the e2e group (measured on 2 cores: worker 200 s, node 186 s; with
 * both cores 117 s and 126 s). Both unit projects share group 0, so they must name the same number.
 */
const UNIT_WORKERS = "100%";

/**
 * The e2e projects' shared settings. Their files wait on wall-clock probe intervals far more than they
 * compute, so E2E_FILES_AT_ONCE of them run side by side (each lab has its own ports, processes and
 * temp dirs), in a group after the unit tests (groupOrder 1) so CPU-bound unit files never load a lab.
 * A lab's CPU goes into its start (about 9 s, wrangler and workerd above all); running, one takes about
 * a tenth of a core (measured: 2-3 s of CPU per 20 s for workerd, wrangler and both agents). On a shared
 * 2-core machine four at a time ran the e2e group in 387-447 s at mean load 10-11, three in 454 s at
 * mean load 6 (the same files took 1111 s in all at load 4, 1486-1708 s at load 10-11: the order of
 * the files matters less than the machine's load). Both e2e projects' files are ordered together,
 * longest first (LongestFirst).
 */
const E2E_FILES_AT_ONCE = 4;

/**
 * Seconds each e2e file took in a full `npm test` on a loaded 2-core machine (2026-11-30, 3 files at a
 * time), keyed `project:file`. Only the order matters (LongestFirst), so a rough figure is enough: a file
 * not listed runs first (unknown counts as long), and a stale figure only costs some packing. Without it
 * a fresh clone (no vitest results cache) orders files by size, which put the 150 s judge.test.ts last:
 * about 35 s of tail with one file running alone.
 */
const E2E_SECONDS: Readonly<Record<string, number>> = {
	"e2e:no-false-failover.test.ts": 154,
	"e2e:judge.test.ts": 151,
	"e2e:failover.test.ts": 142,
	"e2e:restart-grace.test.ts": 129,
	"e2e:dial-out.test.ts": 117,
	"e2e:agents.test.ts": 116,
	"e2e:replication.test.ts": 74,
	"e2e-http:agents.test.ts": 59,
	"e2e-http:restart-grace.test.ts": 53,
	"e2e:status-page.test.ts": 46,
	"e2e:init-doctor.test.ts": 34,
	"e2e-http:failover.test.ts": 25,
	"e2e-http:init-doctor.test.ts": 13,
	"e2e:find-chrome.test.ts": 0,
};
/** A file missing from E2E_SECONDS: longer than any listed, so it runs first. */
const UNKNOWN_E2E_S = 10_000;

const isE2e = (s: TestSpecification) => s.project.name.startsWith("e2e");
const e2eSeconds = (s: TestSpecification) =>
	E2E_SECONDS[`${s.project.name}:${s.moduleId.split("/").at(-1)}`] ?? UNKNOWN_E2E_S;

/**
 * Vitest's own order (groupOrder, then each project's files by cached duration, or by size without a
 * cache), except that the files of both e2e projects, which share one group of E2E_FILES_AT_ONCE slots,
 * are ordered together by E2E_SECONDS, longest first.
 */
class LongestFirst extends BaseSequencer {
	override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
		const sorted = await super.sort(files);
		const at = sorted.findIndex(isE2e);
		if (at < 0) return sorted;
		const e2eFiles = sorted.filter(isE2e).sort((a, b) => e2eSeconds(b) - e2eSeconds(a));
		const rest = sorted.filter((s) => !isE2e(s));
		// One group (one groupOrder): contiguous in vitest's order, so they go back where it began.
		return [...rest.slice(0, at), ...e2eFiles, ...rest.slice(at)];
	}
}
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
		sequence: { sequencer: LongestFirst },
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
					maxWorkers: UNIT_WORKERS,
					globalSetup: ["./test/worker/setup/loopback-gateways.ts"],
				},
			},
			{
				test: {
					name: "node",
					environment: "node",
					maxWorkers: UNIT_WORKERS,
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
