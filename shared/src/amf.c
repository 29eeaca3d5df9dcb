/*
 * liveshop core: the AMF0 body of an onCuePoint data message (SPEC §6).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "lshop/amf.h"

/* AMF0 type markers (AMF0 specification §2.1). */
#define AMF0_NUMBER      0x00
#define AMF0_STRING      0x02
#define AMF0_OBJECT      0x03
#define AMF0_OBJECT_END  0x09
#define AMF0_LONG_STRING 0x0c

/*
 * A writer that counts every byte but stores only while the whole body is
 * known to fit; cap is checked once, up front.
 */
struct amf_out {
	uint8_t *p;
	size_t len;
};

static void put(struct amf_out *o, const void *b, size_t n)
{
	if (o->p != NULL && n > 0)
		memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void put_u8(struct amf_out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_be(struct amf_out *o, uint64_t v, int bytes)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	put(o, b, (size_t)bytes);
}

/* A property name: u16 length and bytes, no marker (AMF0 §2.5). */
static void put_key(struct amf_out *o, const char *k)
{
	size_t n = strlen(k);

	put_be(o, n, 2);
	put(o, k, n);
}

static void put_string(struct amf_out *o, const char *s, size_t n)
{
	if (n > 0xffff) {
		put_u8(o, AMF0_LONG_STRING);
		put_be(o, n, 4);
	} else {
		put_u8(o, AMF0_STRING);
		put_be(o, n, 2);
	}
	put(o, s, n);
}

static void put_number(struct amf_out *o, double d)
{
	uint64_t bits;

	memcpy(&bits, &d, sizeof(bits));
	put_u8(o, AMF0_NUMBER);
	put_be(o, bits, 8);
}

static void put_object_end(struct amf_out *o)
{
	put_be(o, 0, 2);
	put_u8(o, AMF0_OBJECT_END);
}

static void write_body(struct amf_out *o, const char *name, double time_s,
		       uint64_t seq, const char *json, size_t json_len)
{
	char seq_s[24];

	snprintf(seq_s, sizeof(seq_s), "%" PRIu64, seq);
	put_string(o, "onCuePoint", 10);
	put_u8(o, AMF0_OBJECT);
	put_key(o, "name");
	put_string(o, name, strlen(name));
	put_key(o, "time");
	put_number(o, time_s);
	put_key(o, "type");
	put_string(o, "event", 5);
	put_key(o, "parameters");
	put_u8(o, AMF0_OBJECT);
	put_key(o, "seq");
	put_string(o, seq_s, strlen(seq_s));
	put_key(o, "json");
	put_string(o, json, json_len);
	put_object_end(o);
	put_object_end(o);
}

size_t lshop_amf_cuepoint(uint8_t *buf, size_t cap, const char *name,
			  double time_s, uint64_t seq, const char *json,
			  size_t json_len)
{
	struct amf_out o = {NULL, 0};

	if (name == NULL)
		name = "";
	if (json == NULL)
		json_len = 0;
	/* A long string holds at most 4 GiB (u32 length). */
	if (json_len > UINT32_MAX)
		return SIZE_MAX;
	write_body(&o, name, time_s, seq, json, json_len);
	if (o.len > cap || buf == NULL)
		return o.len;
	o.p = buf;
	o.len = 0;
	write_body(&o, name, time_s, seq, json, json_len);
	return o.len;
}
