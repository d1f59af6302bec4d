// The page's HTTP response: a fresh nonce per response and headers that keep it unframed, uncached and sealed.

import type { PageView } from "./model";
import { renderContent, renderPage } from "./render";

/** 128 random bits, base64: unguessable, so only the page's own <style> and <script> run. */
export function newNonce(): string {
	const bytes = crypto.getRandomValues(new Uint8Array(16));
	return btoa(String.fromCharCode(...bytes));
}

export function contentSecurityPolicy(nonce: string): string {
	return [
		"default-src 'none'",
		`script-src 'nonce-${nonce}'`,
		`style-src 'nonce-${nonce}'`,
		// The script fetches this page and posts operator commands, same origin only.
		"connect-src 'self'",
		"img-src 'self' data:",
		"base-uri 'none'",
		// The token form is handled by the script; the browser must never submit it (no token in a URL).
		"form-action 'none'",
		"frame-ancestors 'none'",
	].join("; ");
}

/** part "content": only the <main> the script swaps in (a whole document would carry a stale nonce). */
export function pageResponse(view: PageView, part: "page" | "content" = "page"): Response {
	const nonce = newNonce();
	const body = part === "content" ? renderContent(view).value : renderPage(view, nonce);
	return new Response(body, {
		headers: {
			"content-type": "text/html; charset=utf-8",
			"content-security-policy": contentSecurityPolicy(nonce),
			"x-frame-options": "DENY",
			"x-content-type-options": "nosniff",
			"referrer-policy": "no-referrer",
			// Operator views must never come back from a cache, and differ by token.
			"cache-control": "no-store",
			vary: "Authorization",
		},
	});
}
