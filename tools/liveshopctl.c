/*
 * liveshopctl: the command line of liveshop. It mints stream-scoped control
 * tokens and drives the HTTP API of SPEC §5.
 *
 * Scripts are its first users: the server's JSON goes to stdout as
 * received, a minted token is alone on the last line, and the exit status
 * says who said no. Everything the core can check (stream names, offer
 * ids, offer files) is checked here first, so a mistake costs no request.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <jansson.h>

#include <lshop/error.h>
#include <lshop/offer.h>
#include <lshop/request.h>
#include <lshop/time.h>
#include <lshop/token.h>

#include "api.h"

#ifndef LIVESHOP_VERSION
#define LIVESHOP_VERSION "unknown"
#endif

#define CTL_DEFAULT_SERVER "http://127.0.0.1:8080/shop/"
#define CTL_OFFER_FILE_MAX (1024 * 1024)             /* far above any offer */
#define CTL_EXPIRES_MAX    (100LL * 365 * 24 * 3600) /* s; keeps ms in range */
#define CTL_SHOWN_MAX      400 /* bytes of server text quoted on stderr */

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1, /* the server answered, but not with 2xx */
	CTL_EXIT_USAGE = 2,   /* also anything refused locally: nothing sent */
	CTL_EXIT_UNREACHABLE = 3
};

enum ctl_opt {
	OPT_SERVER,
	OPT_TOKEN,
	OPT_SECRET,
	OPT_QUIET,
	OPT_HELP,
	OPT_VERSION,
	/* options of one command */
	OPT_EXPIRES,
	OPT_DURATION,
	OPT_AT,
	OPT_COUNT
};

#define OPT_BIT(o)      (1u << (o))
#define OPT_FIRST_LOCAL OPT_EXPIRES

struct ctl_option {
	const char *name; /* long name, without "--" */
	char short_name;
	int takes_value;
};

static const struct ctl_option ctl_options[OPT_COUNT] = {
    [OPT_SERVER] = {.name = "server", .takes_value = 1},
    [OPT_TOKEN] = {.name = "token", .takes_value = 1},
    [OPT_SECRET] = {.name = "secret", .takes_value = 1},
    [OPT_QUIET] = {.name = "quiet", .short_name = 'q'},
    [OPT_HELP] = {.name = "help", .short_name = 'h'},
    [OPT_VERSION] = {.name = "version"},
    [OPT_EXPIRES] = {.name = "expires", .takes_value = 1},
    [OPT_DURATION] = {.name = "duration", .takes_value = 1},
    [OPT_AT] = {.name = "at", .takes_value = 1},
};

struct ctl_command;

struct ctl {
	const char *opt[OPT_COUNT]; /* as given; "" for a flag; NULL if not */
	const char *server;
	const char *server_from; /* where server came from, for messages */
	const char *token;
	const char *secret;
	int quiet;
	const struct ctl_command *cmd;
};

struct ctl_command {
	const char *name;
	const char *args[3]; /* names of the arguments, NULL-terminated */
	const char *usage;   /* what follows the name on the usage line */
	const char *summary;
	unsigned options; /* the OPT_FIRST_LOCAL.. options it takes */
	int (*run)(struct ctl *ctl, char **args);
};

static int cmd_token(struct ctl *ctl, char **args);
static int cmd_offer_put(struct ctl *ctl, char **args);
static int cmd_offer_list(struct ctl *ctl, char **args);
static int cmd_pin(struct ctl *ctl, char **args);
static int cmd_unpin(struct ctl *ctl, char **args);
static int cmd_state(struct ctl *ctl, char **args);

static const struct ctl_command ctl_commands[] = {
    {
	.name = "token",
	.args = {"STREAM"},
	.usage = "[--secret S] [--expires SECONDS] STREAM",
	.summary = "mint a control token for STREAM, printed alone on\n"
		   "the last line; it expires SECONDS from now (0: never)",
	.options = OPT_BIT(OPT_EXPIRES),
	.run = cmd_token,
    },
    {
	.name = "offer put",
	.args = {"STREAM", "FILE"},
	.usage = "STREAM FILE",
	.summary = "create or replace the offer in FILE ('-': stdin);\n"
		   "the id comes from the file, which is checked first",
	.run = cmd_offer_put,
    },
    {
	.name = "offer list",
	.args = {"STREAM"},
	.usage = "STREAM",
	.summary = "show the catalog",
	.run = cmd_offer_list,
    },
    {
	.name = "pin",
	.args = {"STREAM", "OFFER_ID"},
	.usage = "STREAM OFFER_ID [--duration SECONDS] [--at RFC3339]",
	.summary = "pin an offer for SECONDS (0: until unpinned); --at\n"
		   "is when the host pressed the key, at most 10 s ago",
	.options = OPT_BIT(OPT_DURATION) | OPT_BIT(OPT_AT),
	.run = cmd_pin,
    },
    {
	.name = "unpin",
	.args = {"STREAM"},
	.usage = "STREAM",
	.summary = "unpin the pinned offer",
	.run = cmd_unpin,
    },
    {
	.name = "state",
	.args = {"STREAM"},
	.usage = "STREAM",
	.summary = "show what is live now (needs no token)",
	.run = cmd_state,
    },
};

#define CTL_COMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static const char ctl_help_tail[] =
    "\n"
    "STREAM is the APP/NAME of the RTMP stream, e.g. live/demo.\n"
    "\n"
    "Options, before or after the command:\n"
    "  --server URL  the live_shop_api location (env LIVESHOP_SERVER,\n"
    "                default " CTL_DEFAULT_SERVER ")\n"
    "  --token T     control token for STREAM (env LIVESHOP_TOKEN)\n"
    "  --secret S    the server's live_shop_secret, for token\n"
    "                (env LIVESHOP_SECRET)\n"
    "  -q, --quiet   print nothing on success but a minted token\n"
    "\n"
    "Prefer the environment for tokens and secrets: other users on the\n"
    "host can see command lines.\n"
    "\n"
    "Exit status: 0 done; 1 the server said no; 2 usage error or invalid\n"
    "input, nothing sent; 3 server unreachable or timed out.\n";

static int fail(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("liveshopctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static void print_usage(FILE *f, const char *name)
{
	const char *lead = "usage: ";
	size_t len = name ? strlen(name) : 0;
	size_t i;

	/* name "offer" selects both "offer put" and "offer list" */
	for (i = 0; i < CTL_COMMANDS; i++) {
		const struct ctl_command *c = &ctl_commands[i];

		if (name && strncmp(c->name, name, len) != 0)
			continue;
		if (name && c->name[len] != '\0' && c->name[len] != ' ')
			continue;
		fprintf(f, "%sliveshopctl %s %s\n", lead, c->name, c->usage);
		lead = "       ";
	}
	if (!name)
		fprintf(f, "%sliveshopctl help | --help | --version\n", lead);
}

static int usage_error(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fputs("liveshopctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr, name);
	return CTL_EXIT_USAGE;
}

static void print_help(FILE *f)
{
	size_t i;

	fputs("liveshopctl: control the offers of a liveshop stream\n\n", f);
	print_usage(f, NULL);
	fputs("\n", f);
	for (i = 0; i < CTL_COMMANDS; i++) {
		const struct ctl_command *c = &ctl_commands[i];
		const char *s = c->summary;

		fprintf(f, "  %s %s\n", c->name, c->usage);
		while (*s) {
			size_t n = strcspn(s, "\n");

			fprintf(f, "      %.*s\n", (int)n, s);
			s += n + (s[n] == '\n');
		}
	}
	fputs(ctl_help_tail, f);
}

/*
 * Copies text meant for a terminal into out: control characters become
 * spaces, runs of white space one space, and anything past cap is cut at a
 * UTF-8 boundary and marked "...". Text from a server must not be able to
 * move the cursor or recolour the terminal.
 */
static void printable(const char *s, size_t len, char *out, size_t cap)
{
	size_t i, n = 0;
	int space = 1; /* drops leading white space */

	for (i = 0; i < len && n + 4 < cap; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				out[n++] = ' ';
			space = 1;
			continue;
		}
		out[n++] = (char)c;
		space = 0;
	}
	if (i < len) {
		while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)out[n - 1] & 0x80))
			n--;
		memcpy(out + n, "...", 3);
		n += 3;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Whole, non-negative decimal seconds no greater than max. */
static int parse_seconds(const char *s, long long max, int64_t *out)
{
	long long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int check_stream(const struct ctl *ctl, const char *stream)
{
	char shown[2 * LSHOP_STREAM_MAX];

	if (lshop_stream_valid(stream, strlen(stream)))
		return 0;
	printable(stream, strlen(stream), shown, sizeof(shown));
	return usage_error(ctl->cmd->name,
			   "invalid stream '%s': expected APP/NAME, each "
			   "1-64 of A-Z a-z 0-9 . _ - (e.g. live/demo)",
			   shown);
}

static int check_offer_id(const struct ctl *ctl, const char *id)
{
	char shown[2 * LSHOP_ID_MAX];

	if (lshop_id_valid(id, strlen(id)))
		return 0;
	printable(id, strlen(id), shown, sizeof(shown));
	return usage_error(ctl->cmd->name,
			   "invalid offer id '%s': expected 1-64 of "
			   "A-Z a-z 0-9 . _ -",
			   shown);
}

/* The token goes into a header: it must not be able to end that header. */
static int need_token(const struct ctl *ctl)
{
	const char *p;

	if (!ctl->token)
		return usage_error(ctl->cmd->name,
				   "no token: pass --token T or set "
				   "LIVESHOP_TOKEN (mint one with "
				   "'liveshopctl token STREAM')");
	for (p = ctl->token; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return usage_error(ctl->cmd->name,
					   "the token holds spaces or control "
					   "characters; a token has none");
	}
	return 0;
}

static char *api_url(const struct ctl *ctl, const char *stream,
		     const char *tail)
{
	size_t len = strlen(ctl->server);
	const char *slash = len && ctl->server[len - 1] == '/' ? "" : "/";
	size_t cap = len + strlen(stream) + strlen(tail) + 32;
	char *url = malloc(cap);

	if (url)
		snprintf(url, cap, "%s%sv1/streams/%s/%s", ctl->server, slash,
			 stream, tail);
	return url;
}

/* The URL for messages, with any user:password@ hidden. */
static void shown_url(const char *url, char *out, size_t cap)
{
	const char *host = strstr(url, "://");
	const char *at = NULL, *p, *end;

	if (host) {
		host += 3;
		end = host + strcspn(host, "/?#");
		for (p = host; p < end; p++) {
			if (*p == '@')
				at = p;
		}
	}
	if (at)
		snprintf(out, cap, "%.*s***%s", (int)(host - url), url, at);
	else
		snprintf(out, cap, "%s", url);
}

/* error.message of SPEC §2's error body, else the body itself. */
static void server_message(const ctl_response *resp, char *out, size_t cap)
{
	json_t *root = json_loadb(resp->body, resp->body_len, 0, NULL);
	json_t *message =
	    json_object_get(json_object_get(root, "error"), "message");

	if (json_is_string(message) && json_string_length(message) > 0)
		printable(json_string_value(message),
			  json_string_length(message), out, cap);
	else
		printable(resp->body, resp->body_len, out, cap);
	if (out[0] == '\0')
		snprintf(out, cap, "(empty body)");
	json_decref(root);
}

static int call(const struct ctl *ctl, const char *method, const char *stream,
		const char *tail, const char *body, size_t body_len,
		int with_token)
{
	char where[LSHOP_URL_MAX + 256], message[CTL_SHOWN_MAX];
	ctl_response resp;
	ctl_api_result r;
	char *url;
	int rc;

	if (strncasecmp(ctl->server, "http://", 7) != 0 &&
	    strncasecmp(ctl->server, "https://", 8) != 0)
		return usage_error(ctl->cmd->name,
				   "%s must be an http:// or https:// URL, "
				   "e.g. " CTL_DEFAULT_SERVER,
				   ctl->server_from);
	url = api_url(ctl, stream, tail);
	if (!url)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	shown_url(url, where, sizeof(where));

	r = ctl_api_call(method, url, with_token ? ctl->token : NULL, body,
			 body_len, &resp);
	switch (r) {
	case CTL_API_ANSWERED:
		if (resp.status >= 200 && resp.status < 300) {
			if (!ctl->quiet && resp.body_len > 0) {
				fwrite(resp.body, 1, resp.body_len, stdout);
				if (resp.body[resp.body_len - 1] != '\n')
					fputc('\n', stdout);
			}
			rc = CTL_EXIT_OK;
			break;
		}
		server_message(&resp, message, sizeof(message));
		rc = fail(CTL_EXIT_REFUSED, "%s %s: HTTP %ld: %s", method,
			  where, resp.status, message);
		break;
	case CTL_API_UNREACHABLE:
		rc = fail(CTL_EXIT_UNREACHABLE, "cannot reach %s: %s", where,
			  resp.error);
		break;
	case CTL_API_TOO_LARGE:
		rc = fail(CTL_EXIT_REFUSED,
			  "%s %s: HTTP %ld: answer longer than %d MiB", method,
			  where, resp.status, CTL_RESPONSE_MAX / (1024 * 1024));
		break;
	default:
		rc = fail(CTL_EXIT_REFUSED, "%s %s: out of memory", method,
			  where);
		break;
	}
	ctl_response_free(&resp);
	free(url);
	return rc;
}

static int cmd_token(struct ctl *ctl, char **args)
{
	const char *stream = args[0];
	int64_t seconds = 0, expires = 0;
	char *token;
	int rc;

	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	if (ctl->opt[OPT_EXPIRES] &&
	    parse_seconds(ctl->opt[OPT_EXPIRES], CTL_EXPIRES_MAX, &seconds) < 0)
		return usage_error(ctl->cmd->name,
				   "--expires needs whole seconds from now "
				   "(0 for a token that never expires)");
	if (!ctl->secret)
		return usage_error(ctl->cmd->name,
				   "no secret: pass --secret S or set "
				   "LIVESHOP_SECRET to the server's "
				   "live_shop_secret");
	if (seconds > 0)
		expires = lshop_now_ms() / 1000 + seconds;

	token =
	    lshop_token_mint(ctl->secret, strlen(ctl->secret), stream, expires);
	if (!token)
		return fail(CTL_EXIT_REFUSED, "cannot mint a token: out of "
					      "memory");
	printf("%s\n", token);
	free(token);
	return CTL_EXIT_OK;
}

static int read_offer_file(const char *path, const char *name, char **json,
			   size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf;
	size_t n = 0;
	int rc = CTL_EXIT_OK;

	if (!f)
		return fail(CTL_EXIT_USAGE, "%s: %s", name, strerror(errno));
	buf = malloc(CTL_OFFER_FILE_MAX + 2);
	if (!buf) {
		rc = fail(CTL_EXIT_REFUSED, "%s: out of memory", name);
		goto out;
	}
	/* one byte more than allowed tells a full file from a long one */
	n = fread(buf, 1, CTL_OFFER_FILE_MAX + 1, f);
	if (ferror(f))
		rc = fail(CTL_EXIT_USAGE, "%s: %s", name, strerror(errno));
	else if (n > CTL_OFFER_FILE_MAX)
		rc =
		    fail(CTL_EXIT_USAGE, "%s: longer than %d KiB; not an offer",
			 name, CTL_OFFER_FILE_MAX / 1024);
out:
	if (f != stdin)
		fclose(f);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*json = buf;
	*len = n;
	return CTL_EXIT_OK;
}

static int cmd_offer_put(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *path = args[1];
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	char tail[sizeof("offers/") + LSHOP_ID_MAX];
	lshop_offer offer;
	lshop_error err;
	char *json = NULL;
	size_t len = 0;
	int rc;

	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	rc = read_offer_file(path, name, &json, &len);
	if (rc)
		return rc;

	/* Same parser as the server: the same field-named error, no request. */
	if (lshop_offer_parse(json, len, NULL, &offer, &err) < 0) {
		if (err.field[0])
			rc = fail(CTL_EXIT_USAGE, "%s: field \"%s\": %s", name,
				  err.field, err.message);
		else
			rc = fail(CTL_EXIT_USAGE, "%s: %s", name, err.message);
	} else if (offer.id[0] == '\0') {
		rc = fail(CTL_EXIT_USAGE,
			  "%s: field \"id\": the offer needs an id", name);
	} else {
		rc = need_token(ctl);
	}
	if (rc == CTL_EXIT_OK) {
		snprintf(tail, sizeof(tail), "offers/%s", offer.id);
		rc = call(ctl, "PUT", stream, tail, json, len, 1);
	}
	free(json);
	return rc;
}

static int cmd_offer_list(struct ctl *ctl, char **args)
{
	int rc;

	rc = check_stream(ctl, args[0]);
	if (!rc)
		rc = need_token(ctl);
	if (!rc)
		rc = call(ctl, "GET", args[0], "offers", NULL, 0, 1);
	return rc;
}

static int cmd_pin(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *id = args[1];
	const char *at_arg = ctl->opt[OPT_AT];
	char at[LSHOP_TIME_LEN];
	int64_t duration = 0, at_ms;
	json_t *body;
	char *json;
	int rc;

	rc = check_stream(ctl, stream);
	if (!rc)
		rc = check_offer_id(ctl, id);
	if (rc)
		return rc;
	if (ctl->opt[OPT_DURATION] &&
	    parse_seconds(ctl->opt[OPT_DURATION], LSHOP_PIN_DURATION_MAX,
			  &duration) < 0)
		return usage_error(ctl->cmd->name,
				   "--duration needs whole seconds, at most "
				   "%d (0: until unpinned)",
				   LSHOP_PIN_DURATION_MAX);
	if (at_arg) {
		if (lshop_time_parse(at_arg, strlen(at_arg), &at_ms) < 0)
			return usage_error(ctl->cmd->name,
					   "--at needs an RFC 3339 time, e.g. "
					   "2026-11-24T10:00:00.123Z");
		lshop_time_format(at, at_ms);
	}
	rc = need_token(ctl);
	if (rc)
		return rc;

	body = json_object();
	if (!body || json_object_set_new(body, "offer", json_string(id)) ||
	    (duration > 0 &&
	     json_object_set_new(body, "duration", json_integer(duration))) ||
	    (at_arg && json_object_set_new(body, "at", json_string(at)))) {
		json_decref(body);
		return fail(CTL_EXIT_REFUSED, "out of memory");
	}
	json = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!json)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	rc = call(ctl, "POST", stream, "pin", json, strlen(json), 1);
	free(json);
	return rc;
}

static int cmd_unpin(struct ctl *ctl, char **args)
{
	int rc;

	rc = check_stream(ctl, args[0]);
	if (!rc)
		rc = need_token(ctl);
	if (!rc)
		rc = call(ctl, "POST", args[0], "unpin", "{}", 2, 1);
	return rc;
}

static int cmd_state(struct ctl *ctl, char **args)
{
	int rc;

	/* state is public (SPEC §5): a token would only be exposed */
	rc = check_stream(ctl, args[0]);
	if (!rc)
		rc = call(ctl, "GET", args[0], "state", NULL, 0, 0);
	return rc;
}

static int find_option(const char *name, size_t len, char short_name)
{
	int o;

	for (o = 0; o < OPT_COUNT; o++) {
		if (short_name && ctl_options[o].short_name == short_name)
			return o;
		if (!short_name && strlen(ctl_options[o].name) == len &&
		    strncmp(ctl_options[o].name, name, len) == 0)
			return o;
	}
	return -1;
}

/*
 * Takes the options out of argv, wherever they are, and leaves the rest in
 * args. The first problem goes into problem and parsing goes on, so that
 * it can be reported with the usage line of the command once that is
 * known. Values are never quoted in problems: they may be secrets.
 */
static void parse_options(int argc, char **argv, struct ctl *ctl, char **args,
			  int *nargs, char *problem, size_t cap)
{
	int i, o, only_args = 0;

	*nargs = 0;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *value = NULL, *eq;
		size_t len;

		if (only_args || a[0] != '-' || a[1] == '\0') {
			args[(*nargs)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_args = 1;
			continue;
		}
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
			o = find_option(a + 2, len, 0);
			if (o < 0) {
				if (!problem[0])
					snprintf(problem, cap,
						 "unknown option --%.*s",
						 (int)(len > 40 ? 40 : len),
						 a + 2);
				continue;
			}
			if (eq && !ctl_options[o].takes_value) {
				if (!problem[0])
					snprintf(problem, cap,
						 "--%s takes no value",
						 ctl_options[o].name);
				continue;
			}
			value = eq ? eq + 1 : NULL;
		} else {
			o = a[2] == '\0' ? find_option(NULL, 0, a[1]) : -1;
			if (o < 0) {
				if (!problem[0])
					snprintf(problem, cap,
						 "unknown option -%c", a[1]);
				continue;
			}
		}
		if (ctl_options[o].takes_value && !value) {
			if (i + 1 >= argc) {
				if (!problem[0])
					snprintf(problem, cap,
						 "--%s needs a value",
						 ctl_options[o].name);
				continue;
			}
			value = argv[++i];
		}
		ctl->opt[o] = value ? value : "";
	}
}

static const struct ctl_command *find_command(char **args, int nargs,
					      int *words)
{
	char name[32];
	size_t i;

	for (i = 0; i < CTL_COMMANDS; i++) {
		const char *c = ctl_commands[i].name;

		if (strcmp(c, args[0]) == 0) {
			*words = 1;
			return &ctl_commands[i];
		}
		if (nargs > 1) {
			snprintf(name, sizeof(name), "%s %s", args[0], args[1]);
			if (strcmp(c, name) == 0) {
				*words = 2;
				return &ctl_commands[i];
			}
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct ctl ctl = {0};
	const struct ctl_command *cmd;
	char problem[128] = "", shown[64];
	int nargs, have, want, words, o, rc;
	char **args;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	parse_options(argc, argv, &ctl, args, &nargs, problem, sizeof(problem));

	if (ctl.opt[OPT_HELP] || (nargs > 0 && strcmp(args[0], "help") == 0)) {
		print_help(stdout);
		return CTL_EXIT_OK;
	}
	if (ctl.opt[OPT_VERSION]) {
		printf("liveshopctl %s\n", LIVESHOP_VERSION);
		return CTL_EXIT_OK;
	}
	if (nargs == 0)
		return usage_error(NULL, "%s",
				   problem[0] ? problem : "no command given");
	cmd = find_command(args, nargs, &words);
	if (!cmd) {
		printable(args[0], strlen(args[0]), shown, sizeof(shown));
		if (strcmp(args[0], "offer") == 0)
			return usage_error("offer",
					   "offer needs 'put' or 'list'");
		return usage_error(NULL, "unknown command '%s'", shown);
	}
	ctl.cmd = cmd;
	if (problem[0])
		return usage_error(cmd->name, "%s", problem);
	for (o = OPT_FIRST_LOCAL; o < OPT_COUNT; o++) {
		if (ctl.opt[o] && !(cmd->options & OPT_BIT(o)))
			return usage_error(cmd->name,
					   "--%s is not an option of %s",
					   ctl_options[o].name, cmd->name);
	}
	for (want = 0; cmd->args[want]; want++)
		;
	have = nargs - words;
	if (have < want)
		return usage_error(cmd->name, "missing %s", cmd->args[have]);
	if (have > want)
		return usage_error(cmd->name, "too many arguments");

	ctl.server = ctl.opt[OPT_SERVER];
	ctl.server_from = "--server";
	if (!ctl.server) {
		ctl.server = env("LIVESHOP_SERVER");
		ctl.server_from = "LIVESHOP_SERVER";
	}
	if (!ctl.server)
		ctl.server = CTL_DEFAULT_SERVER;
	/* an empty --token or --secret means none, also over the env */
	ctl.token =
	    ctl.opt[OPT_TOKEN] ? ctl.opt[OPT_TOKEN] : env("LIVESHOP_TOKEN");
	if (ctl.token && !ctl.token[0])
		ctl.token = NULL;
	ctl.secret =
	    ctl.opt[OPT_SECRET] ? ctl.opt[OPT_SECRET] : env("LIVESHOP_SECRET");
	if (ctl.secret && !ctl.secret[0])
		ctl.secret = NULL;
	ctl.quiet = ctl.opt[OPT_QUIET] != NULL;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fail(CTL_EXIT_REFUSED, "cannot initialise libcurl");
	rc = cmd->run(&ctl, args + words);
	curl_global_cleanup();
	free(args);

	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(CTL_EXIT_REFUSED, "cannot write to stdout: %s",
			    strerror(errno));
	return rc;
}
