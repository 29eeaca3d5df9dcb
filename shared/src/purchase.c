/*
 * liveshop core: what an accepted order does to a stream (SPEC §3, §9):
 * the purchase, stock and sold-out events of each of its items, and the
 * line totals they carry, read exactly.
 *
 * Stock never goes below 0: an order is paid in the shop before liveshop
 * hears of it, so units beyond the stock cannot be refused, only shown
 * apart (oversold) in the report.
 */
#include <string.h>

#include "lshop/state.h"
#include "lshop/webhook.h"

#include "internal.h"

size_t lshop_purchase_events(lshop_order_item *item, int64_t *stock,
			     int64_t at_ms, lshop_event out[3])
{
	int64_t sold = item->quantity > 0 ? item->quantity : 0;
	size_t n;

	item->oversold = 0;
	/* Unlimited, unknown (not in the catalog) or, defensively, any
	 * other negative value: nothing to count down. */
	if (*stock >= 0 && sold > *stock) {
		item->oversold = sold - *stock;
		sold = *stock;
	}
	if (sold == 0)
		return 0;
	memset(&out[0], 0, sizeof(out[0]));
	out[0].type = LSHOP_PURCHASE_COMPLETED;
	out[0].at_ms = at_ms;
	memcpy(out[0].offer_id, item->offer_id, sizeof(out[0].offer_id));
	out[0].quantity = sold;
	if (*stock < 0)
		return 1;
	n = 1 + lshop_stock_events(item->offer_id, *stock, *stock - sold, at_ms,
				   out + 1);
	*stock -= sold;
	return n;
}

int lshop_amount_scaled(const char *s, size_t len, int64_t *v, int *decimals)
{
	int64_t r = 0;
	size_t i = 0;
	int frac = 0;

	while (i < len && i < LSHOP_AMOUNT_DIGITS && s[i] >= '0' && s[i] <= '9')
		r = r * 10 + (s[i++] - '0');
	if (i == 0 || (i < len && s[i] >= '0' && s[i] <= '9'))
		return -1;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && frac < 4 && s[i] >= '0' && s[i] <= '9') {
			r = r * 10 + (s[i++] - '0');
			frac++;
		}
		if (frac == 0)
			return -1;
	}
	if (i != len)
		return -1;
	if (decimals != NULL)
		*decimals = frac;
	while (frac++ < 4)
		r *= 10;
	*v = r;
	return 0;
}
