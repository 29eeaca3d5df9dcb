
/*
 * liveshop: the core module of ngx_live_shop_module.so. It holds what the
 * HTTP and RTMP parts share in every process: the shared-memory zone and
 * the token secret. The directives that set them live in http{} (SPEC §4)
 * and are declared by the HTTP module.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_live_shop.h"


static void *ngx_live_shop_create_conf(ngx_cycle_t *cycle);
static ngx_int_t ngx_live_shop_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);


#define NGX_LIVE_SHOP_ZONE_MIN  (256 * 1024)


static ngx_core_module_t  ngx_live_shop_module_ctx = {
    ngx_string("live_shop"),
    ngx_live_shop_create_conf,
    NULL
};


ngx_module_t  ngx_live_shop_module = {
    NGX_MODULE_V1,
    &ngx_live_shop_module_ctx,             /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
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
     */

    return lscf;
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
