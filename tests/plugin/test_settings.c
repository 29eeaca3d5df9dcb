/*
 * The plugin's settings file (shop-settings.c): defaults, a missing file,
 * every key, errors naming the key, and an atomic 0600 save.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include "shop-link.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/shop-settings-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_defaults_and_missing_file(void **state)
{
	shop_settings s, d;
	lshop_error err;

	(void)state;
	shop_settings_init(&s);
	assert_string_equal(s.server, "");
	assert_string_equal(s.token, "");
	assert_int_equal(s.countdown_seconds, 300);
	assert_string_equal(s.disclosure_kind, "ad");
	d = s;
	unlink(path);
	assert_int_equal(shop_settings_load(&s, path, &err), 0);
	assert_memory_equal(&s, &d, sizeof(s));
}

static void test_load_every_key(void **state)
{
	shop_settings s;
	lshop_error err;

	(void)state;
	shop_settings_init(&s);
	write_file("{\"server\":\"http://127.0.0.1:8080/shop/\","
		   "\"stream\":\"live/demo\",\"token\":\"ls1.abc.0.def\","
		   "\"countdown_seconds\":90,\"countdown_label\":\"Nur "
		   "heute \xe2\x9c\xa8\",\"disclosure_kind\":\"sponsored\","
		   "\"locale\":\"de-DE\",\"dock_width\":300}");
	assert_int_equal(shop_settings_load(&s, path, &err), 0);
	assert_string_equal(s.server, "http://127.0.0.1:8080/shop/");
	assert_string_equal(s.stream, "live/demo");
	assert_string_equal(s.token, "ls1.abc.0.def");
	assert_int_equal(s.countdown_seconds, 90);
	assert_string_equal(s.countdown_label, "Nur heute \xe2\x9c\xa8");
	assert_string_equal(s.disclosure_kind, "sponsored");
	assert_string_equal(s.locale, "de-DE");

	/* missing keys keep what s held */
	write_file("{\"token\":\"other\"}");
	assert_int_equal(shop_settings_load(&s, path, &err), 0);
	assert_string_equal(s.token, "other");
	assert_string_equal(s.stream, "live/demo");
	assert_int_equal(s.countdown_seconds, 90);
}

static void refused(const char *text, const char *field)
{
	shop_settings s, before;
	lshop_error err;

	shop_settings_init(&s);
	strcpy(s.stream, "keep/me");
	before = s;
	write_file(text);
	assert_int_equal(shop_settings_load(&s, path, &err), -1);
	assert_string_equal(err.field, field);
	if (field[0])
		assert_non_null(strstr(err.message, field));
	assert_non_null(strstr(err.message, path));
	assert_memory_equal(&s, &before, sizeof(s));
}

static void test_errors_name_the_key(void **state)
{
	char *big;

	(void)state;
	refused("{\"server\":", "");
	refused("[]", "");
	refused("{\"server\":\"ftp://x/\"}", "server");
	refused("{\"server\":8080}", "server");
	refused("{\"stream\":\"demo\"}", "stream");
	refused("{\"stream\":\"live/../x\"}", "stream");
	refused("{\"token\":\"a b\"}", "token");
	refused("{\"token\":true}", "token");
	refused("{\"countdown_seconds\":0}", "countdown_seconds");
	refused("{\"countdown_seconds\":86401}", "countdown_seconds");
	refused("{\"countdown_seconds\":\"300\"}", "countdown_seconds");
	refused("{\"countdown_seconds\":2.5}", "countdown_seconds");
	refused("{\"disclosure_kind\":\"secret\"}", "disclosure_kind");
	refused("{\"locale\":\"a-very-long-locale-tag\"}", "locale");
	refused("{\"countdown_label\":\"0123456789012345678901234567890123456"
		"789012345678901234567890123456789\"}",
		"countdown_label");
	big = malloc(2000);
	assert_non_null(big);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	memcpy(big, "{\"token\":\"", 10);
	strcpy(big + 1990, "\"}");
	refused(big, "token");
	free(big);
}

static void test_save_round_trip(void **state)
{
	shop_settings s, back;
	lshop_error err;
	struct stat st;
	char tmp[160];

	(void)state;
	shop_settings_init(&s);
	strcpy(s.server, "https://shop.example/shop");
	strcpy(s.stream, "live/demo");
	strcpy(s.token, "ls1.bGl2ZS9kZW1v.0.sig");
	s.countdown_seconds = 45;
	strcpy(s.countdown_label, "Only \"now\"");
	strcpy(s.disclosure_kind, "gifted");
	strcpy(s.locale, "en");
	write_file("old");
	chmod(path, 0644);
	assert_int_equal(shop_settings_save(&s, path, &err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	shop_settings_init(&back);
	assert_int_equal(shop_settings_load(&back, path, &err), 0);
	assert_memory_equal(&back, &s, sizeof(s));

	/* a value that breaks a rule is not written */
	s.countdown_seconds = -1;
	assert_int_equal(shop_settings_save(&s, path, &err), -1);
	assert_string_equal(err.field, "countdown_seconds");
	shop_settings_init(&back);
	assert_int_equal(shop_settings_load(&back, path, &err), 0);
	assert_int_equal(back.countdown_seconds, 45);

	/* nowhere to write: an error naming the file, no temporary left */
	snprintf(tmp, sizeof(tmp), "%s/no/such/dir/config.json", dir);
	s.countdown_seconds = 45;
	assert_int_equal(shop_settings_save(&s, tmp, &err), -1);
	assert_non_null(strstr(err.message, "no/such/dir"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults_and_missing_file),
	    cmocka_unit_test(test_load_every_key),
	    cmocka_unit_test(test_errors_name_the_key),
	    cmocka_unit_test(test_save_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
