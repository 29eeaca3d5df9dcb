
/*
 * liveshop: event webhooks out (SPEC §10). Every event of every stream is
 * POSTed to the live_shop_notify URL, signed as Standard Webhooks, one at
 * a time and in seq order per stream; a failure is retried on the core's
 * schedule (lshop_webhook_retry_delay), a 410 stops delivery. What was
 * delivered is remembered per stream next to its journal, so pending
 * deliveries survive restarts (at least once). A receiver's Retry-After
 * (up to a day) sets the wait instead of the schedule. One worker (number
 * 0) delivers, over nginx's own non-blocking connections: nothing here
 * waits.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <lshop/codec.h>
#include <lshop/webhook.h>

#include "ngx_live_shop.h"


#define NGX_LIVE_SHOP_NOTIFY_TIMEOUT  10000   /* ms, for each step */


typedef struct {
    ngx_peer_connection_t           peer;
    ngx_pool_t                     *pool;
    ngx_buf_t                      *out;
    ngx_buf_t                      *in;
    ngx_str_t                       stream;
    u_char                          name[LSHOP_STREAM_MAX + 1];
    uint64_t                        seq;
    ngx_uint_t                      attempt;
    ngx_msec_t                      retry_after;  /* ms asked by the peer */
    ngx_event_t                     wait;         /* until the next try */
    unsigned                        busy:1;
    unsigned                        waiting:1;
    unsigned                        gone:1;       /* the URL said 410 */
    unsigned                        loaded:1;     /* every stream known */
} ngx_live_shop_notify_t;


static ngx_int_t ngx_live_shop_notify_next(ngx_live_shop_shm_t *shm,
    ngx_live_shop_notify_t *n, ngx_str_t *json);
static ngx_int_t ngx_live_shop_notify_event(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_shm_t *shm, ngx_live_shop_notify_t *n, ngx_str_t *json);
static int ngx_live_shop_notify_replayed(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored);
static ngx_int_t ngx_live_shop_notify_send(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_notify_t *n, ngx_str_t *json);
static void ngx_live_shop_notify_write(ngx_event_t *wev);
static void ngx_live_shop_notify_read(ngx_event_t *rev);
static void ngx_live_shop_notify_done(ngx_live_shop_notify_t *n,
    ngx_int_t status);
static void ngx_live_shop_notify_wake(ngx_event_t *ev);


static ngx_live_shop_notify_t  ngx_live_shop_notifier;


/* live_shop_notify URL secret=whsec_…; */

char *
ngx_live_shop_notify_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t             *value;
    lshop_error            err;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->notify.url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len <= sizeof("http://") - 1
        || ngx_strncasecmp(value[1].data, (u_char *) "http://",
                           sizeof("http://") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes an http:// URL, not \"%V\" (for "
                           "https, point it at a local proxy)", &cmd->name,
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    lscf->notify.url.data = value[1].data + sizeof("http://") - 1;
    lscf->notify.url.len = value[1].len - (sizeof("http://") - 1);
    lscf->notify.default_port = 80;
    lscf->notify.uri_part = 1;

    if (ngx_parse_url(cf->pool, &lscf->notify) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" of \"%V\"",
                           lscf->notify.err ? lscf->notify.err
                                            : "invalid URL",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lscf->notify.uri.len == 0) {
        ngx_str_set(&lscf->notify.uri, "/");
    }

    if (value[2].len <= sizeof("secret=") - 1
        || ngx_strncmp(value[2].data, "secret=", sizeof("secret=") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" needs \"secret=whsec_…\", not \"%V\"",
                           &cmd->name, &value[2]);
        return NGX_CONF_ERROR;
    }

    lscf->notify_secret.data = value[2].data + sizeof("secret=") - 1;
    lscf->notify_secret.len = value[2].len - (sizeof("secret=") - 1);

    if (lshop_webhook_secret_check(LSHOP_PROVIDER_STANDARD,
                                   (char *) lscf->notify_secret.data,
                                   lscf->notify_secret.len, &err)
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"%V\": %s", &cmd->name,
                           err.message);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Called on the worker's clock: starts the next delivery when none is
 * under way or waiting for its retry.
 */

void
ngx_live_shop_notify_kick(void)
{
    ngx_str_t               json;
    ngx_live_shop_shm_t    *shm;
    ngx_live_shop_conf_t   *lscf;
    ngx_live_shop_notify_t *n;

    n = &ngx_live_shop_notifier;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (lscf->notify.url.len == 0 || shm == NULL || ngx_worker != 0
        || ngx_exiting || n->busy || n->waiting || n->gone)
    {
        return;
    }

    if (n->pool == NULL) {
        n->pool = ngx_create_pool(4096, ngx_cycle->log);
        if (n->pool == NULL) {
            return;
        }

        n->wait.handler = ngx_live_shop_notify_wake;
        n->wait.log = ngx_cycle->log;
        n->wait.data = n;
        n->wait.cancelable = 1;
    }

    ngx_reset_pool(n->pool);

    if (!n->loaded) {
        /* after a restart: the streams with deliveries pending */
        ngx_live_shop_load_all(shm);
        n->loaded = 1;
    }

    if (ngx_live_shop_notify_next(shm, n, &json) != NGX_OK) {
        return;
    }

    if (ngx_live_shop_notify_send(lscf, n, &json) != NGX_OK) {
        ngx_live_shop_notify_done(n, 0);
    }
}


/* The first stream with an event not yet delivered, and that event */

static ngx_int_t
ngx_live_shop_notify_next(ngx_live_shop_shm_t *shm, ngx_live_shop_notify_t *n,
    ngx_str_t *json)
{
    ngx_int_t                rc;
    ngx_rbtree_node_t       *node, *root, *sentinel;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shm->shpool->mutex);

    root = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    for (node = (root == sentinel) ? NULL : ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&shm->sh->rbtree, node))
    {
        st = (ngx_live_shop_stream_t *) node;

        if (st->state.seq > st->notified) {
            ngx_memcpy(n->name, st->name, st->sn.str.len + 1);
            n->stream.data = n->name;
            n->stream.len = st->sn.str.len;
            n->seq = st->notified + 1;
            rc = NGX_OK;
            break;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_live_shop_notify_event(lscf, shm, n, json);
}


typedef struct {
    ngx_live_shop_notify_t         *notify;
    ngx_str_t                      *json;
} ngx_live_shop_notify_find_t;


/* Event n->seq: from the zone while it keeps it, else from the journal */

static ngx_int_t
ngx_live_shop_notify_event(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_shm_t *shm, ngx_live_shop_notify_t *n, ngx_str_t *json)
{
    lshop_state                  *st;
    ngx_array_t                  *events;
    lshop_replay_ops              ops;
    ngx_live_shop_event_t       **e;
    ngx_live_shop_notify_find_t   find;

    events = ngx_live_shop_events_after(shm, &n->stream, n->seq - 1,
                                        n->pool);

    if (events) {
        e = events->elts;

        if (e[0]->seq == n->seq) {
            json->data = e[0]->json;
            json->len = e[0]->len;
            return NGX_OK;
        }
    }

    st = ngx_palloc(n->pool, sizeof(lshop_state));
    if (st == NULL) {
        return NGX_ERROR;
    }

    lshop_state_init(st);
    ngx_str_null(json);

    find.notify = n;
    find.json = json;

    ngx_memzero(&ops, sizeof(lshop_replay_ops));
    ops.arg = &find;
    ops.event = ngx_live_shop_notify_replayed;

    (void) ngx_live_shop_journal_replay(lscf, &n->stream, -1, st, &ops,
                                        ngx_cycle->log);

    if (json->data == NULL) {
        /* no longer in any journal: go on after it */
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop_notify: event %uL of \"%V\" is in no "
                      "journal any more; it is skipped", n->seq,
                      &n->stream);
        ngx_live_shop_notify_done(n, 200);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static int
ngx_live_shop_notify_replayed(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored)
{
    ngx_live_shop_notify_find_t *find = arg;

    if (restored || ev->seq != find->notify->seq) {
        return 0;
    }

    find->json->data = ngx_pnalloc(find->notify->pool, len);
    if (find->json->data == NULL) {
        return -1;
    }

    ngx_memcpy(find->json->data, json, len);
    find->json->len = len;

    return -1;   /* found: the rest of the journal is not needed */
}


static ngx_int_t
ngx_live_shop_notify_send(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_notify_t *n, ngx_str_t *json)
{
    char              *sig, id[LSHOP_STREAM_MAX + NGX_INT64_LEN + 2];
    size_t             len;
    time_t             now;
    ngx_int_t          rc;
    ngx_url_t         *u;
    ngx_connection_t  *c;

    u = &lscf->notify;
    now = ngx_time();

    (void) lshop_event_id(id, sizeof(id), (char *) n->name, n->seq);

    sig = lshop_webhook_sign((char *) lscf->notify_secret.data,
                             lscf->notify_secret.len, id, now,
                             (char *) json->data, json->len);
    if (sig == NULL) {
        return NGX_ERROR;
    }

    len = sizeof("POST  HTTP/1.1\r\nHost: \r\n"
                 "Content-Type: application/json\r\nContent-Length: \r\n"
                 "User-Agent: liveshop\r\nwebhook-id: \r\n"
                 "webhook-timestamp: \r\nwebhook-signature: \r\n"
                 "Connection: close\r\n\r\n")
          + u->uri.len + u->host.len + NGX_INT_T_LEN + 6 + ngx_strlen(id)
          + NGX_TIME_T_LEN + ngx_strlen(sig) + json->len;

    n->out = ngx_create_temp_buf(n->pool, len);
    n->in = ngx_create_temp_buf(n->pool, 1024);

    if (n->out == NULL || n->in == NULL) {
        free(sig);
        return NGX_ERROR;
    }

    n->out->last = ngx_sprintf(n->out->last,
                               "POST %V HTTP/1.1\r\nHost: %V:%d\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: %uz\r\n"
                               "User-Agent: liveshop\r\n"
                               "webhook-id: %s\r\n"
                               "webhook-timestamp: %T\r\n"
                               "webhook-signature: %s\r\n"
                               "Connection: close\r\n\r\n",
                               &u->uri, &u->host, (int) u->port, json->len,
                               id, now, sig);
    n->out->last = ngx_cpymem(n->out->last, json->data, json->len);

    free(sig);

    ngx_memzero(&n->peer, sizeof(ngx_peer_connection_t));
    n->peer.sockaddr = u->addrs[0].sockaddr;
    n->peer.socklen = u->addrs[0].socklen;
    n->peer.name = &u->addrs[0].name;
    n->peer.get = ngx_event_get_peer;
    n->peer.log = ngx_cycle->log;
    n->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&n->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        return NGX_ERROR;
    }

    n->busy = 1;

    c = n->peer.connection;
    c->data = n;
    c->pool = n->pool;
    c->read->handler = ngx_live_shop_notify_read;
    c->write->handler = ngx_live_shop_notify_write;

    ngx_add_timer(c->write, NGX_LIVE_SHOP_NOTIFY_TIMEOUT);

    if (rc == NGX_OK) {
        ngx_live_shop_notify_write(c->write);
    }

    return NGX_OK;
}


static void
ngx_live_shop_notify_write(ngx_event_t *wev)
{
    ssize_t                  sent;
    ngx_connection_t        *c;
    ngx_live_shop_notify_t  *n;

    c = wev->data;
    n = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, NGX_ETIMEDOUT,
                      "live_shop_notify: %V timed out", n->peer.name);
        ngx_live_shop_notify_done(n, 0);
        return;
    }

    while (n->out->pos < n->out->last) {
        sent = c->send(c, n->out->pos, n->out->last - n->out->pos);

        if (sent == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_live_shop_notify_done(n, 0);
            }
            return;
        }

        if (sent == NGX_ERROR) {
            ngx_live_shop_notify_done(n, 0);
            return;
        }

        n->out->pos += sent;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    ngx_add_timer(c->read, NGX_LIVE_SHOP_NOTIFY_TIMEOUT);

    if (c->read->ready) {
        ngx_live_shop_notify_read(c->read);
    }
}


/*
 * Reads the answer's status line (and Retry-After, when the headers fit
 * the buffer); the body does not matter.
 */

static void
ngx_live_shop_notify_read(ngx_event_t *rev)
{
    u_char                  *p, *eol, *last;
    ssize_t                  got;
    ngx_int_t                status, secs;
    ngx_connection_t        *c;
    ngx_live_shop_notify_t  *n;

    c = rev->data;
    n = c->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, NGX_ETIMEDOUT,
                      "live_shop_notify: %V did not answer", n->peer.name);
        ngx_live_shop_notify_done(n, 0);
        return;
    }

    for ( ;; ) {
        if (n->in->last == n->in->end) {
            break;
        }

        got = c->recv(c, n->in->last, n->in->end - n->in->last);

        if (got == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_live_shop_notify_done(n, 0);
            }
            return;
        }

        if (got == NGX_ERROR) {
            ngx_live_shop_notify_done(n, 0);
            return;
        }

        if (got == 0) {
            break;
        }

        n->in->last += got;

        if (ngx_strlcasestrn(n->in->pos, n->in->last,
                             (u_char *) "\r\n\r\n", 4 - 1)
            != NULL)
        {
            break;
        }
    }

    /* "HTTP/1.1 200 OK" */

    p = n->in->pos;
    last = n->in->last;
    status = 0;

    if (last - p >= 12 && ngx_strncmp(p, "HTTP/1.", 7) == 0) {
        status = ngx_atoi(p + 9, 3);
        if (status == NGX_ERROR) {
            status = 0;
        }
    }

    n->retry_after = 0;

    p = ngx_strlcasestrn(p, last, (u_char *) "\nretry-after:",
                         sizeof("\nretry-after:") - 2);
    if (p) {
        p += sizeof("\nretry-after:") - 1;

        while (p < last && *p == ' ') {
            p++;
        }

        eol = ngx_strlchr(p, last, '\r');
        secs = eol ? ngx_atoi(p, eol - p) : NGX_ERROR;

        if (secs != NGX_ERROR && secs < 86400) {
            n->retry_after = secs * 1000;
        }
    }

    ngx_live_shop_notify_done(n, status);
}


/*
 * The end of a try: 2xx moves the stream's cursor on (in the zone and on
 * disk), 410 stops, anything else waits its turn to try again.
 */

static void
ngx_live_shop_notify_done(ngx_live_shop_notify_t *n, ngx_int_t status)
{
    double                  jitter;
    int64_t                 delay;
    ngx_live_shop_shm_t    *shm;
    ngx_live_shop_conf_t   *lscf;

    if (n->peer.connection) {
        ngx_close_connection(n->peer.connection);
        n->peer.connection = NULL;
    }

    n->busy = 0;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (status >= 200 && status < 300) {
        n->attempt = 0;

        ngx_live_shop_notified(shm, &n->stream, n->seq);

        /* the next one at once */
        ngx_post_event(&n->wait, &ngx_posted_events);
        n->waiting = 1;
        return;
    }

    if (status == 410) {
        n->gone = 1;
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop_notify: %V answered 410 Gone: no more "
                      "events are sent there until nginx is reloaded",
                      &lscf->notify.url);
        return;
    }

    jitter = (double) (ngx_random() % 1000) / 1000.0;
    delay = lshop_webhook_retry_delay(++n->attempt, jitter);

    if (delay < 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop_notify: event %uL of \"%V\" given up "
                      "after %ui tries", n->seq, &n->stream, n->attempt - 1);
        n->attempt = 0;
        ngx_live_shop_notified(shm, &n->stream, n->seq);
        delay = 0;
    }

    if (n->retry_after) {
        /* the receiver knows best when it is back */
        delay = n->retry_after;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "live_shop_notify: event %uL of \"%V\" not taken "
                  "(status %i), try %ui again in %L ms", n->seq, &n->stream,
                  status, n->attempt + 1, delay);

    n->waiting = 1;
    ngx_add_timer(&n->wait, (ngx_msec_t) ngx_max(delay, 1));
}


static void
ngx_live_shop_notify_wake(ngx_event_t *ev)
{
    ngx_live_shop_notify_t *n = ev->data;

    n->waiting = 0;

    ngx_live_shop_notify_kick();
}
