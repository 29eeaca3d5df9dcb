/*
 * The calendar of lshop_show_calendar, for check_ics.py to read with
 * another implementation (Python's icalendar and dateutil).
 *
 *   show_ics SHOWS.json STREAM NOW PLAYER_URL [OFFERS.json]
 *     writes the calendar of the shows (a JSON array of show objects as
 *     lshop_show_parse takes them, each with "id") at NOW (RFC 3339);
 *     OFFERS.json, an object {"offer id":"title",…}, gives the offers'
 *     titles.
 *   show_ics SHOWS.json --occurrences FROM TO
 *     writes {"show id":["RFC 3339 time",…],…}: each show's occurrences
 *     in [FROM, TO) (lshop_show_occurrences).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lshop/show.h"
#include "lshop/time.h"

#define SHOWS_MAX       64
#define OCCURRENCES_MAX 5000

static int64_t time_arg(const char *s)
{
	int64_t ms;

	if (lshop_time_parse(s, strlen(s), &ms)) {
		fprintf(stderr, "show_ics: not an RFC 3339 time: %s\n", s);
		exit(2);
	}
	return ms;
}

static const char *offer_title(void *arg, const char *offer_id)
{
	return json_string_value(json_object_get(arg, offer_id));
}

static int occurrences(const lshop_show *shows, size_t n, int64_t from,
		       int64_t to)
{
	static int64_t out[OCCURRENCES_MAX];
	char t[LSHOP_TIME_LEN];
	json_t *all = json_object(), *list;
	size_t i, k, j;

	for (i = 0; i < n; i++) {
		k = lshop_show_occurrences(&shows[i], from, to, out,
					   OCCURRENCES_MAX);
		list = json_array();
		for (j = 0; j < k; j++) {
			lshop_time_format(t, out[j]);
			json_array_append_new(list, json_string(t));
		}
		json_object_set_new(all, shows[i].id, list);
	}
	json_dumpf(all, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(all);
	return 0;
}

int main(int argc, char **argv)
{
	static lshop_show shows[SHOWS_MAX];
	json_t *arr, *offers = NULL, *v;
	json_error_t jerr;
	lshop_error err;
	size_t n, i, len;
	char *text, *ics;

	if (argc < 5 || (argc > 6 && strcmp(argv[2], "--occurrences"))) {
		fprintf(stderr,
			"usage: show_ics SHOWS.json STREAM NOW PLAYER_URL "
			"[OFFERS.json]\n"
			"       show_ics SHOWS.json --occurrences FROM TO\n");
		return 2;
	}
	arr = json_load_file(argv[1], 0, &jerr);
	if (!json_is_array(arr) || json_array_size(arr) > SHOWS_MAX) {
		fprintf(stderr, "show_ics: %s: not a JSON array of shows: %s\n",
			argv[1], jerr.text);
		return 2;
	}
	n = json_array_size(arr);
	json_array_foreach(arr, i, v)
	{
		text = json_dumps(v, JSON_COMPACT);
		if (text == NULL || lshop_show_parse(text, strlen(text), NULL,
						     &shows[i], &err)) {
			fprintf(stderr, "show_ics: show %zu: %s (%s)\n", i,
				err.message, err.field);
			return 2;
		}
		free(text);
	}
	json_decref(arr);
	if (strcmp(argv[2], "--occurrences") == 0)
		return occurrences(shows, n, time_arg(argv[3]),
				   time_arg(argv[4]));
	if (argc > 5) {
		offers = json_load_file(argv[5], 0, &jerr);
		if (!json_is_object(offers)) {
			fprintf(stderr, "show_ics: %s: not a JSON object\n",
				argv[5]);
			return 2;
		}
	}
	ics = lshop_show_calendar(shows, n, argv[2], argv[4], time_arg(argv[3]),
				  offers ? offer_title : NULL, offers, &len);
	if (ics == NULL)
		return 1;
	fwrite(ics, 1, len, stdout);
	free(ics);
	json_decref(offers);
	return 0;
}
