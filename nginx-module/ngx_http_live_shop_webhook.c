
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


/*
 * A webhook's answer waiting for its order to be on disk (SPEC §9): the
 * request stays open, on the count its body read took, until the group
 * commit covering it is over.
 */

typedef struct {
    ngx_queue_t                     queue;
    ngx_http_request_t             *request;
    lshop_order                    *order;
    ngx_live_shop_order_result_t    result;
    unsigned                        queued:1;
} ngx_http_live_shop_webhook_wait_t;


/*
 * This worker's group commit of one stream: at most one fdatasync in
 * flight, covering the answers in "syncing"; those that come meanwhile
 * wait in "waiting" for the next one, which then covers them all.
 */

typedef struct {
    ngx_str_node_t                  sn;          /* key: the stream */
    ngx_queue_t                     syncing;
    ngx_queue_t                     waiting;
    ngx_live_shop_journal_sync_t    sync;
#if (NGX_THREADS)
    ngx_thread_task_t               task;
    ngx_event_t                     slow;        /* a timer while busy */
#endif
    unsigned                        busy:1;
    u_char                          name[LSHOP_STREAM_MAX + 1];
} ngx_http_live_shop_webhook_commit_t;


static ngx_int_t ngx_http_live_shop_webhook_handler(ngx_http_request_t *r);
static void ngx_http_live_shop_webhook_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_live_shop_webhook_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w);
static void ngx_http_live_shop_webhook_durable(ngx_http_request_t *r,
    lshop_order *order, ngx_live_shop_order_result_t *result);
static void ngx_http_live_shop_webhook_commit(
    ngx_http_live_shop_webhook_commit_t *cm);
static void ngx_http_live_shop_webhook_committed(ngx_event_t *ev);
static void ngx_http_live_shop_webhook_finish(ngx_queue_t *queue,
    ngx_uint_t failed);
static void ngx_http_live_shop_webhook_unwait(void *data);
#if (NGX_THREADS)
static void ngx_http_live_shop_webhook_sync_thread(void *data,
    ngx_log_t *log);
static void ngx_http_live_shop_webhook_slow(ngx_event_t *ev);
#endif
static ngx_int_t ngx_http_live_shop_webhook_answer(ngx_http_request_t *r,
    lshop_order *order, ngx_live_shop_order_result_t *result,
    const char *ignored);
static const char *ngx_http_live_shop_header(void *arg, const char *name,
    size_t *len);


/* this worker's group commits, by stream */
static ngx_rbtree_t                  ngx_http_live_shop_webhook_commits;
static ngx_rbtree_node_t             ngx_http_live_shop_webhook_sentinel;

#if (NGX_THREADS)
static ngx_str_t                     ngx_http_live_shop_webhook_pool_name =
    ngx_string("default");
static ngx_thread_pool_t            *ngx_http_live_shop_webhook_pool;

#define NGX_HTTP_LIVE_SHOP_SYNC_SLOW  10000   /* ms: then a warning */
#endif


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

#if (NGX_THREADS)

    /*
     * The journal's fdatasync runs in nginx's thread pool "default", as
     * "aio threads" does: there unless "thread_pool default ..." sizes it
     */

    if (ngx_thread_pool_add(cf, NULL) == NULL) {
        return NGX_CONF_ERROR;
    }

#endif

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
    ngx_str_t                       stream;
    lshop_verify_result             verified;
    ngx_live_shop_shm_t            *shm;
    ngx_live_shop_write_t          *w;
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

    stream.data = (u_char *) order->stream;
    stream.len = ngx_strlen(order->stream);

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(NGX_LIVE_SHOP_WRITE_ORDER, &stream);
        if (w == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        w->u.order = *order;
        w->provider = lslcf->webhook;
        w->at_ms = lshop_now_ms();

        ngx_http_finalize_request(r, ngx_http_live_shop_write(r, w,
                                         ngx_http_live_shop_webhook_written));
        return;
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
        ngx_live_shop_tick_arm();
    }

    if (!result.durable) {
        ngx_http_live_shop_webhook_durable(r, order, &result);
        return;
    }

    ngx_http_finalize_request(r,
        ngx_http_live_shop_webhook_answer(r, order, &result, NULL));
}


/* With several nodes: the order is in the shared log, or refused */

static ngx_int_t
ngx_http_live_shop_webhook_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w)
{
    if (w->rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live_shop: order \"%s\" not taken: %s",
                      w->u.order.order_id, w->err.message);

        return ngx_http_live_shop_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        &w->err);
    }

    if (!w->result.duplicate) {
        ngx_live_shop_deliver();
    }

    return ngx_http_live_shop_webhook_answer(r, &w->u.order, &w->result,
                                             NULL);
}


/*
 * The order is in the journal and the zone, not yet on disk: its answer
 * joins this worker's group commit of the stream.
 */

static void
ngx_http_live_shop_webhook_durable(ngx_http_request_t *r, lshop_order *order,
    ngx_live_shop_order_result_t *result)
{
    size_t                                len;
    uint32_t                              hash;
    ngx_str_t                             stream;
    ngx_pool_cleanup_t                   *cln;
    ngx_http_live_shop_webhook_wait_t    *w;
    ngx_http_live_shop_webhook_commit_t  *cm;

    w = ngx_pcalloc(r->pool, sizeof(ngx_http_live_shop_webhook_wait_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (w == NULL || cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    w->request = r;
    w->order = order;
    w->result = *result;

    /* a request that ends otherwise (terminated) leaves the queue */
    cln->handler = ngx_http_live_shop_webhook_unwait;
    cln->data = w;

    if (ngx_http_live_shop_webhook_commits.root == NULL) {
        ngx_rbtree_init(&ngx_http_live_shop_webhook_commits,
                        &ngx_http_live_shop_webhook_sentinel,
                        ngx_str_rbtree_insert_value);
    }

    len = ngx_strlen(order->stream);
    stream.data = (u_char *) order->stream;
    stream.len = len;
    hash = ngx_crc32_short(stream.data, len);

    cm = (ngx_http_live_shop_webhook_commit_t *)
             ngx_str_rbtree_lookup(&ngx_http_live_shop_webhook_commits,
                                   &stream, hash);

    if (cm == NULL) {
        cm = ngx_calloc(sizeof(ngx_http_live_shop_webhook_commit_t),
                        ngx_cycle->log);
        if (cm == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_memcpy(cm->name, order->stream, len + 1);
        cm->sn.str.data = cm->name;
        cm->sn.str.len = len;
        cm->sn.node.key = hash;
        ngx_queue_init(&cm->syncing);
        ngx_queue_init(&cm->waiting);

        ngx_rbtree_insert(&ngx_http_live_shop_webhook_commits,
                          &cm->sn.node);
    }

    ngx_queue_insert_tail(&cm->waiting, &w->queue);
    w->queued = 1;

    if (!cm->busy) {
        ngx_http_live_shop_webhook_commit(cm);
    }
}


/*
 * Begins the next sync of a stream for the answers waiting, or answers
 * them at once if a finished one (of any worker) covers them; forgets
 * the stream when nothing is left.
 */

static void
ngx_http_live_shop_webhook_commit(ngx_http_live_shop_webhook_commit_t *cm)
{
    ngx_int_t                           rc;
    ngx_queue_t                         answers;
    ngx_http_live_shop_webhook_wait_t  *w;

    if (ngx_queue_empty(&cm->waiting)) {
        ngx_rbtree_delete(&ngx_http_live_shop_webhook_commits, &cm->sn.node);
        ngx_free(cm);
        return;
    }

    /* this worker wrote them in turn: the last one's place is the furthest */
    w = ngx_queue_data(ngx_queue_last(&cm->waiting),
                       ngx_http_live_shop_webhook_wait_t, queue);

    rc = ngx_live_shop_order_sync_begin(
                             ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                             &cm->sn.str, &w->result.journal, &cm->sync,
                             ngx_cycle->log);

#if (NGX_THREADS)

    if (rc == NGX_OK) {

        if (ngx_http_live_shop_webhook_pool == NULL) {
            ngx_http_live_shop_webhook_pool = ngx_thread_pool_get(
                                   (ngx_cycle_t *) ngx_cycle,
                                   &ngx_http_live_shop_webhook_pool_name);
        }

        cm->task.ctx = &cm->sync;
        cm->task.handler = ngx_http_live_shop_webhook_sync_thread;
        cm->task.event.data = cm;
        cm->task.event.handler = ngx_http_live_shop_webhook_committed;
        cm->task.event.log = ngx_cycle->log;

        if (ngx_http_live_shop_webhook_pool
            && ngx_thread_task_post(ngx_http_live_shop_webhook_pool,
                                    &cm->task)
               == NGX_OK)
        {
            ngx_queue_add(&cm->syncing, &cm->waiting);
            ngx_queue_init(&cm->waiting);
            cm->busy = 1;

            /*
             * a worker that is shutting down exits once no timer is left;
             * this one keeps it until the answers have gone
             */
            cm->slow.handler = ngx_http_live_shop_webhook_slow;
            cm->slow.data = cm;
            cm->slow.log = ngx_cycle->log;
            ngx_add_timer(&cm->slow, NGX_HTTP_LIVE_SHOP_SYNC_SLOW);

            return;
        }

        ngx_log_error(NGX_LOG_CRIT, ngx_cycle->log, 0,
                      "live_shop: no thread of the pool \"%V\" for the "
                      "fdatasync of the journal of \"%V\"",
                      &ngx_http_live_shop_webhook_pool_name, &cm->sn.str);

        cm->sync.failed = 1;
        ngx_live_shop_journal_sync(&cm->sync);   /* failed: only closes */
        rc = NGX_ERROR;
    }

#else

    if (rc == NGX_OK) {
        /* no threads: the sync blocks this worker, as it used to */
        ngx_live_shop_journal_sync(&cm->sync);
        ngx_live_shop_order_sync_end(
                             ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                             &cm->sn.str, &cm->sync);
        rc = cm->sync.failed ? NGX_ERROR : NGX_DONE;
    }

#endif

    ngx_queue_init(&answers);
    ngx_queue_add(&answers, &cm->waiting);
    ngx_queue_init(&cm->waiting);

    ngx_rbtree_delete(&ngx_http_live_shop_webhook_commits, &cm->sn.node);
    ngx_free(cm);

    ngx_http_live_shop_webhook_finish(&answers, rc != NGX_DONE);
}


/* A sync is over (in the event loop): its answers go, the next begins */

static void
ngx_http_live_shop_webhook_committed(ngx_event_t *ev)
{
    ngx_http_live_shop_webhook_commit_t *cm = ev->data;

    ngx_queue_t  answers;
    ngx_uint_t   failed;

    ngx_live_shop_order_sync_end(ngx_live_shop_get_shm((ngx_cycle_t *)
                                                       ngx_cycle),
                                 &cm->sn.str, &cm->sync);

    failed = cm->sync.failed;

    if (failed) {
        ngx_log_error(NGX_LOG_CRIT, ngx_cycle->log, cm->sync.err,
                      "live_shop: fdatasync of the journal of \"%V\" "
                      "failed, so its orders are refused (503) and the "
                      "shop will send them again", &cm->sn.str);
    }

    ngx_queue_init(&answers);
    ngx_queue_add(&answers, &cm->syncing);
    ngx_queue_init(&cm->syncing);
    cm->busy = 0;

#if (NGX_THREADS)
    if (cm->slow.timer_set) {
        ngx_del_timer(&cm->slow);
    }
#endif

    /* the next sync first, so that the disk does not wait for answers */
    ngx_http_live_shop_webhook_commit(cm);

    ngx_http_live_shop_webhook_finish(&answers, failed);
}


static void
ngx_http_live_shop_webhook_finish(ngx_queue_t *answers, ngx_uint_t failed)
{
    ngx_int_t                           rc;
    ngx_queue_t                        *q;
    lshop_error                         err;
    ngx_connection_t                   *c;
    ngx_http_request_t                 *r;
    ngx_http_live_shop_webhook_wait_t  *w;

    while (!ngx_queue_empty(answers)) {
        q = ngx_queue_head(answers);
        ngx_queue_remove(q);

        w = ngx_queue_data(q, ngx_http_live_shop_webhook_wait_t, queue);
        w->queued = 0;

        r = w->request;
        c = r->connection;

        if (failed) {
            ngx_log_error(NGX_LOG_ERR, c->log, 0,
                          "live_shop: order \"%s\" refused (503): the "
                          "journal could not be put on disk",
                          w->order->order_id);

            lshop_error_clear(&err);
            lshop_error_set(&err, "journal_failed", "",
                            "the order could not be put on disk; send it "
                            "again");
            rc = ngx_http_live_shop_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          &err);

        } else {
            rc = ngx_http_live_shop_webhook_answer(r, w->order, &w->result,
                                                   NULL);
        }

        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_live_shop_webhook_unwait(void *data)
{
    ngx_http_live_shop_webhook_wait_t *w = data;

    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }
}


#if (NGX_THREADS)

static void
ngx_http_live_shop_webhook_sync_thread(void *data, ngx_log_t *log)
{
    ngx_live_shop_journal_sync(data);
}


static void
ngx_http_live_shop_webhook_slow(ngx_event_t *ev)
{
    ngx_http_live_shop_webhook_commit_t *cm = ev->data;

    ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                  "live_shop: the fdatasync of the journal of \"%V\" is "
                  "taking over %M ms, and the shop's webhooks wait for it",
                  &cm->sn.str, (ngx_msec_t) NGX_HTTP_LIVE_SHOP_SYNC_SLOW);

    ngx_add_timer(ev, NGX_HTTP_LIVE_SHOP_SYNC_SLOW);
}

#endif


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
