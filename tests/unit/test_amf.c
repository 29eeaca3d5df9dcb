/*
 * The AMF0 onCuePoint body (amf.h), read back with a small AMF0 reader.
 */
#include "lshop/amf.h"
#include "lshop/event.h"

#include "testutil.h"

/* A decoded AMF0 value: number, string or object (AMF0 §2.2-2.5). */
typedef struct amf_value {
	uint8_t type;
	double num;
	const uint8_t *str;
	size_t len;
	size_t n;
	char *keys[8];
	struct amf_value *vals[8];
} amf_value;

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Reads one value at *p (at most end); fails the test on bad AMF0. */
static amf_value *amf_read(const uint8_t **p, const uint8_t *end)
{
	amf_value *v = calloc(1, sizeof(*v));
	uint64_t bits;
	size_t klen;

	assert_non_null(v);
	assert_true(*p < end);
	v->type = *(*p)++;
	switch (v->type) {
	case 0x00:
		assert_true(end - *p >= 8);
		bits = be(*p, 8);
		memcpy(&v->num, &bits, 8);
		*p += 8;
		break;
	case 0x02:
	case 0x0c: {
		int w = v->type == 0x02 ? 2 : 4;

		assert_true(end - *p >= w);
		v->len = (size_t)be(*p, w);
		*p += w;
		assert_true((size_t)(end - *p) >= v->len);
		v->str = *p;
		*p += v->len;
		break;
	}
	case 0x03:
		for (;;) {
			assert_true(end - *p >= 3);
			klen = (size_t)be(*p, 2);
			*p += 2;
			if (klen == 0 && **p == 0x09) {
				(*p)++;
				break;
			}
			assert_true(v->n < 8);
			assert_true((size_t)(end - *p) >= klen);
			v->keys[v->n] = malloc(klen + 1);
			memcpy(v->keys[v->n], *p, klen);
			v->keys[v->n][klen] = '\0';
			*p += klen;
			v->vals[v->n] = amf_read(p, end);
			v->n++;
		}
		break;
	default:
		fail_msg("unexpected AMF0 type 0x%02x", v->type);
	}
	return v;
}

static void amf_free(amf_value *v)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		free(v->keys[i]);
		amf_free(v->vals[i]);
	}
	free(v);
}

static void assert_amf_string(const amf_value *v, const char *s, size_t len)
{
	assert_int_equal(v->type, len > 0xffff ? 0x0c : 0x02);
	assert_int_equal(v->len, len);
	assert_memory_equal(v->str, s, len);
}

/* Decodes buf and checks every field of SPEC §6. */
static void check_cuepoint(const uint8_t *buf, size_t len, const char *name,
			   double time_s, const char *seq, const char *json,
			   size_t json_len)
{
	const uint8_t *p = buf, *end = buf + len;
	amf_value *head, *obj, *params;

	head = amf_read(&p, end);
	assert_amf_string(head, "onCuePoint", 10);
	obj = amf_read(&p, end);
	assert_true(p == end); /* nothing after the object */
	assert_int_equal(obj->type, 0x03);
	assert_int_equal(obj->n, 4);
	assert_string_equal(obj->keys[0], "name");
	assert_amf_string(obj->vals[0], name, strlen(name));
	assert_string_equal(obj->keys[1], "time");
	assert_int_equal(obj->vals[1]->type, 0x00);
	assert_true(obj->vals[1]->num == time_s);
	assert_string_equal(obj->keys[2], "type");
	assert_amf_string(obj->vals[2], "event", 5);
	assert_string_equal(obj->keys[3], "parameters");
	params = obj->vals[3];
	assert_int_equal(params->type, 0x03);
	assert_int_equal(params->n, 2);
	assert_string_equal(params->keys[0], "seq");
	assert_amf_string(params->vals[0], seq, strlen(seq));
	assert_string_equal(params->keys[1], "json");
	assert_amf_string(params->vals[1], json, json_len);
	amf_free(head);
	amf_free(obj);
}

static void test_exact_bytes(void **state)
{
	static const uint8_t want[] = {
	    0x02, 0x00, 0x0a, 'o',  'n',  'C',  'u',  'e',  'P',  'o',  'i',
	    'n',  't',  0x03, 0x00, 0x04, 'n',  'a',  'm',  'e',  0x02, 0x00,
	    0x01, 'x',  0x00, 0x04, 't',  'i',  'm',  'e',  0x00, 0x3f, 0xf8,
	    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 1.5 */
	    0x00, 0x04, 't',  'y',  'p',  'e',  0x02, 0x00, 0x05, 'e',  'v',
	    'e',  'n',  't',  0x00, 0x0a, 'p',  'a',  'r',  'a',  'm',  'e',
	    't',  'e',  'r',  's',  0x03, 0x00, 0x03, 's',  'e',  'q',  0x02,
	    0x00, 0x02, '1',  '7',  0x00, 0x04, 'j',  's',  'o',  'n',  0x02,
	    0x00, 0x02, '{',  '}',  0x00, 0x00, 0x09, 0x00, 0x00, 0x09};
	uint8_t buf[256];
	size_t n;

	(void)state;
	n = lshop_amf_cuepoint(buf, sizeof(buf), "x", 1.5, 17, "{}", 2);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

static void test_event_json_with_hostile_titles(void **state)
{
	const char *titles[N_HOSTILE + 2];
	char *e120 = repeat("\xc3\xa9", 120);
	char *g120 = repeat("\xf0\x9f\x98\x80", 120);
	lshop_event ev;
	uint8_t *buf;
	size_t i, need, n, len;
	char *json;

	(void)state;
	for (i = 0; i < N_HOSTILE; i++)
		titles[i] = hostile_titles[i];
	titles[N_HOSTILE] = e120;
	titles[N_HOSTILE + 1] = g120;
	for (i = 0; i < N_HOSTILE + 2; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.seq = 17;
		ev.type = LSHOP_OFFER_PINNED;
		ev.at_ms = INT64_C(1795514400123);
		strcpy(ev.stream, "live/demo");
		strcpy(ev.offer.id, "sku-123");
		strcpy(ev.offer.title, titles[i]);
		strcpy(ev.offer.price, "19.99");
		strcpy(ev.offer.currency, "EUR");
		ev.offer.stock = LSHOP_STOCK_UNLIMITED;
		strcpy(ev.offer.url, "https://shop.example/p/123");
		json = lshop_event_to_json(&ev, &len);
		assert_non_null(json);
		need = lshop_amf_cuepoint(NULL, 0, "offer.pinned", 12.345, 17,
					  json, len);
		buf = malloc(need);
		assert_non_null(buf);
		n = lshop_amf_cuepoint(buf, need, "offer.pinned", 12.345, 17,
				       json, len);
		assert_int_equal(n, need);
		check_cuepoint(buf, n, "offer.pinned", 12.345, "17", json, len);
		/* The title comes back byte for byte. */
		{
			lshop_event back;
			lshop_error err;

			assert_int_equal(
			    lshop_event_parse(json, len, &back, &err), 0);
			assert_string_equal(back.offer.title, titles[i]);
		}
		free(buf);
		free(json);
	}
	free(e120);
	free(g120);
}

static void test_state_name_and_big_seq(void **state)
{
	uint8_t buf[512];
	size_t n;

	(void)state;
	n = lshop_amf_cuepoint(buf, sizeof(buf), "state", 0.0,
			       UINT64_C(18446744073709551615), "{\"a\":1}", 7);
	check_cuepoint(buf, n, "state", 0.0, "18446744073709551615",
		       "{\"a\":1}", 7);
}

static void test_long_string(void **state)
{
	size_t len, need, n;
	uint8_t *buf;
	char *json;

	(void)state;
	/* 65535 bytes still fit a short string, 65536 need a long one. */
	for (len = 65534; len <= 65537; len++) {
		json = malloc(len);
		assert_non_null(json);
		memset(json, 'j', len);
		need = lshop_amf_cuepoint(NULL, 0, "offer.pinned", 1.0, 1, json,
					  len);
		buf = malloc(need);
		assert_non_null(buf);
		n = lshop_amf_cuepoint(buf, need, "offer.pinned", 1.0, 1, json,
				       len);
		assert_int_equal(n, need);
		check_cuepoint(buf, n, "offer.pinned", 1.0, "1", json, len);
		free(buf);
		free(json);
	}
}

static void test_snprintf_style(void **state)
{
	uint8_t buf[128], guard[128];
	size_t need, n;

	(void)state;
	need = lshop_amf_cuepoint(NULL, 0, "x", 1.5, 17, "{}", 2);
	assert_int_equal(need, 93);
	/* Too small: the size comes back and nothing is written. */
	memset(buf, 0xee, sizeof(buf));
	memset(guard, 0xee, sizeof(guard));
	n = lshop_amf_cuepoint(buf, need - 1, "x", 1.5, 17, "{}", 2);
	assert_int_equal(n, need);
	assert_memory_equal(buf, guard, sizeof(buf));
	n = lshop_amf_cuepoint(buf, need, "x", 1.5, 17, "{}", 2);
	assert_int_equal(n, need);
	assert_int_equal(buf[need], 0xee);
	/* NULL json is an empty string, not a crash. */
	n = lshop_amf_cuepoint(buf, sizeof(buf), "x", 1.5, 17, NULL, 5);
	check_cuepoint(buf, n, "x", 1.5, "17", "", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_bytes),
	    cmocka_unit_test(test_event_json_with_hostile_titles),
	    cmocka_unit_test(test_state_name_and_big_seq),
	    cmocka_unit_test(test_long_string),
	    cmocka_unit_test(test_snprintf_style),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
