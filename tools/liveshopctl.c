/*
 * liveshopctl: the command line of liveshop. It mints stream-scoped control
 * tokens, drives the HTTP API of SPEC §5, tails the event stream of SPEC
 * §8, and signs and verifies purchase webhooks (SPEC §9) as the server
 * does, for integrators testing their shop's setup.
 *
 * Scripts are its first users: the server's JSON goes to stdout as
 * received, a minted token is alone on the last line, and the exit status
 * says who said no. Everything the core can check (stream names, offer
 * ids, offer files) is checked here first, so a mistake costs no request.
 * The one table for people, the report's, is drawn here from the
 * server's JSON; --json and --csv give scripts the server's own answers.
 */
#define _GNU_SOURCE /* wcwidth */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curl/curl.h>
#include <jansson.h>

#include <lshop/codec.h>
#include <lshop/error.h>
#include <lshop/offer.h>
#include <lshop/request.h>
#include <lshop/sse.h>
#include <lshop/time.h>
#include <lshop/token.h>
#include <lshop/webhook.h>

#include "api.h"
#include "clips.h"

#ifndef LIVESHOP_VERSION
#define LIVESHOP_VERSION "unknown"
#endif

#define CTL_DEFAULT_SERVER "http://127.0.0.1:8080/shop/"
#define CTL_OFFER_FILE_MAX (1024 * 1024)             /* far above any offer */
#define CTL_EXPIRES_MAX    (100LL * 365 * 24 * 3600) /* s; keeps ms in range */
#define CTL_SHOWN_MAX      400   /* bytes of server text quoted on stderr */
#define CTL_COUNTDOWN_MAX  86400 /* s, lshop_state_plan_countdown */
#define CTL_TEXT_CHARS     60    /* countdown label, disclosure text */
#define CTL_RETRY_FIRST    1     /* s before events reconnects, doubling */
#define CTL_RETRY_MAX      30    /* s, the longest wait between tries */
#define CTL_EVENT_ID_MAX   64    /* bytes of an SSE id we send back */
#define CTL_UNIX_MAX       253402300799LL /* s: 9999-12-31T23:59:59Z */
#define CTL_MSG_ID_BYTES   8  /* random bytes of a default webhook-id */
#define CTL_TABLE_WIDTH    80 /* columns of the report when not a terminal */
#define CTL_TITLE_MIN      12 /* columns of its titles however narrow */

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
	OPT_LABEL,
	OPT_OFFER,
	OPT_TEXT,
	OPT_AFTER,
	OPT_ONCE,
	OPT_PROVIDER,
	OPT_ID,
	OPT_TIMESTAMP,
	OPT_HEADER, /* repeatable: each value goes to ctl->headers */
	OPT_NOW,
	OPT_JSON,
	OPT_CSV,
	OPT_SHOW,
	OPT_RECORDING,
	OPT_OUT,
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
    [OPT_LABEL] = {.name = "label", .takes_value = 1},
    [OPT_OFFER] = {.name = "offer", .takes_value = 1},
    [OPT_TEXT] = {.name = "text", .takes_value = 1},
    [OPT_AFTER] = {.name = "after", .takes_value = 1},
    [OPT_ONCE] = {.name = "once"},
    [OPT_PROVIDER] = {.name = "provider", .takes_value = 1},
    [OPT_ID] = {.name = "id", .takes_value = 1},
    [OPT_TIMESTAMP] = {.name = "timestamp", .takes_value = 1},
    [OPT_HEADER] = {.name = "header", .takes_value = 1},
    [OPT_NOW] = {.name = "now", .takes_value = 1},
    [OPT_JSON] = {.name = "json"},
    [OPT_CSV] = {.name = "csv"},
    [OPT_SHOW] = {.name = "show", .takes_value = 1},
    [OPT_RECORDING] = {.name = "recording", .takes_value = 1},
    [OPT_OUT] = {.name = "out", .takes_value = 1},
};

struct ctl_command;

struct ctl {
	const char *opt[OPT_COUNT]; /* as given; "" for a flag; NULL if not */
	const char *server;
	const char *server_from; /* where server came from, for messages */
	const char *token;
	const char *secret;
	const char **headers; /* the --header values, in order */
	int nheaders;
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
static int cmd_countdown(struct ctl *ctl, char **args);
static int cmd_disclosure_show(struct ctl *ctl, char **args);
static int cmd_disclosure_hide(struct ctl *ctl, char **args);
static int cmd_countdown_stop(struct ctl *ctl, char **args);
static int cmd_state(struct ctl *ctl, char **args);
static int cmd_report(struct ctl *ctl, char **args);
static int cmd_clips(struct ctl *ctl, char **args);
static int cmd_events(struct ctl *ctl, char **args);
static int cmd_webhook_sign(struct ctl *ctl, char **args);
static int cmd_webhook_verify(struct ctl *ctl, char **args);

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
	/* before "countdown": the first match of the table wins */
	.name = "countdown stop",
	.args = {"STREAM"},
	.usage = "STREAM [--at RFC3339]",
	.summary = "stop the running countdown before it runs out (its\n"
		   "offer stays pinned)",
	.options = OPT_BIT(OPT_AT),
	.run = cmd_countdown_stop,
    },
    {
	.name = "countdown",
	.args = {"STREAM", "SECONDS"},
	.usage = "STREAM SECONDS [--label TEXT] [--offer ID] [--at RFC3339]",
	.summary = "start a countdown of SECONDS (1-86400) with a label of\n"
		   "up to 60 characters, for the offer ID if given",
	.options = OPT_BIT(OPT_LABEL) | OPT_BIT(OPT_OFFER) | OPT_BIT(OPT_AT),
	.run = cmd_countdown,
    },
    {
	.name = "disclosure show",
	.args = {"STREAM", "KIND"},
	.usage = "STREAM KIND [--text TEXT] [--at RFC3339]",
	.summary = "show a disclosure: KIND is ad, sponsored, affiliate,\n"
		   "gifted or own; TEXT (1-60 characters) replaces the\n"
		   "server's default label, e.g. \"Anzeige\"",
	.options = OPT_BIT(OPT_TEXT) | OPT_BIT(OPT_AT),
	.run = cmd_disclosure_show,
    },
    {
	.name = "disclosure hide",
	.args = {"STREAM"},
	.usage = "STREAM",
	.summary = "hide the disclosure; refused while the pinned offer\n"
		   "needs it",
	.run = cmd_disclosure_hide,
    },
    {
	.name = "state",
	.args = {"STREAM"},
	.usage = "STREAM",
	.summary = "show what is live now (needs no token)",
	.run = cmd_state,
    },
    {
	.name = "report",
	.args = {"STREAM"},
	.usage = "STREAM [--show ID] [--json | --csv]",
	.summary = "show per offer pins, time pinned, orders, units and\n"
		   "revenue, with totals, and the disclosure coverage of\n"
		   "sponsored pins, as a table; --json prints the\n"
		   "server's JSON, --csv its CSV (report.csv), as received",
	.options = OPT_BIT(OPT_JSON) | OPT_BIT(OPT_CSV) | OPT_BIT(OPT_SHOW),
	.run = cmd_report,
    },
    {
	.name = "clips",
	.args = {"STREAM", "SHOW"},
	.usage = "STREAM SHOW --recording FILE --out DIR",
	.summary = "cut one MP4 per pin of show SHOW from its recording\n"
		   "FILE (which starts at the show's start) into\n"
		   "DIR/NN-OFFERID.mp4 with ffmpeg (env LIVESHOP_FFMPEG,\n"
		   "default ffmpeg in PATH), timed by the show's\n"
		   "chapters.vtt (needs no token); each clip starts on the\n"
		   "keyframe at or before its pin (stream copy) and ends\n"
		   "with it; DIR/index.json lists them; exit 1 also when\n"
		   "ffmpeg is missing or fails",
	.options = OPT_BIT(OPT_RECORDING) | OPT_BIT(OPT_OUT),
	.run = cmd_clips,
    },
    {
	.name = "events",
	.args = {"STREAM"},
	.usage = "STREAM [--after SEQ] [--once]",
	.summary = "print the state, then each event as it happens, one\n"
		   "JSON a line (needs no token); reconnects by itself\n"
		   "without missing an event; --after SEQ starts after\n"
		   "event SEQ instead of the state; --once stops after\n"
		   "the first event; Ctrl-C ends it",
	.options = OPT_BIT(OPT_AFTER) | OPT_BIT(OPT_ONCE),
	.run = cmd_events,
    },
    {
	.name = "webhook sign",
	.args = {"FILE"},
	.usage = "--provider P [--secret S] [--id ID] [--timestamp TS] FILE",
	.summary = "print the headers shop P (standard, shopify,\n"
		   "woocommerce, stripe) sends with the body in FILE ('-':\n"
		   "stdin), signed with the webhook secret; ID defaults to\n"
		   "msg_ + 16 random hex digits, TS (Unix s) to now",
	.options =
	    OPT_BIT(OPT_PROVIDER) | OPT_BIT(OPT_ID) | OPT_BIT(OPT_TIMESTAMP),
	.run = cmd_webhook_sign,
    },
    {
	.name = "webhook verify",
	.args = {"FILE"},
	.usage = "--provider P [--secret S] [--header 'NAME: VALUE']... "
		 "[--now TS] FILE",
	.summary = "check a delivery of shop P as the server would at TS\n"
		   "(Unix s, default now): print ok and its delivery id,\n"
		   "then the order it counts or why it is ignored; exit 1\n"
		   "with the reason when the signature is refused",
	.options =
	    OPT_BIT(OPT_PROVIDER) | OPT_BIT(OPT_HEADER) | OPT_BIT(OPT_NOW),
	.run = cmd_webhook_verify,
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
    "                (env LIVESHOP_SECRET); for webhook, the\n"
    "                live_shop_webhook secret (env\n"
    "                LIVESHOP_WEBHOOK_SECRET)\n"
    "  -q, --quiet   print nothing on success but a minted token\n"
    "                (or, for events, the events)\n"
    "\n"
    "Prefer the environment for tokens and secrets: other users on the\n"
    "host can see command lines.\n"
    "\n"
    "Exit status: 0 done; 1 the server said no (webhook verify: the\n"
    "server would refuse it); 2 usage error or invalid input, nothing\n"
    "sent; 3 server unreachable or timed out. events\n"
    "waits for an unreachable server instead (1 s, doubling up to 30 s)\n"
    "and exits 0 on Ctrl-C or SIGTERM.\n";

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
	int exact = 0;

	for (i = 0; name && i < CTL_COMMANDS; i++)
		exact |= strcmp(ctl_commands[i].name, name) == 0;

	/* name "offer" selects both "offer put" and "offer list", but
	 * "countdown" only itself, not "countdown stop" */
	for (i = 0; i < CTL_COMMANDS; i++) {
		const struct ctl_command *c = &ctl_commands[i];

		if (name && strncmp(c->name, name, len) != 0)
			continue;
		if (exact && c->name[len] != '\0')
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

static int check_server(const struct ctl *ctl)
{
	if (strncasecmp(ctl->server, "http://", 7) != 0 &&
	    strncasecmp(ctl->server, "https://", 8) != 0)
		return usage_error(ctl->cmd->name,
				   "%s must be an http:// or https:// URL, "
				   "e.g. " CTL_DEFAULT_SERVER,
				   ctl->server_from);
	return 0;
}

/*
 * Sends one call and says on stderr why it failed, if it did. On
 * CTL_EXIT_OK resp holds the 2xx answer, for the caller to free with
 * ctl_response_free; on anything else it is freed already.
 */
static int request(const struct ctl *ctl, const char *method,
		   const char *stream, const char *tail, const char *body,
		   size_t body_len, int with_token, ctl_response *resp)
{
	char where[LSHOP_URL_MAX + 256], message[CTL_SHOWN_MAX];
	ctl_api_result r;
	char *url;
	int rc;

	rc = check_server(ctl);
	if (rc)
		return rc;
	url = api_url(ctl, stream, tail);
	if (!url)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	shown_url(url, where, sizeof(where));

	r = ctl_api_call(method, url, with_token ? ctl->token : NULL, body,
			 body_len, resp);
	switch (r) {
	case CTL_API_ANSWERED:
		if (resp->status >= 200 && resp->status < 300) {
			free(url);
			return CTL_EXIT_OK;
		}
		server_message(resp, message, sizeof(message));
		rc = fail(CTL_EXIT_REFUSED, "%s %s: HTTP %ld: %s", method,
			  where, resp->status, message);
		break;
	case CTL_API_UNREACHABLE:
		rc = fail(CTL_EXIT_UNREACHABLE, "cannot reach %s: %s", where,
			  resp->error);
		break;
	case CTL_API_TOO_LARGE:
		rc =
		    fail(CTL_EXIT_REFUSED,
			 "%s %s: HTTP %ld: answer longer than %d MiB", method,
			 where, resp->status, CTL_RESPONSE_MAX / (1024 * 1024));
		break;
	default:
		rc = fail(CTL_EXIT_REFUSED, "%s %s: out of memory", method,
			  where);
		break;
	}
	ctl_response_free(resp);
	free(url);
	return rc;
}

/* One call; its answer goes to stdout as received. */
static int call(const struct ctl *ctl, const char *method, const char *stream,
		const char *tail, const char *body, size_t body_len,
		int with_token)
{
	ctl_response resp;
	int rc;

	rc = request(ctl, method, stream, tail, body, body_len, with_token,
		     &resp);
	if (rc)
		return rc;
	if (!ctl->quiet && resp.body_len > 0) {
		fwrite(resp.body, 1, resp.body_len, stdout);
		if (resp.body[resp.body_len - 1] != '\n')
			fputc('\n', stdout);
	}
	ctl_response_free(&resp);
	return CTL_EXIT_OK;
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

/* FILE ('-': stdin), at most CTL_OFFER_FILE_MAX bytes, NUL-terminated. */
static int read_input(const char *path, const char *name, const char *what,
		      char **json, size_t *len)
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
		rc = fail(CTL_EXIT_USAGE, "%s: longer than %d KiB; not %s",
			  name, CTL_OFFER_FILE_MAX / 1024, what);
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
	rc = read_input(path, name, "an offer", &json, &len);
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

/*
 * A call on STREAM with no body: the stream checked and, for a control
 * call, the token asked for before anything is sent.
 */
static int call_stream(struct ctl *ctl, const char *stream, const char *method,
		       const char *tail, int control)
{
	int rc = check_stream(ctl, stream);

	if (!rc && control)
		rc = need_token(ctl);
	if (!rc)
		rc = call(ctl, method, stream, tail, NULL, 0, control);
	return rc;
}

static int cmd_offer_list(struct ctl *ctl, char **args)
{
	return call_stream(ctl, args[0], "GET", "offers", 1);
}

/* --at as the server wants it: RFC 3339 in UTC with milliseconds. */
static int parse_at(const struct ctl *ctl, char at[LSHOP_TIME_LEN])
{
	const char *arg = ctl->opt[OPT_AT];
	int64_t ms;

	if (lshop_time_parse(arg, strlen(arg), &ms) < 0)
		return usage_error(ctl->cmd->name,
				   "--at needs an RFC 3339 time, e.g. "
				   "2026-11-24T10:00:00.123Z");
	lshop_time_format(at, ms);
	return 0;
}

/* 1 if s is valid UTF-8 of min..CTL_TEXT_CHARS characters. */
static int text_valid(const char *s, long min)
{
	long chars = lshop_utf8_chars(s, strlen(s));

	return chars >= min && chars <= CTL_TEXT_CHARS;
}

/* Sends body by method (taken over; NULL when building it ran out of
 * memory). */
static int send_json(const struct ctl *ctl, const char *method,
		     const char *stream, const char *tail, json_t *body)
{
	char *json = body ? json_dumps(body, JSON_COMPACT) : NULL;
	int rc;

	json_decref(body);
	if (!json)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	rc = call(ctl, method, stream, tail, json, strlen(json), 1);
	free(json);
	return rc;
}

/* Sets key to value in obj; on failure drops obj and returns NULL. */
static json_t *with(json_t *obj, const char *key, json_t *value)
{
	if (!obj || json_object_set_new(obj, key, value)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

static int cmd_pin(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *id = args[1];
	char at[LSHOP_TIME_LEN];
	int64_t duration = 0;
	json_t *body;
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
	if (ctl->opt[OPT_AT] && (rc = parse_at(ctl, at)) != 0)
		return rc;
	rc = need_token(ctl);
	if (rc)
		return rc;

	body = with(json_object(), "offer", json_string(id));
	if (duration > 0)
		body = with(body, "duration", json_integer(duration));
	if (ctl->opt[OPT_AT])
		body = with(body, "at", json_string(at));
	return send_json(ctl, "POST", stream, "pin", body);
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

static int cmd_countdown(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *label = ctl->opt[OPT_LABEL];
	const char *offer = ctl->opt[OPT_OFFER];
	char at[LSHOP_TIME_LEN];
	int64_t seconds;
	json_t *body;
	int rc;

	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	if (parse_seconds(args[1], CTL_COUNTDOWN_MAX, &seconds) < 0 ||
	    seconds < 1)
		return usage_error(ctl->cmd->name,
				   "SECONDS must be whole seconds, 1-%d",
				   CTL_COUNTDOWN_MAX);
	if (label && !text_valid(label, 0))
		return usage_error(ctl->cmd->name,
				   "--label must be valid UTF-8 of at most %d "
				   "characters",
				   CTL_TEXT_CHARS);
	if (offer && (rc = check_offer_id(ctl, offer)) != 0)
		return rc;
	if (ctl->opt[OPT_AT] && (rc = parse_at(ctl, at)) != 0)
		return rc;
	rc = need_token(ctl);
	if (rc)
		return rc;

	body = with(json_object(), "seconds", json_integer(seconds));
	if (label)
		body = with(body, "label", json_string(label));
	if (offer)
		body = with(body, "offer", json_string(offer));
	if (ctl->opt[OPT_AT])
		body = with(body, "at", json_string(at));
	return send_json(ctl, "POST", stream, "countdown", body);
}

static int cmd_countdown_stop(struct ctl *ctl, char **args)
{
	const char *stream = args[0];
	char at[LSHOP_TIME_LEN];
	int rc;

	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	if (!ctl->opt[OPT_AT])
		return call_stream(ctl, stream, "DELETE", "countdown", 1);
	if ((rc = parse_at(ctl, at)) != 0 || (rc = need_token(ctl)) != 0)
		return rc;
	/* a 409 not_running is the server saying no: exit 1 */
	return send_json(ctl, "DELETE", stream, "countdown",
			 with(json_object(), "at", json_string(at)));
}

static int cmd_disclosure_show(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *kind = args[1],
		   *text = ctl->opt[OPT_TEXT];
	char at[LSHOP_TIME_LEN], shown[64];
	json_t *body;
	int rc;

	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	if (!lshop_disclosure_kind_valid(kind, strlen(kind))) {
		printable(kind, strlen(kind), shown, sizeof(shown));
		return usage_error(ctl->cmd->name,
				   "invalid disclosure kind '%s': expected ad, "
				   "sponsored, affiliate, gifted or own",
				   shown);
	}
	/* no --text: the server picks the kind's label in its language */
	if (text && !text_valid(text, 1))
		return usage_error(ctl->cmd->name,
				   "--text must be valid UTF-8 of 1-%d "
				   "characters",
				   CTL_TEXT_CHARS);
	if (ctl->opt[OPT_AT] && (rc = parse_at(ctl, at)) != 0)
		return rc;
	rc = need_token(ctl);
	if (rc)
		return rc;

	body = with(json_object(), "kind", json_string(kind));
	if (text)
		body = with(body, "text", json_string(text));
	if (ctl->opt[OPT_AT])
		body = with(body, "at", json_string(at));
	return send_json(ctl, "POST", stream, "disclosure", body);
}

static int cmd_disclosure_hide(struct ctl *ctl, char **args)
{
	/* a 409 disclosure_required is the server saying no: exit 1 */
	return call_stream(ctl, args[0], "DELETE", "disclosure", 1);
}

/*
 * report: the server's JSON (SPEC §5) as a table for people, at most 80
 * columns wide (or the terminal's width) where the ids allow. The numbers
 * are the server's, only their layout is the tool's; its text goes
 * through printable() first, as any text from a server does.
 */

enum report_col {
	COL_OFFER,
	COL_TITLE,
	COL_PINS,
	COL_PINNED,
	COL_ORDERS,
	COL_UNITS,
	COL_OVERSOLD,
	COL_REVENUE,
	COLS
};

static const char *const report_heads[COLS] = {"OFFER",    "TITLE",  "PINS",
					       "PINNED",   "ORDERS", "UNITS",
					       "OVERSOLD", "REVENUE"};

/* A cell holds a number, an id or a title (120 characters, 4 bytes each
 * at most), after printable(). */
#define CTL_CELL 512

struct report_row {
	char cell[COLS][CTL_CELL];
};

/* A revenue total of one currency. */
struct revenue_sum {
	char currency[4];
	char sum[96]; /* exact decimal; "" when it overflowed */
};

/* The columns a character takes on a terminal: wcwidth under a UTF-8
 * locale, 1 if there is none; '?' stands in for what has no width. */
static int char_width(const char *s, size_t *used)
{
	mbstate_t ps;
	wchar_t wc;
	size_t n;
	int w;

	memset(&ps, 0, sizeof(ps));
	n = mbrtowc(&wc, s, strlen(s), &ps);
	if (n == 0 || n > 4) { /* not UTF-8 as this locale reads it */
		for (n = 1; (s[n] & 0xc0) == 0x80; n++)
			;
		*used = n;
		return 1;
	}
	*used = n;
	w = wcwidth(wc);
	return w < 0 ? -1 : w;
}

/*
 * Copies s into out, cut to at most width columns with "…" marking the
 * cut, never inside a character; returns the columns used. A character
 * without a width (C1 controls) becomes '?'.
 */
static int text_fit(const char *s, int width, char *out, size_t cap)
{
	size_t i = 0, n = 0, used, keep = 0;
	int w, cols = 0, keep_cols = 0;

	while (s[i]) {
		w = char_width(s + i, &used);
		if (cols + (w < 0 ? 1 : w) > width || n + used + 4 > cap) {
			/* back to where "…" fits */
			memcpy(out + keep, "\xe2\x80\xa6", 3);
			out[keep + 3] = '\0';
			return keep_cols + 1;
		}
		if (w < 0) {
			out[n++] = '?';
			w = 1;
		} else {
			memcpy(out + n, s + i, used);
			n += used;
		}
		i += used;
		cols += w;
		if (cols <= width - 1) {
			keep = n;
			keep_cols = cols;
		}
	}
	out[n] = '\0';
	return cols;
}

static int text_width(const char *s)
{
	char out[CTL_CELL];

	return text_fit(s, CTL_CELL, out, sizeof(out));
}

/* A duration as the player shows countdowns: m:ss, h:mm:ss from an hour. */
static void format_duration(char *out, size_t cap, int64_t ms)
{
	int64_t s = (ms + 500) / 1000;

	if (s >= 3600)
		snprintf(out, cap, "%" PRId64 ":%02d:%02d", s / 3600,
			 (int)(s / 60 % 60), (int)(s % 60));
	else
		snprintf(out, cap, "%d:%02d", (int)(s / 60), (int)(s % 60));
}

/* 1 if s is a decimal the report can sum: 1-60 digits, a fraction of
 * 1-20. */
static int decimal_valid(const char *s)
{
	size_t i = strspn(s, "0123456789"), f;

	if (i == 0 || i > 60)
		return 0;
	if (s[i] == '\0')
		return 1;
	f = strspn(s + i + 1, "0123456789");
	return s[i] == '.' && f > 0 && f <= 20 && s[i + 1 + f] == '\0';
}

/* The digits of decimal s as a whole number of 10^-f (f at least its
 * decimals), into out (room for strlen(s) + f bytes); their count. */
static size_t decimal_scaled(const char *s, size_t f, char *out)
{
	const char *dot = strchr(s, '.');
	size_t n = 0, decimals = dot ? strlen(dot + 1) : 0;

	for (; *s; s++)
		if (*s != '.')
			out[n++] = *s;
	for (; decimals < f; decimals++)
		out[n++] = '0';
	return n;
}

/* sum += v, exactly, both valid decimals; "" once sum would not fit. */
static void decimal_add(char *sum, size_t cap, const char *v)
{
	const char *sd = strchr(sum, '.'), *vd = strchr(v, '.');
	size_t sf = sd ? strlen(sd + 1) : 0, vf = vd ? strlen(vd + 1) : 0;
	size_t f = sf > vf ? sf : vf, si, vi, n, i;
	char a[128], b[128], out[130];
	int carry = 0, d;

	/* sum: at most cap - 1 < 96 bytes, v 81 (decimal_valid), f 20 */
	if (sum[0] == '\0')
		return;
	si = decimal_scaled(sum, f, a);
	vi = decimal_scaled(v, f, b);
	n = (si > vi ? si : vi) + 1;
	if (n + 2 > sizeof(out) || n + 2 > cap) {
		sum[0] = '\0';
		return;
	}
	out[n] = '\0';
	for (i = 0; i < n; i++) {
		d = carry + (i < si ? a[si - 1 - i] - '0' : 0) +
		    (i < vi ? b[vi - 1 - i] - '0' : 0);
		out[n - 1 - i] = (char)('0' + d % 10);
		carry = d / 10;
	}
	/* leading zeros off, down to one before the point */
	for (i = 0; i + 1 + f < n && out[i] == '0'; i++)
		;
	/* n + 2 <= cap: the digits, the point and the NUL fit */
	memcpy(sum, out + i, n - f - i);
	if (f > 0) {
		sum[n - f - i] = '.';
		memcpy(sum + n - f - i + 1, out + n - f, f + 1);
	} else {
		sum[n - i] = '\0';
	}
}

/* An integer field as a cell ("?" if it is none); adds it to *total. */
static void int_cell(char *cell, const json_t *o, const char *key,
		     int64_t *total, int *unknown)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		snprintf(cell, CTL_CELL, "?");
		*unknown = 1;
		return;
	}
	snprintf(cell, CTL_CELL, "%" JSON_INTEGER_FORMAT,
		 json_integer_value(v));
	if (*total <= INT64_MAX - json_integer_value(v))
		*total += json_integer_value(v);
	else
		*unknown = 1;
}

/* ms from a seconds field (a number >= 0); -1 if it is none. */
static int64_t seconds_ms(const json_t *v)
{
	double s = json_number_value(v);

	if (!json_is_number(v) || !(s >= 0) || s > 9e12)
		return -1;
	return (int64_t)(s * 1000.0 + 0.5);
}

/* The currency of o: 3 letters A-Z, else NULL. */
static const char *currency_of(const json_t *o)
{
	const char *c = json_string_value(json_object_get(o, "currency"));

	if (c == NULL || strlen(c) != 3 ||
	    strspn(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3)
		return NULL;
	return c;
}

/* The width the table may take: the terminal's, else 80. */
static int table_width(void)
{
	struct winsize ws;

	if (isatty(STDOUT_FILENO) &&
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return CTL_TABLE_WIDTH;
}

static void print_cell(const char *text, int width, int right, int last)
{
	char out[CTL_CELL];
	int w = text_fit(text, width, out, sizeof(out));

	if (right)
		printf("%*s%s", width - w, "", out);
	else if (last)
		fputs(out, stdout);
	else
		printf("%s%*s", out, width - w, "");
	if (!last)
		fputs("  ", stdout);
}

static void print_row(char cell[COLS][CTL_CELL], const int width[COLS],
		      const int shown[COLS])
{
	int c, last = COLS - 1;

	while (!shown[last])
		last--;
	for (c = 0; c < COLS; c++)
		if (shown[c])
			print_cell(cell[c], width[c],
				   c != COL_OFFER && c != COL_TITLE, c == last);
	fputc('\n', stdout);
}

/* Coverage as a share of 100, never rounded up to 100 %: the law asks
 * for all of the time, and 99.96 % is not all. */
static void print_disclosure(const json_t *d)
{
	int64_t sponsored = seconds_ms(json_object_get(d, "sponsored_seconds"));
	int64_t disclosed = seconds_ms(json_object_get(d, "disclosed_seconds"));
	json_t *pins = json_object_get(d, "sponsored_pins");
	json_t *cov = json_object_get(d, "coverage");
	double c = json_number_value(cov);
	char shown[24], total[24];

	if (!json_is_integer(pins) || !json_is_number(cov) || sponsored < 0 ||
	    disclosed < 0)
		return;
	if (json_integer_value(pins) == 0) {
		puts("Sponsored pins:   none, so no disclosure was needed");
		return;
	}
	format_duration(total, sizeof(total), sponsored);
	format_duration(shown, sizeof(shown), disclosed);
	printf("Sponsored pins:   %" JSON_INTEGER_FORMAT ", pinned %s\n",
	       json_integer_value(pins), total);
	if (c >= 1.0)
		printf("Disclosure shown: %s of it, coverage 100 %%\n", shown);
	else
		printf("Disclosure shown: %s of it, coverage %.1f %%\n", shown,
		       c > 0 ? (double)(int64_t)(c * 1000.0) / 10.0 : 0.0);
}

/* A ratio as a percentage with one decimal, "-" for null. */
static void format_percent(char *out, size_t cap, const json_t *v)
{
	if (!json_is_number(v))
		snprintf(out, cap, "-");
	else
		snprintf(out, cap, "%.1f %%", json_number_value(v) * 100.0);
}

/* A money figure of the report: "12.50 EUR", "-" for null. */
static void format_money(char *out, size_t cap, const json_t *v,
			 const char *currency)
{
	char text[CTL_CELL - 16]; /* room for " " and a currency */
	const char *s = json_string_value(v);

	if (s == NULL) {
		snprintf(out, cap, "-");
		return;
	}
	printable(s, strlen(s), text, sizeof(text));
	snprintf(out, cap, "%s%s%s", text, currency ? " " : "",
		 currency ? currency : "");
}

/*
 * The audience and sales figures of one show (SPEC §14, docs/kpis.md):
 * a block of lines for people.
 */
static void print_show(const json_t *show)
{
	char id[CTL_CELL], title[CTL_CELL], from[CTL_CELL], to[CTL_CELL];
	char watched[24], ctr[24], conv[24], gmv[CTL_CELL], aov[CTL_CELL];
	char per1000[CTL_CELL], cur[8] = "";
	const char *s;

	s = json_string_value(json_object_get(show, "id"));
	printable(s ? s : "?", s ? strlen(s) : 1, id, sizeof(id));
	s = json_string_value(json_object_get(show, "title"));
	printable(s ? s : "", s ? strlen(s) : 0, title, sizeof(title));
	s = json_string_value(json_object_get(show, "started_at"));
	printable(s ? s : "?", s ? strlen(s) : 1, from, sizeof(from));
	s = json_string_value(json_object_get(show, "ended_at"));
	printable(s ? s : "on air", s ? strlen(s) : 6, to, sizeof(to));
	s = json_string_value(json_object_get(show, "currency"));
	if (s)
		printable(s, strlen(s), cur, sizeof(cur));
	format_duration(watched, sizeof(watched),
			seconds_ms(json_object_get(show, "watch_seconds")));
	format_percent(ctr, sizeof(ctr), json_object_get(show, "ctr"));
	format_percent(conv, sizeof(conv), json_object_get(show, "conversion"));
	format_money(gmv, sizeof(gmv), json_object_get(show, "gmv"),
		     cur[0] ? cur : NULL);
	format_money(aov, sizeof(aov), json_object_get(show, "aov"),
		     cur[0] ? cur : NULL);
	format_money(per1000, sizeof(per1000),
		     json_object_get(show, "gmv_per_1000_viewers"),
		     cur[0] ? cur : NULL);

	printf("Show %s \"%s\": %s to %s\n", id, title, from, to);
	printf("Viewers:     %" JSON_INTEGER_FORMAT " unique, %"
	       JSON_INTEGER_FORMAT " at most, watched %s\n",
	       json_integer_value(json_object_get(show, "viewers_unique")),
	       json_integer_value(json_object_get(show, "viewers_peak")),
	       watched);
	printf("Beacons:     %" JSON_INTEGER_FORMAT " impressions, %"
	       JSON_INTEGER_FORMAT " clicks, CTR %s\n",
	       json_integer_value(json_object_get(show, "impressions")),
	       json_integer_value(json_object_get(show, "clicks")), ctr);
	printf("Sales:       %" JSON_INTEGER_FORMAT " orders, %"
	       JSON_INTEGER_FORMAT " units, GMV %s, AOV %s\n",
	       json_integer_value(json_object_get(show, "orders")),
	       json_integer_value(json_object_get(show, "units")), gmv, aov);
	printf("Conversion:  %s, GMV per 1,000 viewers %s\n\n", conv, per1000);
}

/* The last shows of the stream, one line each (the series' trend). */
static void print_shows(const json_t *shows)
{
	char id[CTL_CELL], from[CTL_CELL], gmv[CTL_CELL], conv[24], cur[8];
	const json_t *show;
	const char *s;
	size_t i;

	if (!json_is_array(shows) || json_array_size(shows) == 0)
		return;
	printf("\n%-24s %-24s %8s %7s %16s %10s\n", "SHOW", "STARTED",
	       "VIEWERS", "ORDERS", "GMV", "CONVERSION");
	json_array_foreach(shows, i, show)
	{
		s = json_string_value(json_object_get(show, "id"));
		printable(s ? s : "?", s ? strlen(s) : 1, id, sizeof(id));
		s = json_string_value(json_object_get(show, "started_at"));
		printable(s ? s : "?", s ? strlen(s) : 1, from, sizeof(from));
		s = json_string_value(json_object_get(show, "currency"));
		printable(s ? s : "", s ? strlen(s) : 0, cur, sizeof(cur));
		format_money(gmv, sizeof(gmv), json_object_get(show, "gmv"),
			     cur[0] ? cur : NULL);
		format_percent(conv, sizeof(conv),
			       json_object_get(show, "conversion"));
		printf("%-24.24s %-24.24s %8" JSON_INTEGER_FORMAT
		       " %7" JSON_INTEGER_FORMAT " %16s %10s\n",
		       id, from,
		       json_integer_value(
			   json_object_get(show, "viewers_unique")),
		       json_integer_value(json_object_get(show, "orders")), gmv,
		       conv);
	}
}

/*
 * Prints the report in json as a table; 0, or -1 when json is no report
 * (nothing printed then).
 */
static int print_report(const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, 0, NULL), *offers, *o;
	const char *s, *cur;
	struct report_row *rows = NULL;
	struct revenue_sum *sums = NULL;
	char total[COLS][CTL_CELL], text[CTL_CELL], when[CTL_CELL];
	int width[COLS], shown[COLS], unknown[COLS] = {0};
	int64_t sum[COLS] = {0}, ms, pinned_ms = 0;
	size_t i, n, nsums = 0, k;
	int c, used, rest, title_max = 0, revenue_unknown = 0, rc = -1;

	offers = json_object_get(root, "offers");
	if (!json_is_object(root) || !json_is_array(offers))
		goto done;
	n = json_array_size(offers);
	rows = calloc(n ? n : 1, sizeof(*rows));
	sums = calloc(n ? n : 1, sizeof(*sums));
	if (!rows || !sums)
		goto done;

	s = json_string_value(json_object_get(root, "stream"));
	printable(s ? s : "?", s ? strlen(s) : 1, text, sizeof(text));
	s = json_string_value(json_object_get(root, "at"));
	printable(s ? s : "", s ? strlen(s) : 0, when, sizeof(when));
	printf("Report of %s%s%s\n\n", text, when[0] ? " at " : "", when);
	if (json_is_object(json_object_get(root, "show")))
		print_show(json_object_get(root, "show"));

	json_array_foreach(offers, i, o)
	{
		char(*cell)[CTL_CELL] = rows[i].cell;

		s = json_string_value(json_object_get(o, "offer_id"));
		printable(s ? s : "?", s ? strlen(s) : 1, cell[COL_OFFER],
			  CTL_CELL);
		s = json_string_value(json_object_get(o, "title"));
		if (s)
			printable(s, strlen(s), cell[COL_TITLE], CTL_CELL);
		int_cell(cell[COL_PINS], o, "pins", &sum[COL_PINS],
			 &unknown[COL_PINS]);
		ms = seconds_ms(json_object_get(o, "seconds_pinned"));
		if (ms < 0) {
			snprintf(cell[COL_PINNED], CTL_CELL, "?");
			unknown[COL_PINNED] = 1;
		} else {
			format_duration(cell[COL_PINNED], CTL_CELL, ms);
			pinned_ms += ms;
		}
		int_cell(cell[COL_ORDERS], o, "orders", &sum[COL_ORDERS],
			 &unknown[COL_ORDERS]);
		int_cell(cell[COL_UNITS], o, "units", &sum[COL_UNITS],
			 &unknown[COL_UNITS]);
		int_cell(cell[COL_OVERSOLD], o, "oversold", &sum[COL_OVERSOLD],
			 &unknown[COL_OVERSOLD]);

		/* revenue: summed per currency, exactly */
		s = json_string_value(json_object_get(o, "revenue"));
		cur = currency_of(o);
		if (!s || !cur || !decimal_valid(s)) {
			snprintf(cell[COL_REVENUE], CTL_CELL, "?");
			revenue_unknown = 1;
			continue;
		}
		snprintf(cell[COL_REVENUE], CTL_CELL, "%s %s", s, cur);
		for (k = 0; k < nsums && strcmp(sums[k].currency, cur); k++)
			;
		if (k == nsums) {
			memcpy(sums[k].currency, cur, 4);
			snprintf(sums[k].sum, sizeof(sums[k].sum), "0");
			nsums++;
		}
		decimal_add(sums[k].sum, sizeof(sums[k].sum), s);
	}
	rc = 0;
	if (n == 0) {
		puts("No offers yet.");
		goto disclosure;
	}

	/* the totals: per currency on lines of their own */
	memset(total, 0, sizeof(total));
	snprintf(total[COL_OFFER], CTL_CELL, "total");
	for (c = COL_PINS; c <= COL_OVERSOLD; c++)
		if (c != COL_PINNED)
			snprintf(total[c], CTL_CELL,
				 unknown[c] ? "?" : "%" PRId64, sum[c]);
	if (unknown[COL_PINNED])
		snprintf(total[COL_PINNED], CTL_CELL, "?");
	else
		format_duration(total[COL_PINNED], CTL_CELL, pinned_ms);
	for (k = 0; k < nsums; k++)
		if (!sums[k].sum[0])
			revenue_unknown = 1;

	/* columns: as wide as their widest cell; the titles take the rest */
	for (c = 0; c < COLS; c++) {
		width[c] = text_width(report_heads[c]);
		shown[c] = 1;
	}
	for (i = 0; i <= n; i++) {
		char(*cell)[CTL_CELL] = i < n ? rows[i].cell : total;

		for (c = 0; c < COLS; c++) {
			used = text_width(cell[c]);
			if (c == COL_TITLE && used > title_max)
				title_max = used;
			else if (c != COL_TITLE && used > width[c])
				width[c] = used;
		}
	}
	for (k = 0; k < nsums; k++) {
		used = text_width(sums[k].sum) + 4;
		if (revenue_unknown)
			used = 1;
		if (used > width[COL_REVENUE])
			width[COL_REVENUE] = used;
	}
	shown[COL_TITLE] = title_max > 0;
	shown[COL_OVERSOLD] = sum[COL_OVERSOLD] > 0 || unknown[COL_OVERSOLD];
	rest = table_width();
	for (c = 0; c < COLS; c++)
		if (shown[c] && c != COL_TITLE)
			rest -= width[c] + 2;
	width[COL_TITLE] = rest < CTL_TITLE_MIN ? CTL_TITLE_MIN : rest;
	if (width[COL_TITLE] > title_max)
		width[COL_TITLE] = title_max > 5 ? title_max : 5;

	{
		char head[COLS][CTL_CELL];

		for (c = 0; c < COLS; c++)
			snprintf(head[c], CTL_CELL, "%s", report_heads[c]);
		print_row(head, width, shown);
	}
	for (i = 0; i < n; i++)
		print_row(rows[i].cell, width, shown);
	if (revenue_unknown || nsums == 0)
		snprintf(total[COL_REVENUE], CTL_CELL,
			 revenue_unknown ? "?" : "");
	else
		snprintf(total[COL_REVENUE], CTL_CELL, "%s %s", sums[0].sum,
			 sums[0].currency);
	print_row(total, width, shown);
	for (k = 1; k < nsums && !revenue_unknown; k++) {
		memset(total, 0, sizeof(total));
		snprintf(total[COL_REVENUE], CTL_CELL, "%s %s", sums[k].sum,
			 sums[k].currency);
		print_row(total, width, shown);
	}
	if (revenue_unknown)
		puts("?: no one sum (orders in more than one currency, or "
		     "amounts unreadable)");
disclosure:
	fputc('\n', stdout);
	print_disclosure(json_object_get(root, "disclosure"));
	print_shows(json_object_get(root, "shows"));
done:
	free(rows);
	free(sums);
	json_decref(root);
	return rc;
}

static int cmd_report(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *show = ctl->opt[OPT_SHOW];
	char json_path[LSHOP_ID_MAX + 16], csv_path[LSHOP_ID_MAX + 20];
	ctl_response resp;
	locale_t utf8, old = (locale_t)0;
	int rc;

	if (ctl->opt[OPT_JSON] && ctl->opt[OPT_CSV])
		return usage_error(ctl->cmd->name,
				   "--json and --csv: one format at a time");
	if (show && !lshop_id_valid(show, strlen(show)))
		return usage_error(ctl->cmd->name,
				   "--show needs a show id: 1-64 of A-Z a-z "
				   "0-9 . _ -, as GET shows lists them");
	/* SPEC §14: ?show=ID, one show's figures */
	snprintf(json_path, sizeof(json_path), "report%s%s",
		 show ? "?show=" : "", show ? show : "");
	snprintf(csv_path, sizeof(csv_path), "report.csv%s%s",
		 show ? "?show=" : "", show ? show : "");
	if (ctl->opt[OPT_JSON])
		return call_stream(ctl, stream, "GET", json_path, 1);
	if (ctl->opt[OPT_CSV])
		return call_stream(ctl, stream, "GET", csv_path, 1);

	rc = check_stream(ctl, stream);
	if (!rc)
		rc = need_token(ctl);
	if (!rc)
		rc = request(ctl, "GET", stream, json_path, NULL, 0, 1, &resp);
	if (rc)
		return rc;
	if (ctl->quiet) {
		ctl_response_free(&resp);
		return CTL_EXIT_OK;
	}
	/* widths of the titles' characters, whatever the user's locale */
	utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (utf8)
		old = uselocale(utf8);
	if (print_report(resp.body, resp.body_len) < 0)
		rc = fail(CTL_EXIT_REFUSED,
			  "the server's answer is no report (--json prints "
			  "it as it is)");
	if (utf8) {
		uselocale(old);
		freelocale(utf8);
	}
	ctl_response_free(&resp);
	return rc;
}

/* SPEC §16: the show's chapters.vtt, one clip per cue (clips.h) */
static int cmd_clips(struct ctl *ctl, char **args)
{
	const char *stream = args[0], *show = args[1];
	const char *recording = ctl->opt[OPT_RECORDING];
	char path[LSHOP_ID_MAX + 32];
	ctl_clips_job job = {.stream = stream, .show = show};
	lshop_vtt *chapters;
	lshop_error err;
	ctl_response resp;
	struct stat st;
	int rc;

	if (!recording || !recording[0])
		return usage_error(ctl->cmd->name,
				   "--recording FILE: the show's recording is "
				   "needed");
	if (!ctl->opt[OPT_OUT] || !ctl->opt[OPT_OUT][0])
		return usage_error(ctl->cmd->name,
				   "--out DIR: where the clips go is needed");
	if (!lshop_id_valid(show, strlen(show)))
		return usage_error(ctl->cmd->name,
				   "invalid show id: expected 1-64 of A-Z a-z "
				   "0-9 . _ -, as GET shows lists them");
	if (stat(recording, &st) != 0 || access(recording, R_OK) != 0)
		return fail(CTL_EXIT_USAGE,
			    "clips: cannot read the recording %s: %s",
			    recording, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(CTL_EXIT_USAGE,
			    "clips: the recording %s is not a file", recording);
	rc = check_stream(ctl, stream);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "shows/%s/chapters.vtt", show);
	rc = request(ctl, "GET", stream, path, NULL, 0, 0, &resp);
	if (rc)
		return rc;
	chapters = lshop_vtt_parse_chapters(resp.body, resp.body_len, &err);
	ctl_response_free(&resp);
	if (chapters == NULL)
		return fail(CTL_EXIT_REFUSED,
			    "clips: the server's chapters.vtt of %s: %s", show,
			    err.message);
	job.recording = recording;
	job.out_dir = ctl->opt[OPT_OUT];
	job.ffmpeg = env("LIVESHOP_FFMPEG") ? env("LIVESHOP_FFMPEG") : "ffmpeg";
	job.quiet = ctl->quiet;
	fflush(stdout); /* before ffmpeg's children share it */
	rc = ctl_clips_cut(&job, chapters) == 0 ? CTL_EXIT_OK
						: CTL_EXIT_REFUSED;
	lshop_vtt_free(chapters);
	return rc;
}

static int cmd_state(struct ctl *ctl, char **args)
{
	/* state is public (SPEC §5): a token would only be exposed */
	return call_stream(ctl, args[0], "GET", "state", 0);
}

/*
 * events: tails the event stream (SPEC §8). Each message's data goes to
 * stdout as one line the moment it arrives. The id of the last event
 * seen goes back as Last-Event-ID on every reconnect, so the server sends
 * exactly the events missed meanwhile; an event at or below it that comes
 * anyway is dropped, so none is printed twice.
 */

static volatile sig_atomic_t ctl_signalled;

static void on_signal(int sig)
{
	(void)sig;
	ctl_signalled = 1;
}

struct tail {
	lshop_sse *sse;
	char last_id[CTL_EVENT_ID_MAX + 1]; /* "" until one is known */
	int have_seq;                       /* last_id is a number: */
	uint64_t last_seq;
	int once;     /* --once: stop after the first event */
	int done;     /* --once and it came */
	int got_data; /* the connection brought something */
	int write_errno;
	int broken;            /* the stream broke the parser's limits: */
	lshop_error sse_error; /* why */
};

/* An event seq: 1-20 digits, no sign, no space. */
static int parse_seq(const char *s, uint64_t *out)
{
	unsigned long long v;
	size_t len = strlen(s);
	char *end;

	if (len == 0 || len > 20 || strspn(s, "0123456789") != len)
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* An id goes back in a header: 1-64 visible ASCII characters. */
static int id_usable(const char *id)
{
	size_t i, len = strlen(id);

	if (len == 0 || len > CTL_EVENT_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (id[i] <= ' ' || id[i] > '~')
			return 0;
	}
	return 1;
}

/* Remembers id (a seq if numbered) unless it would go backwards. */
static void remember(struct tail *t, const char *id)
{
	uint64_t seq;

	if (parse_seq(id, &seq) == 0) {
		if (t->have_seq && seq <= t->last_seq)
			return;
		t->have_seq = 1;
		t->last_seq = seq;
	} else {
		t->have_seq = 0;
	}
	snprintf(t->last_id, sizeof(t->last_id), "%s", id);
}

/* A state without an id still says where it stands: its "seq". */
static void remember_state(struct tail *t, const char *data, size_t len)
{
	json_t *root = json_loadb(data, len, 0, NULL);
	json_t *seq = json_object_get(root, "seq");
	char id[24];

	if (json_is_integer(seq) && json_integer_value(seq) >= 0) {
		snprintf(id, sizeof(id), "%" PRIu64,
			 (uint64_t)json_integer_value(seq));
		remember(t, id);
	}
	json_decref(root);
}

/*
 * Only a message's own id counts: one it inherits from the message
 * before (the standard's last event ID, msg->id) is no seq of its own,
 * as with the unnumbered "audience" message (SPEC §14).
 */
static int on_message(void *ctx, const lshop_sse_message *msg)
{
	struct tail *t = ctx;
	int state = strcmp(msg->event, "state") == 0;
	const char *id = msg->own_id ? msg->id : NULL;
	uint64_t seq;

	if (!state && id && t->have_seq && parse_seq(id, &seq) == 0 &&
	    seq <= t->last_seq)
		return 0; /* printed before */
	if (id && id_usable(id))
		remember(t, id);
	else if (state && !id)
		remember_state(t, msg->data, msg->len);

	fwrite(msg->data, 1, msg->len, stdout);
	fputc('\n', stdout);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		t->write_errno = errno ? errno : EIO;
		return 1;
	}
	if (t->once && !state) {
		t->done = 1;
		return 1;
	}
	return 0;
}

static int on_stream_data(void *ctx, const char *data, size_t len)
{
	struct tail *t = ctx;
	int rc;

	t->got_data = 1;
	rc = lshop_sse_feed(t->sse, data, len, on_message, t, &t->sse_error);
	if (rc < 0)
		t->broken = 1;
	return rc;
}

static int stream_stop(void *ctx)
{
	(void)ctx;
	return ctl_signalled;
}

/* Sleeps, in slices short enough that a signal ends it at once. */
static void pause_seconds(int seconds)
{
	struct timespec slice = {0, 100 * 1000 * 1000};
	int i;

	for (i = 0; i < seconds * 10 && !ctl_signalled; i++)
		nanosleep(&slice, NULL);
}

static int cmd_events(struct ctl *ctl, char **args)
{
	char where[LSHOP_URL_MAX + 256], message[CTL_SHOWN_MAX], type[128];
	const char *after = ctl->opt[OPT_AFTER];
	int rc, wait = CTL_RETRY_FIRST, now;
	ctl_stream_request req = {0};
	struct tail t = {0};
	struct sigaction sa;
	ctl_response resp;
	char *url;

	rc = check_stream(ctl, args[0]);
	if (rc)
		return rc;
	if (after && parse_seq(after, &t.last_seq) < 0)
		return usage_error(ctl->cmd->name,
				   "--after needs the seq of an event, a whole "
				   "number (0: from the first event)");
	rc = check_server(ctl);
	if (rc)
		return rc;
	if (after) {
		t.have_seq = 1;
		snprintf(t.last_id, sizeof(t.last_id), "%" PRIu64, t.last_seq);
	}
	t.once = ctl->opt[OPT_ONCE] != NULL;

	url = api_url(ctl, args[0], "events");
	if (!url)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	shown_url(url, where, sizeof(where));
	t.sse = lshop_sse_new();
	if (!t.sse) {
		free(url);
		return fail(CTL_EXIT_REFUSED, "out of memory");
	}

	/* SA_RESTART keeps stdout writes going; poll and sleeps still wake */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	req.url = url;
	req.on_data = on_stream_data;
	req.stop = stream_stop;
	req.ctx = &t;
	rc = -1;
	while (rc < 0) {
		/* an id that came with no data moves the last event ID too */
		if (id_usable(lshop_sse_last_id(t.sse)))
			remember(&t, lshop_sse_last_id(t.sse));
		req.last_event_id = t.last_id[0] ? t.last_id : NULL;
		lshop_sse_reset(t.sse); /* a message cut off is no message */
		t.got_data = 0;

		switch (ctl_api_stream(&req, &resp, type, sizeof(type))) {
		case CTL_STREAM_CLOSED:
			if (t.got_data) /* it worked: start over at 1 s */
				wait = CTL_RETRY_FIRST;
			snprintf(message, sizeof(message), "%s",
				 resp.error[0] ? resp.error
					       : "the server ended the stream");
			fail(0,
			     "GET %s: connection lost: %s; reconnecting in "
			     "%d s",
			     where, message, wait);
			break;
		case CTL_STREAM_UNREACHABLE:
			fail(0, "cannot reach %s: %s; retrying in %d s", where,
			     resp.error, wait);
			break;
		case CTL_STREAM_ANSWERED:
			server_message(&resp, message, sizeof(message));
			if (resp.status >= 500 || resp.status == 429 ||
			    resp.status == 408) {
				fail(0,
				     "GET %s: HTTP %ld: %s; retrying in %d s",
				     where, resp.status, message, wait);
			} else if (resp.status == 200) {
				printable(type, strlen(type), message,
					  sizeof(message));
				rc = fail(CTL_EXIT_REFUSED,
					  "GET %s: not an event stream "
					  "(Content-Type: %s)",
					  where, message[0] ? message : "none");
			} else {
				rc = fail(CTL_EXIT_REFUSED,
					  "GET %s: HTTP %ld: %s", where,
					  resp.status, message);
			}
			break;
		case CTL_STREAM_STOPPED:
			break; /* why is told below */
		case CTL_STREAM_BAD_URL:
			rc = fail(CTL_EXIT_UNREACHABLE, "cannot reach %s: %s",
				  where, resp.error);
			break;
		default:
			rc = fail(CTL_EXIT_REFUSED, "GET %s: out of memory",
				  where);
			break;
		}
		ctl_response_free(&resp);

		if (ctl_signalled || t.done) {
			rc = CTL_EXIT_OK;
		} else if (t.write_errno) {
			rc =
			    fail(CTL_EXIT_REFUSED, "cannot write to stdout: %s",
				 strerror(t.write_errno));
		} else if (t.broken) {
			rc = fail(CTL_EXIT_REFUSED, "GET %s: %s", where,
				  t.sse_error.message);
		} else if (rc < 0) {
			now = wait;
			wait =
			    wait * 2 > CTL_RETRY_MAX ? CTL_RETRY_MAX : wait * 2;
			pause_seconds(now);
			if (ctl_signalled)
				rc = CTL_EXIT_OK;
		}
	}

	lshop_sse_free(t.sse);
	free(url);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	return rc;
}

/*
 * webhook sign / verify: what a shop sends for a body, and what the
 * server makes of a delivery (SPEC §9), computed by the same core, so an
 * integrator can test an endpoint with curl or see why a delivery is
 * refused. The secret is never printed, nor any message holding it.
 */

struct webhook_args {
	lshop_provider provider;
	const char *secret; /* --secret, else LIVESHOP_WEBHOOK_SECRET */
	const char *name;   /* FILE for messages: "stdin" for '-' */
	char *body;
	size_t len;
};

/* --provider and the secret; 0 or an exit status. */
static int webhook_setup(const struct ctl *ctl, const char *path,
			 struct webhook_args *w)
{
	const char *p = ctl->opt[OPT_PROVIDER];
	lshop_error err;

	if (!p)
		return usage_error(ctl->cmd->name,
				   "missing --provider: standard, shopify, "
				   "woocommerce or stripe");
	if (lshop_provider_parse(p, strlen(p), &w->provider) < 0)
		return usage_error(ctl->cmd->name,
				   "unknown --provider: expected standard, "
				   "shopify, woocommerce or stripe");
	/* an empty --secret means none, also over the env */
	w->secret = ctl->opt[OPT_SECRET] ? ctl->opt[OPT_SECRET]
					 : env("LIVESHOP_WEBHOOK_SECRET");
	if (!w->secret || !w->secret[0])
		return usage_error(ctl->cmd->name,
				   "no secret: pass --secret S or set "
				   "LIVESHOP_WEBHOOK_SECRET to the secret of "
				   "live_shop_webhook");
	if (lshop_webhook_secret_check(w->provider, w->secret,
				       strlen(w->secret), &err) < 0)
		return usage_error(ctl->cmd->name, "%s", err.message);
	w->name = strcmp(path, "-") == 0 ? "stdin" : path;
	w->body = NULL;
	w->len = 0;
	return 0;
}

/* The body: FILE's exact bytes, read once all else is checked. */
static int webhook_body(const char *path, struct webhook_args *w)
{
	return read_input(path, w->name, "a webhook body", &w->body, &w->len);
}

/* Whole Unix seconds for --timestamp and --now; default now. */
static int parse_unix(const struct ctl *ctl, int o, int64_t *out)
{
	if (!ctl->opt[o]) {
		*out = lshop_now_ms() / 1000;
		return 0;
	}
	if (parse_seconds(ctl->opt[o], CTL_UNIX_MAX, out) < 0)
		return usage_error(ctl->cmd->name,
				   "--%s needs a Unix time in whole seconds, "
				   "e.g. %lld",
				   ctl_options[o].name,
				   (long long)(lshop_now_ms() / 1000));
	return 0;
}

static int cmd_webhook_sign(struct ctl *ctl, char **args)
{
	char id[LSHOP_DELIVERY_ID_MAX + 1], *sig = NULL, *msg;
	char out[2 * LSHOP_SHA256_LEN + 1];
	uint8_t raw[CTL_MSG_ID_BYTES], mac[LSHOP_SHA256_LEN];
	struct webhook_args w;
	int64_t ts;
	size_t i, n;
	int rc;

	rc = webhook_setup(ctl, args[0], &w);
	if (rc)
		return rc;
	if (ctl->opt[OPT_ID] && w.provider == LSHOP_PROVIDER_STRIPE)
		rc = usage_error(ctl->cmd->name,
				 "--id is not used by stripe: the delivery "
				 "id is the event's \"id\" in the body");
	else if (ctl->opt[OPT_TIMESTAMP] &&
		 (w.provider == LSHOP_PROVIDER_SHOPIFY ||
		  w.provider == LSHOP_PROVIDER_WOOCOMMERCE))
		rc = usage_error(ctl->cmd->name,
				 "--timestamp is not used by %s: it signs "
				 "the body alone",
				 lshop_provider_name(w.provider));
	else
		rc = parse_unix(ctl, OPT_TIMESTAMP, &ts);
	if (!rc && ctl->opt[OPT_ID]) {
		n = strlen(ctl->opt[OPT_ID]);
		for (i = 0; i < n && ctl->opt[OPT_ID][i] > ' ' &&
			    ctl->opt[OPT_ID][i] <= '~';
		     i++)
			;
		if (n == 0 || n > LSHOP_DELIVERY_ID_MAX || i < n)
			rc = usage_error(ctl->cmd->name,
					 "--id needs 1-%d visible ASCII "
					 "characters",
					 LSHOP_DELIVERY_ID_MAX);
		else
			snprintf(id, sizeof(id), "%s", ctl->opt[OPT_ID]);
	} else if (!rc) {
		if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
			rc = fail(CTL_EXIT_REFUSED,
				  "cannot get random bytes: "
				  "%s",
				  strerror(errno));
		memcpy(id, "msg_", 4);
		lshop_hex_encode(id + 4, raw, sizeof(raw));
	}
	if (!rc)
		rc = webhook_body(args[0], &w);
	if (rc) {
		free(w.body);
		return rc;
	}

	switch (w.provider) {
	case LSHOP_PROVIDER_STANDARD:
		sig = lshop_webhook_sign(w.secret, strlen(w.secret), id, ts,
					 w.body, w.len);
		if (!sig)
			break;
		printf("webhook-id: %s\n", id);
		printf("webhook-timestamp: %" PRId64 "\n", ts);
		printf("webhook-signature: %s\n", sig);
		break;
	case LSHOP_PROVIDER_SHOPIFY:
	case LSHOP_PROVIDER_WOOCOMMERCE:
		sig = malloc(LSHOP_BASE64_LEN(LSHOP_SHA256_LEN));
		if (!sig)
			break;
		lshop_hmac_sha256(mac, w.secret, strlen(w.secret), w.body,
				  w.len);
		lshop_base64_encode(sig, mac, sizeof(mac), 0);
		if (w.provider == LSHOP_PROVIDER_SHOPIFY) {
			printf("X-Shopify-Topic: orders/paid\n");
			printf("X-Shopify-Webhook-Id: %s\n", id);
			printf("X-Shopify-Hmac-Sha256: %s\n", sig);
		} else {
			printf("X-WC-Webhook-Topic: order.updated\n");
			printf("X-WC-Webhook-Delivery-ID: %s\n", id);
			printf("X-WC-Webhook-Signature: %s\n", sig);
		}
		break;
	case LSHOP_PROVIDER_STRIPE:
		/* HEX(HMAC-SHA256(S, "TS.BODY")) */
		msg = malloc(w.len + 32);
		if (!msg)
			break;
		n = (size_t)snprintf(msg, 32, "%" PRId64 ".", ts);
		memcpy(msg + n, w.body, w.len);
		lshop_hmac_sha256(mac, w.secret, strlen(w.secret), msg,
				  n + w.len);
		free(msg);
		lshop_hex_encode(out, mac, sizeof(mac));
		printf("Stripe-Signature: t=%" PRId64 ",v1=%s\n", ts, out);
		sig = out;
		break;
	}
	if (sig)
		printf("Content-Type: application/json\n");
	else
		rc = fail(CTL_EXIT_REFUSED, "cannot sign: out of memory");
	if (sig != out)
		free(sig);
	free(w.body);
	return rc;
}

struct header_list {
	const char *const *lines; /* "Name: value" */
	int n;
};

/* The first --header named name (case-insensitive), trimmed. */
static const char *find_header(void *arg, const char *name, size_t *len)
{
	const struct header_list *h = arg;
	size_t nlen = strlen(name), vlen;
	const char *v;
	int i;

	for (i = 0; i < h->n; i++) {
		if (strncasecmp(h->lines[i], name, nlen) != 0 ||
		    h->lines[i][nlen] != ':')
			continue;
		v = h->lines[i] + nlen + 1;
		v += strspn(v, " \t");
		vlen = strlen(v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		*len = vlen;
		return v;
	}
	return NULL;
}

/* "ok", and the delivery id when there is one */
static void print_ok(const struct ctl *ctl, const char *delivery)
{
	if (!ctl->quiet)
		printf(delivery[0] ? "ok %s\n" : "ok\n", delivery);
}

static int cmd_webhook_verify(struct ctl *ctl, char **args)
{
	char delivery[LSHOP_DELIVERY_ID_MAX + 1], topic[256], *json;
	struct header_list h = {ctl->headers, ctl->nheaders};
	const char *t = NULL;
	struct webhook_args w;
	lshop_verify_result v;
	lshop_order *order;
	lshop_error err;
	int64_t now;
	size_t len;
	int i, rc;

	/* a name is 1 or more visible characters up to the colon */
	for (i = 0; i < h.n; i++) {
		for (len = 0; h.lines[i][len] > ' ' && h.lines[i][len] != ':' &&
			      h.lines[i][len] != 0x7f;
		     len++)
			;
		if (len == 0 || h.lines[i][len] != ':')
			return usage_error(ctl->cmd->name,
					   "--header needs 'NAME: VALUE', "
					   "e.g. 'webhook-id: msg_1'");
	}
	rc = parse_unix(ctl, OPT_NOW, &now);
	if (!rc)
		rc = webhook_setup(ctl, args[0], &w);
	if (!rc)
		rc = webhook_body(args[0], &w);
	if (rc)
		return rc;

	lshop_error_clear(&err);
	v = lshop_webhook_verify(w.provider, w.secret, strlen(w.secret),
				 find_header, &h, w.body, w.len, now, delivery,
				 &err);
	if (v != LSHOP_VERIFY_OK) {
		free(w.body);
		return fail(CTL_EXIT_REFUSED, "%s: refused (401): %s", w.name,
			    err.message[0] ? err.message
					   : "the signature does not verify");
	}

	if (w.provider == LSHOP_PROVIDER_SHOPIFY ||
	    w.provider == LSHOP_PROVIDER_WOOCOMMERCE)
		t = find_header(&h,
				w.provider == LSHOP_PROVIDER_SHOPIFY
				    ? "X-Shopify-Topic"
				    : "X-WC-Webhook-Topic",
				&len);
	if (t) {
		snprintf(topic, sizeof(topic), "%.*s", (int)len, t);
		t = topic;
	}
	order = calloc(1, sizeof(*order));
	if (!order) {
		free(w.body);
		return fail(CTL_EXIT_REFUSED, "out of memory");
	}
	lshop_error_clear(&err);
	rc = lshop_order_parse(w.provider, t, w.body, w.len, order, &err);
	if (!delivery[0])
		snprintf(delivery, sizeof(delivery), "%s", order->delivery_id);
	if (rc < 0) {
		print_ok(ctl, delivery);
		rc = err.field[0]
			 ? fail(CTL_EXIT_REFUSED,
				"%s: refused (400): field \"%s\": %s", w.name,
				err.field, err.message)
			 : fail(CTL_EXIT_REFUSED, "%s: refused (400): %s",
				w.name, err.message);
	} else if (rc == 0) {
		print_ok(ctl, delivery);
		if (!ctl->quiet)
			printf("ignored: %s\n", err.message);
		rc = CTL_EXIT_OK;
	} else {
		json = lshop_order_to_json(order, &len);
		if (!json) {
			rc = fail(CTL_EXIT_REFUSED, "out of memory");
		} else {
			print_ok(ctl, delivery);
			if (!ctl->quiet)
				printf("%.*s\n", (int)len, json);
			free(json);
			rc = CTL_EXIT_OK;
		}
	}
	free(order);
	free(w.body);
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
		if (o == OPT_HEADER)
			ctl->headers[ctl->nheaders++] = value;
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

/*
 * For a word that starts commands of two words ("offer put", "offer
 * list"), their second words as "'put' or 'list'"; 0 for any other word.
 */
static int subcommands(const char *word, char *out, size_t cap)
{
	size_t i, len = strlen(word), n = 0, found = 0;
	const char *c, *sep;

	out[0] = '\0';
	for (i = 0; i < CTL_COMMANDS; i++) {
		c = ctl_commands[i].name;
		if (strncmp(c, word, len) != 0 || c[len] != ' ')
			continue;
		sep = found == 0 ? "" : " or ";
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s'%s'",
				      sep, c + len + 1);
		found++;
		if (n >= cap)
			break;
	}
	return found > 0;
}

/*
 * The command line in args (2 * argc + 1 slots: the arguments, then the
 * --header values), carried out; an exit status.
 */
static int run(int argc, char **argv, char **args)
{
	struct ctl ctl = {.headers = (const char **)args + argc};
	const struct ctl_command *cmd;
	char problem[128] = "", shown[64];
	int nargs, have, want, words, o, rc;

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
		if (subcommands(args[0], problem, sizeof(problem)))
			return usage_error(args[0], "%s needs %s", args[0],
					   problem);
		printable(args[0], strlen(args[0]), shown, sizeof(shown));
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
	return rc;
}

int main(int argc, char **argv)
{
	char **args;
	int rc;

	/* the arguments, then the --header values */
	args = calloc(2 * (size_t)argc + 1, sizeof(*args));
	if (!args)
		return fail(CTL_EXIT_REFUSED, "out of memory");
	rc = run(argc, argv, args);
	free(args);

	if (fflush(stdout) != 0 || ferror(stdout))
		return fail(CTL_EXIT_REFUSED, "cannot write to stdout: %s",
			    strerror(errno));
	return rc;
}
