
/*
 * liveshop: Server-Sent Events (SPEC §8). GET …/events answers
 * text/event-stream: the state first, then one message per event as it
 * happens. A client that comes back with Last-Event-ID gets what it
 * missed instead of the state: from the zone's recent events, or from the
 * journal. A comment keeps idle connections alive. A client that does not
 * read is dropped once its unsent output passes a bound; it can come back
 * with Last-Event-ID and lose nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_live_shop.h"

#if (__GLIBC__)
#include <malloc.h>
#endif


#define NGX_HTTP_LIVE_SHOP_SSE_MAX_PENDING  (256 * 1024)
#define NGX_HTTP_LIVE_SHOP_SSE_BUF          4096
#define NGX_HTTP_LIVE_SHOP_SSE_HEAD         (NGX_INT64_LEN + 64)


typedef struct ngx_http_live_shop_sse_stream_s
    ngx_http_live_shop_sse_stream_t;


typedef struct {
    ngx_http_request_t               *request;
    ngx_http_live_shop_sse_stream_t  *stream;
    ngx_queue_t                       queue;
    uint64_t                          seq;       /* last one it was sent */
    ngx_str_t                         viewer;    /* its session, or one
                                                    for its connection */
    ngx_msec_t                        last_write;
    ngx_chain_t                      *free;
    ngx_chain_t                      *busy;
    unsigned                          failed:1;  /* to be closed */
} ngx_http_live_shop_sse_t;


/* A stream with SSE clients in this worker */

struct ngx_http_live_shop_sse_stream_s {
    ngx_queue_t                       queue;
    ngx_str_t                         name;
    u_char                            data[LSHOP_STREAM_MAX];
    ngx_queue_t                       clients;
    int64_t                           viewers;   /* last told */
    ngx_msec_t                        told;
    ngx_msec_t                        touched;   /* its clients, seen */
    uint64_t                          poll_seq;  /* the tally last told */
    uint64_t                          poll_votes;
};


typedef struct {
    ngx_http_live_shop_sse_t         *sse;
    ngx_int_t                         rc;
} ngx_http_live_shop_sse_replay_t;




static ngx_int_t ngx_http_live_shop_sse_join(ngx_http_request_t *r,
    ngx_http_live_shop_sse_t *sse, ngx_str_t *stream);
static void ngx_http_live_shop_sse_cleanup(void *data);
static void ngx_http_live_shop_sse_forget(
    ngx_http_live_shop_sse_stream_t *st);
static ngx_int_t ngx_http_live_shop_sse_catch_up(
    ngx_http_live_shop_sse_t *sse, uint64_t after);
static void ngx_http_live_shop_sse_replay_event(void *arg,
    const lshop_event *ev, u_char *json, size_t len);
static void ngx_http_live_shop_sse_behind_event(void *arg,
    const lshop_event *ev, u_char *json, size_t len);
static ngx_int_t ngx_http_live_shop_sse_state(ngx_http_live_shop_sse_t *sse);
static void ngx_http_live_shop_sse_parts(ngx_str_t *parts, u_char *head,
    uint64_t seq, const char *type, u_char *data, size_t len);
static ngx_int_t ngx_http_live_shop_sse_message(ngx_http_live_shop_sse_t *sse,
    uint64_t seq, const char *type, u_char *data, size_t len);
static ngx_int_t ngx_http_live_shop_sse_write(ngx_http_live_shop_sse_t *sse,
    ngx_str_t *parts, ngx_uint_t nparts);
static void ngx_http_live_shop_sse_release(ngx_http_live_shop_sse_t *sse);
static ngx_int_t ngx_http_live_shop_sse_send(ngx_http_live_shop_sse_t *sse,
    u_char *data, size_t len);
static void ngx_http_live_shop_sse_write_handler(ngx_http_request_t *r);
static void ngx_http_live_shop_sse_close(ngx_http_live_shop_sse_t *sse);
static void ngx_http_live_shop_sse_deliver_stream(
    ngx_http_live_shop_sse_stream_t *st);
static void ngx_http_live_shop_sse_audience(void);
static void ngx_http_live_shop_sse_tell(ngx_http_live_shop_sse_stream_t *st,
    u_char *msg, size_t len);
static void ngx_http_live_shop_sse_poll(ngx_http_live_shop_sse_stream_t *st,
    ngx_live_shop_shm_t *shm);


static ngx_queue_t  ngx_http_live_shop_sse_streams;
static ngx_msec_t   ngx_http_live_shop_sse_pinged;
static ngx_uint_t   ngx_http_live_shop_sse_walking; /* streams stay put */
static ngx_uint_t   ngx_http_live_shop_sse_clients;
static ngx_uint_t   ngx_http_live_shop_sse_peak;    /* since last trimmed */


ngx_int_t
ngx_http_live_shop_sse(ngx_http_request_t *r, ngx_str_t *stream)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_str_t                  value;
    uint64_t                   after;
    ngx_uint_t                 i, resume;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    ngx_http_live_shop_sse_t  *sse;

    static ngx_str_t  type = ngx_string("text/event-stream");

    /* Last-Event-ID, or ?last_event_id= for clients that cannot set it */

    resume = 0;
    ngx_str_null(&value);

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof("Last-Event-ID") - 1
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Last-Event-ID",
                               h[i].key.len) == 0)
        {
            value = h[i].value;
        }
    }

    if (value.len == 0) {
        (void) ngx_http_arg(r, (u_char *) "last_event_id",
                            sizeof("last_event_id") - 1, &value);
    }

    after = 0;

    if (value.len) {
        for (p = value.data; p < value.data + value.len; p++) {
            if (*p < '0' || *p > '9' || after > (UINT64_MAX - 9) / 10) {
                return NGX_HTTP_BAD_REQUEST;
            }

            after = after * 10 + (*p - '0');
        }

        resume = 1;
    }

    sse = ngx_pcalloc(r->pool, sizeof(ngx_http_live_shop_sse_t));
    if (sse == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sse->request = r;

    /* SPEC §14: a player sends its session, so that it counts once over
     * HLS and SSE; any other client is its connection, but for tools
     * that watch the stream for its host (viewer=no): they are no
     * audience */

    if (ngx_http_live_shop_not_viewer(r)) {
        ngx_str_null(&sse->viewer);

    } else if (ngx_http_arg(r, (u_char *) "session", sizeof("session") - 1,
                            &value)
               == NGX_OK
               && lshop_session_valid((char *) value.data, value.len))
    {
        sse->viewer = value;

    } else {
        sse->viewer.data = ngx_pnalloc(r->pool, NGX_INT64_LEN * 2 + 8);
        if (sse->viewer.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        sse->viewer.len = ngx_sprintf(sse->viewer.data, "sse:%P:%uA", ngx_pid,
                                      r->connection->number)
                          - sse->viewer.data;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_type = type;
    r->headers_out.content_type_len = type.len;
    r->headers_out.content_length_n = -1;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a proxying nginx in front must not hold the stream back */
    h->hash = 1;
    ngx_str_set(&h->key, "X-Accel-Buffering");
    ngx_str_set(&h->value, "no");

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    if (ngx_http_live_shop_sse_join(r, sse, stream) != NGX_OK) {
        return NGX_ERROR;
    }

    /* WHATWG: an EventSource waits this long (ms) before it reconnects */
    if (ngx_http_live_shop_sse_send(sse, (u_char *) "retry: 1000\n\n",
                                    sizeof("retry: 1000\n\n") - 1)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = resume ? ngx_http_live_shop_sse_catch_up(sse, after)
                : ngx_http_live_shop_sse_state(sse);

    if (rc != NGX_OK) {
        return NGX_ERROR;
    }

    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_live_shop_sse_write_handler;

    r->main->count++;

    if (sse->viewer.len) {
        (void) ngx_live_shop_viewers_seen(
                         ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                         &sse->stream->name, &sse->viewer, 1, NULL);
    }

    ngx_live_shop_tick_arm();

    return NGX_DONE;
}


static ngx_int_t
ngx_http_live_shop_sse_join(ngx_http_request_t *r,
    ngx_http_live_shop_sse_t *sse, ngx_str_t *stream)
{
    ngx_queue_t                      *q;
    ngx_pool_cleanup_t               *cln;
    ngx_http_live_shop_sse_stream_t  *st;

    if (ngx_http_live_shop_sse_streams.next == NULL) {
        ngx_queue_init(&ngx_http_live_shop_sse_streams);
    }

    st = NULL;

    for (q = ngx_queue_head(&ngx_http_live_shop_sse_streams);
         q != ngx_queue_sentinel(&ngx_http_live_shop_sse_streams);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_http_live_shop_sse_stream_t, queue);

        if (st->name.len == stream->len
            && ngx_memcmp(st->data, stream->data, stream->len) == 0)
        {
            break;
        }

        st = NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (st == NULL) {
        st = ngx_calloc(sizeof(ngx_http_live_shop_sse_stream_t),
                        r->connection->log);
        if (st == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(st->data, stream->data, stream->len);
        st->name.data = st->data;
        st->name.len = stream->len;
        ngx_queue_init(&st->clients);
        ngx_queue_insert_tail(&ngx_http_live_shop_sse_streams, &st->queue);
    }

    sse->stream = st;
    sse->last_write = ngx_current_msec;
    ngx_queue_insert_tail(&st->clients, &sse->queue);

    if (++ngx_http_live_shop_sse_clients > ngx_http_live_shop_sse_peak) {
        ngx_http_live_shop_sse_peak = ngx_http_live_shop_sse_clients;
    }

    cln->handler = ngx_http_live_shop_sse_cleanup;
    cln->data = sse;

    return NGX_OK;
}


/* The request is gone, however it ended */

static void
ngx_http_live_shop_sse_cleanup(void *data)
{
    ngx_http_live_shop_sse_t *sse = data;

    ngx_http_live_shop_sse_stream_t  *st;

    st = sse->stream;

    if (st == NULL) {
        return;
    }

    ngx_queue_remove(&sse->queue);
    sse->stream = NULL;
    ngx_http_live_shop_sse_clients--;

    if (!ngx_http_live_shop_sse_walking) {
        ngx_http_live_shop_sse_forget(st);
    }
}


/* A stream without clients goes; never while the streams are walked */

static void
ngx_http_live_shop_sse_forget(ngx_http_live_shop_sse_stream_t *st)
{
    if (ngx_queue_empty(&st->clients)) {
        ngx_queue_remove(&st->queue);
        ngx_free(st);
    }
}


/*
 * Every event after "after": from the zone while it keeps them all, else
 * from the journal. A client further back than the journal reaches gets
 * the state.
 */

static ngx_int_t
ngx_http_live_shop_sse_catch_up(ngx_http_live_shop_sse_t *sse, uint64_t after)
{
    ngx_uint_t                        i;
    ngx_pool_t                       *pool;
    ngx_array_t                      *events;
    ngx_live_shop_shm_t              *shm;
    ngx_live_shop_conf_t             *lscf;
    ngx_live_shop_event_t           **e;
    ngx_http_live_shop_sse_replay_t   replay;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    pool = sse->request->pool;

    sse->seq = after;

    events = ngx_live_shop_events_after(shm, &sse->stream->name, after,
                                        pool);
    if (events == NULL) {
        return NGX_OK;
    }

    e = events->elts;

    if (e[0]->seq > after + 1) {

        /* older than the zone keeps: the journal has them */

        replay.sse = sse;
        replay.rc = NGX_OK;

        if (ngx_live_shop_journal_events(lscf, &sse->stream->name, after,
                                         e[0]->seq,
                                         ngx_http_live_shop_sse_replay_event,
                                         &replay,
                                         sse->request->connection->log)
            == NGX_ERROR
            || replay.rc != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (sse->seq < e[0]->seq - 1) {
            /* the journal no longer reaches back that far */
            return ngx_http_live_shop_sse_state(sse);
        }
    }

    for (i = 0; i < events->nelts; i++) {
        if (e[i]->seq <= sse->seq) {
            continue;
        }

        if (ngx_http_live_shop_sse_message(sse, e[i]->seq,
                                           lshop_event_type_name(e[i]->type),
                                           e[i]->json, e[i]->len)
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_live_shop_sse_replay_event(void *arg, const lshop_event *ev,
    u_char *json, size_t len)
{
    ngx_http_live_shop_sse_replay_t *replay = arg;

    if (replay->rc != NGX_OK || ev->seq != replay->sse->seq + 1) {
        /* only a gapless run from "after" on is worth sending */
        return;
    }

    if (ngx_http_live_shop_sse_message(replay->sse, ev->seq,
                                       lshop_event_type_name(ev->type),
                                       json, len)
        != NGX_OK)
    {
        replay->rc = NGX_ERROR;
    }
}


static ngx_int_t
ngx_http_live_shop_sse_state(ngx_http_live_shop_sse_t *sse)
{
    uint64_t              seq;
    ngx_int_t             rc;
    ngx_str_t             json;
    ngx_pool_t           *pool;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    /* the state is copied into the client's buffers: made in a pool of
     * its own, it is given back at once, not kept as long as the client */
    pool = ngx_create_pool(4096, sse->request->connection->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_live_shop_state_json(shm, &sse->stream->name, pool, &json,
                                  &seq);

    rc = (rc == NGX_OK) ? ngx_http_live_shop_sse_message(sse, seq, "state",
                                                         json.data, json.len)
                        : NGX_ERROR;

    ngx_destroy_pool(pool);

    return rc;
}


/*
 * One numbered message as three parts: "id: SEQ\nevent: TYPE\ndata: "
 * (written into head, NGX_HTTP_LIVE_SHOP_SSE_HEAD bytes), the JSON, and
 * "\n\n". Compact JSON holds no newline, so one data line carries it.
 */

static void
ngx_http_live_shop_sse_parts(ngx_str_t *parts, u_char *head, uint64_t seq,
    const char *type, u_char *data, size_t len)
{
    parts[0].data = head;
    parts[0].len = ngx_sprintf(head, "id: %uL\nevent: %s\ndata: ", seq, type)
                   - head;
    parts[1].data = data;
    parts[1].len = len;
    ngx_str_set(&parts[2], "\n\n");
}


static ngx_int_t
ngx_http_live_shop_sse_message(ngx_http_live_shop_sse_t *sse, uint64_t seq,
    const char *type, u_char *data, size_t len)
{
    u_char     head[NGX_HTTP_LIVE_SHOP_SSE_HEAD];
    ngx_str_t  parts[3];

    ngx_http_live_shop_sse_parts(parts, head, seq, type, data, len);

    if (ngx_http_live_shop_sse_write(sse, parts, 3) != NGX_OK) {
        return NGX_ERROR;
    }

    if (seq > sse->seq) {
        sse->seq = seq;
    }

    return NGX_OK;
}


/*
 * Queues data and sends what the socket takes: one part, or several
 * written as one (a message is one write and one chunk, not three).
 * Buffers come from the request's pool, each a large allocation of its
 * own: they are reused while output is pending and given back once all
 * of it is sent (ngx_http_live_shop_sse_release), so an idle client keeps
 * none, and a client that reads slowly no more than the output it left
 * unread, which is bounded.
 */

static ngx_int_t
ngx_http_live_shop_sse_send(ngx_http_live_shop_sse_t *sse, u_char *data,
    size_t len)
{
    ngx_str_t  part;

    part.data = data;
    part.len = len;

    return ngx_http_live_shop_sse_write(sse, &part, 1);
}


static ngx_int_t
ngx_http_live_shop_sse_write(ngx_http_live_shop_sse_t *sse, ngx_str_t *parts,
    ngx_uint_t nparts)
{
    size_t               n, len;
    u_char              *data;
    ngx_int_t            rc;
    ngx_buf_t           *b;
    ngx_uint_t           i;
    ngx_chain_t         *cl, *out, **ll;
    ngx_http_request_t  *r;

    r = sse->request;
    out = NULL;
    ll = &out;
    b = NULL;

    for (i = 0; i < nparts; i++) {
        data = parts[i].data;
        len = parts[i].len;

        while (len) {
            if (b == NULL || b->last == b->end) {
                cl = ngx_chain_get_free_buf(r->pool, &sse->free);
                if (cl == NULL) {
                    return NGX_ERROR;
                }

                b = cl->buf;

                if (b->start == NULL) {
                    b->start = ngx_palloc(r->pool,
                                          NGX_HTTP_LIVE_SHOP_SSE_BUF);
                    if (b->start == NULL) {
                        return NGX_ERROR;
                    }

                    b->end = b->start + NGX_HTTP_LIVE_SHOP_SSE_BUF;
                    b->tag = (ngx_buf_tag_t) &ngx_http_live_shop_module;
                }

                b->pos = b->start;
                b->last = b->start;
                b->temporary = 1;
                b->flush = 1;

                *ll = cl;
                ll = &cl->next;
            }

            n = ngx_min(len, (size_t) (b->end - b->last));
            b->last = ngx_cpymem(b->last, data, n);

            data += n;
            len -= n;
        }
    }

    if (out == NULL) {
        return NGX_OK;
    }

    rc = ngx_http_output_filter(r, out);

    ngx_chain_update_chains(r->pool, &sse->free, &sse->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_live_shop_module);
    ngx_http_live_shop_sse_release(sse);

    sse->last_write = ngx_current_msec;

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_AGAIN) {
        n = 0;

        for (cl = sse->busy; cl; cl = cl->next) {
            n += ngx_buf_size(cl->buf);
        }

        if (n > NGX_HTTP_LIVE_SHOP_SSE_MAX_PENDING) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "live_shop: SSE client reads too slowly, closing; "
                          "it may come back with Last-Event-ID");
            return NGX_ERROR;
        }

        if (ngx_handle_write_event(r->connection->write, 0) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* Once all output is sent, its buffers go back to the allocator. */

static void
ngx_http_live_shop_sse_release(ngx_http_live_shop_sse_t *sse)
{
    ngx_chain_t  *cl;

    if (sse->busy != NULL) {
        return;
    }

    for (cl = sse->free; cl; cl = cl->next) {
        if (cl->buf->start != NULL
            && ngx_pfree(sse->request->pool, cl->buf->start) == NGX_OK)
        {
            cl->buf->start = NULL;
        }
    }
}


static void
ngx_http_live_shop_sse_write_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_chain_t               *out;
    ngx_pool_cleanup_t        *cln;
    ngx_http_live_shop_sse_t  *sse;

    sse = NULL;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_live_shop_sse_cleanup) {
            sse = cln->data;
        }
    }

    if (sse == NULL || sse->stream == NULL) {
        return;
    }

    out = NULL;
    rc = ngx_http_output_filter(r, NULL);

    ngx_chain_update_chains(r->pool, &sse->free, &sse->busy, &out,
                            (ngx_buf_tag_t) &ngx_http_live_shop_module);
    ngx_http_live_shop_sse_release(sse);

    if (rc == NGX_ERROR
        || (rc == NGX_AGAIN
            && ngx_handle_write_event(r->connection->write, 0) != NGX_OK))
    {
        ngx_http_live_shop_sse_close(sse);
    }
}


/*
 * Ends a client now. Finalizing only posts the termination; it is run
 * here, since a timer or the worker's exit runs no posted requests.
 */

static void
ngx_http_live_shop_sse_close(ngx_http_live_shop_sse_t *sse)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = sse->request;
    c = r->connection;

    ngx_http_live_shop_sse_cleanup(sse);

    ngx_http_finalize_request(r, NGX_ERROR);
    ngx_http_run_posted_requests(c);
}


/*
 * An event a client behind what the zone keeps missed, from the journal
 * (ngx_live_shop_journal_events): to each client it follows on from. A
 * client that cannot take more is marked to be closed (it comes back with
 * Last-Event-ID).
 */

static void
ngx_http_live_shop_sse_behind_event(void *arg, const lshop_event *ev,
    u_char *json, size_t len)
{
    ngx_http_live_shop_sse_stream_t *st = arg;

    ngx_queue_t               *q;
    ngx_http_live_shop_sse_t  *sse;

    for (q = ngx_queue_head(&st->clients);
         q != ngx_queue_sentinel(&st->clients);
         q = ngx_queue_next(q))
    {
        sse = ngx_queue_data(q, ngx_http_live_shop_sse_t, queue);

        if (!sse->failed && sse->seq + 1 == ev->seq
            && ngx_http_live_shop_sse_message(sse, ev->seq,
                                              lshop_event_type_name(ev->type),
                                              json, len)
               != NGX_OK)
        {
            sse->failed = 1;
        }
    }
}


/*
 * New events to every client of a stream. Each event's SSE lines are
 * made once; a client is sent what it has not had in one write, so a
 * burst (a pin that unpins another offer: two events) costs each client
 * one system call, not one per event.
 */

static void
ngx_http_live_shop_sse_deliver_stream(ngx_http_live_shop_sse_stream_t *st)
{
    u_char                    *p;
    uint64_t                   oldest;
    ngx_str_t                 *parts;
    ngx_uint_t                 i, first;
    ngx_pool_t                *pool;
    ngx_array_t               *events;
    ngx_queue_t               *q, *next;
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_event_t    **e;
    ngx_http_live_shop_sse_t  *sse;

    oldest = (uint64_t) -1;

    for (q = ngx_queue_head(&st->clients);
         q != ngx_queue_sentinel(&st->clients);
         q = ngx_queue_next(q))
    {
        sse = ngx_queue_data(q, ngx_http_live_shop_sse_t, queue);
        oldest = ngx_min(oldest, sse->seq);
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

    if (e[0]->seq > oldest + 1) {
        /* some missed events no longer kept: the journal, once for all */
        (void) ngx_live_shop_journal_events(
                   ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle),
                   &st->name, oldest, e[0]->seq,
                   ngx_http_live_shop_sse_behind_event, st, ngx_cycle->log);
    }

    /* each event's message, made once for every client */

    parts = ngx_palloc(pool, 3 * events->nelts * sizeof(ngx_str_t));
    if (parts == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    for (i = 0; i < events->nelts; i++) {
        p = ngx_pnalloc(pool, NGX_HTTP_LIVE_SHOP_SSE_HEAD);
        if (p == NULL) {
            ngx_destroy_pool(pool);
            return;
        }

        ngx_http_live_shop_sse_parts(&parts[3 * i], p, e[i]->seq,
                                     lshop_event_type_name(e[i]->type),
                                     e[i]->json, e[i]->len);
    }

    for (q = ngx_queue_head(&st->clients);
         q != ngx_queue_sentinel(&st->clients);
         q = next)
    {
        next = ngx_queue_next(q);
        sse = ngx_queue_data(q, ngx_http_live_shop_sse_t, queue);

        if (sse->failed) {
            ngx_http_live_shop_sse_close(sse);
            continue;
        }

        if (e[0]->seq > sse->seq + 1
            && ngx_http_live_shop_sse_state(sse) != NGX_OK)
        {
            /* further back than the journal reaches: the state */
            ngx_http_live_shop_sse_close(sse);
            continue;
        }

        for (first = 0;
             first < events->nelts && e[first]->seq <= sse->seq;
             first++)
        {
            /* had it */
        }

        if (first == events->nelts) {
            continue;
        }

        if (ngx_http_live_shop_sse_write(sse, &parts[3 * first],
                                         3 * (events->nelts - first))
            != NGX_OK)
        {
            ngx_http_live_shop_sse_close(sse);
            continue;
        }

        sse->seq = e[events->nelts - 1]->seq;
    }

    ngx_destroy_pool(pool);
}


void
ngx_http_live_shop_sse_deliver(void)
{
    ngx_queue_t                      *q, *next;
    ngx_http_live_shop_sse_stream_t  *st;

    if (ngx_http_live_shop_sse_streams.next == NULL) {
        return;
    }

    ngx_http_live_shop_sse_walking = 1;

    for (q = ngx_queue_head(&ngx_http_live_shop_sse_streams);
         q != ngx_queue_sentinel(&ngx_http_live_shop_sse_streams);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_http_live_shop_sse_stream_t, queue);

        ngx_http_live_shop_sse_deliver_stream(st);
        ngx_http_live_shop_sse_forget(st);
    }

    ngx_http_live_shop_sse_walking = 0;
}


/*
 * After a crowd of clients has gone (the end of a show), glibc keeps the
 * memory their requests had; give it back, at most once a second.
 */

static void
ngx_http_live_shop_sse_trim(void)
{
#if (__GLIBC__)
    if (ngx_http_live_shop_sse_peak - ngx_http_live_shop_sse_clients >= 64
        && ngx_http_live_shop_sse_clients <= ngx_http_live_shop_sse_peak / 2)
    {
        (void) malloc_trim(0);
        ngx_http_live_shop_sse_peak = ngx_http_live_shop_sse_clients;
    }
#endif
}


/*
 * Calls fn for every client of this worker; fn may close its client. A
 * stream left without clients goes once the walk is past it.
 */

static void
ngx_http_live_shop_sse_walk(void (*fn)(ngx_http_live_shop_sse_t *sse))
{
    ngx_queue_t                      *q, *next, *cq, *cnext;
    ngx_http_live_shop_sse_t         *sse;
    ngx_http_live_shop_sse_stream_t  *st;

    if (ngx_http_live_shop_sse_streams.next == NULL) {
        return;
    }

    ngx_http_live_shop_sse_walking = 1;

    for (q = ngx_queue_head(&ngx_http_live_shop_sse_streams);
         q != ngx_queue_sentinel(&ngx_http_live_shop_sse_streams);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_http_live_shop_sse_stream_t, queue);

        for (cq = ngx_queue_head(&st->clients);
             cq != ngx_queue_sentinel(&st->clients);
             cq = cnext)
        {
            cnext = ngx_queue_next(cq);
            sse = ngx_queue_data(cq, ngx_http_live_shop_sse_t, queue);

            fn(sse);
        }

        ngx_http_live_shop_sse_forget(st);
    }

    ngx_http_live_shop_sse_walking = 0;
}


/* A comment on connections idle for live_shop_sse_ping (SPEC §8) */

static void
ngx_http_live_shop_sse_ping(ngx_http_live_shop_sse_t *sse)
{
    static u_char  comment[] = ": ping\n\n";

    if (ngx_current_msec - sse->last_write
        < ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->sse_ping)
    {
        return;
    }

    if (ngx_http_live_shop_sse_send(sse, comment, sizeof(comment) - 1)
        != NGX_OK)
    {
        ngx_http_live_shop_sse_close(sse);
    }
}


void
ngx_http_live_shop_sse_keepalive(void)
{
    if (ngx_http_live_shop_sse_streams.next == NULL
        || ngx_current_msec - ngx_http_live_shop_sse_pinged < 1000)
    {
        return;
    }

    ngx_http_live_shop_sse_pinged = ngx_current_msec;

    ngx_http_live_shop_sse_trim();
    ngx_http_live_shop_sse_audience();
    ngx_http_live_shop_sse_walk(ngx_http_live_shop_sse_ping);
}


/*
 * SPEC §14: this worker's clients are seen again every
 * NGX_LIVE_SHOP_TOUCH_MS, and hear the viewers now in an unnumbered
 * "audience" message when the count changed, at most every
 * NGX_LIVE_SHOP_AUDIENCE_MSG; SPEC §15: and the running poll's tally in
 * an unnumbered "poll" message when it changed, at most every second (the
 * pace of this walk)
 */

static void
ngx_http_live_shop_sse_audience(void)
{
    u_char                            msg[sizeof("event: audience\n"
                                                 "data: {\"viewers\":}\n\n")
                                          + NGX_INT64_LEN];
    size_t                            len;
    int64_t                           viewers;
    ngx_str_t                        *ids;
    ngx_uint_t                        n, touch, audience;
    ngx_queue_t                      *q, *next, *cq;
    ngx_live_shop_shm_t              *shm;
    ngx_http_live_shop_sse_t         *sse;
    ngx_http_live_shop_sse_stream_t  *st;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    audience = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->audience;

    ngx_http_live_shop_sse_walking = 1;

    for (q = ngx_queue_head(&ngx_http_live_shop_sse_streams);
         q != ngx_queue_sentinel(&ngx_http_live_shop_sse_streams);
         q = next)
    {
        next = ngx_queue_next(q);
        st = ngx_queue_data(q, ngx_http_live_shop_sse_stream_t, queue);

        ngx_http_live_shop_sse_poll(st, shm);

        if (!audience) {
            ngx_http_live_shop_sse_forget(st);
            continue;
        }

        touch = ngx_current_msec - st->touched >= NGX_LIVE_SHOP_TOUCH_MS;
        ids = NULL;
        n = 0;

        if (touch) {
            for (cq = ngx_queue_head(&st->clients);
                 cq != ngx_queue_sentinel(&st->clients);
                 cq = ngx_queue_next(cq))
            {
                n++;
            }

            ids = ngx_alloc(n * sizeof(ngx_str_t) + 1, ngx_cycle->log);
            if (ids == NULL) {
                break;
            }

            n = 0;

            for (cq = ngx_queue_head(&st->clients);
                 cq != ngx_queue_sentinel(&st->clients);
                 cq = ngx_queue_next(cq))
            {
                sse = ngx_queue_data(cq, ngx_http_live_shop_sse_t, queue);

                if (sse->viewer.len) {
                    ids[n++] = sse->viewer;
                }
            }

            st->touched = ngx_current_msec;
        }

        (void) ngx_live_shop_viewers_seen(shm, &st->name, ids, n, &viewers);

        if (ids) {
            ngx_free(ids);
        }

        if (viewers == st->viewers
            || ngx_current_msec - st->told < NGX_LIVE_SHOP_AUDIENCE_MSG)
        {
            continue;
        }

        st->viewers = viewers;
        st->told = ngx_current_msec;

        len = ngx_sprintf(msg, "event: audience\ndata: {\"viewers\":%L}\n\n",
                          viewers) - msg;

        ngx_http_live_shop_sse_tell(st, msg, len);

        ngx_http_live_shop_sse_forget(st);
    }

    ngx_http_live_shop_sse_walking = 0;
}


/* An unnumbered message to every client of a stream (a walk is on) */

static void
ngx_http_live_shop_sse_tell(ngx_http_live_shop_sse_stream_t *st, u_char *msg,
    size_t len)
{
    ngx_queue_t               *cq, *cnext;
    ngx_http_live_shop_sse_t  *sse;

    for (cq = ngx_queue_head(&st->clients);
         cq != ngx_queue_sentinel(&st->clients);
         cq = cnext)
    {
        cnext = ngx_queue_next(cq);
        sse = ngx_queue_data(cq, ngx_http_live_shop_sse_t, queue);

        if (ngx_http_live_shop_sse_send(sse, msg, len) != NGX_OK) {
            ngx_http_live_shop_sse_close(sse);
        }
    }
}


static void
ngx_http_live_shop_sse_poll(ngx_http_live_shop_sse_stream_t *st,
    ngx_live_shop_shm_t *shm)
{
    u_char      *p;
    ngx_str_t    json;
    ngx_pool_t  *pool;

    static u_char  head[] = "event: poll\ndata: ";

    if (ngx_queue_empty(&st->clients)) {
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_poll_tally(shm, &st->name, &st->poll_seq,
                                 &st->poll_votes, pool, &json)
        == NGX_OK)
    {
        p = ngx_pnalloc(pool, sizeof(head) - 1 + json.len + 2);

        if (p) {
            ngx_memcpy(p, head, sizeof(head) - 1);
            ngx_memcpy(p + sizeof(head) - 1, json.data, json.len);
            p[sizeof(head) - 1 + json.len] = '\n';
            p[sizeof(head) + json.len] = '\n';

            ngx_http_live_shop_sse_tell(st, p, sizeof(head) + json.len + 1);
        }
    }

    ngx_destroy_pool(pool);
}


/*
 * The worker is going (reload, quit, stop): its clients go first, cleanly,
 * and come back to the new workers with Last-Event-ID.
 */

void
ngx_http_live_shop_sse_close_all(void)
{
    ngx_http_live_shop_sse_walk(ngx_http_live_shop_sse_close);
}


ngx_uint_t
ngx_http_live_shop_sse_listening(void)
{
    return ngx_http_live_shop_sse_streams.next != NULL
           && !ngx_queue_empty(&ngx_http_live_shop_sse_streams);
}
