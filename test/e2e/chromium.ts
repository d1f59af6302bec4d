// The installed Chrome or Chromium driven by playwright-core: headless, quiet (no network of its own), a fresh profile per launch.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { type ChromeHost, findChrome } from "./find-chrome";

export interface Browser {
	context: BrowserContext;
	close(): Promise<void>;
}

export const realChromeHost: ChromeHost = {
	platform: process.platform,
	env: process.env,
	exists: (path) => existsSync(path),
	osRelease: () => {
		try {
			return readFileSync("/etc/os-release", "utf8");
		} catch {
			return null;
		}
	},
};

/** Throws (never skips) when no browser is found, so a CI without one fails loudly, with the install command. */
export async function launchChromium(opts: { javaScriptEnabled?: boolean } = {}): Promise<Browser> {
	const lookup = findChrome(realChromeHost);
	if (!lookup.ok) throw new Error(lookup.message);
	const parent = lookup.profileParent ?? tmpdir();
	mkdirSync(parent, { recursive: true });
	const profile = mkdtempSync(join(parent, "fg-chromium-"));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: lookup.executablePath,
		headless: true,
		javaScriptEnabled: opts.javaScriptEnabled ?? true,
		viewport: { width: 1100, height: 900 },
		// The browser would otherwise reach out to Google (updates, sync, field trials): tests stay on loopback.
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
