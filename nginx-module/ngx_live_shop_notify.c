
/*
 * liveshop: event webhooks out (SPEC §10). Every event of every stream is
 * POSTed to the live_shop_notify URL (http:// or https://), signed as
 * Standard Webhooks. Each stream is delivered on its own: one request at
 * a time and in seq order within the stream, its own retries on the
 * core's schedule (lshop_webhook_retry_delay, or the receiver's
 * Retry-After up to a day), so a stream the receiver refuses holds back
 * no other. Streams take turns for a bounded number of connections. A 410
 * stops delivery to the URL. What was delivered is remembered per stream
 * next to its journal, so pending deliveries survive restarts (at least
 * once), and a worker that stops abandons what is in flight. One worker
 * (number 0) delivers, over nginx's own non-blocking connections: nothing
 * here waits. The worker that makes an event rings the others
 * (ngx_live_shop_ring), so a delivery starts at once.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <lshop/codec.h>
#include <lshop/webhook.h>

#include "ngx_live_shop.h"


#define NGX_LIVE_SHOP_NOTIFY_TIMEOUT  10000   /* ms, for each step */
#define NGX_LIVE_SHOP_NOTIFY_CONNS    32      /* deliveries in flight */
#define NGX_LIVE_SHOP_NOTIFY_CA       "/etc/ssl/certs/ca-certificates.crt"


/* A stream with events to deliver: its turn queued, in flight or waiting */

typedef struct {
    ngx_str_node_t                  sn;          /* key: "app/name" */
    u_char                          name[LSHOP_STREAM_MAX + 1];
    ngx_queue_t                     queue;       /* its turn, when queued */
    uint64_t                        seq;         /* the event to deliver */
    ngx_uint_t                      attempt;
    ngx_msec_t                      retry_after; /* ms asked by the peer */
    ngx_event_t                     wait;        /* until the next try */
    ngx_peer_connection_t           peer;
    ngx_log_t                       log;         /* says which event */
    ngx_pool_t                     *pool;        /* of one try */
    ngx_buf_t                      *out;
    ngx_buf_t                      *in;
    unsigned                        queued:1;
    unsigned                        busy:1;
} ngx_live_shop_notify_stream_t;


typedef struct {
    ngx_rbtree_t                    rbtree;      /* of streams */
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     turns;       /* waiting for a connection */
    ngx_uint_t                      busy;        /* deliveries in flight */
    ngx_atomic_uint_t               generation;  /* of the zone, last look */
    ngx_event_t                     kick;        /* posted: look again */
    unsigned                        started:1;   /* this worker delivers */
    unsigned                        loaded:1;    /* every stream known */
    unsigned                        gone:1;      /* the URL said 410 */
} ngx_live_shop_notifier_t;


static void ngx_live_shop_notify_look(ngx_live_shop_shm_t *shm);
static void ngx_live_shop_notify_run(void);
static void ngx_live_shop_notify_start(ngx_live_shop_notify_stream_t *ns);
static ngx_int_t ngx_live_shop_notify_event(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_shm_t *shm, ngx_live_shop_notify_stream_t *ns,
    ngx_str_t *json);
static int ngx_live_shop_notify_replayed(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored);
static ngx_int_t ngx_live_shop_notify_send(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_notify_stream_t *ns, ngx_str_t *json);
static u_char *ngx_live_shop_notify_log_error(ngx_log_t *log, u_char *buf,
    size_t len);
static void ngx_live_shop_notify_write(ngx_event_t *wev);
#if (NGX_SSL)
static void ngx_live_shop_notify_ssl_init(ngx_connection_t *c);
static void ngx_live_shop_notify_ssl_handshake(ngx_connection_t *c);
static ngx_int_t ngx_live_shop_notify_ssl_check(ngx_connection_t *c);
#endif
static void ngx_live_shop_notify_read(ngx_event_t *rev);
static void ngx_live_shop_notify_done(ngx_live_shop_notify_stream_t *ns,
    ngx_int_t status);
static void ngx_live_shop_notify_close(ngx_live_shop_notify_stream_t *ns);
static void ngx_live_shop_notify_forget(ngx_live_shop_notify_stream_t *ns);
static void ngx_live_shop_notify_forget_all(void);
static void ngx_live_shop_notify_turn(ngx_live_shop_notify_stream_t *ns);
static void ngx_live_shop_notify_wake(ngx_event_t *ev);
static void ngx_live_shop_notify_kicked(ngx_event_t *ev);


static ngx_live_shop_notifier_t  ngx_live_shop_notifier;


/* live_shop_notify URL secret=whsec_…; */

char *
ngx_live_shop_notify_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    size_t                 n;
    ngx_str_t             *value;
    lshop_error            err;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->notify.url.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len > sizeof("http://") - 1
        && ngx_strncasecmp(value[1].data, (u_char *) "http://",
                           sizeof("http://") - 1) == 0)
    {
        n = sizeof("http://") - 1;
        lscf->notify.default_port = 80;

#if (NGX_SSL)
    } else if (value[1].len > sizeof("https://") - 1
               && ngx_strncasecmp(value[1].data, (u_char *) "https://",
                                  sizeof("https://") - 1) == 0)
    {
        n = sizeof("https://") - 1;
        lscf->notify.default_port = 443;

        lscf->notify_ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (lscf->notify_ssl == NULL) {
            return NGX_CONF_ERROR;
        }
#endif

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes an http:// or https:// URL, "
                           "not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    lscf->notify.url.data = value[1].data + n;
    lscf->notify.url.len = value[1].len - n;
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
 * An https:// URL: nginx's SSL client, checking the receiver's certificate
 * (like proxy_ssl_verify) against the system's CAs or the ones given.
 */

char *
ngx_live_shop_notify_init_conf(ngx_cycle_t *cycle, ngx_live_shop_conf_t *lscf)
{
#if (NGX_SSL)

    ngx_str_t           *file;
    ngx_pool_cleanup_t  *cln;

    ngx_conf_init_value(lscf->notify_ssl_verify, 1);

    if (lscf->notify_ssl == NULL) {
        return NGX_CONF_OK;
    }

    lscf->notify_ssl->log = cycle->log;

    if (ngx_ssl_create(lscf->notify_ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3,
                       NULL)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(lscf->notify_ssl);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = lscf->notify_ssl;

    if (!lscf->notify_ssl_verify) {
        return NGX_CONF_OK;
    }

    file = &lscf->notify_ssl_trusted_certificate;

    if (file->len == 0) {
        ngx_str_set(file, NGX_LIVE_SHOP_NOTIFY_CA);
    }

    if (ngx_conf_full_name(cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (SSL_CTX_load_verify_locations(lscf->notify_ssl->ctx,
                                      (char *) file->data, NULL)
        == 0)
    {
        ngx_ssl_error(NGX_LOG_EMERG, cycle->log, 0,
                      "live_shop_notify_ssl_trusted_certificate: "
                      "SSL_CTX_load_verify_locations(\"%s\") failed",
                      file->data);
        return NGX_CONF_ERROR;
    }

    /* OpenSSL may leave errors in the queue while loading the CAs */
    ERR_clear_error();

#endif

    return NGX_CONF_OK;
}


/* Worker 0 delivers; its deliveries start here */

ngx_int_t
ngx_live_shop_notify_init_process(ngx_cycle_t *cycle)
{
    ngx_live_shop_conf_t      *lscf;
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    lscf = ngx_live_shop_get_conf(cycle);

    if (lscf->notify.url.len == 0 || ngx_live_shop_get_shm(cycle) == NULL
        || ngx_worker != 0)
    {
        return NGX_OK;
    }

    ngx_rbtree_init(&n->rbtree, &n->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&n->turns);

    n->kick.handler = ngx_live_shop_notify_kicked;
    n->kick.log = cycle->log;
    n->kick.data = n;

    n->started = 1;

    return NGX_OK;
}


/*
 * The worker's end: deliveries in flight are abandoned, not waited for.
 * Their streams' cursors did not move, so each event is sent again after
 * the start (at least once).
 */

void
ngx_live_shop_notify_exit_process(ngx_cycle_t *cycle)
{
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    if (!n->started) {
        return;
    }

    ngx_live_shop_notify_forget_all();

    if (n->kick.posted) {
        ngx_delete_posted_event(&n->kick);
    }

    n->started = 0;
}


/*
 * Called on the worker's clock and whenever a stream may have something
 * new: hands the streams with events not yet delivered their turns.
 */

void
ngx_live_shop_notify_kick(void)
{
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    if (!n->started || n->gone || ngx_exiting) {
        return;
    }

    if (ngx_live_shop_clustered() && !ngx_live_shop_cluster_delivers()) {
        /* another node holds the deliveries (or none can yet) */
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (!n->loaded) {
        /* after a restart: the streams with deliveries pending (with
         * several nodes, those the shared store knows are in the zone) */
        if (!ngx_live_shop_clustered()) {
            ngx_live_shop_load_all(shm);
        }

        n->loaded = 1;
        n->generation = shm->sh->generation - 1;
    }

    ngx_live_shop_notify_look(shm);
    ngx_live_shop_notify_run();
}


/*
 * With several nodes, this node began or stopped holding the deliveries:
 * what is in flight is abandoned (its cursor did not move: at least
 * once), and the zone is looked through again from the cursors.
 */

void
ngx_live_shop_notify_reset(void)
{
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    if (!n->started) {
        return;
    }

    ngx_live_shop_notify_forget_all();
    n->generation--;
}


static void
ngx_live_shop_notify_kicked(ngx_event_t *ev)
{
    ngx_live_shop_notify_kick();
}


/*
 * The streams of the zone with events not yet delivered and no delivery
 * of their own yet get one, at the end of the turns. The zone is looked
 * through only when it has changed since the last look: every stream
 * with something pending then has a delivery, until its last event is
 * acknowledged.
 */

static void
ngx_live_shop_notify_look(ngx_live_shop_shm_t *shm)
{
    ngx_rbtree_node_t              *node, *root, *sentinel;
    ngx_live_shop_stream_t         *st;
    ngx_live_shop_notifier_t       *n;
    ngx_live_shop_notify_stream_t  *ns;

    n = &ngx_live_shop_notifier;

    if (shm->sh->generation == n->generation) {
        return;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    n->generation = shm->sh->generation;

    root = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    for (node = (root == sentinel) ? NULL : ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&shm->sh->rbtree, node))
    {
        st = (ngx_live_shop_stream_t *) node;

        if (st->state.seq <= st->notified
            || ngx_str_rbtree_lookup(&n->rbtree, &st->sn.str,
                                     st->sn.node.key)
               != NULL)
        {
            continue;
        }

        ns = ngx_calloc(sizeof(ngx_live_shop_notify_stream_t),
                        ngx_cycle->log);
        if (ns == NULL) {
            /* looked at again on the clock */
            n->generation--;
            break;
        }

        ngx_memcpy(ns->name, st->name, st->sn.str.len);
        ns->sn.str.data = ns->name;
        ns->sn.str.len = st->sn.str.len;
        ns->sn.node.key = st->sn.node.key;
        ns->seq = st->notified + 1;

        ns->log = *ngx_cycle->log;
        ns->log.handler = ngx_live_shop_notify_log_error;
        ns->log.data = ns;

        ns->wait.handler = ngx_live_shop_notify_wake;
        ns->wait.log = ngx_cycle->log;
        ns->wait.data = ns;
        ns->wait.cancelable = 1;

        ngx_rbtree_insert(&n->rbtree, &ns->sn.node);

        ngx_queue_insert_tail(&n->turns, &ns->queue);
        ns->queued = 1;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/* The streams whose turn it is, as far as connections are free */

static void
ngx_live_shop_notify_run(void)
{
    ngx_uint_t                      i;
    ngx_queue_t                    *q;
    ngx_live_shop_notifier_t       *n;
    ngx_live_shop_notify_stream_t  *ns;

    n = &ngx_live_shop_notifier;

    /*
     * bounded: a stream whose events are in no journal any more goes to
     * the end of the turns, and is taken up again on the next kick
     */

    for (i = 0; i < 2 * NGX_LIVE_SHOP_NOTIFY_CONNS; i++) {

        if (n->busy >= NGX_LIVE_SHOP_NOTIFY_CONNS || n->gone
            || ngx_queue_empty(&n->turns))
        {
            return;
        }

        q = ngx_queue_head(&n->turns);
        ngx_queue_remove(q);

        ns = ngx_queue_data(q, ngx_live_shop_notify_stream_t, queue);
        ns->queued = 0;

        ngx_live_shop_notify_start(ns);
    }

    if (!ngx_queue_empty(&n->turns) && !n->kick.posted) {
        ngx_post_event(&n->kick, &ngx_posted_events);
    }
}


/* A stream's turn: its next event is sent, or it has none left */

static void
ngx_live_shop_notify_start(ngx_live_shop_notify_stream_t *ns)
{
    ngx_int_t              rc;
    ngx_str_t              json;
    ngx_live_shop_shm_t   *shm;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    ns->retry_after = 0;

    ns->pool = ngx_create_pool(4096, ngx_cycle->log);
    if (ns->pool == NULL) {
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    rc = ngx_live_shop_notify_event(lscf, shm, ns, &json);

    switch (rc) {

    case NGX_OK:
        break;

    case NGX_DONE:
        /* everything of the stream delivered */
        ngx_live_shop_notify_forget(ns);
        return;

    case NGX_DECLINED:
        /* no longer in any journal: go on after it */
        ngx_log_error(NGX_LOG_ERR, &ns->log, 0,
                      "live_shop: the event is in no journal any more and "
                      "is skipped");
        ngx_live_shop_notified(shm, &ns->sn.str, ns->seq);
        ns->seq++;
        ngx_live_shop_notify_close(ns);
        ngx_live_shop_notify_turn(ns);
        return;

    default: /* NGX_ERROR */
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    if (ngx_live_shop_notify_send(lscf, ns, &json) != NGX_OK) {
        ngx_live_shop_notify_done(ns, 0);
    }
}


typedef struct {
    ngx_live_shop_notify_stream_t  *notify;
    ngx_str_t                      *json;
} ngx_live_shop_notify_find_t;


/*
 * The stream's next event: from the zone while it keeps it, else from the
 * journal. NGX_DONE when the stream has none, NGX_DECLINED when it is
 * gone from the journal.
 */

static ngx_int_t
ngx_live_shop_notify_event(ngx_live_shop_conf_t *lscf,
    ngx_live_shop_shm_t *shm, ngx_live_shop_notify_stream_t *ns,
    ngx_str_t *json)
{
    uint64_t                      last;
    lshop_state                  *st;
    ngx_array_t                  *events;
    ngx_str_node_t               *sn;
    lshop_replay_ops              ops;
    ngx_live_shop_event_t       **e;
    ngx_live_shop_stream_t       *zs;
    ngx_live_shop_notify_find_t   find;

    ngx_shmtx_lock(&shm->shpool->mutex);

    sn = ngx_str_rbtree_lookup(&shm->sh->rbtree, &ns->sn.str,
                               ns->sn.node.key);
    if (sn) {
        zs = (ngx_live_shop_stream_t *) sn;

        /* a worker 0 before a reload may have delivered more */
        ns->seq = ngx_max(ns->seq, zs->notified + 1);
        last = zs->state.seq;

    } else {
        last = 0;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (ns->seq > last) {
        return NGX_DONE;
    }

    events = ngx_live_shop_events_after(shm, &ns->sn.str, ns->seq - 1,
                                        ns->pool);

    if (events) {
        e = events->elts;

        if (e[0]->seq == ns->seq) {
            json->data = e[0]->json;
            json->len = e[0]->len;
            return NGX_OK;
        }
    }

    st = ngx_palloc(ns->pool, sizeof(lshop_state));
    if (st == NULL) {
        return NGX_ERROR;
    }

    lshop_state_init(st);
    ngx_str_null(json);

    find.notify = ns;
    find.json = json;

    ngx_memzero(&ops, sizeof(lshop_replay_ops));
    ops.arg = &find;
    ops.event = ngx_live_shop_notify_replayed;

    (void) ngx_live_shop_journal_replay(lscf, &ns->sn.str, -1, st, &ops,
                                        ngx_cycle->log);

    if (json->data == NULL) {
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
    ngx_live_shop_notify_stream_t *ns, ngx_str_t *json)
{
    char                      *sig, id[LSHOP_STREAM_MAX + NGX_INT64_LEN + 2];
    size_t                     len;
    time_t                     now;
    ngx_int_t                  rc;
    ngx_url_t                 *u;
    ngx_connection_t          *c;
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;
    u = &lscf->notify;
    now = ngx_time();

    (void) lshop_event_id(id, sizeof(id), (char *) ns->name, ns->seq);

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

    ns->out = ngx_create_temp_buf(ns->pool, len);
    ns->in = ngx_create_temp_buf(ns->pool, 1024);

    if (ns->out == NULL || ns->in == NULL) {
        free(sig);
        return NGX_ERROR;
    }

    ns->out->last = ngx_sprintf(ns->out->last, "POST %V HTTP/1.1\r\n"
                                "Host: %V", &u->uri, &u->host);

    if (!u->no_port) {
        ns->out->last = ngx_sprintf(ns->out->last, ":%d", (int) u->port);
    }

    ns->out->last = ngx_sprintf(ns->out->last, "\r\n"
                                "Content-Type: application/json\r\n"
                                "Content-Length: %uz\r\n"
                                "User-Agent: liveshop\r\n"
                                "webhook-id: %s\r\n"
                                "webhook-timestamp: %T\r\n"
                                "webhook-signature: %s\r\n"
                                "Connection: close\r\n\r\n",
                                json->len, id, now, sig);
    ns->out->last = ngx_cpymem(ns->out->last, json->data, json->len);

    free(sig);

    ngx_memzero(&ns->peer, sizeof(ngx_peer_connection_t));
    ns->peer.sockaddr = u->addrs[0].sockaddr;
    ns->peer.socklen = u->addrs[0].socklen;
    ns->peer.name = &u->addrs[0].name;
    ns->peer.get = ngx_event_get_peer;
    ns->peer.log = &ns->log;
    ns->peer.log_error = NGX_ERROR_ERR;

    ns->busy = 1;
    n->busy++;

    rc = ngx_event_connect_peer(&ns->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        return NGX_ERROR;
    }

    c = ns->peer.connection;
    c->data = ns;
    c->pool = ns->pool;
    c->read->handler = ngx_live_shop_notify_read;
    c->write->handler = ngx_live_shop_notify_write;

    /* a graceful shutdown does not wait for the receiver */
    c->read->cancelable = 1;
    c->write->cancelable = 1;

    ngx_add_timer(c->write, NGX_LIVE_SHOP_NOTIFY_TIMEOUT);

    if (rc == NGX_OK) {
        ngx_live_shop_notify_write(c->write);
    }

    return NGX_OK;
}


/* ", notifying https://host/path of live/demo:17" after a line */

static u_char *
ngx_live_shop_notify_log_error(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_live_shop_conf_t           *lscf;
    ngx_live_shop_notify_stream_t  *ns;

    ns = log->data;
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    return ngx_snprintf(buf, len, ", notifying %s%V of %V:%uL",
#if (NGX_SSL)
                        lscf->notify_ssl ? "https://" :
#endif
                        "http://", &lscf->notify.url, &ns->sn.str, ns->seq);
}


static void
ngx_live_shop_notify_write(ngx_event_t *wev)
{
    ssize_t                         sent;
    ngx_connection_t               *c;
    ngx_live_shop_notify_stream_t  *ns;

    c = wev->data;
    ns = c->data;

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                      "live_shop: %V timed out", ns->peer.name);
        c->timedout = 1;
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

#if (NGX_SSL)

    if (ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->notify_ssl
        && c->ssl == NULL)
    {
        ngx_live_shop_notify_ssl_init(c);
        return;
    }

#endif

    while (ns->out->pos < ns->out->last) {
        sent = c->send(c, ns->out->pos, ns->out->last - ns->out->pos);

        if (sent == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_live_shop_notify_done(ns, 0);
            }
            return;
        }

        if (sent == NGX_ERROR) {
            ngx_live_shop_notify_done(ns, 0);
            return;
        }

        ns->out->pos += sent;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    ngx_add_timer(c->read, NGX_LIVE_SHOP_NOTIFY_TIMEOUT);

    if (c->read->ready) {
        ngx_live_shop_notify_read(c->read);
    }
}


#if (NGX_SSL)

/* Connected (or not): the TLS handshake, with SNI */

static void
ngx_live_shop_notify_ssl_init(ngx_connection_t *c)
{
    int                             err;
    u_char                         *name;
    socklen_t                       len;
    ngx_int_t                       rc;
    ngx_str_t                      *host;
    ngx_live_shop_conf_t           *lscf;
    ngx_live_shop_notify_stream_t  *ns;

    ns = c->data;
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    host = &lscf->notify.host;

    /* say why a connect() failed, not how the handshake then did */

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    if (err) {
        (void) ngx_connection_error(c, err, "connect() failed");
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    if (ngx_ssl_create_connection(lscf->notify_ssl, c,
                                  NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    /* SNI (RFC 6066 3: a host name, never an address) */

    if (host->data[0] != '['
        && ngx_inet_addr(host->data, host->len) == INADDR_NONE)
    {
        name = ngx_pnalloc(ns->pool, host->len + 1);
        if (name == NULL) {
            ngx_live_shop_notify_done(ns, 0);
            return;
        }

        (void) ngx_cpystrn(name, host->data, host->len + 1);

        if (SSL_set_tlsext_host_name(c->ssl->connection, (char *) name)
            == 0)
        {
            ngx_ssl_error(NGX_LOG_ERR, c->log, 0,
                          "SSL_set_tlsext_host_name(\"%s\") failed", name);
            ngx_live_shop_notify_done(ns, 0);
            return;
        }
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_live_shop_notify_ssl_handshake;
        return;
    }

    ngx_live_shop_notify_ssl_handshake(c);
}


static void
ngx_live_shop_notify_ssl_handshake(ngx_connection_t *c)
{
    ngx_live_shop_conf_t           *lscf;
    ngx_live_shop_notify_stream_t  *ns;

    ns = c->data;
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (!c->ssl->handshaked) {
        if (c->write->timedout || c->read->timedout) {
            ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                          "live_shop: SSL handshake with %V timed out",
                          ns->peer.name);
            c->timedout = 1;
        }

        /* else ngx_ssl_handshake() has said why */

        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    if (lscf->notify_ssl_verify
        && ngx_live_shop_notify_ssl_check(c) != NGX_OK)
    {
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    c->read->handler = ngx_live_shop_notify_read;
    c->write->handler = ngx_live_shop_notify_write;

    ngx_live_shop_notify_write(c->write);
}


/* The receiver's certificate: signed by a trusted CA, and for its host */

static ngx_int_t
ngx_live_shop_notify_ssl_check(ngx_connection_t *c)
{
    int                    rc;
    long                   err;
    X509                  *cert;
    u_char                 addr[NGX_SOCKADDR_STRLEN + 1];
    ngx_str_t             *host;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    host = &lscf->notify.host;

    err = SSL_get_verify_result(c->ssl->connection);

    if (err != X509_V_OK) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "live_shop: the receiver's SSL certificate does not "
                      "verify: (%l:%s)", err,
                      X509_verify_cert_error_string(err));
        return NGX_ERROR;
    }

    if (host->data[0] != '['
        && ngx_inet_addr(host->data, host->len) == INADDR_NONE)
    {
        rc = (ngx_ssl_check_host(c, host) == NGX_OK);

    } else {
        /* an address: "[::1]" without its brackets */

        cert = SSL_get_peer_certificate(c->ssl->connection);
        if (cert == NULL || host->len > NGX_SOCKADDR_STRLEN) {
            rc = 0;

        } else if (host->data[0] == '[') {
            ngx_cpystrn(addr, host->data + 1, host->len - 1);
            rc = (X509_check_ip_asc(cert, (char *) addr, 0) == 1);

        } else {
            ngx_cpystrn(addr, host->data, host->len + 1);
            rc = (X509_check_ip_asc(cert, (char *) addr, 0) == 1);
        }

        X509_free(cert);
    }

    if (!rc) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "live_shop: the receiver's SSL certificate is not "
                      "for \"%V\"", host);
        return NGX_ERROR;
    }

    return NGX_OK;
}

#endif


/*
 * Reads the answer's status line (and Retry-After, when the headers fit
 * the buffer); the body does not matter.
 */

static void
ngx_live_shop_notify_read(ngx_event_t *rev)
{
    u_char                         *p, *eol, *last;
    ssize_t                         got;
    ngx_int_t                       status, secs;
    ngx_connection_t               *c;
    ngx_live_shop_notify_stream_t  *ns;

    c = rev->data;
    ns = c->data;

    if (rev->timedout) {
        ngx_log_error(NGX_LOG_ERR, c->log, NGX_ETIMEDOUT,
                      "live_shop: %V did not answer", ns->peer.name);
        c->timedout = 1;
        ngx_live_shop_notify_done(ns, 0);
        return;
    }

    for ( ;; ) {
        if (ns->in->last == ns->in->end) {
            break;
        }

        got = c->recv(c, ns->in->last, ns->in->end - ns->in->last);

        if (got == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_live_shop_notify_done(ns, 0);
            }
            return;
        }

        if (got == NGX_ERROR) {
            ngx_live_shop_notify_done(ns, 0);
            return;
        }

        if (got == 0) {
            break;
        }

        ns->in->last += got;

        if (ngx_strlcasestrn(ns->in->pos, ns->in->last,
                             (u_char *) "\r\n\r\n", 4 - 1)
            != NULL)
        {
            break;
        }
    }

    /* "HTTP/1.1 200 OK" */

    p = ns->in->pos;
    last = ns->in->last;
    status = 0;

    if (last - p >= 12 && ngx_strncmp(p, "HTTP/1.", 7) == 0) {
        status = ngx_atoi(p + 9, 3);
        if (status == NGX_ERROR) {
            status = 0;
        }
    }

    ns->retry_after = 0;

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
            ns->retry_after = secs * 1000;
        }
    }

    ngx_live_shop_notify_done(ns, status);
}


/*
 * The end of a try: 2xx moves the stream's cursor on (in the zone and on
 * disk) and the stream takes its next turn, 410 stops every stream,
 * anything else waits for the stream's next try.
 */

static void
ngx_live_shop_notify_done(ngx_live_shop_notify_stream_t *ns,
    ngx_int_t status)
{
    double                     jitter;
    int64_t                    delay;
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    ngx_live_shop_notify_close(ns);

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (status >= 200 && status < 300) {
        ns->attempt = 0;

        ngx_live_shop_notified(shm, &ns->sn.str, ns->seq);
        ns->seq++;

        ngx_live_shop_notify_turn(ns);
        return;
    }

    if (status == 410) {
        n->gone = 1;
        ngx_log_error(NGX_LOG_ERR, &ns->log, 0,
                      "live_shop: answered 410 Gone: no more events are "
                      "notified there until nginx is reloaded");
        ngx_live_shop_notify_forget_all();
        return;
    }

    jitter = (double) (ngx_random() % 1000) / 1000.0;
    delay = lshop_webhook_retry_delay(++ns->attempt, jitter);

    if (delay < 0) {
        ngx_log_error(NGX_LOG_ERR, &ns->log, 0,
                      "live_shop: event given up after %ui tries",
                      ns->attempt - 1);
        ns->attempt = 0;
        ngx_live_shop_notified(shm, &ns->sn.str, ns->seq);
        ns->seq++;

        /* the next event when the receiver asked for, or at once */
        delay = ns->retry_after;

    } else {
        if (ns->retry_after) {
            /* the receiver knows best when it is back */
            delay = ns->retry_after;
        }

        if (status) {
            ngx_log_error(NGX_LOG_WARN, &ns->log, 0,
                          "live_shop: answered %i, try %ui in %L ms",
                          status, ns->attempt + 1, delay);

        } else {
            ngx_log_error(NGX_LOG_WARN, &ns->log, 0,
                          "live_shop: not delivered, try %ui in %L ms",
                          ns->attempt + 1, delay);
        }
    }

    ngx_add_timer(&ns->wait, (ngx_msec_t) ngx_max(delay, 1));
}


/* A try's connection and memory */

static void
ngx_live_shop_notify_close(ngx_live_shop_notify_stream_t *ns)
{
    if (ns->peer.connection) {

#if (NGX_SSL)
        if (ns->peer.connection->ssl) {
            /* close_notify, without waiting for the receiver's */
            ns->peer.connection->ssl->no_wait_shutdown = 1;
            (void) ngx_ssl_shutdown(ns->peer.connection);
        }
#endif

        ngx_close_connection(ns->peer.connection);
        ns->peer.connection = NULL;
    }

    if (ns->pool) {
        ngx_destroy_pool(ns->pool);
        ns->pool = NULL;
    }

    if (ns->busy) {
        ns->busy = 0;
        ngx_live_shop_notifier.busy--;
    }
}


/* A stream with nothing to deliver, or whose delivery is abandoned */

static void
ngx_live_shop_notify_forget(ngx_live_shop_notify_stream_t *ns)
{
    ngx_live_shop_notify_close(ns);

    if (ns->queued) {
        ngx_queue_remove(&ns->queue);
    }

    if (ns->wait.timer_set) {
        ngx_del_timer(&ns->wait);
    }

    if (ns->wait.posted) {
        ngx_delete_posted_event(&ns->wait);
    }

    ngx_rbtree_delete(&ngx_live_shop_notifier.rbtree, &ns->sn.node);

    ngx_free(ns);
}


static void
ngx_live_shop_notify_forget_all(void)
{
    ngx_rbtree_node_t         *root, *sentinel;
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    sentinel = n->rbtree.sentinel;

    for ( ;; ) {
        root = n->rbtree.root;

        if (root == sentinel) {
            break;
        }

        ngx_live_shop_notify_forget((ngx_live_shop_notify_stream_t *) root);
    }
}


/* The stream's next try takes its turn after the streams waiting now */

static void
ngx_live_shop_notify_turn(ngx_live_shop_notify_stream_t *ns)
{
    ngx_live_shop_notifier_t  *n;

    n = &ngx_live_shop_notifier;

    if (ngx_exiting) {
        ngx_live_shop_notify_forget(ns);
        return;
    }

    ngx_queue_insert_tail(&n->turns, &ns->queue);
    ns->queued = 1;

    if (!n->kick.posted) {
        ngx_post_event(&n->kick, &ngx_posted_events);
    }
}


static void
ngx_live_shop_notify_wake(ngx_event_t *ev)
{
    ngx_live_shop_notify_turn(ev->data);
}
