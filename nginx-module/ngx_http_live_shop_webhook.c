
/*
 * liveshop: purchase webhooks in (SPEC §9). A "live_shop_webhook PROVIDER
 * secret=S" location takes a shop's order deliveries: the core checks the
 * signature on the raw body and maps the shop's order onto the canonical
 * one; the store takes it once, durably, before the 2xx leaves.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_live_shop.h"




static ngx_int_t ngx_http_live_shop_webhook_handler(ngx_http_request_t *r);
static void ngx_http_live_shop_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_live_shop_webhook_answer(ngx_http_request_t *r,
    lshop_order *order, ngx_live_shop_order_result_t *result,
    const char *ignored);
static const char *ngx_http_live_shop_header(void *arg, const char *name,
    size_t *len);


/* live_shop_webhook standard|shopify|woocommerce|stripe secret=S; */

char *
ngx_http_live_shop_webhook(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_live_shop_loc_conf_t  *lslcf = conf;

    ngx_str_t                 *value;
    lshop_error                err;
    lshop_provider             provider;
    ngx_http_core_loc_conf_t  *clcf;

    if (lslcf->webhook != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (lshop_provider_parse((char *) value[1].data, value[1].len, &provider)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "unknown provider \"%V\" in \"%V\": use standard, "
                           "shopify, woocommerce or stripe", &value[1],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (value[2].len <= sizeof("secret=") - 1
        || ngx_strncmp(value[2].data, "secret=", sizeof("secret=") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"secret=\" with the shop's "
                           "webhook secret, not \"%V\"", &cmd->name,
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    lslcf->webhook = provider;
    lslcf->webhook_secret.data = value[2].data + sizeof("secret=") - 1;
    lslcf->webhook_secret.len = value[2].len - (sizeof("secret=") - 1);

    if (lshop_webhook_secret_check(provider,
                                   (char *) lslcf->webhook_secret.data,
                                   lslcf->webhook_secret.len, &err)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &cmd->name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_live_shop_webhook_handler;

    /*
     * The limit is live_shop_max_body_size (1m here), so that a shop
     * gets the JSON error (SPEC §2) rather than nginx's page; a chunked
     * body is refused once read.
     */
    clcf->client_max_body_size = 0;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_live_shop_webhook_handler(ngx_http_request_t *r)
{
    size_t                          max;
    ngx_int_t                       rc;
    ngx_http_live_shop_loc_conf_t  *lslcf;

    if (r->method != NGX_HTTP_POST) {
        ngx_http_discard_request_body(r);

        if (ngx_http_live_shop_add_header(r, "Allow", "POST") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_live_shop_fail(r, NGX_HTTP_NOT_ALLOWED,
                                       "method_not_allowed", "",
                                       "a shop delivers its webhooks by "
                                       "POST");
    }

    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    max = ngx_http_live_shop_max_body(lslcf);

    if (r->headers_in.content_length_n > (off_t) max) {
        ngx_http_discard_request_body(r);
        return ngx_http_live_shop_too_large(r, max);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_live_shop_webhook_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_live_shop_webhook_body(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_str_t                       body;
    const char                     *topic;
    size_t                          len, max;
    lshop_error                     err;
    lshop_order                    *order;
    lshop_verify_result             verified;
    ngx_live_shop_shm_t            *shm;
    ngx_live_shop_order_result_t    result;
    ngx_http_live_shop_loc_conf_t  *lslcf;
    char                            delivery[LSHOP_DELIVERY_ID_MAX + 1];

    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    max = ngx_http_live_shop_max_body(lslcf);

    rc = ngx_http_live_shop_request_body(r, max, &body);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc == NGX_DECLINED
            ? ngx_http_live_shop_too_large(r, max)
            : NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    lshop_error_clear(&err);

    /* the signature first: nothing of the body is trusted before it */

    verified = lshop_webhook_verify(lslcf->webhook,
                                    (char *) lslcf->webhook_secret.data,
                                    lslcf->webhook_secret.len,
                                    ngx_http_live_shop_header, r,
                                    (char *) body.data, body.len,
                                    ngx_time(), delivery, &err);

    if (verified == LSHOP_VERIFY_MISSING
        && lshop_webhook_is_ping(lslcf->webhook, ngx_http_live_shop_header, r,
                                 (char *) body.data, body.len))
    {
        ngx_http_finalize_request(r,
            ngx_http_live_shop_webhook_answer(r, NULL, NULL, "ping"));
        return;
    }

    if (verified != LSHOP_VERIFY_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "live_shop: %s webhook refused: %s",
                      lshop_provider_name(lslcf->webhook), err.message);

        if (err.code[0] == '\0') {
            lshop_error_set(&err, "unauthorized", "", "the signature does "
                            "not verify");
        }

        ngx_memcpy(err.code, "unauthorized", sizeof("unauthorized"));
        ngx_http_finalize_request(r,
            ngx_http_live_shop_error(r, NGX_HTTP_UNAUTHORIZED, &err));
        return;
    }

    order = ngx_pcalloc(r->pool, sizeof(lshop_order));
    if (order == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    topic = ngx_http_live_shop_header(r,
                                      lslcf->webhook == LSHOP_PROVIDER_SHOPIFY
                                      ? "X-Shopify-Topic"
                                      : "X-WC-Webhook-Topic", &len);

    rc = lshop_order_parse(lslcf->webhook,
                           lslcf->webhook == LSHOP_PROVIDER_SHOPIFY
                           || lslcf->webhook == LSHOP_PROVIDER_WOOCOMMERCE
                           ? topic : NULL,
                           (char *) body.data, body.len, order, &err);

    if (rc < 0) {
        ngx_http_finalize_request(r,
            ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err));
        return;
    }

    if (rc == 0) {
        /* acknowledged, so the shop does not retry; not a live order */
        ngx_http_finalize_request(r,
            ngx_http_live_shop_webhook_answer(r, order, NULL, err.message));
        return;
    }

    if (order->delivery_id[0] == '\0') {
        ngx_memcpy(order->delivery_id, delivery, sizeof(delivery));
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_order(shm, order, lslcf->webhook, r->pool, &result,
                            &err)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live_shop: order \"%s\" not taken: %s",
                      order->order_id, err.message);

        ngx_http_finalize_request(r,
            ngx_http_live_shop_error(r, NGX_HTTP_SERVICE_UNAVAILABLE, &err));
        return;
    }

    if (!result.duplicate) {
        ngx_live_shop_deliver();
        ngx_live_shop_ring();
        ngx_live_shop_tick_arm();
    }

    ngx_http_finalize_request(r,
        ngx_http_live_shop_webhook_answer(r, order, &result, NULL));
}


static ngx_int_t
ngx_http_live_shop_webhook_answer(ngx_http_request_t *r, lshop_order *order,
    ngx_live_shop_order_result_t *result, const char *ignored)
{
    char       *json;
    size_t      len;
    ngx_int_t   rc;

    json = lshop_webhook_answer_json(order, result && result->duplicate,
                                     result ? result->sold : 0,
                                     result ? result->oversold : 0,
                                     ignored, &len);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_live_shop_send_json(r, NGX_HTTP_OK, (u_char *) json, len);
    free(json);

    return rc;
}


static const char *
ngx_http_live_shop_header(void *arg, const char *name, size_t *len)
{
    ngx_http_request_t *r = arg;

    size_t            n;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    n = ngx_strlen(name);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == n
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, n) == 0)
        {
            *len = h[i].value.len;
            return (char *) h[i].value.data;
        }
    }
}
