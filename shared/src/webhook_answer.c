/*
 * liveshop core: what a webhook location answers a shop (SPEC §9).
 */
#include <jansson.h>

#include "lshop/webhook.h"

#include "internal.h"

char *lshop_webhook_answer_json(const lshop_order *order, int duplicate,
				int64_t sold, int64_t oversold,
				const char *ignored, size_t *len)
{
	json_t *v = json_object();
	char *out;

	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "ok", json_true()))
		goto fail;
	if (ignored != NULL) {
		if (lshop_json_set(v, "ignored", json_string(ignored)))
			goto fail;
	} else if (lshop_json_set(v, "duplicate", json_boolean(duplicate)) ||
		   lshop_json_set(v, "order_id",
				  json_string(order->order_id)) ||
		   (order->refund &&
		    lshop_json_set(v, "refund", json_true()))) {
		goto fail;
	} else if (!duplicate &&
		   (lshop_json_set(v, "stream", json_string(order->stream)) ||
		    (order->source[0] != '\0' &&
		     lshop_json_set(v, "source",
				    json_string(order->source))) ||
		    (!order->refund &&
		     (lshop_json_set(v, "sold", json_integer(sold)) ||
		      lshop_json_set(v, "oversold",
				     json_integer(oversold)))))) {
		goto fail;
	}
	out = lshop_json_dump(v, len);
	json_decref(v);
	return out;
fail:
	json_decref(v);
	return NULL;
}
