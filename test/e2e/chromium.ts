// Debian's chromium driven by playwright-core: headless, quiet (no network of its own), a fresh profile per launch.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export interface Browser {
	context: BrowserContext;
	close(): Promise<void>;
}

/** Throws (never skips) when chromium is missing, so a CI without it fails loudly. */
export async function launchChromium(opts: { javaScriptEnabled?: boolean } = {}): Promise<Browser> {
	if (!existsSync(CHROMIUM)) {
		throw new Error(
			`chromium is missing at ${CHROMIUM}: the status page browser test needs it. Install it with \`apt-get install -y chromium\` (.ci/run does this).`,
		);
	}
	const profile = mkdtempSync(join(tmpdir(), "fg-chromium-"));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		javaScriptEnabled: opts.javaScriptEnabled ?? true,
		viewport: { width: 1100, height: 900 },
		// Chromium would otherwise reach out to Google (updates, sync, field trials): tests stay on loopback.
		args: [
			"--no-sandbox",
			"--disable-gpu",
			"--disable-background-networking",
			"--disable-quic",
			"--no-first-run",
			"--disable-component-update",
			"--disable-sync",
		],
		timeout: 30_000,
	});
	return {
		context,
		async close() {
			await context.close().catch(() => {});
			rmSync(profile, { recursive: true, force: true });
		},
	};
}
