
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


#define NGX_LIVE_SHOP_TICK_BUSY  10     /* ms, with subscribers here */
#define NGX_LIVE_SHOP_TICK_IDLE  1000   /* ms, without */


static ngx_event_t        ngx_live_shop_tick_event;
static ngx_atomic_uint_t  ngx_live_shop_generation;


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

    if (lscf->locale.len == 0) {
        ngx_str_set(&lscf->locale, "en");
    }

    if (lscf->journal.len
        && ngx_conf_full_name(cycle, &lscf->journal, 0) != NGX_OK)
    {
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

    if (ngx_live_shop_notify_init_module(cycle) != NGX_OK) {
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
    ngx_http_live_shop_sse_close_all();
    ngx_live_shop_notify_exit_process(cycle);
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

    if (ngx_live_shop_fire_due(shm, lshop_now_ms())) {
        ngx_live_shop_notify_ring();
    }

    ngx_live_shop_fold(shm);

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
