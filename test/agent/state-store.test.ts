// State and nonce files: atomic replacement, reload, and refusing to start on a damaged state file.
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ReplayCache } from "../../agent/src/replay-cache";
import { StateFileError, StateStore } from "../../agent/src/state-store";
import { tempDir } from "./helpers";

describe("state store", () => {
	it("creates the state dir 0700 and the file 0600, and leaves no temp files", async () => {
		const dir = join(await tempDir(), "nested", "state");
		const { store } = await StateStore.open(dir, { role: "standby", now: () => 5 });
		store.state.term = 9;
		await Promise.all([store.save(), store.save(), store.save()]);
		expect((await stat(dir)).mode & 0o777).toBe(0o700);
		expect((await stat(join(dir, "state.json"))).mode & 0o777).toBe(0o600);
		expect(await readdir(dir)).toEqual(["state.json"]);
		expect(JSON.parse(await readFile(join(dir, "state.json"), "utf8"))).toEqual({
			format: 1,
			role: "standby",
			term: 9,
			operations: [],
		});
	});

	it("saves made during a write are all on disk when their promises resolve", async () => {
		const dir = await tempDir();
		const { store } = await StateStore.open(dir, { role: "primary", now: Date.now });
		const saves: Promise<void>[] = [];
		for (let term = 1; term <= 20; term++) {
			store.state.term = term;
			saves.push(store.save());
		}
		await Promise.all(saves);
		expect(JSON.parse(await readFile(join(dir, "state.json"), "utf8")).term).toBe(20);
	});

	it("reloads term and role; the config's role wins and the change is reported", async () => {
		const dir = await tempDir();
		const { store } = await StateStore.open(dir, { role: "standby", now: Date.now });
		store.state.term = 3;
		await store.save();
		const again = await StateStore.open(dir, { role: "primary", now: Date.now });
		expect(again.store.term).toBe(3);
		expect(again.store.role).toBe("primary");
		expect(again.previousRole).toBe("standby");
	});

	it("refuses a damaged state file rather than forgetting the highest term", async () => {
		const dir = await tempDir();
		await writeFile(join(dir, "state.json"), "{not json");
		await expect(StateStore.open(dir, { role: "standby", now: Date.now })).rejects.toThrow(
			StateFileError,
		);
		await writeFile(
			join(dir, "state.json"),
			JSON.stringify({ format: 1, role: "standby", term: -4, operations: [] }),
		);
		await expect(StateStore.open(dir, { role: "standby", now: Date.now })).rejects.toThrow(/term/);
	});
});

describe("replay cache", () => {
	it("forgets nonces only after twice the skew window", async () => {
		const dir = await tempDir();
		const cache = await ReplayCache.open(dir, { maxSkewMs: 30_000, now: 0 });
		expect(await cache.claim("n1", 1_000_000, 1_000_000)).toBe("fresh");
		expect(await cache.claim("n1", 1_000_000, 1_050_000)).toBe("replayed");
		// A new claim prunes: n1 is 60 001 ms old here, past 2 x 30 s.
		expect(await cache.claim("n2", 1_060_001, 1_060_001)).toBe("fresh");
		expect(cache.size).toBe(1);
	});

	it("is bounded: when full of live nonces it answers full", async () => {
		const dir = await tempDir();
		const cache = await ReplayCache.open(dir, { maxSkewMs: 30_000, now: 0, max: 3 });
		for (const n of ["a", "b", "c"]) expect(await cache.claim(n, 1, 1)).toBe("fresh");
		expect(await cache.claim("d", 1, 1)).toBe("full");
	});

	it("after a damaged nonce file, refuses anything signed before the restart, accepts what comes after", async () => {
		const dir = await tempDir();
		await writeFile(join(dir, "nonces.json"), "garbage");
		const cache = await ReplayCache.open(dir, { maxSkewMs: 30_000, now: 5_000 });
		expect(await cache.claim("old", 4_999, 5_000)).toBe("replayed");
		expect(await cache.claim("new", 5_000, 5_001)).toBe("fresh");
	});

	it("a nonce file that exists but cannot be read counts as damaged, not as empty", async () => {
		const dir = await tempDir();
		// A directory in its place: reading fails with EISDIR, whoever runs the test (root ignores modes).
		await mkdir(join(dir, "nonces.json"));
		const cache = await ReplayCache.open(dir, { maxSkewMs: 30_000, now: 5_000 });
		expect(await cache.claim("old", 4_999, 5_000)).toBe("replayed");
	});
});
