// Worker entry: HTTP API and the cron backstop; the loop itself lives in the Watchdog Durable Object.
import { DurableObject } from "cloudflare:workers";

export class Watchdog extends DurableObject<Env> {}

export default {
	fetch: () => new Response("ok"),
} satisfies ExportedHandler<Env>;
