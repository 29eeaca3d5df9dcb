
/*
 * liveshop: the HTTP module's declarations shared by its files.
 */


#ifndef _NGX_HTTP_LIVE_SHOP_H_INCLUDED_
#define _NGX_HTTP_LIVE_SHOP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_live_shop.h"


#include <lshop/webhook.h>


typedef struct {
    ngx_flag_t                      api;
    ngx_flag_t                      hls;
    ngx_str_t                       hls_app;
    ngx_str_t                       player;      /* live_shop_player */
    ngx_int_t                       webhook;     /* lshop_provider, or -1 */
    ngx_str_t                       webhook_secret;
    size_t                          max_body;    /* live_shop_max_body_size */
} ngx_http_live_shop_loc_conf_t;


#define NGX_HTTP_LIVE_SHOP_API_BODY      (64 * 1024)
#define NGX_HTTP_LIVE_SHOP_WEBHOOK_BODY  (1024 * 1024)
#define NGX_HTTP_LIVE_SHOP_BEACON_BODY   1024   /* SPEC §14: bounded */


/*
 * live_shop_max_body_size, or the default of the location's kind: kept
 * unset through the merges, so that a webhook location in a server{}
 * gets its own default rather than the API's
 */

static ngx_inline size_t
ngx_http_live_shop_max_body(ngx_http_live_shop_loc_conf_t *lslcf)
{
    if (lslcf->max_body != NGX_CONF_UNSET_SIZE) {
        return lslcf->max_body;
    }

    return lslcf->webhook != NGX_CONF_UNSET ? NGX_HTTP_LIVE_SHOP_WEBHOOK_BODY
                                            : NGX_HTTP_LIVE_SHOP_API_BODY;
}


ngx_int_t ngx_http_live_shop_hls_handler(ngx_http_request_t *r);


/*
 * SPEC §14: a client that watches a stream for its host (the dashboard,
 * the host panel, OBS) says viewer=no and is not counted
 */

static ngx_inline ngx_uint_t
ngx_http_live_shop_not_viewer(ngx_http_request_t *r)
{
    ngx_str_t  value;

    return ngx_http_arg(r, (u_char *) "viewer", sizeof("viewer") - 1, &value)
               == NGX_OK
           && value.len == 2 && ngx_strncmp(value.data, "no", 2) == 0;
}
ngx_int_t ngx_http_live_shop_sse(ngx_http_request_t *r, ngx_str_t *stream);
char *ngx_http_live_shop_webhook(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* Answers, all JSON but for playlists */
ngx_int_t ngx_http_live_shop_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body);
ngx_int_t ngx_http_live_shop_send_json(ngx_http_request_t *r,
    ngx_uint_t status, u_char *json, size_t len);
ngx_int_t ngx_http_live_shop_error(ngx_http_request_t *r, ngx_uint_t status,
    lshop_error *err);
ngx_int_t ngx_http_live_shop_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *field, const char *message);
ngx_int_t ngx_http_live_shop_add_header(ngx_http_request_t *r,
    const char *key, const char *value);
ngx_int_t ngx_http_live_shop_request_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body);
ngx_int_t ngx_http_live_shop_too_large(ngx_http_request_t *r, size_t max);

/*
 * With several nodes: the request waits for its write to the shared log
 * (ngx_live_shop_write), then answer(r, w) makes its answer. Returns
 * what the caller returns: NGX_DONE, or a 503 answer at once.
 */
typedef ngx_int_t (*ngx_http_live_shop_answer_pt)(ngx_http_request_t *r,
    ngx_live_shop_write_t *w);

ngx_int_t ngx_http_live_shop_write(ngx_http_request_t *r,
    ngx_live_shop_write_t *w, ngx_http_live_shop_answer_pt answer);
ngx_int_t ngx_http_live_shop_unavailable(ngx_http_request_t *r,
    lshop_error *err);


#endif /* _NGX_HTTP_LIVE_SHOP_H_INCLUDED_ */
