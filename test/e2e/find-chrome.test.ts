// The browser lookup on each platform against a fake filesystem: where it looks, what CHROME_PATH does, which install command it names.
import { describe, expect, it } from "vitest";
import { type ChromeHost, chromeCandidates, findChrome } from "./find-chrome";

const DEBIAN = 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"\nID=debian\nVERSION_ID="13"\n';
const UBUNTU = 'NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n';
const MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\n';
const FEDORA = 'NAME="Fedora Linux"\nID=fedora\n';
const CHROME_MAC = "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome";
const CHROMIUM_MAC = "/Applications/Chromium.app/Contents/MacOS/Chromium";

function host(
	platform: NodeJS.Platform,
	files: string[],
	opts: { env?: Record<string, string>; osRelease?: string | null } = {},
): ChromeHost {
	const present = new Set(files);
	return {
		platform,
		env: { HOME: platform === "darwin" ? "/Users/me" : "/home/me", ...opts.env },
		exists: (path) => present.has(path),
		osRelease: () => opts.osRelease ?? null,
	};
}

describe("findChrome: where each platform puts the browser", () => {
	it.each([
		["linux", "/usr/bin/chromium", DEBIAN],
		["linux", "/usr/bin/chromium-browser", UBUNTU],
		["linux", "/usr/bin/google-chrome", UBUNTU],
		["linux", "/usr/bin/google-chrome-stable", DEBIAN],
		["linux", "/snap/bin/chromium", UBUNTU],
		["darwin", CHROME_MAC, null],
		["darwin", CHROMIUM_MAC, null],
		["darwin", `/Users/me/Applications/Google Chrome.app/Contents/MacOS/Google Chrome`, null],
	] as const)("%s: finds %s", (platform, path, osRelease) => {
		const lookup = findChrome(host(platform, [path], { osRelease }));
		expect(lookup).toMatchObject({ ok: true, executablePath: path });
	});

	it("prefers the distribution's chromium over Google Chrome and the snap", () => {
		const lookup = findChrome(
			host("linux", ["/snap/bin/chromium", "/usr/bin/google-chrome", "/usr/bin/chromium"]),
		);
		expect(lookup).toMatchObject({ ok: true, executablePath: "/usr/bin/chromium" });
	});

	it("gives a snap Chromium a profile under ~/snap/chromium/common (the snap cannot see the host's /tmp)", () => {
		for (const path of ["/snap/bin/chromium", "/usr/bin/chromium-browser"]) {
			expect(findChrome(host("linux", [path], { osRelease: UBUNTU }))).toEqual({
				ok: true,
				executablePath: path,
				profileParent: "/home/me/snap/chromium/common",
			});
		}
		expect(findChrome(host("linux", ["/usr/bin/chromium"]))).not.toHaveProperty("profileParent");
	});
});

describe("findChrome: CHROME_PATH", () => {
	it("wins over every standard place", () => {
		const lookup = findChrome(
			host("linux", ["/usr/bin/chromium", "/opt/chrome/chrome"], {
				env: { CHROME_PATH: "/opt/chrome/chrome" },
			}),
		);
		expect(lookup).toMatchObject({ ok: true, executablePath: "/opt/chrome/chrome" });
	});

	it("pointing nowhere is an error naming it, not a fall back to another browser", () => {
		const lookup = findChrome(
			host("linux", ["/usr/bin/chromium"], { env: { CHROME_PATH: "/opt/nothing/chrome" } }),
		);
		expect(lookup.ok).toBe(false);
		expect(!lookup.ok && lookup.message).toContain("CHROME_PATH is set to /opt/nothing/chrome");
	});
});

describe("findChrome: none installed fails with the one command for this machine", () => {
	it.each([
		["linux", DEBIAN, "Install it with: sudo apt-get install -y chromium"],
		["linux", UBUNTU, "Install it with: sudo snap install chromium"],
		["linux", MINT, "Install it with: sudo apt-get install -y chromium"],
		["darwin", null, "Install it with: brew install --cask google-chrome"],
		["linux", FEDORA, "Install Chrome or Chromium with your system's package manager"],
		["linux", null, "Install Chrome or Chromium with your system's package manager"],
		["win32", null, "Install Chrome or Chromium with your system's package manager"],
	] as const)("%s (%s)", (platform, osRelease, fix) => {
		const h = host(platform, [], { osRelease });
		const lookup = findChrome(h);
		expect(lookup.ok).toBe(false);
		if (lookup.ok) return;
		expect(lookup.message).toContain(fix);
		expect(lookup.message).toContain("CHROME_PATH");
		for (const place of chromeCandidates(h)) expect(lookup.message).toContain(place);
	});
});
