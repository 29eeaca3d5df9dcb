/*
 * liveshopctl: one call to the liveshop HTTP API (SPEC §5) over libcurl,
 * and one connection to its event stream (SPEC §8).
 */
#ifndef LIVESHOPCTL_API_H
#define LIVESHOPCTL_API_H

#include <stddef.h>

#define CTL_CONNECT_TIMEOUT 5  /* s */
#define CTL_TOTAL_TIMEOUT   15 /* s, connecting included */
#define CTL_RESPONSE_MAX    (64 * 1024 * 1024)
#define CTL_STREAM_IDLE_MAX 45 /* s without a byte: the stream is dead */
#define CTL_STREAM_BODY_MAX (64 * 1024) /* bytes kept of a non-stream */

typedef enum ctl_api_result {
	CTL_API_ANSWERED = 0, /* an HTTP answer came back, whatever status */
	CTL_API_UNREACHABLE,  /* no answer: refused, DNS, TLS, timeout, ... */
	CTL_API_TOO_LARGE,    /* an answer longer than CTL_RESPONSE_MAX */
	CTL_API_NOMEM
} ctl_api_result;

typedef struct ctl_response {
	long status; /* HTTP status when answered */
	char *body;  /* NUL-terminated (binary safe with body_len) */
	size_t body_len;
	char error[256]; /* curl's reason when unreachable */
} ctl_response;

/*
 * Sends method to url. body (NULL for none) goes as application/json;
 * token (NULL for none) as "Authorization: Bearer". Redirects are not
 * followed, so a token never travels to a host the caller did not name.
 * resp is always filled; release it with ctl_response_free. curl_global_init
 * must have been called.
 */
ctl_api_result ctl_api_call(const char *method, const char *url,
			    const char *token, const char *body,
			    size_t body_len, ctl_response *resp);

void ctl_response_free(ctl_response *resp);

/*
 * How a connection to an event stream ended:
 * CLOSED      a 200 event stream ended or broke; resp error says how ("" if
 *             the server ended it)
 * STOPPED     on_data or stop asked to stop
 * ANSWERED    an answer that is no event stream: resp status and body (at
 *             most CTL_STREAM_BODY_MAX bytes), and its content type
 * UNREACHABLE no answer; resp error says why
 * BAD_URL     curl cannot use the URL at all; resp error says why
 */
typedef enum ctl_stream_result {
	CTL_STREAM_CLOSED = 0,
	CTL_STREAM_STOPPED,
	CTL_STREAM_ANSWERED,
	CTL_STREAM_UNREACHABLE,
	CTL_STREAM_BAD_URL,
	CTL_STREAM_NOMEM
} ctl_stream_result;

typedef struct ctl_stream_request {
	const char *url;
	const char *last_event_id; /* sent as Last-Event-ID; NULL: none */
	/* each piece of a 200 text/event-stream answer as it arrives;
	 * nonzero stops the transfer */
	int (*on_data)(void *ctx, const char *data, size_t len);
	/* polled about once a second and on each piece; nonzero stops */
	int (*stop)(void *ctx);
	void *ctx;
} ctl_stream_request;

/*
 * GETs an event stream and hands it to on_data until it ends. There is no
 * total timeout; a stream that brings no byte for CTL_STREAM_IDLE_MAX
 * seconds (the server sends a comment at least every 15 s) counts as
 * broken. No token is sent: the stream is public (SPEC §5). Redirects
 * are not followed. resp is always filled (release it with
 * ctl_response_free); content_type gets the answer's Content-Type ("" if
 * none).
 */
ctl_stream_result ctl_api_stream(const ctl_stream_request *req,
				 ctl_response *resp, char *content_type,
				 size_t content_type_cap);

#endif
