/*
 * lshop_order_parse for each provider and the topics they send (and a
 * fuzzed one), on any body. An order to count must hold what the header
 * promises (its source, from note_attributes, meta_data, metadata or a
 * client_reference_id reference, one of LSHOP_SOURCE_* or none); its
 * canonical JSON must parse again as a standard order to the same JSON.
 * A refund (Shopify's orders/updated with refunds, WooCommerce's status
 * refunded, the standard order.refunded) holds the same, its items from
 * 0 units, and parses again as a refund.
 *
 * Input: a byte (bits 0-1 the provider, bits 2-6 mod 6 the topic, bit 7:
 * the topic is the next NUL-terminated field), the body.
 */
#include "fuzz.h"
#include "lshop/codec.h"
#include "lshop/offer.h"
#include "lshop/webhook.h"

static const char *const topics[] = {
    NULL,
    "orders/create",
    "orders/paid",
    "order.created",
    "order.updated",
    "action.woocommerce_order_status_completed",
};
#define NTOPICS (sizeof(topics) / sizeof(topics[0]))

static void check_order(const lshop_order *o)
{
	size_t i;

	FUZZ_CHECK(memchr(o->order_id, 0, sizeof(o->order_id)));
	FUZZ_CHECK(memchr(o->delivery_id, 0, sizeof(o->delivery_id)));
	FUZZ_CHECK(lshop_stream_valid(o->stream, strlen(o->stream)));
	/* a source is one of two, or none: never what the payload said */
	FUZZ_CHECK(strcmp(o->source, "") == 0 ||
		   strcmp(o->source, LSHOP_SOURCE_PLAYER) == 0 ||
		   strcmp(o->source, LSHOP_SOURCE_QR) == 0);
	FUZZ_CHECK(o->refund == 0 || o->refund == 1);
	FUZZ_CHECK(o->nitems >= 1 && o->nitems <= LSHOP_ORDER_ITEMS_MAX);
	for (i = 0; i < strlen(o->order_id); i++)
		FUZZ_CHECK(o->order_id[i] >= 0x20 && o->order_id[i] < 0x7f);
	for (i = 0; i < o->nitems; i++) {
		FUZZ_CHECK(lshop_id_valid(o->items[i].offer_id,
					  strlen(o->items[i].offer_id)));
		FUZZ_CHECK(o->items[i].quantity >= (o->refund ? 0 : 1));
		FUZZ_CHECK(
		    memchr(o->items[i].amount, 0, sizeof(o->items[i].amount)));
		FUZZ_CHECK(strlen(o->items[i].currency) == 3);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in);
	lshop_provider p = (lshop_provider)(mode & 3);
	const char *topic = topics[(mode >> 2) % NTOPICS];
	char *fuzzed_topic = NULL, *body, *out, *out2;
	lshop_order order, again;
	lshop_error err;
	size_t len, tlen, out_len, out2_len;
	int r;

	/* The high bit: the topic header comes from the input. */
	if (mode & 0x80) {
		fuzzed_topic = fuzz_field(&in, &tlen, 1);
		topic = fuzzed_topic;
	}
	body = fuzz_rest(&in, &len);
	memset(&order, 0x55, sizeof(order));
	r = lshop_order_parse(p, topic, body, len, &order, &err);
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		check_order(&order);
		out = lshop_order_to_json(&order, &out_len);
		FUZZ_CHECK(out != NULL && strlen(out) == out_len);
		if (lshop_order_parse(LSHOP_PROVIDER_STANDARD, NULL, out,
				      out_len, &again, &err) != 1) {
			fprintf(stderr, "round trip: %s (%s): %s\n%s\n",
				err.code, err.field, err.message, out);
			FUZZ_CHECK(!"order_to_json parses again");
		}
		FUZZ_CHECK(again.refund == order.refund);
		out2 = lshop_order_to_json(&again, &out2_len);
		FUZZ_CHECK(out2 != NULL && out2_len == out_len &&
			   memcmp(out, out2, out_len) == 0);
		free(out);
		free(out2);
	} else {
		FUZZ_CHECK(memchr(err.message, 0, sizeof(err.message)));
	}
	free(fuzzed_topic);
	free(body);
	return 0;
}
