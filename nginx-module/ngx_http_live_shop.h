
/*
 * liveshop: the HTTP module's declarations shared by its files.
 */


#ifndef _NGX_HTTP_LIVE_SHOP_H_INCLUDED_
#define _NGX_HTTP_LIVE_SHOP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_live_shop.h"


typedef struct {
    ngx_flag_t                      api;
    ngx_flag_t                      hls;
    ngx_str_t                       hls_app;
} ngx_http_live_shop_loc_conf_t;


ngx_int_t ngx_http_live_shop_hls_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_live_shop_sse(ngx_http_request_t *r, ngx_str_t *stream);
ngx_int_t ngx_http_live_shop_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body);


#endif /* _NGX_HTTP_LIVE_SHOP_H_INCLUDED_ */
