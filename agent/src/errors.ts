// Protocol-shaped HTTP errors: thrown as ProtocolError, answered by one onError as {error: {code, message}}.
import type { ErrorCode, ErrorResponse } from "../../protocol";
import { type AgentAnswer, type AgentRequest, jsonAnswer } from "./agent-http";
import type { Logger } from "./log";

/** An expected refusal (4xx) raised where it is decided; onError turns it into its JSON answer. */
export class ProtocolError extends Error {
	/** HTTP status, 400 to 499. */
	readonly status: number;
	readonly code: ErrorCode;
	readonly headers: Record<string, string>;
	/** Already logged where it was raised (the auth middleware logs with the source address). */
	readonly logged: boolean;

	constructor(
		status: number,
		code: ErrorCode,
		message: string,
		options: { headers?: Record<string, string>; logged?: boolean } = {},
	) {
		super(message);
		this.name = "ProtocolError";
		this.status = status;
		this.code = code;
		this.headers = options.headers ?? {};
		this.logged = options.logged ?? false;
	}
}

export function errorBody(code: ErrorCode, message: string): ErrorResponse {
	return { error: { code, message } };
}

/** The answer to an error thrown while handling `req`: its own JSON for a ProtocolError, 500 for a bug. */
export function onError(log: Logger) {
	return (err: unknown, req: AgentRequest): AgentAnswer => {
		if (err instanceof ProtocolError) {
			if (!err.logged) {
				log.warn("request refused", {
					method: req.method,
					path: req.path,
					code: err.code,
					reason: err.message,
				});
			}
			return jsonAnswer(errorBody(err.code, err.message), err.status, err.headers);
		}
		// A bug: log it for the operator, tell the caller nothing about our internals.
		log.error("unhandled error", {
			path: req.path,
			error: (err as Error)?.stack ?? String(err),
		});
		return jsonAnswer(errorBody("internal", "internal error; see the agent's log"), 500);
	};
}
