// The dial-out's default WebSocket (agent/src/ws-client.ts) against a real `ws` server on loopback: frame cap, no compression, close codes.
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type WebSocket as ServerSocket, WebSocketServer } from "ws";
import { DialOut } from "../../agent/src/dial-out";
import { silentLogger } from "../../agent/src/log";
import { NodeWebSocket } from "../../agent/src/ws-client";
import {
	CLOSE,
	DIAL_OUT_PATH,
	generateKeyPair,
	HelloFrameSchema,
	MAX_FRAME_BYTES,
	newChallenge,
} from "../../protocol";

const open: { wss: WebSocketServer; dialers: DialOut[] }[] = [];
afterEach(async () => {
	for (const { wss, dialers } of open.splice(0)) {
		for (const d of dialers) await d.stop();
		for (const c of wss.clients) c.terminate();
		await new Promise((r) => wss.close(r));
	}
});

/** A stand-in Worker: `onSocket` plays its side. The server itself would accept permessage-deflate. */
async function worker(onSocket: (ws: ServerSocket, req: IncomingMessage) => void) {
	const wss = new WebSocketServer({
		host: "127.0.0.1",
		port: 0,
		path: DIAL_OUT_PATH,
		perMessageDeflate: true,
	});
	await new Promise<void>((r) => wss.once("listening", r));
	wss.on("connection", onSocket);
	const entry = { wss, dialers: [] as DialOut[] };
	open.push(entry);
	return { url: `http://127.0.0.1:${(wss.address() as AddressInfo).port}`, entry };
}

async function dialer(url: string, entry: { dialers: DialOut[] }) {
	const keys = await generateKeyPair();
	const ran: string[] = [];
	const d = new DialOut({
		url,
		pair: "home",
		side: "standby",
		privateKey: keys.privateKey,
		app: {
			async handle(req) {
				ran.push(req.path);
				return {
					status: 200,
					headers: { "content-type": "application/json" },
					body: new Uint8Array(),
				};
			},
		},
		status: async () => {
			throw new Error("no status in this test");
		},
		log: silentLogger,
		WebSocket: NodeWebSocket,
		random: () => 0.5,
	});
	entry.dialers.push(d);
	d.start();
	return { d, ran };
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
	for (let waited = 0; !check(); waited += 20) {
		if (waited > ms) throw new Error("timed out");
		await new Promise((r) => setTimeout(r, 20));
	}
}

const welcome = (ws: ServerSocket) =>
	ws.send(
		JSON.stringify({
			t: "welcome",
			pair: "home",
			side: "standby",
			heartbeatMs: 300_000,
			serverTime: Date.now(),
		}),
	);

describe("NodeWebSocket, the dialer's default socket", () => {
	it("asks for no permessage-deflate, even from a server that would compress, and says hello in text", async () => {
		let extensions: string | undefined = "unset";
		let hello: unknown = null;
		const { url, entry } = await worker((ws, req) => {
			extensions = req.headers["sec-websocket-extensions"];
			ws.send(
				JSON.stringify({ t: "challenge", challenge: newChallenge(), serverTime: Date.now() }),
			);
			ws.on("message", (data, isBinary) => {
				if (!isBinary) hello = JSON.parse(String(data));
			});
		});
		await dialer(url, entry);
		await until(() => hello !== null);
		expect(extensions).toBeUndefined();
		expect(HelloFrameSchema.safeParse(hello).success).toBe(true);
	});

	it("a frame over MAX_FRAME_BYTES ends the connection unread, saying why: nothing runs, the agent redials", async () => {
		let connections = 0;
		const { url, entry } = await worker((ws) => {
			connections += 1;
			if (connections > 1) return;
			welcome(ws);
			const request = {
				t: "request",
				id: 1,
				method: "POST",
				path: "/v1/promote",
				headers: {},
				body: "x".repeat(MAX_FRAME_BYTES),
			};
			ws.send(JSON.stringify(request));
		});
		const { d, ran } = await dialer(url, entry);
		await until(() => d.state.lastClose !== null);
		expect(d.state.lastClose).toBe("1006 (Max payload size exceeded)");
		expect(ran).toEqual([]);
		await until(() => connections === 2);
	}, 15_000);

	it("a frame at the cap is read", async () => {
		let connections = 0;
		const { url, entry } = await worker((ws) => {
			connections += 1;
			welcome(ws);
			// A garbled frame exactly MAX_FRAME_BYTES long: read (and dropped by the schema), not refused by the socket.
			ws.send("x".repeat(MAX_FRAME_BYTES));
		});
		const { d } = await dialer(url, entry);
		await until(() => d.state.dropped === 1);
		expect(d.state.connected).toBe(true);
		expect(connections).toBe(1);
	});

	it("the Worker's close code and reason arrive as given, and a refusal is retried slowly", async () => {
		const { url, entry } = await worker((ws) => {
			ws.close(CLOSE.unauthenticated, "unknown agent key abc; this Worker expects def");
		});
		const { d } = await dialer(url, entry);
		await until(() => d.state.lastClose !== null);
		expect(d.state.lastClose).toBe("4401 unknown agent key abc; this Worker expects def");
		// Slow retry: half of the 60 s cap with random() = 0.5 (backoffMs).
		expect(d.state.retryInMs).toBe(30_000);
	});

	it("a refused connection (nothing listening) is a 1006 close naming the error and a quick retry, not a throw", async () => {
		const { url, entry } = await worker(() => {});
		const port = new URL(url).port;
		for (const c of entry.wss.clients) c.terminate();
		await new Promise((r) => entry.wss.close(r));
		const { d } = await dialer(`http://127.0.0.1:${port}`, entry);
		await until(() => d.state.lastClose !== null);
		expect(d.state.lastClose).toMatch(/^1006 \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)$/);
		expect(d.state.retryInMs).toBe(500);
	});
});
