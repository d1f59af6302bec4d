// Protocol-shaped HTTP errors: thrown as HTTPException, answered by one onError as {error: {code, message}}.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ErrorCode, ErrorResponse } from "../../protocol";
import type { Logger } from "./log";

export class ProtocolError extends HTTPException {
	readonly code: ErrorCode;
	readonly headers: Record<string, string>;
	/** Already logged where it was raised (the auth middleware logs with the source address). */
	readonly logged: boolean;

	constructor(
		status: ContentfulStatusCode,
		code: ErrorCode,
		message: string,
		options: { headers?: Record<string, string>; logged?: boolean } = {},
	) {
		super(status, { message });
		this.code = code;
		this.headers = options.headers ?? {};
		this.logged = options.logged ?? false;
	}
}

export function errorBody(code: ErrorCode, message: string): ErrorResponse {
	return { error: { code, message } };
}

export function onError(log: Logger) {
	return (err: Error, c: Context) => {
		if (err instanceof ProtocolError) {
			if (!err.logged) {
				log.warn("request refused", {
					method: c.req.method,
					path: c.req.path,
					code: err.code,
					reason: err.message,
				});
			}
			return c.json(errorBody(err.code, err.message), err.status, err.headers);
		}
		if (err instanceof HTTPException) {
			const code: ErrorCode =
				err.status === 404 ? "not-found" : err.status === 413 ? "body-too-large" : "internal";
			return c.json(
				errorBody(code, err.message || "request failed"),
				err.status as ContentfulStatusCode,
			);
		}
		// A bug: log it for the operator, tell the caller nothing about our internals.
		log.error("unhandled error", { path: c.req.path, error: err.stack ?? String(err) });
		return c.json(errorBody("internal", "internal error; see the agent's log"), 500);
	};
}
