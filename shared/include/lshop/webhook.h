/*
 * liveshop core: purchase webhooks in and event webhooks out (SPEC §9,
 * §10): signature checks for each shop, the shops' orders mapped onto the
 * canonical order, and Standard Webhooks signing for what goes out.
 *
 * The canonical order:
 *   {"type":"order.paid","order_id":"1001","stream":"live/demo",
 *    "source":"qr",
 *    "items":[{"offer":"sku-123","quantity":2,"amount":"39.98",
 *              "currency":"EUR"}]}
 * "source" is optional: "player" or "qr" (offer.h, LSHOP_SOURCE_*).
 *
 * A refund is the same object with "type":"order.refunded": its items
 * are what was refunded of that order SO FAR (cumulative: a later refund
 * of the order replaces the earlier one, so a repeat is harmless), each
 * item's "quantity" from 0 (an amount-only refund).
 */
#ifndef LSHOP_WEBHOOK_H
#define LSHOP_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "event.h"
#include "offer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lshop_provider {
	LSHOP_PROVIDER_STANDARD,
	LSHOP_PROVIDER_SHOPIFY,
	LSHOP_PROVIDER_WOOCOMMERCE,
	LSHOP_PROVIDER_STRIPE
} lshop_provider;

/* "standard", "shopify", "woocommerce", "stripe"; 0, or -1 if unknown. */
int lshop_provider_parse(const char *name, size_t len, lshop_provider *p);
const char *lshop_provider_name(lshop_provider p);

/*
 * Looks a request header up by name (case-insensitive); returns its value
 * and length, or NULL when the request has none.
 */
typedef const char *(*lshop_header_fn)(void *arg, const char *name,
				       size_t *len);

#define LSHOP_TOLERANCE_PAST 300  /* s: SPEC §9, older is a replay */
#define LSHOP_TOLERANCE_AHEAD 60  /* s: further ahead is forged */
#define LSHOP_DELIVERY_ID_MAX 128
/* Stripe's ids reach 255 characters; checkout sessions have 66 */
#define LSHOP_ORDER_ID_MAX 255

typedef enum lshop_verify_result {
	LSHOP_VERIFY_OK = 0,
	LSHOP_VERIFY_MISSING,   /* 401: a header the provider signs with is absent */
	LSHOP_VERIFY_MALFORMED, /* 401: present but not of the provider's form */
	LSHOP_VERIFY_FORGED,    /* 401: no signature matches */
	LSHOP_VERIFY_STALE      /* 401: outside the time window */
} lshop_verify_result;

/*
 * Verifies a delivery on its raw body bytes, comparing in constant time:
 *  standard:    webhook-id, webhook-timestamp, webhook-signature (one or
 *               several space-separated "v1,BASE64"), key = base64 part of
 *               "whsec_…" (or the secret itself when it has no prefix),
 *               HMAC-SHA256(key, "ID.TS.BODY"); window checked;
 *  shopify:     X-Shopify-Hmac-Sha256 = BASE64(HMAC-SHA256(S, BODY));
 *               delivery id X-Shopify-Webhook-Id;
 *  woocommerce: X-WC-Webhook-Signature = BASE64(HMAC-SHA256(S, BODY));
 *               delivery id X-WC-Webhook-Delivery-ID;
 *  stripe:      Stripe-Signature "t=TS,v1=HEX[,v1=HEX…]" with
 *               HEX(HMAC-SHA256(S, "TS.BODY")); window checked; delivery
 *               id = the event's "id" in the body, read by
 *               lshop_order_parse (here: "").
 * The signature is checked before anything of the body is trusted.
 * delivery_id (LSHOP_DELIVERY_ID_MAX + 1 bytes) receives the provider's
 * delivery id ("" when it has none). err says what failed, for the log
 * and the 401 body, without the secret.
 */
lshop_verify_result lshop_webhook_verify(lshop_provider p, const char *secret,
					 size_t secret_len,
					 lshop_header_fn header, void *arg,
					 const char *body, size_t len,
					 int64_t now_s, char *delivery_id,
					 lshop_error *err);

/*
 * 1 if an unsigned delivery is the provider's ping, which carries no
 * order and is to be acknowledged (200, nothing changes) rather than
 * refused: WooCommerce sends "webhook_id=ID" form-encoded, without
 * X-WC-Webhook-Signature, when a webhook is saved, and shows a 401 to the
 * shop owner as a failed setup. 0 for anything else.
 */
int lshop_webhook_is_ping(lshop_provider p, lshop_header_fn header, void *arg,
			  const char *body, size_t len);

/*
 * Checks a configured secret once, at configuration time, so that a
 * secret no delivery could ever verify against (empty, or "whsec_" not
 * followed by base64 for standard) is refused there. Stripe's
 * "whsec_…" secrets are keys as they are. 0, or -1 with err (which
 * never holds the secret).
 */
int lshop_webhook_secret_check(lshop_provider p, const char *secret,
			       size_t len, lshop_error *err);

#define LSHOP_ORDER_ITEMS_MAX 100

typedef struct lshop_order_item {
	char offer_id[LSHOP_ID_MAX + 1];
	int64_t quantity;                /* ≥ 1 */
	char amount[LSHOP_PRICE_MAX + 8]; /* decimal string, the line total */
	char currency[4];
	int64_t oversold; /* units beyond the stock; lshop_purchase_events */
} lshop_order_item;

typedef struct lshop_order {
	char order_id[LSHOP_ORDER_ID_MAX + 1]; /* printable ASCII */
	char delivery_id[LSHOP_DELIVERY_ID_MAX + 1]; /* stripe: event id */
	char stream[LSHOP_STREAM_MAX + 1];
	/* where the buyer came from, LSHOP_SOURCE_PLAYER or LSHOP_SOURCE_QR
	 * (offer.h); "" when the order does not say (docs/webhooks.md) */
	char source[8];
	/* 1: a refund ("order.refunded"), its items the amounts refunded
	 * so far; it changes no stock and makes no event */
	int refund;
	size_t nitems;
	lshop_order_item items[LSHOP_ORDER_ITEMS_MAX];
} lshop_order;

/*
 * Maps a delivery's body onto the canonical order. topic is the
 * provider's event name when it sends one as a header (X-Shopify-Topic,
 * X-WC-Webhook-Topic), else NULL:
 *  standard:    the canonical order itself, "type":"order.paid", or a
 *               refund, "type":"order.refunded";
 *  shopify:     orders/create and orders/paid: "id" → order_id;
 *               line_items[].sku → offer, .quantity, .price × quantity →
 *               amount, order "currency"; the stream and source from
 *               note_attributes [{"name":"liveshop_stream","value":
 *               "live/demo"},{"name":"liveshop_src","value":"qr"}] (what
 *               a cart permalink's attributes[liveshop_stream] and
 *               attributes[liveshop_src] become);
 *               orders/updated whose "refunds" list is not empty: a
 *               refund, per line_items[].sku the sum over
 *               refunds[].refund_line_items[] of its line's .subtotal
 *               and .quantity (line_item_id → line_items[].id), the
 *               stream and source as above;
 *  woocommerce: order.created, order.updated with "status" processing or
 *               completed: "id", line_items[].sku/.quantity/.total,
 *               "currency", meta_data [{"key":"liveshop_stream",
 *               "value":…},{"key":"liveshop_src","value":…}];
 *               order.updated with "status" refunded: a refund of every
 *               line in full (its .total); a partial refund carries no
 *               per-line figures in the order and is not read;
 *  stripe:      checkout.session.completed with payment_status "paid":
 *               data.object.id → order_id; the stream and source from
 *               metadata.liveshop_stream and .liveshop_src, else from
 *               data.object.client_reference_id when it is a reference
 *               of lshop_ref_encode (what a Payment Link passes on); the
 *               metadata wins when both name a stream, since whoever
 *               created the session set it, while the reference comes
 *               from a link anyone can pass on; and
 *               the items from data.object.metadata.liveshop_items
 *               ("sku-123:2,sku-9:1") with amount_total / currency
 *               (stripe's minor units → a decimal string by the
 *               currency's exponent, 2 but for zero-decimal currencies);
 *               delivery_id = the event "id".
 * Line items without a SKU that is an offer id are left out. A source
 * other than "player" or "qr" is left out (source ""), never refused; a
 * client_reference_id that is no reference is not liveshop's and is
 * passed over.
 * A refund sets order->refund (stripe's charge.refunded names neither
 * the stream nor the items and is not read).
 * Returns 1 for an order (or refund) to count, 0 for a delivery to acknowledge and
 * ignore (another event or status, or no liveshop items; err says why),
 * -1 with err naming the field for a body that is not what the provider
 * sends (400).
 */
int lshop_order_parse(lshop_provider p, const char *topic, const char *body,
		      size_t len, lshop_order *order, lshop_error *err);

/* The canonical order as compact JSON; malloc'd, NULL on ENOMEM. */
char *lshop_order_to_json(const lshop_order *order, size_t *len);

/*
 * The events one item of an accepted order makes on its offer, whose
 * stock is *stock (LSHOP_STOCK_UNLIMITED for none; LSHOP_STOCK_UNKNOWN
 * when the offer is not in the catalog): purchase.completed of the units
 * the stock covers (all of them when unlimited or unknown), then
 * stock.changed and, when it reaches 0, offer.sold_out (SPEC §3). The
 * units beyond the stock are not sold on stream: they go into
 * item->oversold, so the report shows them (never lost), and stock never
 * goes below 0. *stock is updated. Returns the number of events (0..3).
 */
#define LSHOP_STOCK_UNKNOWN (-2)

size_t lshop_purchase_events(lshop_order_item *item, int64_t *stock,
			     int64_t at_ms, lshop_event out[3]);

/*
 * The answer to a delivery (SPEC §9), compact JSON, malloc'd:
 *   ignored != NULL:  {"ok":true,"ignored":IGNORED}
 *   duplicate:        {"ok":true,"duplicate":true,"order_id":ID}
 *   else:             {"ok":true,"duplicate":false,"order_id":ID,
 *                      "stream":S,"source":SRC,"sold":N,"oversold":N}
 *                     ("source" only when the order has one)
 */
char *lshop_webhook_answer_json(const lshop_order *order, int duplicate,
				int64_t sold, int64_t oversold,
				const char *ignored, size_t *len);

/*
 * Outbound (SPEC §10), Standard Webhooks: the value of the
 * webhook-signature header for message id, timestamp ts (Unix s) and
 * body: "v1,BASE64(HMAC-SHA256(key, ID.TS.BODY))", key from secret as for
 * verification. Malloc'd, NULL on ENOMEM or an unusable secret.
 */
char *lshop_webhook_sign(const char *secret, size_t secret_len,
			 const char *id, int64_t ts, const char *body,
			 size_t len);

/*
 * How long to wait before retry number attempt (1, 2, …) of a delivery
 * that failed: growing from seconds to minutes up to a day (SPEC §10),
 * with jitter in [0, 1) spreading it by up to a quarter. In ms; -1 once
 * a delivery is given up (after about three days of tries).
 */
int64_t lshop_webhook_retry_delay(unsigned attempt, double jitter);

#ifdef __cplusplus
}
#endif

#endif
