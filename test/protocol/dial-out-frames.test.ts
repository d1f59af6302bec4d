import { describe, expect, it } from "vitest";
import { AgentFrameSchema, parseFrame, ServerFrameSchema } from "../../protocol";

// Envelope headers are a record: zod's record skips an own "__proto__" key instead of checking it, so a
// frame carrying one would pass as if the key were absent. Every spelling JSON.parse turns into that key.
const PROTO_KEYS = ['"__proto__"', '"\\u005f_proto__"', '"__\\u0070roto__"'];

describe("dial-out frames: a __proto__ key in the headers is refused, however it is spelled", () => {
	it.each(PROTO_KEYS)("request frame (Worker -> agent), key %s", (key) => {
		const text = `{"t":"request","id":1,"method":"POST","path":"/v1/promote","headers":{${key}:{"x-fg-signature":"a"}},"body":null}`;
		const p = parseFrame(ServerFrameSchema, text);
		expect(p).toMatchObject({ ok: false, kind: "invalid frame" });
		expect((p as { message: string }).message).toContain("__proto__");
		expect(({} as Record<string, unknown>)["x-fg-signature"]).toBeUndefined();
	});

	it.each(PROTO_KEYS)("response frame (agent -> Worker), key %s", (key) => {
		const text = `{"t":"response","id":1,"status":200,"headers":{${key}:"x"},"body":""}`;
		expect(parseFrame(AgentFrameSchema, text)).toMatchObject({ ok: false, kind: "invalid frame" });
	});

	it("the same frames without the key are accepted", () => {
		expect(
			parseFrame(
				AgentFrameSchema,
				`{"t":"response","id":1,"status":200,"headers":{"content-type":"application/json"},"body":""}`,
			).ok,
		).toBe(true);
	});
});
