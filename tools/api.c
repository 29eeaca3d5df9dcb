/*
 * liveshopctl: one call to the liveshop HTTP API, or one connection to its
 * event stream, over libcurl's easy interface; a command line makes one
 * at a time, so nothing more is needed.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#ifndef LIVESHOP_VERSION
#define LIVESHOP_VERSION "unknown"
#endif

struct body_buffer {
	char *data;
	size_t len;
	size_t cap;
	int too_large;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body_buffer *b = userdata;
	size_t n = size * nmemb; /* size is always 1 (libcurl docs) */
	size_t need;
	char *p;

	if (n > CTL_RESPONSE_MAX - b->len) {
		b->too_large = 1;
		return 0;
	}
	need = b->len + n + 1;
	if (need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < need)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

static void set_error(ctl_response *resp, const char *errbuf, CURLcode rc)
{
	snprintf(resp->error, sizeof(resp->error), "%s",
		 errbuf[0] ? errbuf : curl_easy_strerror(rc));
}

ctl_api_result ctl_api_call(const char *method, const char *url,
			    const char *token, const char *body,
			    size_t body_len, ctl_response *resp)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct body_buffer buf = {0};
	struct curl_slist *headers = NULL, *h;
	ctl_api_result result = CTL_API_NOMEM;
	char *auth = NULL;
	CURLcode rc;
	CURL *curl;

	memset(resp, 0, sizeof(*resp));

	curl = curl_easy_init();
	if (!curl)
		goto out;

	h = curl_slist_append(headers, "Accept: application/json");
	if (!h)
		goto out;
	headers = h;
	/* Bodies are small and the server reads them at once; skip the
	 * round trip curl would spend on "Expect: 100-continue". */
	h = curl_slist_append(headers, "Expect:");
	if (!h)
		goto out;
	headers = h;
	if (body) {
		h = curl_slist_append(headers,
				      "Content-Type: application/json");
		if (!h)
			goto out;
		headers = h;
	}
	if (token) {
		size_t len = strlen("Authorization: Bearer ") + strlen(token);

		auth = malloc(len + 1);
		if (!auth)
			goto out;
		snprintf(auth, len + 1, "Authorization: Bearer %s", token);
		h = curl_slist_append(headers, auth);
		if (!h)
			goto out;
		headers = h;
	}

	curl_easy_setopt(curl, CURLOPT_URL, url);
	if (body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)body_len);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_USERAGENT,
			 "liveshopctl/" LIVESHOP_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
			 (long)CTL_CONNECT_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)CTL_TOTAL_TIMEOUT);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);

	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		result = CTL_API_ANSWERED;
	} else if (rc == CURLE_WRITE_ERROR && buf.too_large) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		result = CTL_API_TOO_LARGE;
	} else if (rc == CURLE_WRITE_ERROR || rc == CURLE_OUT_OF_MEMORY) {
		result = CTL_API_NOMEM;
	} else {
		set_error(resp, errbuf, rc);
		result = CTL_API_UNREACHABLE;
	}

out:
	if (result == CTL_API_ANSWERED) {
		resp->body = buf.data ? buf.data : calloc(1, 1);
		resp->body_len = buf.len;
		if (!resp->body)
			result = CTL_API_NOMEM;
	} else {
		free(buf.data);
	}
	curl_slist_free_all(headers);
	free(auth);
	if (curl)
		curl_easy_cleanup(curl);
	return result;
}

void ctl_response_free(ctl_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

struct stream_transfer {
	const ctl_stream_request *req;
	CURL *curl;
	int checked;      /* status and content type looked at */
	int is_stream;    /* a 200 text/event-stream */
	int stopped;      /* on_data or stop said so */
	int idle;         /* no byte for CTL_STREAM_IDLE_MAX s */
	time_t last_byte; /* monotonic s of the last byte (or the start) */
	struct body_buffer body; /* an answer that is no stream */
};

static time_t monotonic_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int is_event_stream(CURL *curl, long *status)
{
	const char *type = NULL;
	size_t n = strlen("text/event-stream");

	*status = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
	/* "text/event-stream", maybe with parameters such as a charset */
	return *status == 200 && type &&
	       strncasecmp(type, "text/event-stream", n) == 0 &&
	       (type[n] == '\0' || type[n] == ';' || type[n] == ' ');
}

static size_t on_stream(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct stream_transfer *t = userdata;
	size_t n = size * nmemb;
	long status;

	if (!t->checked) {
		t->is_stream = is_event_stream(t->curl, &status);
		t->checked = 1;
	}
	if (!t->is_stream) {
		/* only shown in a message: the start is enough */
		if (t->body.len >= CTL_STREAM_BODY_MAX)
			return 0;
		if (n > CTL_STREAM_BODY_MAX - t->body.len)
			n = CTL_STREAM_BODY_MAX - t->body.len;
		return on_body(data, 1, n, &t->body) == n ? size * nmemb : 0;
	}
	t->last_byte = monotonic_s();
	if ((t->req->stop && t->req->stop(t->req->ctx)) ||
	    t->req->on_data(t->req->ctx, data, n)) {
		t->stopped = 1;
		return 0;
	}
	return n;
}

/*
 * The idle check. CURLOPT_LOW_SPEED_LIMIT cannot do it: curl averages the
 * speed over a few seconds in whole bytes per second, so a stream whose
 * only traffic is a short keep-alive comment every 15 s would count as
 * dead although it is alive.
 */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct stream_transfer *t = userdata;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (t->req->stop && t->req->stop(t->req->ctx)) {
		t->stopped = 1;
		return 1;
	}
	if (monotonic_s() - t->last_byte >= CTL_STREAM_IDLE_MAX) {
		t->idle = 1;
		return 1;
	}
	return 0;
}

ctl_stream_result ctl_api_stream(const ctl_stream_request *req,
				 ctl_response *resp, char *content_type,
				 size_t content_type_cap)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct stream_transfer t = {0};
	struct curl_slist *headers = NULL, *h;
	ctl_stream_result result = CTL_STREAM_NOMEM;
	const char *type = NULL;
	char *last = NULL;
	CURLcode rc;

	memset(resp, 0, sizeof(*resp));
	if (content_type_cap > 0)
		content_type[0] = '\0';
	t.req = req;
	t.last_byte = monotonic_s();

	t.curl = curl_easy_init();
	if (!t.curl)
		goto out;
	h = curl_slist_append(headers, "Accept: text/event-stream");
	if (!h)
		goto out;
	headers = h;
	h = curl_slist_append(headers, "Cache-Control: no-cache");
	if (!h)
		goto out;
	headers = h;
	if (req->last_event_id) {
		size_t len =
		    strlen("Last-Event-ID: ") + strlen(req->last_event_id);

		last = malloc(len + 1);
		if (!last)
			goto out;
		snprintf(last, len + 1, "Last-Event-ID: %s",
			 req->last_event_id);
		h = curl_slist_append(headers, last);
		if (!h)
			goto out;
		headers = h;
	}

	curl_easy_setopt(t.curl, CURLOPT_URL, req->url);
	curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(t.curl, CURLOPT_USERAGENT,
			 "liveshopctl/" LIVESHOP_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT,
			 (long)CTL_CONNECT_TIMEOUT);
	/* no CURLOPT_TIMEOUT: a stream lasts; on_progress watches it */
	curl_easy_setopt(t.curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);

	rc = curl_easy_perform(t.curl);
	if (!t.checked) /* no body came: the headers still tell */
		t.is_stream = is_event_stream(t.curl, &resp->status);
	curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &resp->status);

	if (t.stopped) {
		result = CTL_STREAM_STOPPED;
	} else if (rc == CURLE_OUT_OF_MEMORY) {
		result = CTL_STREAM_NOMEM;
	} else if (rc == CURLE_URL_MALFORMAT ||
		   rc == CURLE_UNSUPPORTED_PROTOCOL) {
		set_error(resp, errbuf, rc);
		result = CTL_STREAM_BAD_URL;
	} else if (resp->status == 0) {
		set_error(resp, errbuf, rc);
		result = CTL_STREAM_UNREACHABLE;
	} else if (t.is_stream) {
		if (t.idle)
			snprintf(resp->error, sizeof(resp->error),
				 "nothing received for %d s",
				 CTL_STREAM_IDLE_MAX);
		else if (rc != CURLE_OK)
			set_error(resp, errbuf, rc);
		result = CTL_STREAM_CLOSED;
	} else {
		curl_easy_getinfo(t.curl, CURLINFO_CONTENT_TYPE, &type);
		if (type && content_type_cap > 0)
			snprintf(content_type, content_type_cap, "%s", type);
		result = CTL_STREAM_ANSWERED;
	}

out:
	if (result == CTL_STREAM_ANSWERED) {
		resp->body = t.body.data ? t.body.data : calloc(1, 1);
		resp->body_len = t.body.len;
		if (!resp->body)
			result = CTL_STREAM_NOMEM;
	} else {
		free(t.body.data);
	}
	curl_slist_free_all(headers);
	free(last);
	if (t.curl)
		curl_easy_cleanup(t.curl);
	return result;
}
