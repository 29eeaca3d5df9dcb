
/*
 * liveshop: the RTMP module. With "live_shop on" in an application, every
 * event of a stream reaches every subscriber of it in this worker as an
 * AMF0 "onCuePoint" data message (SPEC §6), and a subscriber that starts
 * playing first gets the current state.
 *
 * Events are made in whichever worker took the API call and kept in the
 * shared zone. The worker that made one delivers it at once; the others
 * notice a new zone generation on their clock (ngx_live_shop_tick), so a
 * subscriber in any worker (nginx-rtmp's rtmp_auto_push) gets every event.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <ngx_rtmp.h>
#include <ngx_rtmp_cmd_module.h>
#include <ngx_rtmp_relay_module.h>
#include <ngx_rtmp_streams.h>

#include <lshop/amf.h>

#include "ngx_live_shop.h"


/* nginx-rtmp declares it in no header */
extern ngx_module_t  ngx_rtmp_auto_push_module;


typedef struct {
    ngx_flag_t                      enabled;
} ngx_rtmp_live_shop_app_conf_t;


typedef struct ngx_rtmp_live_shop_stream_s  ngx_rtmp_live_shop_stream_t;


typedef struct {
    ngx_rtmp_session_t             *session;
    ngx_rtmp_live_shop_stream_t    *stream;
    ngx_queue_t                     queue;
    uint64_t                        seq;         /* last one it was sent */
    unsigned                        publishing:1;
    unsigned                        state_due:1;
    unsigned                        on_air:1;    /* its encoder's publish */
} ngx_rtmp_live_shop_ctx_t;


/* A stream with sessions in this worker */

struct ngx_rtmp_live_shop_stream_s {
    ngx_queue_t                     queue;
    ngx_str_t                       name;        /* "app/name" */
    u_char                          data[LSHOP_STREAM_MAX];
    ngx_queue_t                     sessions;
    ngx_uint_t                      states_due;  /* sessions awaiting one */
    uint32_t                        timestamp;   /* of its latest media */
    ngx_rtmp_core_srv_conf_t       *cscf;
};




static ngx_int_t ngx_rtmp_live_shop_publish(ngx_rtmp_session_t *s,
    ngx_rtmp_publish_t *v);
static ngx_int_t ngx_rtmp_live_shop_play(ngx_rtmp_session_t *s,
    ngx_rtmp_play_t *v);
static ngx_int_t ngx_rtmp_live_shop_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v);
static void ngx_rtmp_live_shop_viewer(ngx_rtmp_live_shop_ctx_t *ctx);
static ngx_int_t ngx_rtmp_live_shop_av(ngx_rtmp_session_t *s,
    ngx_rtmp_header_t *h, ngx_chain_t *in);
static ngx_rtmp_live_shop_ctx_t *ngx_rtmp_live_shop_join(
    ngx_rtmp_session_t *s, u_char *name, ngx_uint_t publishing);
static void ngx_rtmp_live_shop_send_state(ngx_rtmp_live_shop_ctx_t *ctx);
static void ngx_rtmp_live_shop_behind_event(void *arg,
    const lshop_event *ev, u_char *json, size_t len);
static void ngx_rtmp_live_shop_send(ngx_rtmp_live_shop_ctx_t *ctx,
    const char *name, uint64_t seq, u_char *json, size_t len);
static void ngx_rtmp_live_shop_deliver_stream(
    ngx_rtmp_live_shop_stream_t *st);
static void *ngx_rtmp_live_shop_create_app_conf(ngx_conf_t *cf);
static char *ngx_rtmp_live_shop_merge_app_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_rtmp_live_shop_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_rtmp_live_shop_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_rtmp_live_shop_listen_auto_push(ngx_cycle_t *cycle);


static ngx_rtmp_publish_pt       next_publish;
static ngx_rtmp_play_pt          next_play;
static ngx_rtmp_close_stream_pt  next_close_stream;


/* this worker's streams */
static ngx_queue_t        ngx_rtmp_live_shop_streams;


static ngx_command_t  ngx_rtmp_live_shop_commands[] = {

    { ngx_string("live_shop"),
      NGX_RTMP_MAIN_CONF|NGX_RTMP_SRV_CONF|NGX_RTMP_APP_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_RTMP_APP_CONF_OFFSET,
      offsetof(ngx_rtmp_live_shop_app_conf_t, enabled),
      NULL },

      ngx_null_command
};


static ngx_rtmp_module_t  ngx_rtmp_live_shop_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_rtmp_live_shop_postconfiguration,  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_rtmp_live_shop_create_app_conf,    /* create app configuration */
    ngx_rtmp_live_shop_merge_app_conf      /* merge app configuration */
};


ngx_module_t  ngx_rtmp_live_shop_module = {
    NGX_MODULE_V1,
    &ngx_rtmp_live_shop_module_ctx,        /* module context */
    ngx_rtmp_live_shop_commands,           /* module directives */
    NGX_RTMP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_rtmp_live_shop_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_rtmp_live_shop_enabled(ngx_rtmp_session_t *s)
{
    ngx_rtmp_live_shop_app_conf_t  *lacf;

    lacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_live_shop_module);

    return lacf && lacf->enabled
           && ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle) != NULL;
}


static ngx_int_t
ngx_rtmp_live_shop_publish(ngx_rtmp_session_t *s, ngx_rtmp_publish_t *v)
{
    ngx_queue_t                  *q;
    ngx_rtmp_live_shop_ctx_t     *ctx, *sub;
    ngx_rtmp_live_shop_stream_t  *st;

    if (!ngx_rtmp_live_shop_enabled(s)) {
        return next_publish(s, v);
    }

    ctx = ngx_rtmp_live_shop_join(s, v->name, 1);

    if (ctx) {
        /*
         * a publisher back after a drop starts its timestamps over:
         * players that waited get the state again with its first media
         */

        st = ctx->stream;

        for (q = ngx_queue_head(&st->sessions);
             q != ngx_queue_sentinel(&st->sessions);
             q = ngx_queue_next(q))
        {
            sub = ngx_queue_data(q, ngx_rtmp_live_shop_ctx_t, queue);

            if (!sub->publishing && !sub->state_due) {
                sub->state_due = 1;
                st->states_due++;
            }
        }

        /*
         * SPEC §14: the show starts with the encoder's publish; relays
         * (auto_push to other workers, an edge's pull) carry a stream
         * published elsewhere
         */

        if (!s->relay) {
            ctx->on_air = 1;
            ngx_live_shop_on_air(&st->name, 1);
        }
    }

    return next_publish(s, v);
}


static ngx_int_t
ngx_rtmp_live_shop_play(ngx_rtmp_session_t *s, ngx_rtmp_play_t *v)
{
    ngx_int_t                  rc;
    ngx_rtmp_relay_ctx_t      *rctx;
    ngx_rtmp_live_shop_ctx_t  *ctx;

    rc = next_play(s, v);

    if (rc != NGX_OK || !ngx_rtmp_live_shop_enabled(s)) {
        return rc;
    }

    /*
     * rtmp_auto_push relays the stream to the other workers, which deliver
     * events to their own subscribers; push relays to other servers are
     * subscribers like any player.
     */

    rctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_relay_module);

    if (rctx && rctx->tag == &ngx_rtmp_auto_push_module) {
        return rc;
    }

    ctx = ngx_rtmp_live_shop_join(s, v->name, 0);

    if (ctx && !s->relay) {
        /* a viewer from its first frame on (see ..._audience) */
        ngx_rtmp_live_shop_viewer(ctx);
    }

    if (ctx) {
        ctx->state_due = 1;
        ctx->stream->states_due++;

        if (ctx->stream->timestamp) {
            ngx_rtmp_live_shop_send_state(ctx);
        }
    }

    return rc;
}


static ngx_rtmp_live_shop_ctx_t *
ngx_rtmp_live_shop_join(ngx_rtmp_session_t *s, u_char *name,
    ngx_uint_t publishing)
{
    u_char                       key[LSHOP_STREAM_MAX], *p;
    size_t                       len;
    ngx_str_t                   *app;
    ngx_queue_t                 *q;
    ngx_rtmp_live_shop_ctx_t    *ctx;
    ngx_rtmp_core_app_conf_t    *cacf;
    ngx_rtmp_live_shop_stream_t *st;

    len = ngx_strlen(name);

    /* a stream an edge pulls is published by a relay session with no
     * "connect" of its own: its application is the one it was pulled into */

    app = &s->app;

    if (app->len == 0) {
        cacf = ngx_rtmp_get_module_app_conf(s, ngx_rtmp_core_module);
        app = &cacf->name;
    }

    if (app->len + 1 + len > LSHOP_STREAM_MAX) {
        return NULL;
    }

    p = ngx_cpymem(key, app->data, app->len);
    *p++ = '/';
    p = ngx_cpymem(p, name, len);
    len = p - key;

    if (!lshop_stream_valid((char *) key, len)) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "live_shop: \"%*s\" is not a stream name liveshop "
                      "serves", len, key);
        return NULL;
    }

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_live_shop_module);

    if (ctx && ctx->stream) {
        return NULL;
    }

    if (ctx == NULL) {
        ctx = ngx_pcalloc(s->connection->pool,
                          sizeof(ngx_rtmp_live_shop_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_rtmp_set_ctx(s, ctx, ngx_rtmp_live_shop_module);
    }

    st = NULL;

    for (q = ngx_queue_head(&ngx_rtmp_live_shop_streams);
         q != ngx_queue_sentinel(&ngx_rtmp_live_shop_streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_rtmp_live_shop_stream_t, queue);

        if (st->name.len == len && ngx_memcmp(st->data, key, len) == 0) {
            break;
        }

        st = NULL;
    }

    if (st == NULL) {
        st = ngx_calloc(sizeof(ngx_rtmp_live_shop_stream_t),
                        s->connection->log);
        if (st == NULL) {
            return NULL;
        }

        ngx_memcpy(st->data, key, len);
        st->name.data = st->data;
        st->name.len = len;
        st->cscf = ngx_rtmp_get_module_srv_conf(s, ngx_rtmp_core_module);
        ngx_queue_init(&st->sessions);
        ngx_queue_insert_tail(&ngx_rtmp_live_shop_streams, &st->queue);

        ngx_live_shop_tick_arm();
    }

    ctx->session = s;
    ctx->stream = st;
    ctx->publishing = publishing;
    ctx->seq = 0;
    ctx->state_due = 0;

    ngx_queue_insert_tail(&st->sessions, &ctx->queue);

    return ctx;
}


static ngx_int_t
ngx_rtmp_live_shop_close_stream(ngx_rtmp_session_t *s,
    ngx_rtmp_close_stream_t *v)
{
    ngx_rtmp_live_shop_ctx_t     *ctx;
    ngx_rtmp_live_shop_stream_t  *st;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_live_shop_module);

    if (ctx && ctx->stream) {
        st = ctx->stream;

        ngx_queue_remove(&ctx->queue);
        ctx->stream = NULL;

        if (ctx->state_due) {
            st->states_due--;
        }

        if (ctx->publishing) {
            st->timestamp = 0;
        }

        if (ctx->on_air) {
            ctx->on_air = 0;
            ngx_live_shop_on_air(&st->name, 0);
        }

        if (ngx_queue_empty(&st->sessions)) {
            ngx_queue_remove(&st->queue);
            ngx_free(st);
        }
    }

    return next_close_stream(s, v);
}


/* Media from the publisher: the clock the cue points are stamped with */

static ngx_int_t
ngx_rtmp_live_shop_av(ngx_rtmp_session_t *s, ngx_rtmp_header_t *h,
    ngx_chain_t *in)
{
    ngx_queue_t                  *q;
    ngx_rtmp_live_shop_ctx_t     *ctx, *sub;
    ngx_rtmp_live_shop_stream_t  *st;

    ctx = ngx_rtmp_get_module_ctx(s, ngx_rtmp_live_shop_module);

    if (ctx == NULL || ctx->stream == NULL || !ctx->publishing) {
        return NGX_OK;
    }

    st = ctx->stream;

    /* SPEC §6: a non-zero timestamp, or ffmpeg's FLV reader drops it */
    st->timestamp = h->timestamp ? h->timestamp : 1;

    if (st->states_due == 0) {
        return NGX_OK;
    }

    for (q = ngx_queue_head(&st->sessions);
         q != ngx_queue_sentinel(&st->sessions);
         q = ngx_queue_next(q))
    {
        sub = ngx_queue_data(q, ngx_rtmp_live_shop_ctx_t, queue);

        if (sub->state_due) {
            ngx_rtmp_live_shop_send_state(sub);
        }
    }

    return NGX_OK;
}


static void
ngx_rtmp_live_shop_send_state(ngx_rtmp_live_shop_ctx_t *ctx)
{
    uint64_t              seq;
    ngx_str_t             json;
    ngx_pool_t           *pool;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    pool = ngx_create_pool(4096, ctx->session->connection->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_state_json(shm, &ctx->stream->name, pool, &json, &seq)
        == NGX_OK)
    {
        ngx_rtmp_live_shop_send(ctx, "state", seq, json.data, json.len);
        ctx->seq = seq;

        if (ctx->state_due) {
            ctx->state_due = 0;
            ctx->stream->states_due--;
        }
    }

    ngx_destroy_pool(pool);
}


static void
ngx_rtmp_live_shop_send(ngx_rtmp_live_shop_ctx_t *ctx, const char *name,
    uint64_t seq, u_char *json, size_t len)
{
    size_t                      n;
    uint32_t                    timestamp;
    uint8_t                     small[2048], *amf;
    ngx_buf_t                   b;
    ngx_chain_t                 in, *pkt;
    ngx_rtmp_header_t           h;
    ngx_rtmp_session_t         *s;

    s = ctx->session;

    timestamp = s->current_time ? s->current_time : ctx->stream->timestamp;
    if (timestamp == 0) {
        timestamp = 1;
    }

    amf = small;
    n = lshop_amf_cuepoint(amf, sizeof(small), name, timestamp / 1000.0, seq,
                           (char *) json, len);

    if (n > sizeof(small)) {
        amf = ngx_alloc(n, s->connection->log);
        if (amf == NULL) {
            return;
        }

        (void) lshop_amf_cuepoint(amf, n, name, timestamp / 1000.0, seq,
                                  (char *) json, len);
    }

    ngx_memzero(&b, sizeof(ngx_buf_t));
    b.start = b.pos = amf;
    b.end = b.last = amf + n;
    b.memory = 1;

    in.buf = &b;
    in.next = NULL;

    ngx_memzero(&h, sizeof(ngx_rtmp_header_t));
    h.csid = NGX_RTMP_CSID_AMF;
    h.msid = NGX_RTMP_MSID;
    h.type = NGX_RTMP_MSG_AMF_META;
    h.timestamp = timestamp;

    pkt = ngx_rtmp_append_shared_bufs(ctx->stream->cscf, NULL, &in);

    if (amf != small) {
        ngx_free(amf);
    }

    if (pkt == NULL) {
        return;
    }

    ngx_rtmp_prepare_message(s, &h, NULL, pkt);

    if (ngx_rtmp_send_message(s, pkt, 0) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, s->connection->log, 0,
                      "live_shop: subscriber too slow, %s seq %uL dropped",
                      name, seq);
    }

    ngx_rtmp_free_shared_chain(ctx->stream->cscf, pkt);
}


/*
 * An event a subscriber behind what the zone keeps missed, from the
 * journal (ngx_live_shop_journal_events): to each subscriber it follows
 * on from (SPEC §6: every event to every subscriber).
 */

static void
ngx_rtmp_live_shop_behind_event(void *arg, const lshop_event *ev,
    u_char *json, size_t len)
{
    ngx_rtmp_live_shop_stream_t *st = arg;

    ngx_queue_t               *q;
    ngx_rtmp_live_shop_ctx_t  *ctx;

    for (q = ngx_queue_head(&st->sessions);
         q != ngx_queue_sentinel(&st->sessions);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_rtmp_live_shop_ctx_t, queue);

        if (!ctx->publishing && !ctx->state_due && ctx->seq + 1 == ev->seq) {
            ngx_rtmp_live_shop_send(ctx, lshop_event_type_name(ev->type),
                                    ev->seq, json, len);
            ctx->seq = ev->seq;
        }
    }
}


static void
ngx_rtmp_live_shop_deliver_stream(ngx_rtmp_live_shop_stream_t *st)
{
    uint64_t                   oldest;
    ngx_uint_t                 i;
    ngx_pool_t                *pool;
    ngx_array_t               *events;
    ngx_queue_t               *q, *next;
    ngx_live_shop_shm_t       *shm;
    ngx_uint_t                 replayed;
    ngx_live_shop_event_t    **e;
    ngx_rtmp_live_shop_ctx_t  *ctx;

    /* the subscriber furthest behind decides what to fetch */

    oldest = (uint64_t) -1;

    for (q = ngx_queue_head(&st->sessions);
         q != ngx_queue_sentinel(&st->sessions);
         q = ngx_queue_next(q))
    {
        ctx = ngx_queue_data(q, ngx_rtmp_live_shop_ctx_t, queue);

        if (!ctx->publishing && !ctx->state_due) {
            oldest = ngx_min(oldest, ctx->seq);
        }
    }

    if (oldest == (uint64_t) -1) {
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    events = ngx_live_shop_events_after(shm, &st->name, oldest, pool);

    if (events == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    e = events->elts;
    replayed = 0;

    for (q = ngx_queue_head(&st->sessions);
         q != ngx_queue_sentinel(&st->sessions);
         q = next)
    {
        next = ngx_queue_next(q);
        ctx = ngx_queue_data(q, ngx_rtmp_live_shop_ctx_t, queue);

        if (ctx->publishing || ctx->state_due) {
            continue;
        }

        if (e[0]->seq > ctx->seq + 1 && !replayed) {
            /* some missed events the zone no longer keeps: the journal */
            (void) ngx_live_shop_journal_events(
                       ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle),
                       &st->name, oldest, e[0]->seq,
                       ngx_rtmp_live_shop_behind_event, st, ngx_cycle->log);
            replayed = 1;
        }

        if (e[0]->seq > ctx->seq + 1) {
            /* further back than the journal reaches: the state */
            ngx_rtmp_live_shop_send_state(ctx);
            continue;
        }

        for (i = 0; i < events->nelts; i++) {
            if (e[i]->seq <= ctx->seq) {
                continue;
            }

            ngx_rtmp_live_shop_send(ctx, lshop_event_type_name(e[i]->type),
                                    e[i]->seq, e[i]->json, e[i]->len);
            ctx->seq = e[i]->seq;
        }
    }

    ngx_destroy_pool(pool);
}


void
ngx_rtmp_live_shop_deliver(void)
{
    ngx_queue_t                  *q, *next;
    ngx_rtmp_live_shop_stream_t  *st;

    if (ngx_rtmp_live_shop_streams.next == NULL) {
        return;
    }

    for (q = ngx_queue_head(&ngx_rtmp_live_shop_streams);
         q != ngx_queue_sentinel(&ngx_rtmp_live_shop_streams);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_rtmp_live_shop_stream_t, queue);

        ngx_rtmp_live_shop_deliver_stream(st);
    }
}


ngx_uint_t
ngx_rtmp_live_shop_listening(void)
{
    return ngx_rtmp_live_shop_streams.next != NULL
           && !ngx_queue_empty(&ngx_rtmp_live_shop_streams);
}


/*
 * SPEC §14: this worker's RTMP players count as viewers, each as its
 * connection (seen again every NGX_LIVE_SHOP_TOUCH_MS while it plays);
 * relays to other servers and workers are not viewers
 */

static void
ngx_rtmp_live_shop_viewer(ngx_rtmp_live_shop_ctx_t *ctx)
{
    u_char      buf[NGX_INT64_LEN * 2 + 8];
    ngx_str_t   id;

    id.data = buf;
    id.len = ngx_sprintf(buf, "rtmp:%P:%uA", ngx_pid,
                         ctx->session->connection->number) - buf;

    (void) ngx_live_shop_viewers_seen(
                         ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                         &ctx->stream->name, &id, 1, NULL);
}


void
ngx_rtmp_live_shop_audience(void)
{
    u_char                        *p;
    ngx_str_t                     *ids;
    ngx_uint_t                     n;
    ngx_queue_t                   *q, *cq;
    ngx_live_shop_shm_t           *shm;
    ngx_rtmp_live_shop_ctx_t      *ctx;
    ngx_rtmp_live_shop_stream_t   *st;

    static ngx_msec_t  touched;

    if (!ngx_rtmp_live_shop_listening()
        || ngx_current_msec - touched < NGX_LIVE_SHOP_TOUCH_MS)
    {
        return;
    }

    touched = ngx_current_msec;
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    for (q = ngx_queue_head(&ngx_rtmp_live_shop_streams);
         q != ngx_queue_sentinel(&ngx_rtmp_live_shop_streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_rtmp_live_shop_stream_t, queue);

        n = 0;

        for (cq = ngx_queue_head(&st->sessions);
             cq != ngx_queue_sentinel(&st->sessions);
             cq = ngx_queue_next(cq))
        {
            n++;
        }

        ids = ngx_alloc(n * (sizeof(ngx_str_t) + NGX_INT64_LEN * 2 + 8) + 1,
                        ngx_cycle->log);
        if (ids == NULL) {
            return;
        }

        p = (u_char *) (ids + n);
        n = 0;

        for (cq = ngx_queue_head(&st->sessions);
             cq != ngx_queue_sentinel(&st->sessions);
             cq = ngx_queue_next(cq))
        {
            ctx = ngx_queue_data(cq, ngx_rtmp_live_shop_ctx_t, queue);

            if (ctx->publishing || ctx->session->relay) {
                continue;
            }

            ids[n].data = p;
            p = ngx_sprintf(p, "rtmp:%P:%uA", ngx_pid,
                            ctx->session->connection->number);
            ids[n].len = p - ids[n].data;
            n++;
        }

        if (n) {
            (void) ngx_live_shop_viewers_seen(shm, &st->name, ids, n,
                                              NULL);
        }

        ngx_free(ids);
    }
}


static void *
ngx_rtmp_live_shop_create_app_conf(ngx_conf_t *cf)
{
    ngx_rtmp_live_shop_app_conf_t  *lacf;

    lacf = ngx_pcalloc(cf->pool, sizeof(ngx_rtmp_live_shop_app_conf_t));
    if (lacf == NULL) {
        return NULL;
    }

    lacf->enabled = NGX_CONF_UNSET;

    return lacf;
}


static char *
ngx_rtmp_live_shop_merge_app_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_rtmp_live_shop_app_conf_t  *prev = parent;
    ngx_rtmp_live_shop_app_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_rtmp_live_shop_postconfiguration(ngx_conf_t *cf)
{
    ngx_rtmp_handler_pt        *h;
    ngx_rtmp_core_main_conf_t  *cmcf;

    cmcf = ngx_rtmp_conf_get_module_main_conf(cf, ngx_rtmp_core_module);

    h = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_VIDEO]);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_rtmp_live_shop_av;

    h = ngx_array_push(&cmcf->events[NGX_RTMP_MSG_AUDIO]);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_rtmp_live_shop_av;

    next_publish = ngx_rtmp_publish;
    ngx_rtmp_publish = ngx_rtmp_live_shop_publish;

    next_play = ngx_rtmp_play;
    ngx_rtmp_play = ngx_rtmp_live_shop_play;

    next_close_stream = ngx_rtmp_close_stream;
    ngx_rtmp_close_stream = ngx_rtmp_live_shop_close_stream;

    return NGX_OK;
}


static ngx_int_t
ngx_rtmp_live_shop_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_rtmp_live_shop_streams);

    if (ngx_process != NGX_PROCESS_WORKER) {
        return NGX_OK;
    }

    return ngx_rtmp_live_shop_listen_auto_push(cycle);
}


/*
 * rtmp_auto_push relays a stream to the other workers through a unix
 * socket per worker, which it adds to cycle->listening in its
 * init_process. Built as a dynamic module (as Debian ships nginx-rtmp),
 * that runs after the event module has put the listening sockets into the
 * event loop, so the socket is never accepted on and subscribers in the
 * other workers get no stream at all. This module loads after it, so it
 * finishes the job: a listening RTMP socket without a connection of its
 * own gets one, as ngx_event_process_init() would have given it.
 */

static ngx_int_t
ngx_rtmp_live_shop_listen_auto_push(ngx_cycle_t *cycle)
{
    ngx_uint_t         i;
    ngx_event_t       *rev;
    ngx_listening_t   *ls;
    ngx_connection_t  *c;

    ls = cycle->listening.elts;

    for (i = 0; i < cycle->listening.nelts; i++) {

        if (ls[i].handler != ngx_rtmp_init_connection
            || ls[i].fd == (ngx_socket_t) -1
            || ls[i].sockaddr->sa_family != AF_UNIX
            || (ls[i].connection && ls[i].connection->listening == &ls[i]))
        {
            continue;
        }

        c = ngx_get_connection(ls[i].fd, cycle->log);
        if (c == NULL) {
            return NGX_ERROR;
        }

        c->type = SOCK_STREAM;
        c->log = &ls[i].log;
        c->listening = &ls[i];
        ls[i].connection = c;

        rev = c->read;
        rev->log = c->log;
        rev->accept = 1;
        rev->handler = ngx_event_accept;

        if (ngx_add_event(rev, NGX_READ_EVENT, 0) == NGX_ERROR) {
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                      "live_shop: accepting rtmp_auto_push relays on %V",
                      &ls[i].addr_text);
    }

    return NGX_OK;
}
