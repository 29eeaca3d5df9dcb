/*
 * liveshop core: private helpers shared by the sources of the core.
 * Not installed; nothing outside shared/src includes it.
 */
#ifndef LSHOP_INTERNAL_H
#define LSHOP_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lshop/error.h"
#include "lshop/event.h"
#include "lshop/offer.h"
#include "lshop/show.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t lshop_days_from_civil(int64_t y, unsigned m, unsigned d);

/* The proleptic Gregorian date of a day since 1970-01-01. */
void lshop_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Length of the valid UTF-8 sequence at s (len bytes left), 0 if none. */
size_t lshop_utf8_seq(const unsigned char *s, size_t len);

/* lshop_hmac_sha256 that reports failure: 0, or -1 (out unusable). */
int lshop_hmac_sha256_ok(uint8_t out[32], const void *key, size_t key_len,
			 const void *msg, size_t msg_len);

/*
 * Parses untrusted JSON that must be an object. Duplicate keys are refused.
 * Invalid UTF-8 inside a string comes back as a string holding NUL, so
 * that the check of that field (lshop_json_text) reports it by name.
 * what names the document in messages ("offer", "event", ...).
 * Returns a new reference, or NULL with err set ("invalid_json", field "").
 */
json_t *lshop_json_load(const char *json, size_t len, const char *what,
			lshop_error *err);

/*
 * v as compact JSON, UTF-8 as is, keys in insertion order. Returns a
 * malloc'd string (caller frees) and its length in *len if len is not NULL.
 */
char *lshop_json_dump(const json_t *v, size_t *len);

/*
 * lshop_json_dump of v, whose reference it takes (v may be NULL: then
 * NULL): the body of every *_to_json of an object builder.
 */
char *lshop_json_dump_owned(json_t *v, size_t *len);

/* Sets obj[key] = v, stealing v. Non-zero if v is NULL or on ENOMEM. */
int lshop_json_set(json_t *obj, const char *key, json_t *v);

/* RFC 3339 string of ms, or NULL on ENOMEM. */
json_t *lshop_json_time(int64_t ms);

/*
 * The value of key in obj; NULL when it is absent or JSON null (optional
 * fields may be sent as null by serializers that write every field).
 */
json_t *lshop_json_get(const json_t *obj, const char *key);

/* 1 if v is a string holding no NUL byte (and so valid UTF-8). */
int lshop_json_text(const json_t *v, const char **s, size_t *len);

/*
 * Fails with "unknown_field" on the first key of obj that is not in the
 * NULL-terminated list keys. prefix is prepended to field names.
 */
int lshop_json_known_keys(const json_t *obj, const char *const *keys,
			  const char *prefix, lshop_error *err);

/*
 * Sets err on the field prefix + key; the message is the field's name
 * followed by a space and fmt.
 */
void lshop_field_error(lshop_error *err, const char *code, const char *prefix,
		       const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * obj[key] as an id (1-64 of A-Z a-z 0-9 . _ -) into out (LSHOP_ID_MAX + 1
 * bytes); prefix names the field in errors. Returns 0, or -1 with err.
 */
int lshop_json_id_field(const json_t *obj, const char *prefix, const char *key,
			char *out, lshop_error *err);

/*
 * obj["session"] as a player's session id (lshop_session_valid) into out
 * (65 bytes). Returns 0, or -1 with err naming "session".
 */
int lshop_json_session_field(const json_t *obj, char *out, lshop_error *err);

/*
 * Reads a time field. Returns 1 and sets *ms when present, 0 when absent
 * (an error if required), -1 with err set when it is not an RFC 3339 time.
 */
int lshop_json_time_field(const json_t *obj, const char *key,
			  const char *prefix, int required, int64_t *ms,
			  lshop_error *err);

/*
 * Parses a price ^\d{1,9}(\.\d{1,4})?$ into units of 1/10000, so that
 * prices compare and add up exactly. Returns 0, or -1 for another string.
 */
int lshop_price_scaled(const char *s, size_t len, int64_t *v);

/* A commission rate, 1 in units of 1/10000 (lshop_price_scaled). */
#define LSHOP_COMMISSION_MAX 10000

/*
 * Reads the optional field "commission" of obj (an offer's, a show's): a
 * decimal string from "0" to "1" with up to 4 decimals, into out
 * (LSHOP_PRICE_MAX + 1 bytes). Returns 0 (out untouched when absent), or
 * -1 with err naming the field.
 */
int lshop_commission_field(const json_t *obj, const char *prefix, char *out,
			   lshop_error *err);

/*
 * Parses an order line's amount, a decimal string of 1-12 digits and up
 * to 4 decimals (lshop_order_item.amount; wider than a price, for it is
 * a price times a quantity), into units of 1/10000; *decimals (if not
 * NULL) receives how many it has. Returns 0, or -1 for another string.
 */
#define LSHOP_AMOUNT_DIGITS 12
int lshop_amount_scaled(const char *s, size_t len, int64_t *v, int *decimals);

/* The offer as a JSON object (SPEC §2 order); NULL on ENOMEM. */
json_t *lshop_offer_json(const lshop_offer *offer);

/* lshop_offer_parse on a parsed value; prefix as above. */
int lshop_offer_from_json(const json_t *v, const char *expect_id,
			  const char *prefix, lshop_offer *offer,
			  lshop_error *err);

/* The show as a JSON object (lshop_show_to_json's); NULL on ENOMEM. */
json_t *lshop_show_object(const lshop_show *show);

/*
 * lshop_show_parse on a parsed value; prefix as above ("data.show.").
 * broadcast = 1 reads a broadcast (a show.started event's "show"): it may
 * have "series" and an id of up to LSHOP_ID_MAX characters; broadcast = 0
 * a scheduled show (no "series", ids of up to LSHOP_SHOW_ID_MAX).
 */
int lshop_show_from_object(const json_t *obj, const char *expect_id,
			   int broadcast, const char *prefix, lshop_show *show,
			   lshop_error *err);

/* A question's data object: id, text, name, answer (when set). */
json_t *lshop_question_object(const lshop_question *q);

/* A poll's object: id, question, options, ends_at. */
json_t *lshop_poll_object(const lshop_poll *poll);

/*
 * A question's (a poll's) data object read back, every field checked;
 * prefix ("data.") names fields in errors. Returns 0, or -1 with err.
 */
int lshop_question_from_object(const json_t *obj, const char *prefix,
			       lshop_question *q, lshop_error *err);
int lshop_poll_from_object(const json_t *obj, const char *prefix,
			   lshop_poll *poll, lshop_error *err);

/*
 * A saved answer as {"id","question","answer"}, and read back (every
 * field checked); blocked words as a JSON array, and read back.
 */
json_t *lshop_saved_answer_object(const lshop_saved_answer *a);
int lshop_saved_answer_from_object(const json_t *obj, const char *prefix,
				   lshop_saved_answer *a, lshop_error *err);
json_t *lshop_blocked_words_array(const lshop_blocked_words *w);
int lshop_blocked_words_from_array(const json_t *arr, const char *prefix,
				   lshop_blocked_words *w, lshop_error *err);

/* A poll's counts as a JSON array, one per option. */
json_t *lshop_poll_counts_json(const lshop_poll *poll);

/* The event as a JSON object (lshop_event_to_json's); NULL on ENOMEM. */
json_t *lshop_event_json(const lshop_event *ev);

/*
 * lshop_event_parse on a parsed value (the journal reads each line once).
 * *ev is only written on success.
 */
int lshop_event_from_json(const json_t *v, lshop_event *ev, lshop_error *err);

/*
 * v as compact JSON like lshop_json_dump, with reals written with at most
 * 15 significant digits (12.345, not 12.345000000000001).
 */
char *lshop_json_dump_short_reals(const json_t *v, size_t *len);

/*
 * The index of name[0..len) in names[0..n), or -1: the names of event
 * types, providers and the like.
 */
int lshop_name_index(const char *const *names, size_t n, const char *name,
		     size_t len);

/*
 * The canonical order of SPEC §9 as a JSON object; as_kept adds what the
 * journal keeps: the delivery id and each item's oversold units. NULL on
 * ENOMEM.
 */
struct lshop_order;
json_t *lshop_order_json(const struct lshop_order *order, int as_kept);

/*
 * The whole of a report (its totals and the intervals it has open) as
 * JSON, and back: what a ledger carries past a journal's rotation.
 * lshop_report_restore replaces everything in r; on error (err names
 * the field) r is left empty or partly restored: the caller drops it.
 */
struct lshop_report;
json_t *lshop_report_carry(const struct lshop_report *r);
int lshop_report_restore(struct lshop_report *r, const json_t *v,
			 lshop_error *err);

#endif
