// JSON-line logger for journald: one object per line with time, level, msg and fields; never secrets.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
	debug(msg: string, fields?: LogFields): void;
	info(msg: string, fields?: LogFields): void;
	warn(msg: string, fields?: LogFields): void;
	error(msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
	level?: LogLevel;
	/** Receives one JSON line (no trailing newline). Default: stdout. */
	write?: (line: string) => void;
	now?: () => number;
}

// Insurance against a careless call site: a field with one of these names is never written out.
const SECRET_FIELD = /signature|private|secret|token|password|authorization/i;

function clean(fields: LogFields | undefined): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	if (fields === undefined) return out;
	for (const [key, value] of Object.entries(fields)) {
		if (value === undefined) continue;
		out[key] = SECRET_FIELD.test(key) ? "[redacted]" : value;
	}
	return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
	const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
	const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
	const now = options.now ?? Date.now;
	const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
		if (LOG_LEVELS.indexOf(level) < threshold) return;
		write(JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...clean(fields) }));
	};
	return {
		debug: (msg, fields) => emit("debug", msg, fields),
		info: (msg, fields) => emit("info", msg, fields),
		warn: (msg, fields) => emit("warn", msg, fields),
		error: (msg, fields) => emit("error", msg, fields),
	};
}

/** For tests and for CLI commands that must not print logs. */
export const silentLogger: Logger = createLogger({ write: () => {} });
