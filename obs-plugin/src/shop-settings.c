/*
 * live-shop OBS plugin: its settings file (SPEC §12), a JSON object that
 * an operator may write before OBS starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <lshop/offer.h>

#include "shop-link.h"

#define COUNTDOWN_MAX_S  86400
#define SHORT_TEXT_CHARS 60

void shop_settings_init(shop_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->countdown_seconds = 300;
	snprintf(s->disclosure_kind, sizeof(s->disclosure_kind), "ad");
}

static long utf8_chars(const char *s, size_t len)
{
	long n = 0;
	size_t i;

	/* the UTF-8 validity itself was checked by jansson */
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/*
 * A string setting into out (cap bytes); absent keeps out. what says
 * what the value must be, for the message.
 */
static int text_setting(json_t *v, const char *key, char *out, size_t cap,
			const char *path, lshop_error *err)
{
	json_t *j = json_object_get(v, key);
	const char *s;
	size_t len;

	if (j == NULL)
		return 0;
	if (!json_is_string(j)) {
		lshop_error_set(err, "invalid_field", key,
				"%s: \"%s\" must be a string", path, key);
		return -1;
	}
	s = json_string_value(j);
	len = json_string_length(j);
	if (len >= cap || memchr(s, '\0', len) != NULL) {
		lshop_error_set(err, "invalid_field", key,
				"%s: \"%s\" must be at most %zu bytes of text",
				path, key, cap - 1);
		return -1;
	}
	memcpy(out, s, len + 1);
	return 0;
}

static int check_settings(const shop_settings *s, const char *path,
			  lshop_error *err)
{
	if (s->server[0] && strncmp(s->server, "http://", 7) != 0 &&
	    strncmp(s->server, "https://", 8) != 0) {
		lshop_error_set(err, "invalid_field", "server",
				"%s: \"server\" must be an http:// or https:// "
				"URL such as \"http://127.0.0.1:8080/shop/\"",
				path);
		return -1;
	}
	if (s->stream[0] && !lshop_stream_valid(s->stream, strlen(s->stream))) {
		lshop_error_set(err, "invalid_field", "stream",
				"%s: \"stream\" must be APP/NAME such as "
				"\"live/demo\" (each part 1-64 of A-Z a-z 0-9 "
				". _ -)",
				path);
		return -1;
	}
	if (strpbrk(s->token, " \t\r\n") != NULL) {
		lshop_error_set(err, "invalid_field", "token",
				"%s: \"token\" must not hold spaces or line "
				"breaks",
				path);
		return -1;
	}
	if (s->countdown_seconds < 1 ||
	    s->countdown_seconds > COUNTDOWN_MAX_S) {
		lshop_error_set(err, "invalid_field", "countdown_seconds",
				"%s: \"countdown_seconds\" must be a whole "
				"number from 1 to %d",
				path, COUNTDOWN_MAX_S);
		return -1;
	}
	if (utf8_chars(s->countdown_label, strlen(s->countdown_label)) >
	    SHORT_TEXT_CHARS) {
		lshop_error_set(err, "invalid_field", "countdown_label",
				"%s: \"countdown_label\" must be at most %d "
				"characters",
				path, SHORT_TEXT_CHARS);
		return -1;
	}
	if (!lshop_disclosure_kind_valid(s->disclosure_kind,
					 strlen(s->disclosure_kind))) {
		lshop_error_set(err, "invalid_field", "disclosure_kind",
				"%s: \"disclosure_kind\" must be one of ad, "
				"sponsored, affiliate, gifted, own",
				path);
		return -1;
	}
	return 0;
}

int shop_settings_load(shop_settings *s, const char *path, lshop_error *err)
{
	shop_settings n = *s;
	json_error_t jerr;
	json_t *v, *j;
	int rc = -1;

	v = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL) {
		if (access(path, F_OK) != 0 && errno == ENOENT)
			return 0;
		lshop_error_set(err, "invalid_json", "",
				"%s is not a JSON object: %s (line %d, "
				"column %d)",
				path, jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(v)) {
		lshop_error_set(err, "invalid_json", "",
				"%s must hold a JSON object {\"server\":...}",
				path);
		goto out;
	}
	if (text_setting(v, "server", n.server, sizeof(n.server), path, err) ||
	    text_setting(v, "stream", n.stream, sizeof(n.stream), path, err) ||
	    text_setting(v, "token", n.token, sizeof(n.token), path, err) ||
	    text_setting(v, "countdown_label", n.countdown_label,
			 sizeof(n.countdown_label), path, err) ||
	    text_setting(v, "disclosure_kind", n.disclosure_kind,
			 sizeof(n.disclosure_kind), path, err) ||
	    text_setting(v, "locale", n.locale, sizeof(n.locale), path, err))
		goto out;
	j = json_object_get(v, "countdown_seconds");
	if (j != NULL) {
		if (!json_is_integer(j)) {
			lshop_error_set(err, "invalid_field",
					"countdown_seconds",
					"%s: \"countdown_seconds\" must be a "
					"whole number of seconds",
					path);
			goto out;
		}
		n.countdown_seconds = json_integer_value(j);
	}
	if (check_settings(&n, path, err))
		goto out;
	*s = n;
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int shop_settings_save(const shop_settings *s, const char *path,
		       lshop_error *err)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 8);
	json_t *v = json_object();
	FILE *f = NULL;
	int fd = -1, bad = 0, rc = -1;

	if (tmp == NULL || v == NULL) {
		lshop_error_set(err, "enomem", "", "out of memory");
		goto out;
	}
	if (check_settings(s, path, err))
		goto out;
	bad |= json_object_set_new(v, "server", json_string(s->server));
	bad |= json_object_set_new(v, "stream", json_string(s->stream));
	bad |= json_object_set_new(v, "token", json_string(s->token));
	bad |= json_object_set_new(v, "countdown_seconds",
				   json_integer(s->countdown_seconds));
	bad |= json_object_set_new(v, "countdown_label",
				   json_string(s->countdown_label));
	bad |= json_object_set_new(v, "disclosure_kind",
				   json_string(s->disclosure_kind));
	bad |= json_object_set_new(v, "locale", json_string(s->locale));
	if (bad) {
		lshop_error_set(err, "invalid_field", "",
				"settings hold text that is not UTF-8");
		goto out;
	}
	/* same directory, so that rename() replaces the file atomically */
	snprintf(tmp, plen + 8, "%s.XXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600: the file holds the token */
	if (fd < 0) {
		lshop_error_set(err, "io_error", "", "cannot write %s: %s", tmp,
				strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL || json_dumpf(v, f, JSON_INDENT(2)) != 0 ||
	    fputc('\n', f) == EOF || fflush(f) != 0 || fsync(fd) != 0) {
		lshop_error_set(err, "io_error", "", "cannot write %s: %s", tmp,
				strerror(errno));
		goto out_unlink;
	}
	if (fclose(f) != 0) {
		f = NULL;
		fd = -1;
		lshop_error_set(err, "io_error", "", "cannot write %s: %s", tmp,
				strerror(errno));
		goto out_unlink;
	}
	f = NULL;
	fd = -1;
	if (rename(tmp, path) != 0) {
		lshop_error_set(err, "io_error", "", "cannot replace %s: %s",
				path, strerror(errno));
		goto out_unlink;
	}
	rc = 0;
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (f != NULL)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	json_decref(v);
	free(tmp);
	return rc;
}
