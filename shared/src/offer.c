/*
 * liveshop core: offers (SPEC §2).
 */
#include <stdio.h>
#include <string.h>

#include "lshop/codec.h"
#include "lshop/offer.h"

#include "internal.h"

static const char *const offer_keys[] = {
    "id",    "title", "price", "currency",   "compare_at", "stock",
    "url",   "image", "disclosure", "checkout", "commission", NULL};

/* The placeholders of a checkout template, each allowed once. */
static const char *const checkout_fields[] = {"{stream}", "{src}", "{ref}",
					      NULL};

static const char *const disclosure_kinds[] = {
    "ad", "sponsored", "affiliate", "gifted", "own", NULL};

static int id_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int lshop_id_valid(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len < 1 || len > LSHOP_ID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!id_char(s[i]))
			return 0;
	return 1;
}

static int stream_part_valid(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > LSHOP_STREAM_PART_MAX)
		return 0;
	if ((len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < len; i++)
		if (!id_char(s[i]))
			return 0;
	return 1;
}

int lshop_stream_valid(const char *s, size_t len)
{
	const char *slash;

	if (s == NULL)
		return 0;
	slash = memchr(s, '/', len);
	if (slash == NULL)
		return 0;
	return stream_part_valid(s, (size_t)(slash - s)) &&
	       stream_part_valid(slash + 1, len - (size_t)(slash - s) - 1);
}

int lshop_disclosure_kind_valid(const char *s, size_t len)
{
	/* the table ends with NULL */
	size_t n = sizeof(disclosure_kinds) / sizeof(disclosure_kinds[0]) - 1;

	return lshop_name_index(disclosure_kinds, n, s, len) >= 0;
}

/* The default labels, in the order of disclosure_kinds. */
static const char *const disclosure_text_en[] = {
    "Ad", "Sponsored", "Affiliate link", "Gifted", "Own product"};
/* German law (UWG §5a, MStV §8) asks for "Anzeige" / "Werbung". */
static const char *const disclosure_text_de[] = {
    "Anzeige", "Werbung", "Affiliate-Link", "Unbezahlte Werbung",
    "Eigenes Produkt"};

/* 1 for "de" and tags of it ("de-DE", "de_AT"), in any letter case. */
static int locale_is_de(const char *locale)
{
	return locale != NULL && (locale[0] == 'd' || locale[0] == 'D') &&
	       (locale[1] == 'e' || locale[1] == 'E') &&
	       (locale[2] == '\0' || locale[2] == '-' || locale[2] == '_' ||
		locale[2] == '.');
}

const char *lshop_disclosure_text(const char *kind, const char *locale)
{
	size_t i;

	if (kind == NULL)
		return NULL;
	for (i = 0; disclosure_kinds[i] != NULL; i++)
		if (strcmp(disclosure_kinds[i], kind) == 0)
			return locale_is_de(locale) ? disclosure_text_de[i]
						    : disclosure_text_en[i];
	return NULL;
}

int lshop_price_scaled(const char *s, size_t len, int64_t *v)
{
	int64_t r = 0;
	size_t i = 0, n = 0;
	int frac = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9' && n < 10) {
		r = r * 10 + (s[i++] - '0');
		n++;
	}
	if (n < 1 || n > 9)
		return -1;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9' && frac < 5) {
			r = r * 10 + (s[i++] - '0');
			frac++;
		}
		if (frac < 1 || frac > 4)
			return -1;
	}
	if (i != len)
		return -1;
	while (frac++ < 4)
		r *= 10;
	*v = r;
	return 0;
}

static int url_byte_ok(unsigned char c)
{
	/* RFC 3986 never allows these raw; they also break HTML and
	 * M3U attributes if a client pastes the URL somewhere. */
	return c > 0x20 && c < 0x7f && strchr("\"<>\\^`{|}", c) == NULL;
}

/* RFC 3986 §3.1: schemes are case-insensitive; ASCII only, any locale. */
static int has_scheme(const char *s, size_t len, const char *scheme)
{
	size_t i, n = strlen(scheme);
	char c;

	if (len < n)
		return 0;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != scheme[i])
			return 0;
	}
	return 1;
}

/*
 * Absolute http(s) URL with a host, as SPEC §2 asks. Returns NULL, or the
 * reason (the rest of "url must ...").
 */
static const char *url_problem(const char *s, size_t len, char *buf, size_t cap)
{
	size_t i, skip, host, end, at, colon;

	if (len > LSHOP_URL_MAX)
		return "be at most 2048 bytes long";
	for (i = 0; i < len; i++) {
		if (!url_byte_ok((unsigned char)s[i])) {
			snprintf(buf, cap,
				 "not hold the byte 0x%02x (at byte %zu); "
				 "percent-encode spaces, non-ASCII, "
				 "control characters and \"<>\\^`{|}",
				 (unsigned char)s[i], i);
			return buf;
		}
	}
	if (has_scheme(s, len, "http://"))
		skip = 7;
	else if (has_scheme(s, len, "https://"))
		skip = 8;
	else
		return "be an absolute URL starting with http:// or https://";
	end = skip;
	while (end < len && s[end] != '/' && s[end] != '?' && s[end] != '#')
		end++;
	host = skip;
	for (at = skip; at < end; at++)
		if (s[at] == '@')
			host = at + 1;
	colon = end;
	if (host < end && s[host] == '[') {
		for (i = host; i < end && s[i] != ']'; i++)
			;
		if (i == end)
			return "have a closing ']' after an IPv6 host";
		colon = i + 1;
		if (colon < end && s[colon] != ':')
			return "have a host, optionally followed by :PORT";
	} else {
		for (i = host; i < end; i++) {
			if (s[i] == ':') {
				colon = i;
				break;
			}
		}
	}
	if (colon == host)
		return "name a host, e.g. https://shop.example/p/123";
	for (i = colon + 1; i < end; i++)
		if (s[i] < '0' || s[i] > '9')
			return "have a numeric port after the host's ':'";
	return NULL;
}

/*
 * Reads a string field; what says what the field must be ("a string of
 * 1-120 characters"). Returns 1 when present, 0 when absent and optional,
 * -1 with err set.
 */
static int text_field(const json_t *obj, const char *key, const char *prefix,
		      int required, const char *what, const char **s,
		      size_t *len, lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);

	if (v == NULL) {
		if (required)
			lshop_field_error(err, "missing_field", prefix, key,
					  "is required: %s", what);
		return required ? -1 : 0;
	}
	if (!json_is_string(v)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be %s", what);
		return -1;
	}
	if (!lshop_json_text(v, s, len)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be valid UTF-8 text without NUL "
				  "characters");
		return -1;
	}
	return 1;
}

static int price_field(const json_t *obj, const char *key, const char *prefix,
		       int required, char *out, int64_t *scaled,
		       lshop_error *err)
{
	json_t *v = lshop_json_get(obj, key);
	const char *s;
	size_t len;

	if (v == NULL) {
		if (!required)
			return 0;
		lshop_field_error(err, "missing_field", prefix, key,
				  "is required: a decimal string like "
				  "\"19.99\" (up to 9 digits, 4 decimals)");
		return -1;
	}
	if (json_is_number(v)) {
		/* A JSON number would round through a double somewhere. */
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a decimal string like \"19.99\" "
				  "(up to 9 digits, 4 decimals), not a JSON "
				  "number");
		return -1;
	}
	if (!lshop_json_text(v, &s, &len) ||
	    lshop_price_scaled(s, len, scaled)) {
		lshop_field_error(err, "invalid_field", prefix, key,
				  "must be a decimal string like \"19.99\" "
				  "(up to 9 digits, 4 decimals)");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

static int url_field(const json_t *obj, const char *key, const char *prefix,
		     int required, char *out, lshop_error *err)
{
	char buf[200];
	const char *s, *why;
	size_t len;
	int r;

	r = text_field(obj, key, prefix, required,
		       "an absolute http:// or https:// URL", &s, &len, err);
	if (r <= 0)
		return r;
	why = url_problem(s, len, buf, sizeof(buf));
	if (why != NULL) {
		lshop_field_error(err, "invalid_field", prefix, key, "must %s",
				  why);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

int lshop_commission_field(const json_t *obj, const char *prefix, char *out,
			   lshop_error *err)
{
	json_t *v = lshop_json_get(obj, "commission");
	const char *s;
	size_t len;
	int64_t c;

	if (v == NULL)
		return 0;
	if (!lshop_json_text(v, &s, &len) || lshop_price_scaled(s, len, &c) ||
	    c > LSHOP_COMMISSION_MAX) {
		lshop_field_error(err, "invalid_field", prefix, "commission",
				  "must be a decimal string from \"0\" to "
				  "\"1\" with up to 4 decimals, like \"0.10\" "
				  "for 10%%%s",
				  json_is_number(v) ? ", not a JSON number"
						    : "");
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* The placeholder of checkout_fields at s, or -1. */
static int checkout_placeholder(const char *s, size_t len)
{
	size_t i, n;

	for (i = 0; checkout_fields[i] != NULL; i++) {
		n = strlen(checkout_fields[i]);
		if (len >= n && memcmp(s, checkout_fields[i], n) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * A checkout template's problem (the rest of "checkout must ..."), or
 * NULL: each placeholder at most once, {stream} or {ref} present, none
 * before the path, and with "x" for each, an absolute http(s) URL as the
 * url must be.
 */
static const char *checkout_problem(const char *s, size_t len, char *buf,
				    size_t cap)
{
	char filled[LSHOP_URL_MAX + 1];
	const char *why;
	size_t i, n = 0, authority;
	int seen[3] = {0, 0, 0}, k;

	if (len > LSHOP_URL_MAX)
		return "be at most 2048 bytes long";
	authority = has_scheme(s, len, "https://") ? 8 : 7;
	while (authority < len && strchr("/?#", s[authority]) == NULL)
		authority++;
	for (i = 0; i < len; i++) {
		if (s[i] == '}') {
			snprintf(buf, cap,
				 "hold '}' only to close {stream}, {src} or "
				 "{ref} (at byte %zu)", i);
			return buf;
		}
		if (s[i] != '{') {
			filled[n++] = s[i];
			continue;
		}
		k = checkout_placeholder(s + i, len - i);
		if (k < 0) {
			snprintf(buf, cap,
				 "hold only the placeholders {stream}, {src} "
				 "and {ref} (an unknown '{' at byte %zu)", i);
			return buf;
		}
		if (seen[k]++) {
			snprintf(buf, cap, "hold %s only once",
				 checkout_fields[k]);
			return buf;
		}
		if (i < authority)
			return "hold placeholders only after the host, in its "
			       "path or query";
		filled[n++] = 'x';
		i += strlen(checkout_fields[k]) - 1;
	}
	if (!seen[0] && !seen[2])
		return "carry the stream: put {stream} (the stream name) or "
		       "{ref} (a Stripe client_reference_id) in it";
	why = url_problem(filled, n, buf, cap);
	return why;
}

static int checkout_field(const json_t *obj, const char *prefix, char *out,
			  lshop_error *err)
{
	char buf[200];
	const char *s, *why;
	size_t len;
	int r;

	r = text_field(obj, "checkout", prefix, 0,
		       "a link template: an http(s) URL with {stream}, {src} "
		       "or {ref}",
		       &s, &len, err);
	if (r <= 0)
		return r;
	why = checkout_problem(s, len, buf, sizeof(buf));
	if (why != NULL) {
		lshop_field_error(err, "invalid_field", prefix, "checkout",
				  "must %s", why);
		return -1;
	}
	memcpy(out, s, len);
	out[len] = '\0';
	return 1;
}

int lshop_offer_from_json(const json_t *v, const char *expect_id,
			  const char *prefix, lshop_offer *offer,
			  lshop_error *err)
{
	char name[sizeof(err->field)];
	lshop_offer o;
	const char *s;
	size_t len, i;
	int64_t price, compare_at;
	long chars;
	json_t *j;
	int r;

	if (!json_is_object(v)) {
		/* The field is the offer itself: prefix without its '.'. */
		snprintf(name, sizeof(name), "%s", *prefix ? prefix : "offer.");
		name[strlen(name) - 1] = '\0';
		lshop_field_error(err, "invalid_field", "", name,
				  "must be a JSON object");
		return -1;
	}
	if (lshop_json_known_keys(v, offer_keys, prefix, err))
		return -1;
	memset(&o, 0, sizeof(o));

	j = lshop_json_get(v, "id");
	if (j == NULL && expect_id == NULL) {
		lshop_field_error(err, "missing_field", prefix, "id",
				  "is required: 1-64 characters of A-Z a-z "
				  "0-9 . _ -");
		return -1;
	}
	if (j == NULL) {
		s = expect_id;
		len = strlen(expect_id);
	} else if (!lshop_json_text(j, &s, &len)) {
		s = "";
		len = 0;
	}
	if (!lshop_id_valid(s, len)) {
		lshop_field_error(err, "invalid_field", prefix, "id",
				  "must be 1-64 characters of A-Z a-z 0-9 "
				  ". _ -");
		return -1;
	}
	if (expect_id != NULL &&
	    (strlen(expect_id) != len || memcmp(expect_id, s, len) != 0)) {
		lshop_field_error(err, "invalid_field", prefix, "id",
				  "\"%.*s\" does not match the offer id in "
				  "the path, \"%.64s\"",
				  (int)len, s, expect_id);
		return -1;
	}
	memcpy(o.id, s, len);

	r = text_field(v, "title", prefix, 1,
		       "a string of 1-120 characters (the product name)", &s,
		       &len, err);
	if (r < 0)
		return -1;
	chars = lshop_utf8_chars(s, len);
	if (chars < 0) {
		lshop_field_error(err, "invalid_field", prefix, "title",
				  "must be valid UTF-8 text without NUL "
				  "characters");
		return -1;
	}
	if (chars < 1 || chars > LSHOP_TITLE_CHARS) {
		lshop_field_error(err, "invalid_field", prefix, "title",
				  "must be 1-%d characters long (it has %ld)",
				  LSHOP_TITLE_CHARS, chars);
		return -1;
	}
	memcpy(o.title, s, len);

	if (price_field(v, "price", prefix, 1, o.price, &price, err) < 0)
		return -1;

	r = text_field(v, "currency", prefix, 1,
		       "3 upper-case letters (an ISO 4217 code like \"EUR\")",
		       &s, &len, err);
	if (r < 0)
		return -1;
	for (i = 0; i < len && s[i] >= 'A' && s[i] <= 'Z'; i++)
		;
	if (len != 3 || i != 3) {
		lshop_field_error(err, "invalid_field", prefix, "currency",
				  "must be 3 upper-case letters (an ISO 4217 "
				  "code like \"EUR\" or \"USD\")");
		return -1;
	}
	memcpy(o.currency, s, 3);

	r = price_field(v, "compare_at", prefix, 0, o.compare_at, &compare_at,
			err);
	if (r < 0)
		return -1;
	if (r > 0 && compare_at <= price) {
		lshop_field_error(err, "invalid_field", prefix, "compare_at",
				  "(the price before the offer) must be "
				  "greater than price (%s); leave it out if "
				  "there is none",
				  o.price);
		return -1;
	}

	o.stock = LSHOP_STOCK_UNLIMITED;
	j = lshop_json_get(v, "stock");
	if (j != NULL) {
		if (!json_is_integer(j) || json_integer_value(j) < 0) {
			lshop_field_error(err, "invalid_field", prefix, "stock",
					  "must be a whole number >= 0 (leave "
					  "it out for unlimited stock)");
			return -1;
		}
		o.stock = json_integer_value(j);
	}

	if (url_field(v, "url", prefix, 1, o.url, err) < 0 ||
	    url_field(v, "image", prefix, 0, o.image, err) < 0)
		return -1;

	r = text_field(v, "disclosure", prefix, 0,
		       "one of ad, sponsored, affiliate, gifted, own", &s, &len,
		       err);
	if (r < 0)
		return -1;
	if (r > 0) {
		if (!lshop_disclosure_kind_valid(s, len)) {
			lshop_field_error(err, "invalid_field", prefix,
					  "disclosure",
					  "must be one of ad, sponsored, "
					  "affiliate, gifted, own");
			return -1;
		}
		memcpy(o.disclosure, s, len);
	}

	if (checkout_field(v, prefix, o.checkout, err) < 0 ||
	    lshop_commission_field(v, prefix, o.commission, err) < 0)
		return -1;

	*offer = o;
	return 0;
}

int lshop_offer_parse(const char *json, size_t len, const char *expect_id,
		      lshop_offer *offer, lshop_error *err)
{
	json_t *v;
	int r;

	v = lshop_json_load(json, len, "offer", err);
	if (v == NULL)
		return -1;
	r = lshop_offer_from_json(v, expect_id, "", offer, err);
	json_decref(v);
	return r;
}

json_t *lshop_offer_json(const lshop_offer *o)
{
	json_t *v = json_object();

	if (v == NULL)
		return NULL;
	if (lshop_json_set(v, "id", json_string(o->id)) ||
	    lshop_json_set(v, "title", json_string(o->title)) ||
	    lshop_json_set(v, "price", json_string(o->price)) ||
	    lshop_json_set(v, "currency", json_string(o->currency)))
		goto fail;
	if (o->compare_at[0] &&
	    lshop_json_set(v, "compare_at", json_string(o->compare_at)))
		goto fail;
	if (o->stock >= 0 && lshop_json_set(v, "stock", json_integer(o->stock)))
		goto fail;
	if (lshop_json_set(v, "url", json_string(o->url)))
		goto fail;
	if (o->image[0] && lshop_json_set(v, "image", json_string(o->image)))
		goto fail;
	if (o->disclosure[0] &&
	    lshop_json_set(v, "disclosure", json_string(o->disclosure)))
		goto fail;
	if (o->checkout[0] &&
	    lshop_json_set(v, "checkout", json_string(o->checkout)))
		goto fail;
	if (o->commission[0] &&
	    lshop_json_set(v, "commission", json_string(o->commission)))
		goto fail;
	return v;
fail:
	json_decref(v);
	return NULL;
}

char *lshop_offer_to_json(const lshop_offer *offer, size_t *len)
{
	return lshop_json_dump_owned(lshop_offer_json(offer), len);
}


/* A bounded writer: what does not fit marks it full. */
typedef struct {
	char *p;
	size_t cap, len;
	int full;
} url_out;

static void put(url_out *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* RFC 3986 unreserved characters stay, the rest is %XX. */
static void put_encoded(url_out *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char pct[3];

	for (; *s; s++) {
		if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL) {
			put(o, s, 1);
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[(unsigned char)*s >> 4];
		pct[2] = hex[(unsigned char)*s & 15];
		put(o, pct, 3);
	}
}

/* 1 if the parameter p (n bytes) is named ls_stream or ls_src. */
static int ours(const char *p, size_t n)
{
	size_t name = 0;

	while (name < n && p[name] != '=')
		name++;
	return (name == 9 && memcmp(p, "ls_stream", 9) == 0) ||
	       (name == 6 && memcmp(p, "ls_src", 6) == 0);
}

int lshop_ref_encode(const char *stream, const char *source, char *out,
		     size_t cap)
{
	char b64[LSHOP_BASE64_LEN(LSHOP_STREAM_MAX)];
	size_t n;
	int qr;

	if (stream == NULL || source == NULL ||
	    !lshop_stream_valid(stream, strlen(stream)))
		return -1;
	qr = strcmp(source, LSHOP_SOURCE_QR) == 0;
	if (!qr && strcmp(source, LSHOP_SOURCE_PLAYER) != 0)
		return -1;
	n = lshop_base64_encode(b64, stream, strlen(stream), 1);
	if (n + 6 > cap)
		return -1;
	memcpy(out, qr ? "ls1q_" : "ls1p_", 5);
	memcpy(out + 5, b64, n + 1);
	return (int)(n + 5);
}

int lshop_ref_decode(const char *ref, size_t len, char *stream,
		     const char **source)
{
	char buf[LSHOP_REF_MAX];
	size_t i, n;

	if (ref == NULL || len < 7 || len >= LSHOP_REF_MAX ||
	    memcmp(ref, "ls1", 3) != 0 || (ref[3] != 'p' && ref[3] != 'q') ||
	    ref[4] != '_')
		return -1;
	for (i = 5; i < len; i++)
		if (!((ref[i] >= 'A' && ref[i] <= 'Z') ||
		      (ref[i] >= 'a' && ref[i] <= 'z') ||
		      (ref[i] >= '0' && ref[i] <= '9') || ref[i] == '-' ||
		      ref[i] == '_'))
			return -1;
	if (lshop_base64_decode(buf, &n, ref + 5, len - 5) ||
	    !lshop_stream_valid(buf, n))
		return -1;
	memcpy(stream, buf, n);
	stream[n] = '\0';
	*source = ref[3] == 'q' ? LSHOP_SOURCE_QR : LSHOP_SOURCE_PLAYER;
	return 0;
}

static int buy_from_checkout(const char *t, const char *stream,
			     const char *source, url_out *o)
{
	char buf[200], ref[LSHOP_REF_MAX];
	size_t i, len = strlen(t);
	int k;

	if (checkout_problem(t, len, buf, sizeof(buf)) != NULL)
		return -1;
	for (i = 0; i < len; i++) {
		k = t[i] == '{' ? checkout_placeholder(t + i, len - i) : -1;
		if (k < 0) {
			put(o, t + i, 1);
			continue;
		}
		if (k == 0) {
			put_encoded(o, stream);
		} else if (k == 1) {
			put(o, source, strlen(source));
		} else {
			if (lshop_ref_encode(stream, source, ref,
					     sizeof(ref)) < 0)
				return -1;
			put(o, ref, strlen(ref));
		}
		i += strlen(checkout_fields[k]) - 1;
	}
	return 0;
}

static int buy_from_url(const char *url, const char *stream,
			const char *source, url_out *o)
{
	char buf[200];
	const char *hash, *q, *p, *end, *amp;
	size_t len = strlen(url), base;
	int sep = 0;

	if (url_problem(url, len, buf, sizeof(buf)) != NULL)
		return -1;
	hash = strchr(url, '#');
	base = hash != NULL ? (size_t)(hash - url) : len;
	q = memchr(url, '?', base);
	put(o, url, q != NULL ? (size_t)(q - url) : base);
	put(o, "?", 1);
	end = url + base;
	for (p = q != NULL ? q + 1 : end; p < end; p = amp + 1) {
		amp = memchr(p, '&', (size_t)(end - p));
		if (amp == NULL)
			amp = end;
		if (amp == p || ours(p, (size_t)(amp - p)))
			continue;
		if (sep)
			put(o, "&", 1);
		put(o, p, (size_t)(amp - p));
		sep = 1;
	}
	put(o, sep ? "&ls_stream=" : "ls_stream=", sep ? 11 : 10);
	put_encoded(o, stream);
	if (strcmp(source, LSHOP_SOURCE_QR) == 0)
		put(o, "&ls_src=qr", 10);
	if (hash != NULL)
		put(o, hash, len - base);
	return 0;
}

int lshop_buy_url(const char *url, const char *checkout, const char *stream,
		  const char *source, char *out, size_t cap)
{
	url_out o = {out, cap, 0, 0};
	int r;

	if (out != NULL && cap > 0)
		out[0] = '\0';
	if (out == NULL || cap == 0 || stream == NULL || source == NULL ||
	    !lshop_stream_valid(stream, strlen(stream)) ||
	    (strcmp(source, LSHOP_SOURCE_PLAYER) != 0 &&
	     strcmp(source, LSHOP_SOURCE_QR) != 0))
		return -1;
	if (checkout != NULL && checkout[0] != '\0')
		r = buy_from_checkout(checkout, stream, source, &o);
	else if (url != NULL)
		r = buy_from_url(url, stream, source, &o);
	else
		r = -1;
	if (r < 0 || o.full || o.len > INT32_MAX) {
		out[0] = '\0';
		return -1;
	}
	return (int)o.len;
}

int lshop_offer_buy_url(const lshop_offer *offer, const char *stream,
			const char *source, char *out, size_t cap)
{
	return lshop_buy_url(offer->url, offer->checkout, stream, source, out,
			     cap);
}
