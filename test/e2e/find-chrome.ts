// Where the browser test finds Chrome or Chromium on each platform, and the one install command when there is none.
import { join } from "node:path";

/** What the lookup may read; the real one is {@link realChromeHost}, tests pass fakes. */
export interface ChromeHost {
	platform: NodeJS.Platform;
	env: Readonly<Record<string, string | undefined>>;
	exists(path: string): boolean;
	/** /etc/os-release's text on Linux, null when unreadable. */
	osRelease(): string | null;
}

export type ChromeLookup =
	| {
			ok: true;
			executablePath: string;
			/** Set for a snap Chromium: its confinement hides the host's /tmp, so the profile goes here. */
			profileParent?: string;
	  }
	| { ok: false; message: string };

const MAC_APPS = [
	"Google Chrome.app/Contents/MacOS/Google Chrome",
	"Chromium.app/Contents/MacOS/Chromium",
];

/** In order of preference: a distribution package first, then Google's, then the snap. */
export function chromeCandidates(host: Pick<ChromeHost, "platform" | "env">): string[] {
	switch (host.platform) {
		case "linux":
			return [
				"/usr/bin/chromium",
				"/usr/bin/google-chrome-stable",
				"/usr/bin/google-chrome",
				"/snap/bin/chromium",
				"/usr/bin/chromium-browser",
			];
		case "darwin": {
			const home = host.env.HOME;
			return [
				...MAC_APPS.map((app) => `/Applications/${app}`),
				...(home ? MAC_APPS.map((app) => join(home, "Applications", app)) : []),
			];
		}
		default:
			return [];
	}
}

/** The one command that installs a browser the test can drive, for this platform and distribution. */
export function chromeInstallCommand(host: Pick<ChromeHost, "platform" | "osRelease">): string {
	if (host.platform === "darwin") return "brew install --cask google-chrome";
	if (host.platform !== "linux") return "";
	const release = host.osRelease() ?? "";
	const field = (name: string) =>
		new RegExp(`^${name}="?([^"\\n]*)"?$`, "m").exec(release)?.[1]?.toLowerCase().split(/\s+/) ??
		[];
	// Ubuntu itself ships Chromium only as a snap (its apt package is a stub that installs the snap);
	// Debian and the derivatives that list it (Mint, Pop!_OS, ...) have a real `chromium` package.
	if (field("ID").includes("ubuntu")) return "sudo snap install chromium";
	const family = [...field("ID"), ...field("ID_LIKE")];
	if (family.includes("debian") || family.includes("ubuntu"))
		return "sudo apt-get install -y chromium";
	return "";
}

/**
 * Finds the browser: CHROME_PATH when set (and then only it: a wrong path is an error, not a
 * reason to drive another browser), else the first of {@link chromeCandidates} that exists.
 * When none does, `message` names where it looked and the install command for this machine.
 */
export function findChrome(host: ChromeHost): ChromeLookup {
	const chosen = host.env.CHROME_PATH?.trim();
	if (chosen) {
		if (host.exists(chosen)) return found(chosen, host);
		return {
			ok: false,
			message: `CHROME_PATH is set to ${chosen}, which does not exist: point it at a Chrome or Chromium executable, or unset it to use the installed one.`,
		};
	}
	const candidates = chromeCandidates(host);
	const hit = candidates.find((path) => host.exists(path));
	if (hit !== undefined) return found(hit, host);
	const install = chromeInstallCommand(host);
	const looked = candidates.length > 0 ? ` (looked in ${candidates.join(", ")})` : "";
	const fix =
		install !== ""
			? `Install it with: ${install}`
			: "Install Chrome or Chromium with your system's package manager";
	return {
		ok: false,
		message: `The status page browser test needs Chrome or Chromium and found none${looked}. ${fix} (or set CHROME_PATH to its executable).`,
	};
}

function found(path: string, host: ChromeHost): ChromeLookup {
	const home = host.env.HOME;
	// Ubuntu's /usr/bin/chromium-browser is a wrapper that starts the snap.
	const snap = path.startsWith("/snap/") || path === "/usr/bin/chromium-browser";
	if (snap && home) {
		return { ok: true, executablePath: path, profileParent: join(home, "snap/chromium/common") };
	}
	return { ok: true, executablePath: path };
}
