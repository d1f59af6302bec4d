// The readiness probe, defined once for both vantage points (the Worker and the standby agent): what is asked, and what an answer proves.

/**
 * OpenClaw's /readyz answers 200 `{"ready":true,...}` when ready and 503 `{"ready":false,...}` when
 * not. Checking the body as well as the status catches a proxy or captive page answering 200 for a
 * gateway that is not there.
 */
export const DEFAULT_EXPECT_STATUS = 200;
export const DEFAULT_EXPECT_BODY = '"ready":true';

/** Paths that are readiness endpoints; anything else (`/`, `/healthz`) says little about serving. */
export const READINESS_PATHS = ["/readyz", "/ready"] as const;

/** What a probe asks. `expectBody` "" disables the body check. */
export interface ProbeSpec {
	url: string;
	expectStatus: number;
	expectBody: string;
}

/** A spec with the defaults filled in. */
export function probeSpec(
	url: string,
	expectStatus: number = DEFAULT_EXPECT_STATUS,
	expectBody: string = DEFAULT_EXPECT_BODY,
): ProbeSpec {
	return { url, expectStatus, expectBody };
}

/**
 * What one probe answer proves about the gateway:
 * - "up": the expected status (and body).
 * - "down": the service is not serving: timeout, refused or reset connection, any 5xx, or the expected
 *   status with the wrong body.
 * - "refused": a server answered, but not as a readiness endpoint does: any 3xx, 401/403/404/405 or
 *   other 4xx. It proves something is listening and that the URL or access rule is wrong, so it is
 *   never a vote that the gateway is down (a config problem instead).
 */
export type ProbeClass = "up" | "down" | "refused";

/**
 * How far a "down" reaches. "service": an HTTP answer (5xx, body mismatch) came back, so the network
 * path to the primary works and a partition on that path is ruled out. "connection": no HTTP answer
 * (timeout, refused, reset), which a broken path explains as well as a dead gateway.
 */
export type EvidenceLevel = "service" | "connection";

export type ProbeFailureReason = "timeout" | "connect-error" | "http-status" | "body-mismatch";

/** The verdict on one answer: its class, and for a "down" how far it reaches. */
export type ProbeVerdict =
	| { class: "up" }
	| { class: "down"; level: EvidenceLevel }
	| { class: "refused"; status: number };

/**
 * Classifies an HTTP answer against the spec. `body` is the (bounded) body text, or undefined when it
 * was not read because the status already decided.
 */
export function classifyAnswer(
	spec: Pick<ProbeSpec, "expectStatus" | "expectBody">,
	status: number,
	body: string | undefined,
): ProbeVerdict {
	if (status === spec.expectStatus) {
		if (spec.expectBody === "" || (body ?? "").includes(spec.expectBody)) return { class: "up" };
		return { class: "down", level: "service" };
	}
	return classifyStatus(status);
}

/** The class of an unexpected status: 5xx is down (service level), 1xx-4xx is refused or misdirected. */
export function classifyStatus(status: number): ProbeVerdict {
	if (status >= 500) return { class: "down", level: "service" };
	return { class: "refused", status };
}

/**
 * Classifies a failed probe reported as a reason (the Worker's ProbeResult, the agent's peer probe).
 * An "http-status" without a status is treated as down at service level (an old agent that did not
 * report the status: the safe reading of "it answered, not ready").
 */
export function classifyFailure(reason: ProbeFailureReason, status?: number): ProbeVerdict {
	switch (reason) {
		case "timeout":
		case "connect-error":
			return { class: "down", level: "connection" };
		case "body-mismatch":
			return { class: "down", level: "service" };
		case "http-status":
			return status === undefined ? { class: "down", level: "service" } : classifyStatus(status);
		default:
			reason satisfies never;
			return { class: "down", level: "connection" };
	}
}

/** True when the URL's path is a readiness endpoint (`/readyz`, `/ready`, with or without a trailing slash). */
export function isReadinessPath(url: string): boolean {
	const u = URL.parse(url);
	if (!u) return false;
	const path = u.pathname.replace(/\/+$/, "");
	return (READINESS_PATHS as readonly string[]).includes(path);
}
