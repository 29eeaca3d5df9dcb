/*
 * lshop_amf_cuepoint (SPEC §6) for a valid event built from the input,
 * or for raw bytes repeated past 65535 (the AMF0 long string). The body
 * must decode with the strict AMF0 decoder below to exactly what went
 * in, and the size it reports must be the size it writes.
 *
 * Input: a byte (bit 0: an event, else raw bytes repeated 1 + 2 x
 * (byte >> 1) times; bit 1: name "state"), 8 bytes of time (a double,
 * NaN included), then the event (event_build.h) or 8 bytes of seq and
 * the raw bytes.
 */
#include <inttypes.h>

#include "event_build.h"
#include "lshop/amf.h"

/* A strict AMF0 reader: every length checked, nothing left over. */
struct amf_in {
	const uint8_t *p;
	size_t len, pos;
};

static int get(struct amf_in *a, size_t n, const uint8_t **out)
{
	if (n > a->len - a->pos)
		return -1;
	*out = a->p + a->pos;
	a->pos += n;
	return 0;
}

static int get_be(struct amf_in *a, int bytes, uint64_t *v)
{
	const uint8_t *b;
	int i;

	if (get(a, (size_t)bytes, &b))
		return -1;
	*v = 0;
	for (i = 0; i < bytes; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* A property name (u16 length, no marker) equal to want. */
static int expect_key(struct amf_in *a, const char *want)
{
	const uint8_t *b;
	uint64_t n;

	if (get_be(a, 2, &n) || n != strlen(want) || get(a, n, &b))
		return -1;
	return memcmp(b, want, n) == 0 ? 0 : -1;
}

/* A string value: marker 0x02 (u16) or 0x0c (u32, only past 65535). */
static int get_string(struct amf_in *a, const uint8_t **s, size_t *len)
{
	const uint8_t *m;
	uint64_t n;

	if (get(a, 1, &m))
		return -1;
	if (m[0] == 0x02) {
		if (get_be(a, 2, &n))
			return -1;
	} else if (m[0] == 0x0c) {
		if (get_be(a, 4, &n) || n <= 0xffff)
			return -1;
	} else {
		return -1;
	}
	if (get(a, n, s))
		return -1;
	*len = (size_t)n;
	return 0;
}

static int expect_string(struct amf_in *a, const char *want, size_t want_len)
{
	const uint8_t *s;
	size_t n;

	if (get_string(a, &s, &n) || n != want_len)
		return -1;
	return want_len == 0 || memcmp(s, want, n) == 0 ? 0 : -1;
}

static int expect_marker(struct amf_in *a, uint8_t marker)
{
	const uint8_t *m;

	return get(a, 1, &m) || m[0] != marker ? -1 : 0;
}

static int expect_object_end(struct amf_in *a)
{
	uint64_t n;

	return get_be(a, 2, &n) || n != 0 || expect_marker(a, 0x09) ? -1 : 0;
}

static int decode(const uint8_t *buf, size_t len, const char *name,
		  double time_s, uint64_t seq, const char *json,
		  size_t json_len)
{
	struct amf_in a = {buf, len, 0};
	char seq_s[24];
	uint64_t bits, want_bits;

	memcpy(&want_bits, &time_s, sizeof(want_bits));
	snprintf(seq_s, sizeof(seq_s), "%" PRIu64, seq);
	if (expect_string(&a, "onCuePoint", 10) || expect_marker(&a, 0x03) ||
	    expect_key(&a, "name") || expect_string(&a, name, strlen(name)) ||
	    expect_key(&a, "time") || expect_marker(&a, 0x00) ||
	    get_be(&a, 8, &bits) || bits != want_bits ||
	    expect_key(&a, "type") || expect_string(&a, "event", 5) ||
	    expect_key(&a, "parameters") || expect_marker(&a, 0x03) ||
	    expect_key(&a, "seq") || expect_string(&a, seq_s, strlen(seq_s)) ||
	    expect_key(&a, "json") || expect_string(&a, json, json_len) ||
	    expect_object_end(&a) || expect_object_end(&a))
		return -1;
	return a.pos == a.len ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in);
	uint64_t bits = fuzz_u64(&in, 8), seq;
	const char *name;
	lshop_event ev;
	double time_s;
	char *json;
	size_t json_len, need, wrote, i, reps;
	uint8_t *buf;

	memcpy(&time_s, &bits, sizeof(time_s));
	if (mode & 1) {
		fuzz_build_event(&in, &ev);
		json = fuzz_event_json(&ev, &json_len);
		name = mode & 2 ? "state" : lshop_event_type_name(ev.type);
		seq = ev.seq;
	} else {
		/* Raw bytes, repeated up to past the u16 string limit. */
		char *raw;
		size_t raw_len;

		seq = fuzz_u64(&in, 8);
		reps = 1 + (mode >> 1) * 2;
		raw = fuzz_rest(&in, &raw_len);
		json_len = raw_len * reps;
		json = malloc(json_len ? json_len : 1);
		FUZZ_CHECK(json != NULL);
		for (i = 0; i < reps && raw_len > 0; i++)
			memcpy(json + i * raw_len, raw, raw_len);
		free(raw);
		name = "state";
	}
	need = lshop_amf_cuepoint(NULL, 0, name, time_s, seq, json, json_len);
	buf = malloc(need);
	FUZZ_CHECK(buf != NULL);
	/* One byte short writes nothing usable and asks for the same. */
	FUZZ_CHECK(lshop_amf_cuepoint(buf, need - 1, name, time_s, seq, json,
				      json_len) == need);
	wrote =
	    lshop_amf_cuepoint(buf, need, name, time_s, seq, json, json_len);
	FUZZ_CHECK(wrote == need);
	FUZZ_CHECK(decode(buf, wrote, name, time_s, seq, json, json_len) == 0);
	free(buf);
	free(json);
	return 0;
}
