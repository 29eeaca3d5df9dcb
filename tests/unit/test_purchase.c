/*
 * What an accepted order does to a stream (webhook.h,
 * lshop_purchase_events): the units the stock covers are sold, the rest
 * is oversold; stock never goes below 0 and sells out exactly once.
 */
#include "lshop/webhook.h"

#include "timeline.h"

static lshop_order_item item(const char *offer_id, int64_t quantity)
{
	lshop_order_item it;

	memset(&it, 0, sizeof(it));
	snprintf(it.offer_id, sizeof(it.offer_id), "%s", offer_id);
	it.quantity = quantity;
	strcpy(it.amount, "1.00");
	strcpy(it.currency, "EUR");
	it.oversold = 99; /* whatever it held, it is set */
	return it;
}

static void assert_purchase(const lshop_event *ev, const char *id,
			    int64_t quantity)
{
	assert_int_equal(ev->type, LSHOP_PURCHASE_COMPLETED);
	assert_string_equal(ev->offer_id, id);
	assert_true(ev->quantity == quantity);
	assert_true(ev->at_ms == T0);
	/* seq and stream are the caller's, as for planned events */
	assert_true(ev->seq == 0);
	assert_string_equal(ev->stream, "");
}

static void assert_stock(const lshop_event *ev, const char *id, int64_t stock)
{
	assert_int_equal(ev->type, LSHOP_STOCK_CHANGED);
	assert_string_equal(ev->offer_id, id);
	assert_true(ev->stock == stock);
	assert_true(ev->at_ms == T0);
}

static void test_stock_covers_all(void **state)
{
	lshop_order_item it = item("sku-a", 3);
	lshop_event evs[3];
	int64_t stock = 10;

	(void)state;
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 2);
	assert_purchase(&evs[0], "sku-a", 3);
	assert_stock(&evs[1], "sku-a", 7);
	assert_true(stock == 7);
	assert_true(it.oversold == 0);
	assert_true(it.quantity == 3);
}

static void test_stock_covers_exactly(void **state)
{
	lshop_order_item it = item("sku-a", 4);
	lshop_event evs[3];
	int64_t stock = 4;

	(void)state;
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 3);
	assert_purchase(&evs[0], "sku-a", 4);
	assert_stock(&evs[1], "sku-a", 0);
	assert_int_equal(evs[2].type, LSHOP_OFFER_SOLD_OUT);
	assert_string_equal(evs[2].offer_id, "sku-a");
	assert_true(stock == 0);
	assert_true(it.oversold == 0);
}

static void test_stock_covers_part(void **state)
{
	lshop_order_item it = item("sku-a", 5);
	lshop_event evs[3];
	int64_t stock = 2;

	(void)state;
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 3);
	assert_purchase(&evs[0], "sku-a", 2);
	assert_stock(&evs[1], "sku-a", 0);
	assert_int_equal(evs[2].type, LSHOP_OFFER_SOLD_OUT);
	assert_true(stock == 0);
	/* the order's quantity is what was paid for; the rest is said */
	assert_true(it.quantity == 5);
	assert_true(it.oversold == 3);
}

static void test_stock_covers_nothing(void **state)
{
	lshop_order_item it = item("sku-a", 5);
	lshop_event evs[3];
	int64_t stock = 0;

	(void)state;
	memset(evs, 0x5a, sizeof(evs));
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 0);
	assert_true(stock == 0);
	assert_true(it.oversold == 5);
	/* no second sold_out: the offer sold out already */
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 0);
	assert_true(it.oversold == 5);
}

static void test_unlimited_and_unknown(void **state)
{
	const int64_t kinds[] = {LSHOP_STOCK_UNLIMITED, LSHOP_STOCK_UNKNOWN};
	lshop_order_item it;
	lshop_event evs[3];
	int64_t stock;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		it = item("sku-b", 1000000);
		stock = kinds[i];
		assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs),
				 1);
		assert_purchase(&evs[0], "sku-b", 1000000);
		assert_true(stock == kinds[i]);
		assert_true(it.oversold == 0);
	}
}

static void test_no_units_no_events(void **state)
{
	lshop_order_item it = item("sku-a", 0);
	lshop_event evs[3];
	int64_t stock = 3;

	(void)state;
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 0);
	stock = LSHOP_STOCK_UNLIMITED;
	assert_int_equal(lshop_purchase_events(&it, &stock, T0, evs), 0);
	assert_true(it.oversold == 0);
}

/*
 * Random orders on one offer: stock never below 0, stock.changed always
 * says the stock left, sold units plus oversold are the units ordered,
 * and offer.sold_out comes exactly once, as the last event of the order
 * that took the last unit.
 */
static void test_random_orders(void **state)
{
	lshop_order_item it;
	lshop_event evs[3];
	int64_t stock = 500, sold = 0, oversold = 0, ordered = 0;
	uint32_t rnd = 99;
	size_t n, i, sold_outs = 0;
	int step;

	(void)state;
	for (step = 0; step < 400; step++) {
		rnd = rnd * 1103515245u + 12345u;
		it = item("sku-r", 1 + (rnd >> 16) % 7);
		ordered += it.quantity;
		n = lshop_purchase_events(&it, &stock, T0, evs);
		assert_true(stock >= 0);
		assert_true(it.oversold >= 0 && it.oversold <= it.quantity);
		oversold += it.oversold;
		for (i = 0; i < n; i++) {
			switch (evs[i].type) {
			case LSHOP_PURCHASE_COMPLETED:
				assert_int_equal(i, 0);
				assert_true(evs[i].quantity ==
					    it.quantity - it.oversold);
				sold += evs[i].quantity;
				break;
			case LSHOP_STOCK_CHANGED:
				assert_int_equal(i, 1);
				assert_true(evs[i].stock == stock);
				break;
			case LSHOP_OFFER_SOLD_OUT:
				assert_int_equal(i, 2);
				assert_true(stock == 0);
				sold_outs++;
				break;
			default:
				fail_msg("event type %d", (int)evs[i].type);
			}
		}
		if (it.oversold > 0)
			assert_true(stock == 0);
	}
	assert_int_equal(sold_outs, 1);
	assert_true(sold == 500);
	assert_true(sold + oversold == ordered);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stock_covers_all),
	    cmocka_unit_test(test_stock_covers_exactly),
	    cmocka_unit_test(test_stock_covers_part),
	    cmocka_unit_test(test_stock_covers_nothing),
	    cmocka_unit_test(test_unlimited_and_unknown),
	    cmocka_unit_test(test_no_units_no_events),
	    cmocka_unit_test(test_random_orders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
