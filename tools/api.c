/*
 * liveshopctl: one call to the liveshop HTTP API over libcurl's easy
 * interface; a command line makes one call at a time, so nothing more is
 * needed.
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
