/*
 * lshop_daterange_line (SPEC §7) for a valid event built from the input
 * and a range id that is either the event's id or any bytes. The line
 * must be one well-formed EXT-X-DATERANGE tag (RFC 8216bis 4.2 attribute
 * list, 4.4.5.1 attributes): quoted strings without CR, LF or '"', each
 * attribute once, ID, CLASS and START-DATE present, END-DATE not before
 * START-DATE, and X-LIVESHOP-DATA the base64 of the event's JSON.
 *
 * Input: a byte (bit 0: the id is a field after the event; bit 1: the
 * start is the 8 bytes that follow, else the event's time; bits 2-3: open,
 * ending at those 8 bytes, or shortly after the start), 8 bytes, the
 * event (event_build.h).
 */
#include "event_build.h"
#include "lshop/codec.h"
#include "lshop/hls.h"
#include "lshop/time.h"

#define NATTR 16

struct attr {
	const char *name, *value; /* value without its quotes */
	size_t name_len, value_len;
	int quoted;
};

static int name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* Splits the attribute list; -1 if it is not one (RFC 8216bis 4.2). */
static int parse_attrs(const char *s, size_t len, struct attr *a, size_t *n)
{
	size_t pos = 0, i, j;

	*n = 0;
	while (pos < len) {
		if (*n == NATTR)
			return -1;
		a[*n].name = s + pos;
		while (pos < len && name_char(s[pos]))
			pos++;
		a[*n].name_len = (size_t)(s + pos - a[*n].name);
		if (a[*n].name_len == 0 || pos == len || s[pos] != '=')
			return -1;
		pos++;
		if (pos < len && s[pos] == '"') {
			a[*n].quoted = 1;
			a[*n].value = s + ++pos;
			while (pos < len && s[pos] != '"') {
				if (s[pos] == '\r' || s[pos] == '\n')
					return -1;
				pos++;
			}
			if (pos == len)
				return -1;
			a[*n].value_len = (size_t)(s + pos - a[*n].value);
			pos++;
		} else {
			/* enumerated-string or a number: no quote, comma
			 * or whitespace */
			a[*n].quoted = 0;
			a[*n].value = s + pos;
			while (pos < len && s[pos] != ',') {
				if (s[pos] == '"' || s[pos] == ' ' ||
				    s[pos] == '\t' || s[pos] == '\r' ||
				    s[pos] == '\n')
					return -1;
				pos++;
			}
			a[*n].value_len = (size_t)(s + pos - a[*n].value);
			if (a[*n].value_len == 0)
				return -1;
		}
		(*n)++;
		if (pos < len) {
			if (s[pos] != ',' || pos + 1 == len)
				return -1;
			pos++;
		}
	}
	for (i = 0; i < *n; i++)
		for (j = i + 1; j < *n; j++)
			if (a[i].name_len == a[j].name_len &&
			    memcmp(a[i].name, a[j].name, a[i].name_len) == 0)
				return -1;
	return 0;
}

static const struct attr *find(const struct attr *a, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].name_len == strlen(name) &&
		    memcmp(a[i].name, name, a[i].name_len) == 0)
			return &a[i];
	return NULL;
}

static int64_t date_of(const struct attr *a)
{
	int64_t ms;

	FUZZ_CHECK(a != NULL && a->quoted);
	FUZZ_CHECK(lshop_time_parse(a->value, a->value_len, &ms) == 0);
	return ms;
}

static void check_line(const char *line, size_t len, const lshop_range *r)
{
	static const char tag[] = "#EXT-X-DATERANGE:";
	struct attr a[NATTR];
	const struct attr *id, *cls, *type, *payload, *end;
	size_t n, dec_len;
	int64_t start_ms;
	uint8_t *dec;

	FUZZ_CHECK(strlen(line) == len);
	FUZZ_CHECK(len > sizeof(tag) &&
		   memcmp(line, tag, sizeof(tag) - 1) == 0);
	FUZZ_CHECK(line[len - 1] == '\n');
	FUZZ_CHECK(memchr(line, '\n', len - 1) == NULL);
	FUZZ_CHECK(memchr(line, '\r', len) == NULL);
	FUZZ_CHECK(
	    parse_attrs(line + sizeof(tag) - 1, len - sizeof(tag), a, &n) == 0);

	id = find(a, n, "ID");
	FUZZ_CHECK(id != NULL && id->quoted && id->value_len == strlen(r->id) &&
		   memcmp(id->value, r->id, id->value_len) == 0);
	cls = find(a, n, "CLASS");
	FUZZ_CHECK(cls != NULL && cls->quoted &&
		   cls->value_len == strlen(lshop_event_class(r->type)) &&
		   memcmp(cls->value, lshop_event_class(r->type),
			  cls->value_len) == 0);
	start_ms = date_of(find(a, n, "START-DATE"));
	end = find(a, n, "END-DATE");
	FUZZ_CHECK((end != NULL) == (r->end_ms != 0));
	if (end != NULL)
		FUZZ_CHECK(date_of(end) >= start_ms);
	type = find(a, n, "X-LIVESHOP-TYPE");
	FUZZ_CHECK(type != NULL && type->quoted &&
		   type->value_len == strlen(lshop_event_type_name(r->type)));
	payload = find(a, n, "X-LIVESHOP-DATA");
	FUZZ_CHECK(payload != NULL && payload->quoted);
	dec = malloc(payload->value_len * 3 / 4 + 3);
	FUZZ_CHECK(dec != NULL);
	FUZZ_CHECK(lshop_base64_decode(dec, &dec_len, payload->value,
				       payload->value_len) == 0);
	FUZZ_CHECK(dec_len == r->event_json_len &&
		   (dec_len == 0 || memcmp(dec, r->event_json, dec_len) == 0));
	free(dec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_in in = {data, size};
	uint8_t mode = fuzz_byte(&in);
	int64_t end = (int64_t)fuzz_u64(&in, 8);
	char ev_id[LSHOP_STREAM_MAX + 24], *fuzzed_id = NULL, *json, *line;
	size_t json_len, id_len, len;
	lshop_event ev;
	lshop_range r;

	fuzz_build_event(&in, &ev);
	json = fuzz_event_json(&ev, &json_len);
	lshop_event_id(ev_id, sizeof(ev_id), ev.stream, ev.seq);
	r.type = ev.type;
	r.id = ev_id;
	if (mode & 1) {
		fuzzed_id = fuzz_field(&in, &id_len, 1);
		r.id = fuzzed_id;
	}
	r.start_ms = mode & 2 ? end : ev.at_ms;
	r.end_ms = mode & 4 ? 0 : mode & 8 ? end : ev.at_ms + (end & 0xffffff);
	r.event_json = json;
	r.event_json_len = json_len;

	line = lshop_daterange_line(&r, &len);
	if (lshop_event_class(r.type) == NULL ||
	    strpbrk(r.id, "\"\r\n") != NULL) {
		FUZZ_CHECK(line == NULL);
	} else {
		FUZZ_CHECK(line != NULL);
		check_line(line, len, &r);
	}
	free(line);
	free(fuzzed_id);
	free(json);
	return 0;
}
