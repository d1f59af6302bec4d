// Public API of the notifiers, for the Watchdog Durable Object and the status API.
export {
	describeConfigError,
	type Notifier,
	type NotifierKind,
	type NotifyConfig,
	type NotifyEnv,
	parseNotifyConfig,
} from "./config";
export {
	DEDUPE_WINDOW_MS,
	type DedupeRecord,
	dedupe,
	dedupeKey,
	fromDedupeRecord,
	recordDelivery,
	shouldSend,
	toDedupeRecord,
} from "./dedupe";
export { buildMessage, type NotifyMessage } from "./message";
export {
	dueEntries,
	evictionVictim,
	expired,
	nextAttemptAt,
	OUTBOX_MAX_AGE_MS,
	OUTBOX_MAX_ENTRIES,
	type OutboxEntry,
	type OutboxStore,
} from "./outbox";
export { type DeliveryResult, type SendOptions, sendAll } from "./send";
export { WEBHOOK_PAYLOAD_VERSION, type WebhookPayload } from "./webhook";
export {
	SIGNATURE_HEADER,
	signWebhook,
	TIMESTAMP_HEADER,
	type VerifyResult,
	verifyWebhookSignature,
} from "./webhook-signature";
