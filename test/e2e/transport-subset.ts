// Setup of the e2e-http project: only scenarios tagged "transport" run there; every scenario runs on dial-out in e2e.
import { beforeEach } from "vitest";

beforeEach((ctx) => {
	if (!ctx.task.tags?.includes("transport")) ctx.skip();
});
