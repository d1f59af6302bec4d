// Worker-test helpers for dial-out: one agent's end of a socket opened through the Worker's route, its hello, a status.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import {
	importPrivateKey,
	PROTOCOL_VERSION,
	type StatusResponse,
	signHello,
} from "../../../protocol";
import { app } from "../../../worker/src/api";
import { TEST_AGENT_PRIVATE_KEY } from "../setup/watchdog-config";

export type Frame = { t: string; [k: string]: unknown };

/** One dial-out socket as an agent sees it: frames received, close code and reason. */
export class AgentEnd {
	readonly frames: Frame[] = [];
	closed: { code: number; reason: string } | null = null;
	private waiters: (() => void)[] = [];
	constructor(readonly ws: WebSocket) {
		ws.accept();
		ws.addEventListener("message", (e) => {
			this.frames.push(JSON.parse(String(e.data)) as Frame);
			this.wake();
		});
		ws.addEventListener("close", (e) => {
			this.closed = { code: e.code, reason: e.reason };
			this.wake();
		});
	}
	private wake() {
		for (const w of this.waiters.splice(0)) w();
	}
	/** Waits (5 s at most, real time) until `check` returns something truthy. */
	async until<T>(what: string, check: () => T | undefined | null | false): Promise<T> {
		const end = Date.now() + 5_000;
		for (;;) {
			const v = check();
			if (v) return v;
			if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
			await new Promise<void>((r) => {
				this.waiters.push(r);
				setTimeout(r, 50);
			});
		}
	}
	frame(t: string): Promise<Frame> {
		return this.until(t, () => this.frames.find((f) => f.t === t));
	}
	closedWith(): Promise<{ code: number; reason: string }> {
		return this.until("close", () => this.closed);
	}
	send(v: unknown) {
		this.ws.send(typeof v === "string" || v instanceof ArrayBuffer ? v : JSON.stringify(v));
	}
}

/** Opens /agent/v1/connect through the Worker's app (no client address: the route's rate limit does not apply). */
export async function connect(
	pair: string,
	side: string,
	headers: Record<string, string> = {},
): Promise<AgentEnd> {
	const res = await app.request(
		`/agent/v1/connect?pair=${pair}&side=${side}`,
		{ headers: { upgrade: "websocket", ...headers } },
		env,
	);
	expect(res.status).toBe(101);
	const ws = res.webSocket;
	if (!ws) throw new Error("no webSocket on the 101 answer");
	return new AgentEnd(ws);
}

/** Answers the challenge with a hello signed by the test agent key, at `now` (the agent's clock). */
export async function hello(
	end: AgentEnd,
	opts: { now: number; pair?: string; side?: "primary" | "standby" },
): Promise<void> {
	const challenge = (await end.frame("challenge")).challenge as string;
	const privateKey = await importPrivateKey(TEST_AGENT_PRIVATE_KEY);
	end.send(
		await signHello({
			pair: opts.pair ?? "dial",
			side: opts.side ?? "standby",
			challenge,
			privateKey,
			now: opts.now,
		}),
	);
}

/** A standby's honest status at `now`: it sees the primary up. */
export function standbyStatus(now: number, over: Partial<StatusResponse> = {}): StatusResponse {
	return {
		version: PROTOCOL_VERSION,
		role: "standby",
		term: 0,
		gatewayActive: false,
		lastOperation: null,
		peer: {
			ok: true,
			latencyMs: 3,
			consecutiveFailures: 0,
			consecutiveSuccesses: 4,
			checkedAt: now,
			ageMs: 100,
		},
		now,
		...over,
	};
}
