// The dial-out connection's default WebSocket: the `ws` package, with the protocol's frame cap, no compression and TLS verified.
// Why not Node's global WebSocket: it is undici's, and reaching it loads undici, http2, zlib and web
// streams: a dial-out agent idled 4 to 7 MiB higher on it (measured: docs/agent.md, "Measured").
import WebSocket from "ws";
import { MAX_FRAME_BYTES } from "../../protocol";
import type { WebSocketCtor } from "./dial-out";

/**
 * The opening handshake's deadline, ms: a TCP connect or TLS handshake that hangs would otherwise
 * wait for the dialer's silence check (15 s or more). 10 s is what the Worker allows for the hello
 * (HELLO_TIMEOUT_MS); a Worker that takes longer to upgrade is not answering.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * `new NodeWebSocket(url)` as the browser API (addEventListener, readyState, send, close), on `ws`:
 * - frames over MAX_FRAME_BYTES are refused by `ws` itself (close 1009) before they are buffered;
 * - no permessage-deflate: zlib contexts cost memory, and compressing signed JSON frames of a few
 *   KB buys nothing;
 * - certificates verified (`ws` passes rejectUnauthorized: true to tls unless told otherwise);
 * - no redirects followed (the Worker never redirects its connect route);
 * - text frames arrive as strings, binary frames as a Buffer (the dialer drops those unread).
 */
export const NodeWebSocket: WebSocketCtor = class extends WebSocket {
	constructor(url: string) {
		super(url, {
			maxPayload: MAX_FRAME_BYTES,
			perMessageDeflate: false,
			handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
			followRedirects: false,
			rejectUnauthorized: true,
		});
	}
} as unknown as WebSocketCtor;
