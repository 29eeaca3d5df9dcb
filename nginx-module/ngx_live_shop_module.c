
/*
 * liveshop: the core module of ngx_live_shop_module.so. It holds what the
 * HTTP and RTMP parts share in every process: the shared-memory zone and
 * the token secret. The directives that set them live in http{} (SPEC §4)
 * and are declared by the HTTP module.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_live_shop.h"


static void *ngx_live_shop_create_conf(ngx_cycle_t *cycle);
static char *ngx_live_shop_init_conf(ngx_cycle_t *cycle, void *conf);
static ngx_int_t ngx_live_shop_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_live_shop_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_live_shop_init_process(ngx_cycle_t *cycle);
static void ngx_live_shop_exit_process(ngx_cycle_t *cycle);
static void ngx_live_shop_tick(ngx_event_t *ev);
static ngx_int_t ngx_live_shop_bells_init(ngx_cycle_t *cycle);
static void ngx_live_shop_bells_close(void *data);
static ngx_int_t ngx_live_shop_bell_listen(ngx_cycle_t *cycle);
static void ngx_live_shop_bell_rung(ngx_event_t *rev);
static void ngx_live_shop_wake(ngx_event_t *ev);


/* ms, with subscribers here: a safety net, since every change of the zone
 * rings the bells (ngx_live_shop_changed); each tick wakes the worker,
 * and at 10 ms the wake-ups were most of an idle node's CPU */
#define NGX_LIVE_SHOP_TICK_BUSY  100
#define NGX_LIVE_SHOP_TICK_IDLE  1000   /* ms, without */


static ngx_event_t        ngx_live_shop_tick_event;
static ngx_atomic_uint_t  ngx_live_shop_generation;
static ngx_event_t        ngx_live_shop_wake_event;
static ngx_connection_t  *ngx_live_shop_bell;
static ngx_atomic_uint_t  ngx_live_shop_rung_at;


#define NGX_LIVE_SHOP_ZONE_MIN  (256 * 1024)


static ngx_core_module_t  ngx_live_shop_module_ctx = {
    ngx_string("live_shop"),
    ngx_live_shop_create_conf,
    ngx_live_shop_init_conf
};


ngx_module_t  ngx_live_shop_module = {
    NGX_MODULE_V1,
    &ngx_live_shop_module_ctx,             /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_live_shop_init_module,             /* init module */
    ngx_live_shop_init_process,            /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_live_shop_exit_process,            /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_live_shop_create_conf(ngx_cycle_t *cycle)
{
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_pcalloc(cycle->pool, sizeof(ngx_live_shop_conf_t));
    if (lscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     lscf->zone = NULL;
     *     lscf->secret = { 0, NULL };
     *     lscf->journal = { 0, NULL };
     *     lscf->locale = { 0, NULL };
     */

    lscf->journal_max_size = NGX_CONF_UNSET;
    lscf->journal_fsync = NGX_CONF_UNSET;
    lscf->sse_ping = NGX_CONF_UNSET_MSEC;
    lscf->show_grace = NGX_CONF_UNSET_MSEC;
    lscf->audience = NGX_CONF_UNSET;
#if (NGX_SSL)
    lscf->notify_ssl_verify = NGX_CONF_UNSET;
#endif

    return lscf;
}


/* The http{} directives set these; what they leave unset, here */

static char *
ngx_live_shop_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_live_shop_conf_t *lscf = conf;

    if (lscf->journal_max_size == NGX_CONF_UNSET) {
        lscf->journal_max_size = 16 * 1024 * 1024;
    }

    ngx_conf_init_value(lscf->journal_fsync, 0);
    ngx_conf_init_msec_value(lscf->sse_ping, 15000);
    ngx_conf_init_msec_value(lscf->show_grace, 60000);
    ngx_conf_init_value(lscf->audience, 1);

    if (lscf->locale.len == 0) {
        ngx_str_set(&lscf->locale, "en");
    }

    if (lscf->journal.len
        && ngx_conf_full_name(cycle, &lscf->journal, 0) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (lscf->redis_host && lscf->zone == NULL) {
        /* each node keeps its copy of the shared streams there */
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"live_shop_redis\" needs \"live_shop_zone\"");
        return NGX_CONF_ERROR;
    }

    if (lscf->notify.url.len && lscf->journal.len == 0) {
        /* SPEC §10: pending deliveries survive restarts, in the journal */
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"live_shop_notify\" needs \"live_shop_journal\"");
        return NGX_CONF_ERROR;
    }

    return ngx_live_shop_notify_init_conf(cycle, lscf);
}


/* The journal directory, made by the master and handed to the workers */

static ngx_int_t
ngx_live_shop_init_module(ngx_cycle_t *cycle)
{
    u_char                *dir;
    ngx_core_conf_t       *ccf;
    ngx_file_info_t        fi;
    ngx_live_shop_conf_t  *lscf;

    if (ngx_live_shop_bells_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    lscf = ngx_live_shop_get_conf(cycle);

    if (lscf->journal.len == 0) {
        return NGX_OK;
    }

    dir = ngx_pnalloc(cycle->pool, lscf->journal.len + 1);
    if (dir == NULL) {
        return NGX_ERROR;
    }

    ngx_cpystrn(dir, lscf->journal.data, lscf->journal.len + 1);

    if (ngx_create_dir(dir, 0755) == NGX_FILE_ERROR
        && ngx_errno != NGX_EEXIST)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "live_shop_journal: " ngx_create_dir_n " \"%s\" failed",
                      dir);
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && ngx_file_info(dir, &fi) != NGX_FILE_ERROR
        && fi.st_uid != ccf->user
        && chown((char *) dir, ccf->user, -1) == -1)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                      "live_shop_journal: chown(\"%s\") failed", dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_live_shop_init_process(ngx_cycle_t *cycle)
{
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_live_shop_tick_event.handler = ngx_live_shop_tick;
    ngx_live_shop_tick_event.log = cycle->log;
    ngx_live_shop_tick_event.data = &ngx_live_shop_tick_event;
    ngx_live_shop_tick_event.cancelable = 1;

    if (ngx_live_shop_get_shm(cycle)) {
        ngx_add_timer(&ngx_live_shop_tick_event, NGX_LIVE_SHOP_TICK_BUSY);

        if (ngx_live_shop_bell_listen(cycle) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_live_shop_cluster_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_live_shop_notify_init_process(cycle);
}


/*
 * nginx waits for no SSE client when it stops a worker (they hold no
 * timer), so they are closed here rather than cut off.
 */

static void
ngx_live_shop_exit_process(ngx_cycle_t *cycle)
{
    /* the shows' figures so far into the journal: a restart goes on */
    ngx_live_shop_audience_sweep(ngx_live_shop_get_shm(cycle), 1);

    ngx_http_live_shop_sse_close_all();
    ngx_live_shop_notify_exit_process(cycle);
    ngx_live_shop_cluster_exit_process(cycle);

    if (ngx_live_shop_bell) {
        /* the master's descriptor is closed with the cycle, not this one */
        ngx_live_shop_bell->fd = (ngx_socket_t) -1;
        ngx_free_connection(ngx_live_shop_bell);
        ngx_live_shop_bell = NULL;
    }
}


/*
 * The workers' doorbells, made by the master for the workers it starts: a
 * pipe each. A worker that makes an event writes a byte to every other
 * worker's, which then delivers at once rather than on its clock.
 */

static ngx_int_t
ngx_live_shop_bells_init(ngx_cycle_t *cycle)
{
    ngx_fd_t              *bells;
    ngx_uint_t             i, n;
    ngx_core_conf_t       *ccf;
    ngx_pool_cleanup_t    *cln;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cycle);

    if (lscf == NULL || lscf->zone == NULL) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);
    n = ccf->worker_processes;

    bells = ngx_pcalloc(cycle->pool, 2 * n * sizeof(ngx_fd_t));
    cln = ngx_pool_cleanup_add(cycle->pool, 0);

    if (bells == NULL || cln == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < 2 * n; i++) {
        bells[i] = NGX_INVALID_FILE;
    }

    lscf->bells = bells;
    lscf->nbells = n;

    cln->handler = ngx_live_shop_bells_close;
    cln->data = lscf;

    for (i = 0; i < n; i++) {
        if (pipe(&bells[2 * i]) == -1) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "live_shop: pipe() failed");
            return NGX_ERROR;
        }

        if (ngx_nonblocking(bells[2 * i]) == -1
            || ngx_nonblocking(bells[2 * i + 1]) == -1
            || fcntl(bells[2 * i], F_SETFD, FD_CLOEXEC) == -1
            || fcntl(bells[2 * i + 1], F_SETFD, FD_CLOEXEC) == -1)
        {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                          "live_shop: fcntl() on a pipe failed");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_live_shop_bells_close(void *data)
{
    ngx_live_shop_conf_t *lscf = data;

    ngx_uint_t  i;

    for (i = 0; i < 2 * lscf->nbells; i++) {
        if (lscf->bells[i] != NGX_INVALID_FILE) {
            (void) close(lscf->bells[i]);
        }
    }
}


/* This worker's own doorbell, read by its event loop */

static ngx_int_t
ngx_live_shop_bell_listen(ngx_cycle_t *cycle)
{
    ngx_connection_t      *c;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cycle);

    if (ngx_process != NGX_PROCESS_WORKER
        || (ngx_uint_t) ngx_worker >= lscf->nbells)
    {
        return NGX_OK;
    }

    c = ngx_get_connection(lscf->bells[2 * ngx_worker], cycle->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->read->handler = ngx_live_shop_bell_rung;
    c->read->log = cycle->log;

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    ngx_live_shop_bell = c;

    return NGX_OK;
}


void
ngx_live_shop_ring(void)
{
    ngx_uint_t             i;
    ngx_atomic_uint_t      generation;
    ngx_live_shop_shm_t   *shm;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (shm == NULL || lscf->nbells == 0) {
        return;
    }

    /* once per change of the zone: a burst rings each worker once */

    generation = shm->sh->generation;

    if (generation == ngx_live_shop_rung_at) {
        return;
    }

    ngx_live_shop_rung_at = generation;

    for (i = 0; i < lscf->nbells; i++) {
        if (ngx_process == NGX_PROCESS_WORKER && i == (ngx_uint_t) ngx_worker)
        {
            continue;
        }

        /* a full pipe (EAGAIN) has been rung already */

        if (write(lscf->bells[2 * i + 1], "", 1) == -1
            && ngx_errno != NGX_EAGAIN)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, ngx_errno,
                          "live_shop: write() to worker %ui's bell failed",
                          i);
        }
    }

    /* this worker's own: once the event at hand is answered */

    if (!ngx_live_shop_wake_event.posted) {
        ngx_live_shop_wake_event.handler = ngx_live_shop_wake;
        ngx_live_shop_wake_event.log = ngx_cycle->log;
        ngx_post_event(&ngx_live_shop_wake_event, &ngx_posted_events);
    }
}


static void
ngx_live_shop_bell_rung(ngx_event_t *rev)
{
    u_char             buf[64];
    ssize_t            n;
    ngx_err_t          err;
    ngx_connection_t  *c;

    c = rev->data;

    for ( ;; ) {
        n = read(c->fd, buf, sizeof(buf));

        if (n > 0) {
            continue;
        }

        err = ngx_errno;

        if (n == -1 && err == NGX_EINTR) {
            continue;
        }

        if (n == -1 && err == NGX_EAGAIN) {
            rev->ready = 0;
            break;
        }

        ngx_log_error(NGX_LOG_ALERT, c->log, err,
                      "live_shop: read() from this worker's pipe failed");
        (void) ngx_del_event(rev, NGX_READ_EVENT, 0);
        break;
    }

    ngx_live_shop_wake(rev);
}


/* New events in the zone: this worker's subscribers and receivers */

static void
ngx_live_shop_wake(ngx_event_t *ev)
{
    if (ngx_exiting) {
        return;
    }

    ngx_live_shop_deliver();
    ngx_live_shop_notify_kick();
}


/*
 * The worker's clock. Events the clock makes (a countdown ending, a pin
 * running out) are fired by whichever worker comes first; new events
 * reach this worker's RTMP and SSE subscribers. It ticks often only while
 * this worker has subscribers or something is due soon.
 */

static void
ngx_live_shop_tick(ngx_event_t *ev)
{
    ngx_live_shop_shm_t  *shm;

    if (ngx_exiting) {
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_clustered()) {
        /* with several nodes, what is due is a write to the shared log */
        ngx_live_shop_cluster_tick();

    } else {
        (void) ngx_live_shop_fire_due(shm, lshop_now_ms());
    }

    ngx_live_shop_fold(shm);

    ngx_live_shop_audience_sweep(shm, 0);
    ngx_rtmp_live_shop_audience();

    ngx_live_shop_deliver();
    ngx_http_live_shop_sse_keepalive();
    ngx_live_shop_notify_kick();

    ngx_live_shop_tick_arm();
}


void
ngx_live_shop_tick_arm(void)
{
    int64_t               due, now;
    ngx_msec_t            interval;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (shm == NULL || ngx_live_shop_tick_event.handler == NULL
        || ngx_exiting)
    {
        return;
    }

    interval = (ngx_rtmp_live_shop_listening()
                || ngx_http_live_shop_sse_listening())
               ? NGX_LIVE_SHOP_TICK_BUSY : NGX_LIVE_SHOP_TICK_IDLE;

    due = shm->sh->next_due;

    if (due) {
        now = lshop_now_ms();
        interval = ngx_min(interval, (ngx_msec_t) ngx_max(due - now, 1));
    }

    if (ngx_live_shop_tick_event.timer_set
        && ngx_live_shop_tick_event.timer.key <= ngx_current_msec + interval)
    {
        return;
    }

    ngx_add_timer(&ngx_live_shop_tick_event, interval);
}


/* New events in the zone go to this worker's subscribers */

void
ngx_live_shop_deliver(void)
{
    ngx_atomic_uint_t     generation;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (shm == NULL) {
        return;
    }

    generation = shm->sh->generation;

    if (generation == ngx_live_shop_generation) {
        return;
    }

    ngx_live_shop_generation = generation;

    ngx_rtmp_live_shop_deliver();
    ngx_http_live_shop_sse_deliver();
}


ngx_live_shop_conf_t *
ngx_live_shop_get_conf(ngx_cycle_t *cycle)
{
    return (ngx_live_shop_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                 ngx_live_shop_module);
}


ngx_live_shop_shm_t *
ngx_live_shop_get_shm(ngx_cycle_t *cycle)
{
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cycle);

    if (lscf == NULL || lscf->zone == NULL) {
        return NULL;
    }

    return lscf->zone->data;
}


/* live_shop_zone NAME SIZE; */

char *
ngx_live_shop_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ssize_t                size;
    ngx_str_t             *value;
    ngx_live_shop_shm_t   *shm;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\" in \"%V\"",
                           &value[2], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (size < NGX_LIVE_SHOP_ZONE_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" of \"%V\" is too small: %V, "
                           "at least 256k", &value[1], &cmd->name,
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    shm = ngx_pcalloc(cf->pool, sizeof(ngx_live_shop_shm_t));
    if (shm == NULL) {
        return NGX_CONF_ERROR;
    }

    lscf->zone = ngx_shared_memory_add(cf, &value[1], size,
                                       &ngx_live_shop_module);
    if (lscf->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (lscf->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": zone \"%V\" is already used",
                           &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    lscf->zone->init = ngx_live_shop_init_zone;
    lscf->zone->data = shm;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_live_shop_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_live_shop_shm_t  *oshm = data;

    size_t                len;
    ngx_live_shop_shm_t  *shm;

    shm = shm_zone->data;

    if (oshm) {
        /* reload: the streams live on in the same zone */
        shm->sh = oshm->sh;
        shm->shpool = oshm->shpool;
        return NGX_OK;
    }

    shm->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm->sh = shm->shpool->data;
        return NGX_OK;
    }

    shm->sh = ngx_slab_calloc(shm->shpool, sizeof(ngx_live_shop_sh_t));
    if (shm->sh == NULL) {
        return NGX_ERROR;
    }

    shm->shpool->data = shm->sh;

    ngx_rbtree_init(&shm->sh->rbtree, &shm->sh->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&shm->sh->folds);
    ngx_queue_init(&shm->sh->audiences);

    len = sizeof(" in live_shop_zone \"\"") + shm_zone->shm.name.len;

    shm->shpool->log_ctx = ngx_slab_alloc(shm->shpool, len);
    if (shm->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shm->shpool->log_ctx, " in live_shop_zone \"%V\"%Z",
                &shm_zone->shm.name);

    shm->shpool->log_nomem = 0;

    return NGX_OK;
}
