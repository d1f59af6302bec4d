// Parses WATCHDOG_CONFIG once per isolate (keyed on the raw value) and attributes config errors to pairs.
import { type ConfigError, parseWatchConfig, type WatchConfig } from "./config";

export interface LoadedConfig extends WatchConfig {
	/** Config errors by the name of the pair they belong to (pairs whose entry names itself). */
	readonly pairErrors: ReadonlyMap<string, readonly ConfigError[]>;
	/** Errors that belong to no single pair (JSON syntax, groups, unknown top-level fields). */
	readonly globalErrors: readonly ConfigError[];
	/** Short fingerprint of the raw config, to tell which config a Durable Object last ran with. */
	readonly hash: string;
}

let cached: { raw: unknown; local: boolean; config: LoadedConfig } | undefined;

/**
 * True when the Worker var LOCAL_DEVELOPMENT is "1": the lab, the demo, the bench and the tests set
 * it, so loopback and plain-http URLs are accepted. Never set it in a deployment.
 */
export function isLocalDevelopment(value: unknown): boolean {
	return value === "1" || value === "true";
}

/** Parses WATCHDOG_CONFIG (with LOCAL_DEVELOPMENT, the var that allows loopback URLs) once per isolate. */
export function loadConfig(raw: unknown, localDevelopment: unknown = undefined): LoadedConfig {
	const local = isLocalDevelopment(localDevelopment);
	if (cached && cached.raw === raw && cached.local === local) return cached.config;
	const parsed = parseWatchConfig(raw, { localDevelopment: local });
	const names = pairNamesByIndex(raw);
	const pairErrors = new Map<string, ConfigError[]>();
	const globalErrors: ConfigError[] = [];
	for (const e of parsed.errors) {
		const m = /^pairs\[(\d+)\]/.exec(e.path);
		const name = m ? names[Number(m[1])] : undefined;
		if (name === undefined) {
			globalErrors.push(e);
			continue;
		}
		const list = pairErrors.get(name) ?? [];
		list.push(e);
		pairErrors.set(name, list);
	}
	const config: LoadedConfig = Object.freeze({
		...parsed,
		pairErrors,
		globalErrors,
		hash: fnv1a(typeof raw === "string" ? raw : JSON.stringify(raw ?? null)),
	});
	cached = { raw, local, config };
	return config;
}

/** The `name` each pairs[i] entry gives itself, when it is a string. */
function pairNamesByIndex(raw: unknown): (string | undefined)[] {
	let doc: unknown = raw;
	if (typeof raw === "string") {
		try {
			doc = JSON.parse(raw);
		} catch {
			return [];
		}
	}
	const pairs = (doc as { pairs?: unknown } | null)?.pairs;
	if (!Array.isArray(pairs)) return [];
	return pairs.map((p) => {
		const n = (p as { name?: unknown } | null)?.name;
		return typeof n === "string" ? n : undefined;
	});
}

/** FNV-1a, 32 bit: a fingerprint for humans comparing configs, not a security measure. */
function fnv1a(s: string): string {
	let h = 0x811c9dc5;
	for (let i = 0; i < s.length; i++) {
		h ^= s.charCodeAt(i);
		h = Math.imul(h, 0x01000193);
	}
	return (h >>> 0).toString(16).padStart(8, "0");
}
