// JSON errors for the HTTP API, shaped like the agent protocol's ({error: {code, message}}), thrown as HTTPException.

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

export type ApiErrorCode =
	| "bad-request"
	| "unauthorized"
	| "admin-token-unset"
	| "admin-token-weak"
	| "too-many-attempts"
	| "rate-limited"
	| "unknown-pair"
	| "config-error"
	| "refused"
	| "not-found"
	| "body-too-large"
	| "unavailable"
	| "upgrade-required"
	| "not-dial-out"
	| "internal";

export interface ApiErrorBody {
	error: { code: ApiErrorCode; message: string; field?: string };
}

export function apiErrorResponse(
	status: ContentfulStatusCode,
	code: ApiErrorCode,
	message: string,
	opts: { field?: string; headers?: Record<string, string> } = {},
): Response {
	const body: ApiErrorBody = { error: { code, message } };
	if (opts.field !== undefined) body.error.field = opts.field;
	return new Response(JSON.stringify(body), {
		status,
		headers: { "content-type": "application/json; charset=utf-8", ...opts.headers },
	});
}

export function apiError(
	status: ContentfulStatusCode,
	code: ApiErrorCode,
	message: string,
	opts: { field?: string; headers?: Record<string, string> } = {},
): HTTPException {
	return new HTTPException(status, { res: apiErrorResponse(status, code, message, opts) });
}
