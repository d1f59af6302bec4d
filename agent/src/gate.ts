// The cheap checks in front of every signed route: refuses a request with missing or malformed auth headers, a stale clock or an oversized declared body before its body is read or any signature checked.
import { type ErrorCode, MAX_BODY_BYTES, MAX_SKEW_MS, precheckRequest } from "../../protocol";
import type { AgentRequest } from "./agent-http";
import type { AuthFailureLimiter } from "./auth-limiter";
import { ProtocolError } from "./errors";
import type { Logger } from "./log";

export interface GateDeps {
	now: () => number;
	limiter: AuthFailureLimiter;
	log: Logger;
	clientAddress: (req: AgentRequest) => string;
}

/**
 * Refusals here count against the source address like the signature check's (authenticate.ts), and
 * a source over the limit is answered 429 at once. They also close the connection: the body was
 * not read, and keeping the socket would mean reading (or waiting for) it after all.
 *
 * A request whose headers pass goes on to authenticate.ts even from a source over the limit: behind
 * a tunnel every caller shares 127.0.0.1, and an unsigned flood must not lock the watchdog out.
 *
 * Returns the check: it resolves when the request may go on, and throws ProtocolError otherwise.
 */
export function gate(deps: GateDeps): (req: AgentRequest) => Promise<void> {
	return async (req) => {
		const source = deps.clientAddress(req);
		const now = deps.now();
		const refuse = (status: number, code: ErrorCode, message: string): never => {
			const limit = deps.limiter.recordFailure(source, now);
			if (limit.justTripped) {
				deps.log.warn("too many rejected requests; answering 429 until the window ends", {
					source,
				});
			}
			if (limit.limited) {
				const seconds = Math.max(1, Math.ceil(limit.retryAfterMs / 1000));
				throw new ProtocolError(
					429,
					"rate-limited",
					`too many rejected requests from this address; last reason: ${code}; retry in ${seconds} s`,
					{ headers: { "retry-after": String(seconds), connection: "close" }, logged: true },
				);
			}
			deps.log.warn("request rejected", {
				source,
				method: req.method,
				path: req.path,
				code,
				reason: message,
			});
			throw new ProtocolError(status, code, message, {
				headers: { connection: "close" },
				logged: true,
			});
		};

		const pre = await precheckRequest({
			headers: req.headers,
			now,
			maxSkewMs: MAX_SKEW_MS,
		});
		if (!pre.ok) {
			refuse(pre.code === "malformed-headers" ? 400 : 401, pre.code, pre.message);
		}
		const declared = req.headers["content-length"];
		// Node has already refused a Content-Length that is not a number.
		if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
			refuse(
				413,
				"body-too-large",
				`request body is over the limit of ${MAX_BODY_BYTES} bytes (16 KiB)`,
			);
		}
	};
}
