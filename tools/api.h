/*
 * liveshopctl: one call to the liveshop HTTP API (SPEC §5) over libcurl.
 */
#ifndef LIVESHOPCTL_API_H
#define LIVESHOPCTL_API_H

#include <stddef.h>

#define CTL_CONNECT_TIMEOUT 5  /* s */
#define CTL_TOTAL_TIMEOUT   15 /* s, connecting included */
#define CTL_RESPONSE_MAX    (64 * 1024 * 1024)

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

#endif
