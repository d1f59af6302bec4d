// Watches the workspace for changes (ignoring git's own writes); reports when the platform cannot, so the timer takes over.
import { type FSWatcher, watch } from "node:fs";

export interface WorkspaceWatch {
	/** False when watching failed from the start (the caller relies on its timer). */
	readonly active: boolean;
	close(): void;
}

export interface WatchHandlers {
	onChange(path: string): void;
	/** Called once when the watch cannot be kept (e.g. ENOSPC: the inotify watch limit). */
	onFallback(reason: string): void;
}

/** Changes under `.git/` are git's (often our own commits): reacting to them would loop. */
export function isOwnGitWrite(path: string): boolean {
	return (
		path === ".git" || path.startsWith(".git/") || path.includes("/.git/") || path.endsWith("/.git")
	);
}

/** Recursive fs.watch (Linux: inotify per directory, which is what hits the watch limit). */
export function watchWorkspace(workspace: string, handlers: WatchHandlers): WorkspaceWatch {
	let watcher: FSWatcher | null = null;
	let failed = false;
	const fallback = (reason: string) => {
		if (failed) return;
		failed = true;
		watcher?.close();
		handlers.onFallback(reason);
	};
	try {
		watcher = watch(workspace, { recursive: true, persistent: false }, (_event, name) => {
			const path = name === null ? "" : String(name);
			if (path !== "" && isOwnGitWrite(path)) return;
			handlers.onChange(path);
		});
		watcher.on("error", (e) => fallback(describe(e)));
	} catch (e) {
		fallback(describe(e));
		return { active: false, close() {} };
	}
	return {
		get active() {
			return !failed;
		},
		close() {
			watcher?.close();
		},
	};
}

function describe(e: unknown): string {
	const err = e as NodeJS.ErrnoException;
	if (err.code === "ENOSPC") return "the inotify watch limit is reached (ENOSPC)";
	if (err.code === "EMFILE") return "too many open files (EMFILE)";
	return err.message ?? String(e);
}
