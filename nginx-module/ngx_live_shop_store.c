
/*
 * liveshop: the store in shared memory. One node per stream holds its
 * timeline state (lshop_state), its catalog, its recent events (for RTMP
 * and SSE subscribers in every worker) and its intervals (for HLS
 * DATERANGEs). What an action does to the timeline is the core's decision
 * (lshop_state_plan_*, lshop_state_due); this file journals the events,
 * keeps them in the zone under its lock, and rebuilds a stream from its
 * journal the first time it is needed after a restart.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <jansson.h>

#include "ngx_live_shop.h"


typedef struct {
    ngx_live_shop_shm_t            *shm;
    ngx_live_shop_stream_t         *st;
    ngx_int_t                       rc;
    ngx_uint_t                      restart;     /* not a batch applied */
} ngx_live_shop_load_t;


/* What orders planned before, not yet applied, left (a batch) */

typedef struct {
    ngx_live_shop_offer_t          *offer;
    int64_t                         stock;
} ngx_live_shop_planned_stock_t;


typedef struct {
    lshop_state                     state;
    ngx_array_t                     stock;       /* planned_stock_t */
    ngx_array_t                     keys;        /* ngx_str_t */
} ngx_live_shop_planned_t;


/*
 * Whether a change of a stream's configuration may be made, the same on
 * one node and in a cluster's plan (lock held; st NULL only for a
 * deletion from a stream that has none): NGX_OK with *created set when
 * id is new, or NGX_ERROR with err saying why not
 */

typedef ngx_int_t (*ngx_live_shop_check_pt)(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created,
    lshop_error *err);


static ngx_live_shop_stream_t *ngx_live_shop_stream(ngx_live_shop_shm_t *shm,
    ngx_str_t *name, ngx_uint_t create);
static ngx_live_shop_stream_t *ngx_live_shop_stream_new(
    ngx_live_shop_shm_t *shm, ngx_str_t *name, uint32_t hash);
static ngx_int_t ngx_live_shop_load(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static int ngx_live_shop_load_offer(void *arg, const lshop_offer *offer,
    int64_t at_ms);
static int ngx_live_shop_load_checkpoint(void *arg, uint64_t seq,
    int64_t file);
static int ngx_live_shop_load_event(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored);
static ngx_live_shop_offer_t *ngx_live_shop_offer(ngx_live_shop_stream_t *st,
    ngx_str_t *id);
static void ngx_live_shop_load_ops(ngx_live_shop_load_t *load,
    lshop_replay_ops *ops, ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static void ngx_live_shop_catalog_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static void ngx_live_shop_clock(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static ngx_int_t ngx_live_shop_number(ngx_live_shop_stream_t *st,
    lshop_state *next, lshop_event *ev, lshop_error *err);
static ngx_int_t ngx_live_shop_catalog_put(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_offer *offer,
    int64_t *old_stock, ngx_uint_t *created);
static ngx_int_t ngx_live_shop_keep(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_event *ev, const char *json,
    size_t len, ngx_uint_t restored);
static ngx_int_t ngx_live_shop_emit(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, lshop_event *ev, ngx_pool_t *pool,
    ngx_str_t *out, lshop_error *err);
static void ngx_live_shop_changed(ngx_live_shop_shm_t *shm);
static ngx_int_t ngx_live_shop_commit(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_event *ev, const char *json,
    size_t len, lshop_error *err);
static ngx_int_t ngx_live_shop_catalog_stock(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const char *offer_id, int64_t stock);
static int ngx_live_shop_load_key(void *arg, const char *key, size_t len,
    int64_t at_ms);
static void ngx_live_shop_fold_later(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static void ngx_live_shop_fold_handler(ngx_event_t *ev);
static size_t ngx_live_shop_order_key(u_char *key, size_t size,
    lshop_provider provider, char kind, const char *id);
static ngx_uint_t ngx_live_shop_seen(ngx_live_shop_stream_t *st,
    u_char *key, size_t len);
static void ngx_live_shop_see(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, u_char *key, size_t len, int64_t at_ms);
static void ngx_live_shop_see_order(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_order *order,
    lshop_provider provider, int64_t at_ms);
static int ngx_live_shop_load_order(void *arg, const lshop_order *order,
    lshop_provider provider, int64_t at_ms);
static ngx_int_t ngx_live_shop_journal(ngx_live_shop_stream_t *st,
    u_char *line, size_t len, lshop_error *err);
static void ngx_live_shop_checkpoint(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static char *ngx_live_shop_checkpoint_line(ngx_live_shop_stream_t *st,
    int64_t file, size_t *len);
static void ngx_live_shop_stream_empty(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static ngx_int_t ngx_live_shop_planned_init(ngx_live_shop_planned_t *planned,
    ngx_live_shop_stream_t *st, ngx_pool_t *pool);
static ngx_int_t ngx_live_shop_plan_orders(ngx_live_shop_stream_t *st,
    ngx_live_shop_write_t *w, ngx_pool_t *pool);
static int64_t ngx_live_shop_planned_stock(ngx_live_shop_planned_t *planned,
    ngx_live_shop_offer_t *o);
static ngx_int_t ngx_live_shop_planned_set_stock(
    ngx_live_shop_planned_t *planned, ngx_live_shop_offer_t *o,
    int64_t stock);
static ngx_uint_t ngx_live_shop_planned_seen(ngx_live_shop_planned_t *planned,
    u_char *key, size_t len);
static ngx_int_t ngx_live_shop_planned_see(ngx_live_shop_planned_t *planned,
    lshop_order *order, lshop_provider provider);
static void ngx_live_shop_rotate(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static void ngx_live_shop_trim(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static ngx_int_t ngx_live_shop_copy(ngx_pool_t *pool, ngx_str_t *dst,
    u_char *src, size_t len);
static int ngx_live_shop_load_show(void *arg, const lshop_show *show,
    const char *deleted_id, int64_t at_ms);
static int ngx_live_shop_load_audience(void *arg, const lshop_audience *a,
    int full, int64_t at_ms);
static ngx_live_shop_audience_t *ngx_live_shop_audience(
    ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st);
static void ngx_live_shop_audience_changed(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static lshop_show *ngx_live_shop_scheduled(ngx_live_shop_stream_t *st,
    const char *id);
static ngx_int_t ngx_live_shop_teased(ngx_live_shop_stream_t *st,
    lshop_show *show, ngx_pool_t *pool, ngx_str_t *json);
static ngx_int_t ngx_live_shop_schedule(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_show *show,
    const char *deleted_id);
static void ngx_live_shop_schedule_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static void ngx_live_shop_broadcast(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_event *ev);
static int64_t ngx_live_shop_stream_due(ngx_live_shop_stream_t *st);
static size_t ngx_live_shop_due_plan(ngx_live_shop_stream_t *st,
    int64_t now_ms, lshop_event *ev);
static lshop_bucket *ngx_live_shop_limit(ngx_live_shop_shm_t *shm,
    ngx_rbtree_t *tree, ngx_queue_t *used, ngx_uint_t *n, uint64_t hash);
static ngx_live_shop_interaction_t *ngx_live_shop_interaction(
    ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st);
static ngx_live_shop_answer_t *ngx_live_shop_saved(
    ngx_live_shop_interaction_t *in, const char *id);
static ngx_live_shop_question_t *ngx_live_shop_question(
    ngx_live_shop_interaction_t *in, ngx_str_t *id);
static void ngx_live_shop_answers_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static int ngx_live_shop_load_answer(void *arg,
    const lshop_saved_answer *answer, const char *deleted_id, int64_t at_ms);
static int ngx_live_shop_load_words(void *arg,
    const lshop_blocked_words *words, int64_t at_ms);
static char *ngx_live_shop_interaction_checkpoint(ngx_live_shop_stream_t *st,
    char *line, size_t *len);
static ngx_int_t ngx_live_shop_line_add(char **line, size_t *len, char *l,
    size_t n);
static void ngx_live_shop_interaction_event(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_event *ev);
static void ngx_live_shop_poll_counts(ngx_live_shop_stream_t *st,
    lshop_event *ev, size_t n);
static ngx_int_t ngx_live_shop_journal_apply(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, char *line, size_t len, lshop_error *err);
static ngx_int_t ngx_live_shop_configure(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_live_shop_check_pt check, const char *id,
    char *line, size_t len, ngx_uint_t *created, lshop_error *err);
static ngx_int_t ngx_live_shop_take_off(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_live_shop_check_pt check, ngx_str_t *id,
    char *(*deleted_line)(const char *id, int64_t at_ms, size_t *len),
    lshop_error *err);
static ngx_int_t ngx_live_shop_plan_config(ngx_live_shop_stream_t *st,
    ngx_live_shop_write_t *w, ngx_live_shop_check_pt check, const char *id,
    char *line, size_t len);
static ngx_int_t ngx_live_shop_offer_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created,
    lshop_error *err);
static ngx_int_t ngx_live_shop_show_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created,
    lshop_error *err);
static ngx_int_t ngx_live_shop_show_delete_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created,
    lshop_error *err);
static ngx_int_t ngx_live_shop_answer_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created,
    lshop_error *err);
static ngx_int_t ngx_live_shop_answer_delete_check(
    ngx_live_shop_stream_t *st, ngx_str_t *stream, const char *id,
    ngx_uint_t *created, lshop_error *err);


/* this worker's fold of a journal a rotation put aside */

static ngx_event_t  ngx_live_shop_fold_event;


/*
 * The node of a stream; with a journal, a stream not in the zone (after a
 * restart) is rebuilt from it. create: make a node for a stream that has
 * neither.
 */

static ngx_live_shop_stream_t *
ngx_live_shop_stream(ngx_live_shop_shm_t *shm, ngx_str_t *name,
    ngx_uint_t create)
{
    uint32_t                 hash;
    ngx_str_node_t          *sn;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;

    if (name->len > LSHOP_STREAM_MAX) {
        return NULL;
    }

    hash = ngx_crc32_short(name->data, name->len);

    sn = ngx_str_rbtree_lookup(&shm->sh->rbtree, name, hash);

    if (sn) {
        return (ngx_live_shop_stream_t *) sn;
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_clustered()) {
        /*
         * the shared log is the truth: the stream is made from it, and
         * this node's journal anew as its copy
         */
        if (!create) {
            return NULL;
        }

        st = ngx_live_shop_stream_new(shm, name, hash);

        if (st && lscf->journal.len) {
            (void) ngx_live_shop_journal_forget(lscf, name, ngx_cycle->log);
        }

        return st;
    }

    /* only a stream with a journal is worth a node unasked */
    if (!create && !ngx_live_shop_journal_exists(lscf, name)) {
        return NULL;
    }

    st = ngx_live_shop_stream_new(shm, name, hash);
    if (st == NULL) {
        return NULL;
    }

    if (lscf->journal.len && ngx_live_shop_load(shm, st) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: the journal of \"%V\" could not be "
                      "loaded into the zone; raise live_shop_zone", name);
    }

    return st;
}


static ngx_live_shop_stream_t *
ngx_live_shop_stream_new(ngx_live_shop_shm_t *shm, ngx_str_t *name,
    uint32_t hash)
{
    ngx_live_shop_stream_t  *st;

    st = ngx_slab_calloc_locked(shm->shpool, sizeof(ngx_live_shop_stream_t));
    if (st == NULL) {
        return NULL;
    }

    ngx_memcpy(st->name, name->data, name->len);

    st->sn.str.data = st->name;
    st->sn.str.len = name->len;
    st->sn.node.key = hash;

    lshop_state_init(&st->state);

    ngx_queue_init(&st->offers);
    ngx_queue_init(&st->events);
    ngx_queue_init(&st->ranges);
    ngx_queue_init(&st->seen_queue);
    ngx_queue_init(&st->fold);
    ngx_rbtree_init(&st->seen, &st->seen_sentinel,
                    ngx_str_rbtree_insert_value);

    ngx_rbtree_insert(&shm->sh->rbtree, &st->sn.node);

    return st;
}


/*
 * Rebuilds a stream from its ledger and journal files, the oldest first
 */

static ngx_int_t
ngx_live_shop_load(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    int64_t                folded, file;
    uint64_t               seq;
    ngx_str_t              data;
    ngx_int_t              rc;
    ngx_uint_t             old, found;
    lshop_error            err;
    lshop_replay_ops       ops;
    ngx_live_shop_load_t   load;
    lshop_replay_result    result;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    ngx_live_shop_load_ops(&load, &ops, shm, st);
    load.restart = 1;

    /* the orders of the files folded away: for duplicates */

    folded = -1;

    rc = ngx_live_shop_journal_read(lscf, &st->sn.str, NGX_LIVE_SHOP_LEDGER,
                                    &data, ngx_cycle->log);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        if (lshop_ledger_read((char *) data.data, data.len, NULL,
                              ngx_live_shop_load_key, &load, &folded, &seq,
                              &err)
            != 0)
        {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "live_shop: the ledger \"%V/%V.ledger\" is "
                          "damaged, so retries of its orders will count "
                          "again: %s", &lscf->journal, &st->sn.str,
                          err.message);
            folded = -1;
        }

        ngx_free(data.data);
    }

    found = 0;

    for (old = 2; /* void */ ; old--) {

        rc = ngx_live_shop_journal_read(lscf, &st->sn.str, old, &data,
                                        ngx_cycle->log);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK && old == 2) {
            /* a rotation put it aside; its fold was cut short */
            st->folding = 1;
            ngx_live_shop_fold_later(shm, st);
        }

        if (rc == NGX_OK) {
            file = lshop_journal_file((char *) data.data, data.len);

            if (old == 0) {
                st->journal_file = file;
            }

            if (file <= folded && old != 0) {
                ngx_free(data.data);
                rc = NGX_DECLINED;
            }
        }

        if (rc == NGX_OK) {
            found = 1;
            ngx_memzero(&result, sizeof(lshop_replay_result));

            (void) lshop_journal_replay((char *) data.data, data.len,
                                        &st->state, &ops, &result);

            if (result.skipped) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "live_shop: journal \"%V/%V.journal%s\": "
                              "skipped %uz of %uz records%s: %s",
                              &lscf->journal, &st->sn.str,
                              old == 2 ? ".2" : old ? ".1" : "",
                              result.skipped,
                              result.records + result.skipped,
                              result.torn ? ", the last one torn by a crash"
                                          : "",
                              result.first_problem.message);
            }

            if (!old) {
                st->journal_size = result.torn ? (off_t) result.last_good
                                               : (off_t) data.len;
            }

            if (!old && result.torn) {
                /* appends must not follow half a record */
                (void) ngx_live_shop_journal_truncate(lscf, &st->sn.str,
                                                      result.last_good,
                                                      ngx_cycle->log);
            }

            ngx_free(data.data);
        }

        if (old == 0) {
            break;
        }
    }

    ngx_live_shop_clock(shm, st);

    (void) ngx_live_shop_journal_cursor(lscf, &st->sn.str, &st->notified, 0,
                                        ngx_cycle->log);

    if (found) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "live_shop: \"%V\" loaded from its journal, seq %uL",
                      &st->sn.str, st->state.seq);
    }

    return load.rc;
}


static int
ngx_live_shop_load_offer(void *arg, const lshop_offer *offer, int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    int64_t     old_stock;
    ngx_uint_t  created;

    if (ngx_live_shop_catalog_put(load->shm, load->st, offer, &old_stock,
                                  &created)
        != NGX_OK)
    {
        load->rc = NGX_ERROR;
    }

    return 0;
}


static int
ngx_live_shop_load_checkpoint(void *arg, uint64_t seq, int64_t file)
{
    ngx_live_shop_load_t *load = arg;

    /* the checkpoint's catalog, schedule, saved answers and blocked
     * words replace those so far */
    ngx_live_shop_catalog_clear(load->shm, load->st);
    ngx_live_shop_schedule_clear(load->shm, load->st);
    ngx_live_shop_answers_clear(load->shm, load->st);

    return 0;
}


/* The replay of journal lines onto a stream in the zone (lock held) */

static void
ngx_live_shop_load_ops(ngx_live_shop_load_t *load, lshop_replay_ops *ops,
    ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    load->shm = shm;
    load->st = st;
    load->rc = NGX_OK;
    load->restart = 0;

    ngx_memzero(ops, sizeof(lshop_replay_ops));
    ops->arg = load;
    ops->offer = ngx_live_shop_load_offer;
    ops->checkpoint = ngx_live_shop_load_checkpoint;
    ops->order = ngx_live_shop_load_order;
    ops->event = ngx_live_shop_load_event;
    ops->show = ngx_live_shop_load_show;
    ops->audience = ngx_live_shop_load_audience;
    ops->answer = ngx_live_shop_load_answer;
    ops->blocked_words = ngx_live_shop_load_words;
}


static void
ngx_live_shop_catalog_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(&st->offers)) {
        q = ngx_queue_head(&st->offers);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_offer_t, queue));
    }

    st->noffers = 0;
}


/* The clock is told when a stream has something due (lock held) */

static void
ngx_live_shop_clock(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    int64_t  d;

    d = ngx_live_shop_stream_due(st);

    if (d && (shm->sh->next_due == 0 || d < shm->sh->next_due)) {
        shm->sh->next_due = d;
    }
}


static int
ngx_live_shop_load_event(void *arg, const lshop_event *ev, const char *json,
    size_t len, int restored)
{
    ngx_live_shop_load_t *load = arg;

    if (ev->type == LSHOP_STOCK_CHANGED
        && ngx_live_shop_catalog_stock(load->shm, load->st, ev->offer_id,
                                       ev->stock)
           != NGX_OK)
    {
        load->rc = NGX_ERROR;
    }

    if (ngx_live_shop_keep(load->shm, load->st, ev, json, len, restored)
        != NGX_OK)
    {
        load->rc = NGX_ERROR;
    }

    ngx_live_shop_broadcast(load->shm, load->st, ev);

    if (!restored) {
        ngx_live_shop_interaction_event(load->shm, load->st, ev);
    }

    if (load->restart && load->st->audience
        && (ev->type == LSHOP_SHOW_STARTED || ev->type == LSHOP_SHOW_ENDED))
    {
        /* a tally of the shows before, as the journal has it already */
        lshop_audience_init(&load->st->audience->tally,
                            load->st->state.show_live
                            ? load->st->state.show.id : NULL);
    }

    return 0;
}


static int
ngx_live_shop_load_key(void *arg, const char *key, size_t len, int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    ngx_live_shop_see(load->shm, load->st, (u_char *) key, len, at_ms);

    return 0;
}


static int
ngx_live_shop_load_order(void *arg, const lshop_order *order,
    lshop_provider provider, int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    ngx_live_shop_see_order(load->shm, load->st, order, provider, at_ms);

    return 0;
}


static ngx_live_shop_offer_t *
ngx_live_shop_offer(ngx_live_shop_stream_t *st, ngx_str_t *id)
{
    ngx_queue_t            *q;
    ngx_live_shop_offer_t  *o;

    for (q = ngx_queue_head(&st->offers);
         q != ngx_queue_sentinel(&st->offers);
         q = ngx_queue_next(q))
    {
        o = ngx_queue_data(q, ngx_live_shop_offer_t, queue);

        if (o->id.len == id->len
            && ngx_memcmp(o->id.data, id->data, id->len) == 0)
        {
            return o;
        }
    }

    return NULL;
}


static void
ngx_live_shop_no_memory(lshop_error *err)
{
    lshop_error_set(err, "zone_full", "",
                    "the live_shop_zone is full; raise its size");
}



/* Puts an offer into the catalog in the zone; the lock is held */

static ngx_int_t
ngx_live_shop_catalog_put(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_offer *offer, int64_t *old_stock,
    ngx_uint_t *created)
{
    char                   *json;
    size_t                  len;
    ngx_str_t               id;
    ngx_live_shop_offer_t  *o, *old;

    id.data = (u_char *) offer->id;
    id.len = ngx_strlen(offer->id);

    old = ngx_live_shop_offer(st, &id);

    *created = (old == NULL);
    *old_stock = old ? old->stock : LSHOP_STOCK_UNLIMITED;

    json = lshop_offer_to_json(offer, &len);
    if (json == NULL) {
        return NGX_ERROR;
    }

    o = ngx_slab_alloc_locked(shm->shpool,
                              offsetof(ngx_live_shop_offer_t, json)
                              + len + id.len);
    if (o == NULL) {
        free(json);
        return NGX_ERROR;
    }

    o->len = len;
    ngx_memcpy(o->json, json, len);
    o->id.data = o->json + len;
    o->id.len = id.len;
    ngx_memcpy(o->id.data, id.data, id.len);
    o->stock = offer->stock;

    free(json);

    if (old) {
        ngx_queue_insert_after(&old->queue, &o->queue);
        ngx_queue_remove(&old->queue);
        ngx_slab_free_locked(shm->shpool, old);

    } else {
        ngx_queue_insert_tail(&st->offers, &o->queue);
        st->noffers++;
    }

    return NGX_OK;
}


/*
 * Keeps an event for RTMP and SSE subscribers and, if it opens or closes
 * an interval, for HLS. A restored event (an open interval a checkpoint
 * re-lists) only restores its range, if the range is not kept already.
 * The lock is held. On error nothing is kept.
 */

static ngx_int_t
ngx_live_shop_keep(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_event *ev, const char *json, size_t len, ngx_uint_t restored)
{
    ngx_queue_t            *q;
    const char             *cls;
    ngx_live_shop_event_t  *e;
    ngx_live_shop_range_t  *r, *open;

    cls = lshop_event_class(ev->type);
    r = NULL;
    open = NULL;

    if (cls) {
        for (q = ngx_queue_head(&st->ranges);
             q != ngx_queue_sentinel(&st->ranges);
             q = ngx_queue_next(q))
        {
            r = ngx_queue_data(q, ngx_live_shop_range_t, queue);

            if (restored && r->seq == ev->seq) {
                return NGX_OK;
            }

            if (r->end_ms == 0 && lshop_event_class(r->type) == cls) {
                open = r;
            }
        }
    }

    e = NULL;

    if (!restored) {
        e = ngx_slab_alloc_locked(shm->shpool,
                                  offsetof(ngx_live_shop_event_t, json)
                                  + len);
        if (e == NULL) {
            return NGX_ERROR;
        }

        e->seq = ev->seq;
        e->type = ev->type;
        e->len = len;
        ngx_memcpy(e->json, json, len);
    }

    if (cls) {

        r = NULL;

        if (lshop_event_opens(ev->type)) {
            r = ngx_slab_alloc_locked(shm->shpool,
                                offsetof(ngx_live_shop_range_t, json) + len);
            if (r == NULL) {
                if (e) {
                    ngx_slab_free_locked(shm->shpool, e);
                }

                return NGX_ERROR;
            }

            r->type = ev->type;
            r->seq = ev->seq;
            r->start_ms = ev->at_ms;
            r->end_ms = 0;
            r->len = len;
            ngx_memcpy(r->json, json, len);
        }
    }

    if (e) {
        ngx_queue_insert_tail(&st->events, &e->queue);
        st->nevents++;
    }

    if (open && !restored) {
        /* ranges of one class never overlap (SPEC §7) */
        open->end_ms = ngx_max(ev->at_ms, open->start_ms);
        st->nended++;
    }

    if (r) {
        ngx_queue_insert_tail(&st->ranges, &r->queue);
    }

    ngx_live_shop_trim(shm, st);

    return NGX_OK;
}


/*
 * Gives a planned event of a stream the seq after next's, and applies it
 * to next (the state as the events before it leave it)
 */

static ngx_int_t
ngx_live_shop_number(ngx_live_shop_stream_t *st, lshop_state *next,
    lshop_event *ev, lshop_error *err)
{
    ev->seq = next->seq + 1;
    ngx_memcpy(ev->stream, st->name, st->sn.str.len + 1);

    return lshop_state_apply(next, ev, err) == 0 ? NGX_OK : NGX_ERROR;
}


/*
 * Assigns the next seq, journals the event and commits it. Called with
 * the lock held. On error nothing has changed.
 */

static ngx_int_t
ngx_live_shop_emit(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    lshop_event *ev, ngx_pool_t *pool, ngx_str_t *out, lshop_error *err)
{
    char         *json;
    size_t        len;
    ngx_int_t     rc;
    lshop_state   next;

    next = st->state;

    if (ngx_live_shop_number(st, &next, ev, err) != NGX_OK) {
        return NGX_ERROR;
    }

    json = lshop_journal_event_line(ev, &len);
    if (json == NULL) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    /* SPEC §3: journalled before anyone hears of it */
    rc = ngx_live_shop_journal(st, (u_char *) json, len, err);

    if (rc == NGX_OK) {
        rc = ngx_live_shop_commit(shm, st, ev, json, len - 1, err);
    }

    if (rc == NGX_OK) {
        ngx_live_shop_rotate(shm, st);
    }

    if (rc == NGX_OK && out) {
        rc = ngx_live_shop_copy(pool, out, (u_char *) json, len - 1);
    }

    free(json);

    return rc;
}


/*
 * Makes a journalled event count: kept for subscribers, applied to the
 * state, the clock told. The lock is held.
 */

static ngx_int_t
ngx_live_shop_commit(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_event *ev, const char *json, size_t len, lshop_error *err)
{
    lshop_state  next;

    next = st->state;

    if (lshop_state_apply(&next, ev, err) != 0) {
        return NGX_ERROR;
    }

    if (ngx_live_shop_keep(shm, st, ev, json, len, 0) != NGX_OK) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    st->state = next;

    ngx_live_shop_broadcast(shm, st, ev);
    ngx_live_shop_interaction_event(shm, st, ev);
    ngx_live_shop_audience_changed(shm, st);

    ngx_live_shop_clock(shm, st);

    ngx_live_shop_changed(shm);

    return NGX_OK;
}


/*
 * Every change of the zone: its generation moves on and every worker's
 * bell rings, so new events reach all subscribers at once, whichever
 * path made them (the workers' tick is only a safety net)
 */

static void
ngx_live_shop_changed(ngx_live_shop_shm_t *shm)
{
    (void) ngx_atomic_fetch_add(&shm->sh->generation, 1);

    ngx_live_shop_ring();
}


/*
 * Rotates a journal grown past its size, once everything its last line
 * holds is committed: a checkpoint must not split an order's events.
 */

static void
ngx_live_shop_rotate(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    /* NAME.journal.2 must be folded before a rotation may put .1 aside */

    if (!st->folding
        && st->journal_size
        > ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->journal_max_size)
    {
        ngx_live_shop_checkpoint(shm, st);
    }
}


static ngx_int_t
ngx_live_shop_journal(ngx_live_shop_stream_t *st, u_char *line, size_t len,
    lshop_error *err)
{
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (lscf->journal.len == 0) {
        return NGX_OK;
    }

    if (ngx_live_shop_journal_append(lscf, &st->sn.str, line, len,
                                     &st->journal_size, ngx_cycle->log)
        != NGX_OK)
    {
        lshop_error_set(err, "journal_failed", "",
                        "the journal could not be written; nothing was "
                        "changed (see the error log)");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A line of a stream's configuration into the journal, then into the
 * zone through the replay a restart makes of it, so that the two cannot
 * differ. The lock is held.
 */

static ngx_int_t
ngx_live_shop_journal_apply(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, char *line, size_t len, lshop_error *err)
{
    lshop_replay_ops      ops;
    ngx_live_shop_load_t  load;
    lshop_replay_result   result;

    /* journalled first: what is in the zone is always in the journal */

    if (ngx_live_shop_journal(st, (u_char *) line, len, err) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_live_shop_load_ops(&load, &ops, shm, st);

    if (lshop_journal_replay(line, len, &st->state, &ops, &result) != 0
        || load.rc != NGX_OK)
    {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    if (result.skipped) {
        /* a line of the core's own making that it cannot read */
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": %s", &st->sn.str,
                      result.first_problem.message);
        *err = result.first_problem;
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A change of a stream's configuration on this node: a show or a saved
 * answer put or taken off, the blocked words put. check (if any) says
 * whether it may be made, then line (NULL: no memory for it) goes into
 * the journal and the zone. created NULL: a deletion, for which a stream
 * that has none is not made.
 */

static ngx_int_t
ngx_live_shop_configure(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_check_pt check, const char *id, char *line, size_t len,
    ngx_uint_t *created, lshop_error *err)
{
    ngx_int_t                rc;
    ngx_uint_t               gone;
    ngx_live_shop_stream_t  *st;

    if (line == NULL) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, created != NULL);

    if (st == NULL && created) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (check
        && check(st, stream, id, created ? created : &gone, err) != NGX_OK)
    {
        goto done;
    }

    if (ngx_live_shop_journal_apply(shm, st, line, len, err) != NGX_OK) {
        goto done;
    }

    ngx_live_shop_rotate(shm, st);

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/* A show or a saved answer id taken off: its line made by deleted_line */

static ngx_int_t
ngx_live_shop_take_off(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_check_pt check, ngx_str_t *id,
    char *(*deleted_line)(const char *id, int64_t at_ms, size_t *len),
    lshop_error *err)
{
    char       *line, name[LSHOP_ID_MAX + 1];
    size_t      len;
    ngx_int_t   rc;

    if (id->len > LSHOP_ID_MAX) {
        return NGX_ERROR;
    }

    ngx_memcpy(name, id->data, id->len);
    name[id->len] = '\0';

    line = deleted_line(name, lshop_now_ms(), &len);

    rc = ngx_live_shop_configure(shm, stream, check, name, line, len, NULL,
                                 err);
    free(line);

    return rc;
}


/* Rotates a stream's journal: a new one begins with a checkpoint */

static void
ngx_live_shop_checkpoint(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    char                  *line;
    size_t                 len;
    ngx_uint_t             aside;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    line = ngx_live_shop_checkpoint_line(st, st->journal_file + 1, &len);
    if (line == NULL) {
        return;
    }

    if (ngx_live_shop_journal_rotate(lscf, &st->sn.str, (u_char *) line, len,
                                     &aside, ngx_cycle->log)
        == NGX_OK)
    {
        st->journal_size = len;
        st->journal_file++;

        if (aside) {
            /* NAME.journal.1 went aside as NAME.journal.2 */
            st->folding = 1;
            ngx_live_shop_fold_later(shm, st);
        }
    }

    free(line);
}


/* The checkpoint line of a stream as it is, beginning journal file file */

static char *
ngx_live_shop_checkpoint_line(ngx_live_shop_stream_t *st, int64_t file,
    size_t *len)
{
    char                   *line;
    size_t                  n;
    ngx_queue_t            *q;
    lshop_error             err;
    lshop_offer            *offers;
    ngx_live_shop_offer_t  *o;

    offers = ngx_alloc(st->noffers * sizeof(lshop_offer) + 1,
                       ngx_cycle->log);
    if (offers == NULL) {
        return NULL;
    }

    n = 0;

    for (q = ngx_queue_head(&st->offers);
         q != ngx_queue_sentinel(&st->offers);
         q = ngx_queue_next(q))
    {
        o = ngx_queue_data(q, ngx_live_shop_offer_t, queue);

        if (lshop_offer_parse((char *) o->json, o->len, NULL, &offers[n],
                              &err)
            == 0)
        {
            n++;
        }
    }

    line = lshop_journal_checkpoint_line(&st->state, (char *) st->name,
                                         lshop_now_ms(), file, offers, n,
                                         st->shows, st->nshows, len);
    ngx_free(offers);

    return ngx_live_shop_interaction_checkpoint(st, line, len);
}


/*
 * Queues a stream for the fold of its NAME.journal.2, which this worker
 * starts once the event at hand is handled (its answer sent). The lock
 * is held.
 */

static void
ngx_live_shop_fold_later(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    st->fold_at = 0;
    ngx_queue_insert_tail(&shm->sh->folds, &st->fold);

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return;
    }

    ngx_live_shop_fold_event.handler = ngx_live_shop_fold_handler;
    ngx_live_shop_fold_event.log = ngx_cycle->log;
    ngx_live_shop_fold_event.data = shm;

    if (!ngx_live_shop_fold_event.posted) {
        ngx_post_event(&ngx_live_shop_fold_event, &ngx_posted_events);
    }
}


static void
ngx_live_shop_fold_handler(ngx_event_t *ev)
{
    ngx_live_shop_fold(ev->data);
}


/*
 * Folds the journal file a rotation put aside into its stream's ledger,
 * one stream per call, on a worker's clock: outside the lock, since it
 * reads and parses up to a journal's worth. Until it is done, the stream
 * is not rotated again.
 */

void
ngx_live_shop_fold(ngx_live_shop_shm_t *shm)
{
    u_char                   name[LSHOP_STREAM_MAX + 1];
    int64_t                  now;
    ngx_int_t                rc;
    ngx_str_t                stream;
    ngx_queue_t             *q;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;

    if (shm == NULL || ngx_queue_empty(&shm->sh->folds)) {
        return;
    }

    now = lshop_now_ms();

    ngx_shmtx_lock(&shm->shpool->mutex);

    if (ngx_queue_empty(&shm->sh->folds)) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    q = ngx_queue_head(&shm->sh->folds);
    st = ngx_queue_data(q, ngx_live_shop_stream_t, fold);

    if (st->fold_at > now) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    ngx_queue_remove(q);

    ngx_memcpy(name, st->name, st->sn.str.len);
    stream.data = name;
    stream.len = st->sn.str.len;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    rc = ngx_live_shop_journal_fold(lscf, &stream, ngx_cycle->log);

    ngx_shmtx_lock(&shm->shpool->mutex);

    if (rc == NGX_ERROR) {
        /* said in the log; the journal grows until a retry succeeds */
        st->fold_at = now + 60000;
        ngx_queue_insert_tail(&shm->sh->folds, &st->fold);

    } else {
        st->folding = 0;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}



/*
 * live_shop_control_rate: a leaky bucket per stream, kept as limit_req
 * keeps one per key. rate is in calls per 1000 s; burst calls may wait
 * above it. NGX_BUSY with *retry_after (s) when the call is one too many.
 */

ngx_int_t
ngx_live_shop_rate(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_uint_t rate, ngx_uint_t burst, time_t *retry_after)
{
    int64_t                  now, ms, excess;
    ngx_int_t                rc;
    ngx_live_shop_stream_t  *st;

    now = lshop_now_ms();
    rc = NGX_OK;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);

    if (st) {
        ms = now - st->rate_last;

        if (ms < 0 || st->rate_last == 0) {
            ms = 0;
        }

        excess = st->rate_excess - (int64_t) rate * ms / 1000 + 1000;

        if (excess < 0) {
            excess = 0;
        }

        if (excess > (int64_t) burst * 1000) {
            /* until the bucket has room for this one */
            *retry_after = (time_t) (((excess - (int64_t) burst * 1000)
                                      * 1000 / rate + 999) / 1000);
            rc = NGX_BUSY;

        } else {
            st->rate_excess = excess;
            st->rate_last = now;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * What a control call does to a stream (st may be NULL for one that only
 * ends something): the core plans its events on the state, *answer is
 * the one of them the call is answered with. The lock is held.
 */

static size_t
ngx_live_shop_act_plan(ngx_live_shop_stream_t *st, ngx_str_t *stream,
    ngx_live_shop_action_t *act, lshop_event *ev, lshop_offer *offer,
    size_t *answer, lshop_error *err)
{
    size_t                     n;
    long                       i;
    int64_t                    occurrence;
    ngx_uint_t                 k;
    ngx_str_t                  id;
    lshop_poll                *poll;
    lshop_show                *show;
    const char                *locale;
    lshop_state                empty;
    lshop_question            *question;
    ngx_live_shop_offer_t     *o;
    ngx_live_shop_answer_t    *saved;
    ngx_live_shop_question_t  *waiting;

    locale = (char *) ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                          ->locale.data;

    lshop_state_init(&empty);

    n = 0;

    switch (act->action) {

    case NGX_LIVE_SHOP_PIN:
    case NGX_LIVE_SHOP_COUNTDOWN:
        id.data = (u_char *) (act->action == NGX_LIVE_SHOP_PIN
                              ? act->pin.offer_id
                              : act->countdown.offer_id);
        id.len = ngx_strlen(id.data);

        if (id.len == 0) {
            o = NULL;

        } else {
            o = st ? ngx_live_shop_offer(st, &id) : NULL;

            if (o == NULL) {
                lshop_error_set(err, "not_found", "offer",
                                "no offer \"%s\" in the catalog of %.*s; "
                                "PUT it first", (char *) id.data,
                                (int) stream->len, stream->data);
                return 0;
            }
        }

        if (act->action == NGX_LIVE_SHOP_COUNTDOWN) {
            n = lshop_state_plan_countdown(&st->state, act->at_ms,
                                           act->countdown.seconds,
                                           act->countdown.label,
                                           act->countdown.offer_id, ev, err);
            break;
        }

        if (lshop_offer_parse((char *) o->json, o->len, NULL, offer, err)
            != 0)
        {
            return 0;
        }

        n = lshop_state_plan_pin(&st->state, offer, act->at_ms,
                                 act->pin.duration_s
                                 ? act->at_ms + act->pin.duration_s * 1000
                                 : 0,
                                 locale, ev, err);
        break;

    case NGX_LIVE_SHOP_UNPIN:
        n = lshop_state_plan_unpin(st ? &st->state : &empty, act->at_ms, ev,
                                   err);
        break;

    case NGX_LIVE_SHOP_STOP_COUNTDOWN:
        n = lshop_state_plan_countdown_stop(st ? &st->state : &empty,
                                            act->at_ms, ev, err);
        break;

    case NGX_LIVE_SHOP_DISCLOSE:
        n = lshop_state_plan_disclose(&st->state, act->at_ms,
                                      act->disclosure.kind,
                                      act->disclosure.text, locale, ev, err);
        break;

    case NGX_LIVE_SHOP_HIDE:
        n = lshop_state_plan_hide(st ? &st->state : &empty, act->at_ms, ev,
                                  err);
        break;

    case NGX_LIVE_SHOP_SHOW_START:
        /*
         * SPEC §14: a publish starts the show scheduled nearest to now,
         * or an unscheduled one, unless one is on air (a publisher that
         * came back within the grace period); a call names its show
         */
        if (act->publish && st->state.show_live) {
            lshop_error_set(err, "show_live", "",
                            "show \"%s\" is on air already",
                            st->state.show.id);
            return 0;
        }

        show = NULL;
        occurrence = act->at_ms;

        if (act->show_id[0]) {
            show = ngx_live_shop_scheduled(st, act->show_id);

            if (show == NULL) {
                lshop_error_set(err, "not_found", "show",
                                "no show \"%s\" is scheduled on %.*s",
                                act->show_id, (int) stream->len,
                                stream->data);
                return 0;
            }

            /* off its schedule, it is one broadcast starting now */
            if (lshop_show_match(show, 1, act->at_ms, &occurrence) < 0) {
                occurrence = act->at_ms;
            }

        } else {
            i = lshop_show_match(st->shows, st->nshows, act->at_ms,
                                 &occurrence);
            show = (i >= 0) ? &st->shows[i] : NULL;
        }

        ngx_memzero(&ev[LSHOP_PLAN_MAX - 1].show, sizeof(lshop_show));
        lshop_show_broadcast(show, occurrence, act->at_ms, (char *) st->name,
                             &ev[LSHOP_PLAN_MAX - 1].show);

        /* an occurrence is broadcast once: a publish after it ended
         * starts an unscheduled show */

        for (k = 0; show && !act->show_id[0] && k < st->nbroadcasts; k++) {
            if (ngx_strcmp(st->broadcasts[k].show.id,
                           ev[LSHOP_PLAN_MAX - 1].show.id)
                == 0)
            {
                lshop_show_broadcast(NULL, 0, act->at_ms, (char *) st->name,
                                     &ev[LSHOP_PLAN_MAX - 1].show);
                break;
            }
        }

        n = lshop_state_plan_show_start(&st->state,
                                        &ev[LSHOP_PLAN_MAX - 1].show,
                                        act->at_ms, ev, err);
        break;

    case NGX_LIVE_SHOP_SHOW_END:
        n = lshop_state_plan_show_end(st ? &st->state : &empty,
                                      act->show_id, act->at_ms, ev, err);
        break;

    case NGX_LIVE_SHOP_QUESTION_PIN:
    case NGX_LIVE_SHOP_ANSWER_PIN:
        question = &ev[LSHOP_PLAN_MAX - 1].question;
        ngx_memzero(question, sizeof(lshop_question));

        id.data = (u_char *) act->id;
        id.len = ngx_strlen(act->id);

        if (act->action == NGX_LIVE_SHOP_ANSWER_PIN) {
            saved = ngx_live_shop_saved(st->interaction, act->id);

            if (saved == NULL) {
                lshop_error_set(err, "not_found", "id",
                                "no saved answer \"%s\" on %.*s", act->id,
                                (int) stream->len, stream->data);
                return 0;
            }

            lshop_saved_answer_question(&saved->answer, question);

        } else {
            waiting = ngx_live_shop_question(st->interaction, &id);

            if (waiting == NULL) {
                lshop_error_set(err, "not_found", "id",
                                "no question \"%s\" is waiting on %.*s",
                                act->id, (int) stream->len, stream->data);
                return 0;
            }

            ngx_cpystrn((u_char *) question->id, id.data, id.len + 1);
            ngx_memcpy(question->text, waiting->data, waiting->text_len);
            ngx_memcpy(question->name, waiting->data + waiting->text_len,
                       waiting->name_len);
            ngx_cpystrn((u_char *) question->answer, (u_char *) act->answer,
                        sizeof(question->answer));
        }

        n = lshop_state_plan_question_pin(&st->state, question, act->at_ms,
                                          ev, err);
        break;

    case NGX_LIVE_SHOP_QUESTION_UNPIN:
        n = lshop_state_plan_question_unpin(st ? &st->state : &empty,
                                            act->at_ms, ev, err);
        break;

    case NGX_LIVE_SHOP_POLL_START:
        /* its id is "p" and the seq of its poll.started, the last */
        poll = &ev[LSHOP_PLAN_MAX - 1].poll;
        *poll = act->poll.poll;
        ngx_cpystrn((u_char *) poll->id, (u_char *) "p0", sizeof(poll->id));

        n = lshop_state_plan_poll_start(&st->state, poll, act->poll.seconds,
                                        act->at_ms, ev, err);
        if (n) {
            ngx_sprintf((u_char *) ev[n - 1].poll.id, "p%uL%Z",
                        st->state.seq + n);
        }

        break;

    case NGX_LIVE_SHOP_POLL_END:
        n = lshop_state_plan_poll_end(st ? &st->state : &empty,
                                      act->id[0] ? act->id : NULL,
                                      act->at_ms, ev, err);
        break;
    }

    if (n && st == NULL) {
        ngx_live_shop_no_memory(err);
        return 0;
    }

    ngx_live_shop_poll_counts(st, ev, n);

    /* the call answers with the event of its own kind: the last planned,
     * but for an unpin, whose tied disclosure is hidden after it */
    *answer = (act->action == NGX_LIVE_SHOP_UNPIN) ? 0 : n - 1;

    return n;
}


static ngx_uint_t
ngx_live_shop_act_creates(ngx_live_shop_action_t *act)
{
    return act->action != NGX_LIVE_SHOP_UNPIN
           && act->action != NGX_LIVE_SHOP_STOP_COUNTDOWN
           && act->action != NGX_LIVE_SHOP_HIDE
           && act->action != NGX_LIVE_SHOP_SHOW_END
           && act->action != NGX_LIVE_SHOP_QUESTION_UNPIN
           && act->action != NGX_LIVE_SHOP_POLL_END;
}


/* Carries out a control call; *event is the one it is answered with. */

ngx_int_t
ngx_live_shop_act(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_action_t *act, ngx_pool_t *pool, ngx_str_t *event,
    lshop_error *err)
{
    size_t                   i, n, answer;
    ngx_int_t                rc;
    ngx_str_t                json;
    ngx_uint_t               create;
    lshop_offer             *offer;
    lshop_event             *ev;
    ngx_live_shop_stream_t  *st;

    /* events hold whole offers: keep them off the stack */
    ev = ngx_palloc(pool, LSHOP_PLAN_MAX * sizeof(lshop_event));
    offer = ngx_palloc(pool, sizeof(lshop_offer));
    if (ev == NULL || offer == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    create = ngx_live_shop_act_creates(act);

    st = ngx_live_shop_stream(shm, stream, create);

    if (st == NULL && create) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    n = ngx_live_shop_act_plan(st, stream, act, ev, offer, &answer, err);

    for (i = 0; i < n; i++) {
        rc = ngx_live_shop_emit(shm, st, &ev[i], pool,
                                i == answer ? &json : NULL, err);
        if (rc != NGX_OK) {
            break;
        }
    }

    if (rc == NGX_OK) {
        *event = json;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * Emits what the clock has made due on every stream (countdowns ending,
 * pins running out). Whichever worker gets here first does it, under the
 * lock. Returns the number of events.
 */

ngx_uint_t
ngx_live_shop_fire_due(ngx_live_shop_shm_t *shm, int64_t now_ms)
{
    size_t                   i, n;
    int64_t                  d, next;
    ngx_uint_t               fired;
    lshop_error              err;
    lshop_event              ev[LSHOP_PLAN_MAX];
    ngx_rbtree_node_t       *node, *root, *sentinel;
    ngx_live_shop_stream_t  *st;

    if (shm->sh->next_due == 0 || now_ms < shm->sh->next_due) {
        return 0;
    }

    fired = 0;
    next = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    root = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    if (root == sentinel) {
        goto done;
    }

    for (node = ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&shm->sh->rbtree, node))
    {
        st = (ngx_live_shop_stream_t *) node;

        n = ngx_live_shop_due_plan(st, now_ms, ev);

        for (i = 0; i < n; i++) {
            if (ngx_live_shop_emit(shm, st, &ev[i], NULL, NULL, &err)
                != NGX_OK)
            {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "live_shop: \"%V\": %s", &st->sn.str,
                              err.message);
                break;
            }

            fired++;
        }

        d = ngx_live_shop_stream_due(st);

        if (d && (next == 0 || d < next)) {
            next = d;
        }
    }

done:

    shm->sh->next_due = next;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return fired;
}


static void
ngx_live_shop_trim(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    ngx_queue_t            *q, *next;
    ngx_live_shop_event_t  *e;
    ngx_live_shop_range_t  *r;

    while (st->nevents > NGX_LIVE_SHOP_KEEP_EVENTS) {
        q = ngx_queue_head(&st->events);
        ngx_queue_remove(q);
        st->nevents--;

        e = ngx_queue_data(q, ngx_live_shop_event_t, queue);
        ngx_slab_free_locked(shm->shpool, e);
    }

    for (q = ngx_queue_head(&st->ranges);
         st->nended > NGX_LIVE_SHOP_KEEP_RANGES
         && q != ngx_queue_sentinel(&st->ranges);
         q = next)
    {
        next = ngx_queue_next(q);
        r = ngx_queue_data(q, ngx_live_shop_range_t, queue);

        if (r->end_ms == 0) {
            continue;
        }

        ngx_queue_remove(q);
        st->nended--;
        ngx_slab_free_locked(shm->shpool, r);
    }
}


static ngx_int_t
ngx_live_shop_copy(ngx_pool_t *pool, ngx_str_t *dst, u_char *src, size_t len)
{
    dst->data = ngx_pnalloc(pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return NGX_OK;
}



/*
 * A stock as events and purchases leave it: the offer's JSON in the zone
 * is written anew, so the catalog and the state agree. The lock is held.
 */

static ngx_int_t
ngx_live_shop_catalog_stock(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const char *offer_id, int64_t stock)
{
    int64_t                 old_stock;
    ngx_int_t               rc;
    ngx_str_t               id;
    ngx_uint_t              created;
    lshop_error             err;
    lshop_offer            *offer;
    ngx_live_shop_offer_t  *o;

    id.data = (u_char *) offer_id;
    id.len = ngx_strlen(offer_id);

    o = ngx_live_shop_offer(st, &id);

    if (o == NULL || o->stock == stock) {
        return NGX_OK;
    }

    offer = ngx_alloc(sizeof(lshop_offer), ngx_cycle->log);
    if (offer == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    if (lshop_offer_parse((char *) o->json, o->len, NULL, offer, &err) == 0)
    {
        offer->stock = stock;
        rc = ngx_live_shop_catalog_put(shm, st, offer, &old_stock, &created);
    }

    ngx_free(offer);

    return rc;
}


static size_t
ngx_live_shop_order_key(u_char *key, size_t size, lshop_provider provider,
    char kind, const char *id)
{
    return lshop_order_key((char *) key, size, provider, kind, id);
}


static ngx_uint_t
ngx_live_shop_seen(ngx_live_shop_stream_t *st, u_char *key, size_t len)
{
    ngx_str_t  k;

    k.data = key;
    k.len = len;

    return ngx_str_rbtree_lookup(&st->seen, &k,
                                 ngx_crc32_short(key, len)) != NULL;
}


/*
 * Remembers a key of an order taken at at_ms, forgetting those that
 * shops stopped retrying long ago (the ledger forgets them alike)
 */

static void
ngx_live_shop_see(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    u_char *key, size_t len, int64_t at_ms)
{
    int64_t                old;
    ngx_queue_t           *q;
    ngx_live_shop_seen_t  *seen;

    if (len == 0 || ngx_live_shop_seen(st, key, len)) {
        return;
    }

    old = lshop_now_ms() - LSHOP_ORDER_KEEP_MS;

    while (!ngx_queue_empty(&st->seen_queue)) {
        q = ngx_queue_head(&st->seen_queue);
        seen = ngx_queue_data(q, ngx_live_shop_seen_t, queue);

        if (seen->at_ms >= old) {
            break;
        }

        ngx_queue_remove(q);
        ngx_rbtree_delete(&st->seen, &seen->sn.node);
        ngx_slab_free_locked(shm->shpool, seen);
        st->nseen--;
    }

    if (at_ms < old) {
        return;
    }

    seen = ngx_slab_alloc_locked(shm->shpool,
                                 offsetof(ngx_live_shop_seen_t, data) + len);
    if (seen == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop: the zone is full: \"%*s\" will not be "
                      "known as a duplicate; raise live_shop_zone", len, key);
        return;
    }

    ngx_memcpy(seen->data, key, len);
    seen->sn.str.data = seen->data;
    seen->sn.str.len = len;
    seen->sn.node.key = ngx_crc32_short(key, len);
    seen->at_ms = at_ms;

    ngx_rbtree_insert(&st->seen, &seen->sn.node);
    ngx_queue_insert_tail(&st->seen_queue, &seen->queue);
    st->nseen++;
}


static void
ngx_live_shop_see_order(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_order *order, lshop_provider provider, int64_t at_ms)
{
    u_char  key[LSHOP_ORDER_KEY_MAX];
    size_t  len;

    /* a refund names the order it refunds: only its delivery is its own */

    if (!order->refund) {
        len = ngx_live_shop_order_key(key, sizeof(key), provider, 'o',
                                      order->order_id);
        ngx_live_shop_see(shm, st, key, len, at_ms);
    }

    if (order->delivery_id[0]) {
        len = ngx_live_shop_order_key(key, sizeof(key), provider, 'd',
                                      order->delivery_id);
        ngx_live_shop_see(shm, st, key, len, at_ms);
    }
}


/*
 * Loads every stream that has a journal into the zone (those already
 * there stay as they are): after a restart, webhooks out must know the
 * streams with deliveries pending before anyone asks for them.
 */

void
ngx_live_shop_load_all(ngx_live_shop_shm_t *shm)
{
    u_char                 name[LSHOP_STREAM_MAX + 1], *p;
    size_t                 len;
    ngx_dir_t              apps, files;
    ngx_str_t              stream;
    ngx_live_shop_conf_t  *lscf;
    u_char                 path[NGX_MAX_PATH];

    static ngx_str_t  ext = ngx_string(".journal");

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (lscf->journal.len == 0 || lscf->journal.len >= NGX_MAX_PATH - 1) {
        return;
    }

    ngx_memcpy(path, lscf->journal.data, lscf->journal.len);
    path[lscf->journal.len] = '\0';

    if (ngx_open_dir((ngx_str_t *) &lscf->journal, &apps) == NGX_ERROR) {
        return;
    }

    while (ngx_read_dir(&apps) == NGX_OK) {

        len = ngx_de_namelen(&apps);

        if (ngx_de_name(&apps)[0] == '.' || len > LSHOP_STREAM_PART_MAX) {
            continue;
        }

        p = ngx_snprintf(path, NGX_MAX_PATH - 1, "%V/%s%Z", &lscf->journal,
                         ngx_de_name(&apps));

        stream.data = path;
        stream.len = p - path - 1;

        if (ngx_open_dir(&stream, &files) == NGX_ERROR) {
            continue;
        }

        while (ngx_read_dir(&files) == NGX_OK) {

            /* APP/NAME.journal: a stream */

            if (ngx_de_namelen(&files) <= ext.len
                || ngx_strcmp(ngx_de_name(&files) + ngx_de_namelen(&files)
                              - ext.len, ext.data) != 0
                || len + 1 + ngx_de_namelen(&files) - ext.len
                   > LSHOP_STREAM_MAX)
            {
                continue;
            }

            p = ngx_cpymem(name, ngx_de_name(&apps), len);
            *p++ = '/';
            p = ngx_cpymem(p, ngx_de_name(&files),
                           ngx_de_namelen(&files) - ext.len);

            stream.data = name;
            stream.len = p - name;

            if (!lshop_stream_valid((char *) name, stream.len)) {
                continue;
            }

            ngx_shmtx_lock(&shm->shpool->mutex);
            (void) ngx_live_shop_stream(shm, &stream, 0);
            ngx_shmtx_unlock(&shm->shpool->mutex);
        }

        ngx_close_dir(&files);
    }

    ngx_close_dir(&apps);
}


/* A webhook receiver acknowledged events up to seq (worker 0 only) */

void
ngx_live_shop_notified(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t seq)
{
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st && seq > st->notified) {
        st->notified = seq;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (ngx_live_shop_clustered()) {
        /* the cursor is the cluster's, in the shared store */
        ngx_live_shop_cluster_notified(stream, seq);
        return;
    }

    (void) ngx_live_shop_journal_cursor(
                          ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle),
                          stream, &seq, 1, ngx_cycle->log);
}


/*
 * What an order does to a stream: a duplicate (result->duplicate), or
 * its events, n of them, the stock effects decided by the core per item
 * and planned on a copy of the state. A refund is a duplicate only of
 * its delivery (it names an order taken before, and repeats of it are
 * harmless: it says what was refunded so far) and makes no event. The
 * lock is held; nothing changes.
 */

static ngx_int_t
ngx_live_shop_order_plan(ngx_live_shop_stream_t *st, lshop_order *order,
    lshop_provider provider, int64_t at, ngx_pool_t *pool,
    ngx_live_shop_planned_t *planned, lshop_event *ev, size_t *nev,
    ngx_live_shop_order_result_t *result, lshop_error *err)
{
    size_t                   i, j, n, k, len;
    u_char                   key[LSHOP_ORDER_KEY_MAX];
    int64_t                 *stock;
    ngx_str_t                id;
    ngx_live_shop_offer_t  **offers;

    *nev = 0;

    len = ngx_live_shop_order_key(key, sizeof(key), provider, 'o',
                                  order->order_id);

    if (!order->refund
        && (ngx_live_shop_seen(st, key, len)
            || ngx_live_shop_planned_seen(planned, key, len)))
    {
        result->duplicate = 1;
        return NGX_OK;
    }

    if (order->delivery_id[0]) {
        len = ngx_live_shop_order_key(key, sizeof(key), provider, 'd',
                                      order->delivery_id);

        if (ngx_live_shop_seen(st, key, len)
            || ngx_live_shop_planned_seen(planned, key, len))
        {
            result->duplicate = 1;
            return NGX_OK;
        }
    }

    if (order->refund) {
        /* no stock, no event: the report reads its line */
        goto see;
    }

    offers = ngx_pcalloc(pool, order->nitems * sizeof(void *) + 1);
    stock = ngx_palloc(pool, order->nitems * sizeof(int64_t) + 1);

    if (offers == NULL || stock == NULL) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < order->nitems; i++) {
        id.data = (u_char *) order->items[i].offer_id;
        id.len = ngx_strlen(order->items[i].offer_id);

        offers[i] = ngx_live_shop_offer(st, &id);
        stock[i] = offers[i] ? ngx_live_shop_planned_stock(planned, offers[i])
                             : LSHOP_STOCK_UNKNOWN;

        for (j = 0; j < i; j++) {
            if (offers[j] && offers[j] == offers[i]) {
                stock[i] = stock[j];   /* what the earlier item left */
            }
        }

        k = lshop_purchase_events(&order->items[i], &stock[i], at, &ev[n]);

        for (j = n; j < n + k; j++) {
            if (ngx_live_shop_number(st, &planned->state, &ev[j], err)
                != NGX_OK)
            {
                return NGX_ERROR;
            }
        }

        n += k;
        result->sold += order->items[i].quantity - order->items[i].oversold;
        result->oversold += order->items[i].oversold;
    }

    *nev = n;

    /* what the orders planned after it in the same batch see */

    for (i = 0; i < order->nitems; i++) {
        if (offers[i]
            && ngx_live_shop_planned_set_stock(planned, offers[i], stock[i])
               != NGX_OK)
        {
            ngx_live_shop_no_memory(err);
            return NGX_ERROR;
        }
    }

see:

    if (ngx_live_shop_planned_see(planned, order, provider) != NGX_OK) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Orders planned one after the other before any is applied (a batch of
 * the shared log) see what the earlier ones did: the state, the stock
 * they left and their keys. One order alone starts from the stream.
 */

static ngx_int_t
ngx_live_shop_planned_init(ngx_live_shop_planned_t *planned,
    ngx_live_shop_stream_t *st, ngx_pool_t *pool)
{
    planned->state = st->state;

    if (ngx_array_init(&planned->stock, pool, 4,
                       sizeof(ngx_live_shop_planned_stock_t))
        != NGX_OK
        || ngx_array_init(&planned->keys, pool, 8, sizeof(ngx_str_t))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static int64_t
ngx_live_shop_planned_stock(ngx_live_shop_planned_t *planned,
    ngx_live_shop_offer_t *o)
{
    ngx_uint_t                      i;
    ngx_live_shop_planned_stock_t  *ps;

    ps = planned->stock.elts;

    for (i = 0; i < planned->stock.nelts; i++) {
        if (ps[i].offer == o) {
            return ps[i].stock;
        }
    }

    return o->stock;
}


static ngx_int_t
ngx_live_shop_planned_set_stock(ngx_live_shop_planned_t *planned,
    ngx_live_shop_offer_t *o, int64_t stock)
{
    ngx_uint_t                      i;
    ngx_live_shop_planned_stock_t  *ps;

    ps = planned->stock.elts;

    for (i = 0; i < planned->stock.nelts; i++) {
        if (ps[i].offer == o) {
            ps[i].stock = stock;
            return NGX_OK;
        }
    }

    ps = ngx_array_push(&planned->stock);
    if (ps == NULL) {
        return NGX_ERROR;
    }

    ps->offer = o;
    ps->stock = stock;

    return NGX_OK;
}


static ngx_uint_t
ngx_live_shop_planned_seen(ngx_live_shop_planned_t *planned, u_char *key,
    size_t len)
{
    ngx_str_t   *k;
    ngx_uint_t   i;

    k = planned->keys.elts;

    for (i = 0; i < planned->keys.nelts; i++) {
        if (k[i].len == len && ngx_memcmp(k[i].data, key, len) == 0) {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_live_shop_planned_see(ngx_live_shop_planned_t *planned,
    lshop_order *order, lshop_provider provider)
{
    u_char      key[LSHOP_ORDER_KEY_MAX];
    ngx_str_t  *k;
    ngx_uint_t  i;

    for (i = order->refund ? 1 : 0; i < 2; i++) {
        if (i == 1 && order->delivery_id[0] == '\0') {
            break;
        }

        k = ngx_array_push(&planned->keys);
        if (k == NULL) {
            return NGX_ERROR;
        }

        k->len = ngx_live_shop_order_key(key, sizeof(key), provider,
                                         i ? 'd' : 'o',
                                         i ? order->delivery_id
                                           : order->order_id);
        k->data = ngx_pnalloc(planned->keys.pool, k->len);
        if (k->data == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(k->data, key, k->len);
    }

    return NGX_OK;
}


/* With several nodes: the cursor of deliveries the shared store holds */

void
ngx_live_shop_notified_from(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t seq)
{
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);

    if (st) {
        st->notified = seq;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/*
 * Takes an order (SPEC §9): once per delivery and per order id, also
 * after a restart; the order and its events journalled as one line
 * before anything changes. On disk it is once result->durable, or once
 * a sync begun afterwards (ngx_live_shop_order_sync_begin) covers
 * result->journal; a duplicate waits in the same way for its first copy.
 */

ngx_int_t
ngx_live_shop_order(ngx_live_shop_shm_t *shm, lshop_order *order,
    lshop_provider provider, ngx_pool_t *pool,
    ngx_live_shop_order_result_t *result, lshop_error *err)
{
    char                    *line, *json;
    size_t                   j, n, len, jlen;
    int64_t                  at;
    ngx_int_t                rc;
    ngx_str_t                stream;
    lshop_event             *ev;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;
    ngx_live_shop_planned_t  planned;

    ngx_memzero(result, sizeof(ngx_live_shop_order_result_t));

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    stream.data = (u_char *) order->stream;
    stream.len = ngx_strlen(order->stream);

    ev = ngx_palloc(pool, 3 * (order->nitems + 1) * sizeof(lshop_event));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    at = lshop_now_ms();
    line = NULL;
    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, &stream, 1);
    if (st == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (ngx_live_shop_planned_init(&planned, st, pool) != NGX_OK) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (ngx_live_shop_order_plan(st, order, provider, at, pool, &planned, ev,
                                 &n, result, err)
        != NGX_OK)
    {
        goto done;
    }

    if (result->duplicate) {
        rc = NGX_OK;
        goto done;
    }

    line = lshop_journal_order_line(order, provider, at, ev, n, &len);
    if (line == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (ngx_live_shop_journal(st, (u_char *) line, len, err) != NGX_OK) {
        goto done;
    }

    /* where its line ends, before a rotation may start the next file */
    result->journal.file = st->journal_file;
    result->journal.size = st->journal_size;

    /* journalled: now it counts */

    for (j = 0; j < n; j++) {
        json = lshop_event_to_json(&ev[j], &jlen);

        if (json == NULL
            || ngx_live_shop_commit(shm, st, &ev[j], json, jlen, err)
               != NGX_OK
            || (ev[j].type == LSHOP_STOCK_CHANGED
                && ngx_live_shop_catalog_stock(shm, st, ev[j].offer_id,
                                               ev[j].stock)
                   != NGX_OK))
        {
            /* the journal has it all: a restart makes it whole */
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "live_shop: order \"%s\" of \"%V\" is "
                          "journalled but not all in the zone: raise "
                          "live_shop_zone", order->order_id, &stream);
        }

        free(json);
    }

    ngx_live_shop_see_order(shm, st, order, provider, at);
    ngx_live_shop_rotate(shm, st);

    rc = NGX_OK;

done:

    if (rc == NGX_OK) {
        if (result->duplicate) {
            /* the first copy's line is somewhere before the end */
            result->journal.file = st->journal_file;
            result->journal.size = st->journal_size;
        }

        result->durable = lscf->journal.len == 0 || lscf->journal_fsync
                          || ngx_live_shop_journal_pos_cmp(&result->journal,
                                                           &st->synced)
                             <= 0;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    free(line);

    return rc;
}


static ngx_int_t
ngx_live_shop_offer_check(ngx_live_shop_stream_t *st, ngx_str_t *stream,
    const char *id, ngx_uint_t *created, lshop_error *err)
{
    ngx_str_t  name;

    name.data = (u_char *) id;
    name.len = ngx_strlen(id);

    *created = (ngx_live_shop_offer(st, &name) == NULL);

    if (*created && st->noffers >= NGX_LIVE_SHOP_MAX_OFFERS) {
        lshop_error_set(err, "too_many_offers", "id",
                        "a stream's catalog holds at most %d offers",
                        NGX_LIVE_SHOP_MAX_OFFERS);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * An offer put into a stream's catalog; a changed stock is told as its
 * events at once, under the same lock
 */

ngx_int_t
ngx_live_shop_put_offer(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_offer *offer, ngx_uint_t *created, lshop_error *err)
{
    char                    *line;
    size_t                   len;
    int64_t                  old_stock;
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_uint_t               i, n;
    lshop_event              ev[2];
    ngx_live_shop_offer_t   *o;
    ngx_live_shop_stream_t  *st;

    line = lshop_journal_offer_line(offer, lshop_now_ms(), &len);
    if (line == NULL) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    id.data = (u_char *) offer->id;
    id.len = ngx_strlen(offer->id);

    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);
    if (st == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (ngx_live_shop_offer_check(st, stream, offer->id, created, err)
        != NGX_OK)
    {
        goto done;
    }

    o = ngx_live_shop_offer(st, &id);
    old_stock = o ? o->stock : LSHOP_STOCK_UNLIMITED;

    if (ngx_live_shop_journal_apply(shm, st, line, len, err) != NGX_OK) {
        goto done;
    }

    rc = NGX_OK;

    if (*created) {
        goto done;
    }

    n = lshop_stock_events(offer->id, old_stock, offer->stock,
                           lshop_now_ms(), ev);

    for (i = 0; i < n; i++) {
        if (ngx_live_shop_emit(shm, st, &ev[i], NULL, NULL, err) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "live_shop: %s", err->message);
            break;
        }
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    free(line);

    return rc;
}


ngx_int_t
ngx_live_shop_list_offers(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json)
{
    u_char                  *p;
    size_t                   len;
    ngx_queue_t             *q;
    ngx_live_shop_offer_t   *o;
    ngx_live_shop_stream_t  *st;

    static u_char  head[] = "{\"offers\":[";
    static u_char  tail[] = "]}";

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    len = sizeof(head) - 1 + sizeof(tail) - 1;

    if (st) {
        for (q = ngx_queue_head(&st->offers);
             q != ngx_queue_sentinel(&st->offers);
             q = ngx_queue_next(q))
        {
            o = ngx_queue_data(q, ngx_live_shop_offer_t, queue);
            len += o->len + 1;
        }
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_ERROR;
    }

    json->data = p;
    p = ngx_cpymem(p, head, sizeof(head) - 1);

    if (st) {
        for (q = ngx_queue_head(&st->offers);
             q != ngx_queue_sentinel(&st->offers);
             q = ngx_queue_next(q))
        {
            o = ngx_queue_data(q, ngx_live_shop_offer_t, queue);

            if (q != ngx_queue_head(&st->offers)) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, o->json, o->len);
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    p = ngx_cpymem(p, tail, sizeof(tail) - 1);
    json->len = p - json->data;

    return NGX_OK;
}


ngx_int_t
ngx_live_shop_snapshot(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_live_shop_snapshot_t *snap)
{
    u_char                  *id;
    ngx_int_t                rc;
    ngx_queue_t             *q;
    ngx_live_shop_offer_t   *o;
    ngx_live_shop_stream_t  *st;

    lshop_state_init(&snap->state);
    snap->stock = NULL;
    snap->nstock = 0;

    rc = NGX_OK;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL) {
        goto done;
    }

    snap->state = st->state;
    snap->state.viewers = st->audience ? (int64_t) st->audience->nviewers : 0;

    if (st->state.poll_live && st->interaction
        && ngx_strcmp(st->interaction->poll_id, st->state.poll.id) == 0)
    {
        ngx_memcpy(snap->state.poll.counts, st->interaction->counts,
                   sizeof(st->interaction->counts));
    }

    snap->stock = ngx_palloc(pool, st->noffers * sizeof(lshop_stock_entry)
                                   + 1);
    if (snap->stock == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    for (q = ngx_queue_head(&st->offers);
         q != ngx_queue_sentinel(&st->offers);
         q = ngx_queue_next(q))
    {
        o = ngx_queue_data(q, ngx_live_shop_offer_t, queue);

        if (o->stock == LSHOP_STOCK_UNLIMITED) {
            continue;
        }

        id = ngx_pnalloc(pool, o->id.len + 1);
        if (id == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        ngx_memcpy(id, o->id.data, o->id.len);
        id[o->id.len] = '\0';

        snap->stock[snap->nstock].offer_id = (char *) id;
        snap->stock[snap->nstock].stock = o->stock;
        snap->nstock++;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_live_shop_state_json(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json, uint64_t *seq)
{
    char                      *s, name[LSHOP_STREAM_MAX + 1];
    size_t                     len;
    ngx_int_t                  rc;
    ngx_live_shop_snapshot_t  *snap;

    if (stream->len > LSHOP_STREAM_MAX) {
        return NGX_ERROR;
    }

    snap = ngx_palloc(pool, sizeof(ngx_live_shop_snapshot_t));
    if (snap == NULL) {
        return NGX_ERROR;
    }

    if (ngx_live_shop_snapshot(shm, stream, pool, snap) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memcpy(name, stream->data, stream->len);
    name[stream->len] = '\0';

    s = lshop_state_to_json(&snap->state, name, lshop_now_ms(), snap->stock,
                            snap->nstock, &len);
    if (s == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_live_shop_copy(pool, json, (u_char *) s, len);
    free(s);

    if (seq) {
        *seq = snap->state.seq;
    }

    return rc;
}


/* Copies the ranges open or ended since since_ms, for a playlist */

ngx_int_t
ngx_live_shop_ranges(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    int64_t since_ms, ngx_pool_t *pool, lshop_range **ranges,
    ngx_uint_t *nranges)
{
    u_char                  *p;
    size_t                   len;
    ngx_int_t                rc;
    ngx_uint_t               n;
    ngx_queue_t             *q;
    lshop_range             *lr;
    ngx_live_shop_range_t   *r;
    ngx_live_shop_stream_t  *st;

    *ranges = NULL;
    *nranges = 0;

    rc = NGX_OK;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL || ngx_queue_empty(&st->ranges)) {
        goto done;
    }

    n = 0;

    for (q = ngx_queue_head(&st->ranges);
         q != ngx_queue_sentinel(&st->ranges);
         q = ngx_queue_next(q))
    {
        r = ngx_queue_data(q, ngx_live_shop_range_t, queue);
        n += (r->end_ms == 0 || r->end_ms >= since_ms);
    }

    if (n == 0) {
        goto done;
    }

    lr = ngx_palloc(pool, n * sizeof(lshop_range));
    if (lr == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    n = 0;

    for (q = ngx_queue_head(&st->ranges);
         q != ngx_queue_sentinel(&st->ranges);
         q = ngx_queue_next(q))
    {
        r = ngx_queue_data(q, ngx_live_shop_range_t, queue);

        if (r->end_ms && r->end_ms < since_ms) {
            continue;
        }

        len = LSHOP_STREAM_MAX + NGX_INT64_LEN + 2;

        p = ngx_pnalloc(pool, len + r->len + 1);
        if (p == NULL) {
            rc = NGX_ERROR;
            goto done;
        }

        lr[n].type = r->type;
        lr[n].start_ms = r->start_ms;
        lr[n].end_ms = r->end_ms;
        lr[n].id = (char *) p;
        lshop_event_id((char *) p, len, (char *) st->name, r->seq);
        lr[n].event_json = (char *) p + len;
        lr[n].event_json_len = r->len;
        ngx_memcpy(p + len, r->json, r->len);
        p[len + r->len] = '\0';
        n++;
    }

    *ranges = lr;
    *nranges = n;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * The kept events after seq "after" (ngx_live_shop_event_t *, oldest
 * first), copied into an array from pool; NULL when there are none. Only
 * the last NGX_LIVE_SHOP_KEEP_EVENTS are kept: a caller that finds the
 * first one is not after + 1 has missed some, and catches up otherwise.
 */

ngx_array_t *
ngx_live_shop_events_after(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t after, ngx_pool_t *pool)
{
    ngx_queue_t             *q;
    ngx_array_t             *events;
    ngx_live_shop_event_t   *e, *copy, **slot;
    ngx_live_shop_stream_t  *st;

    events = ngx_array_create(pool, 8, sizeof(ngx_live_shop_event_t *));
    if (events == NULL) {
        return NULL;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL || st->state.seq <= after) {
        goto done;
    }

    for (q = ngx_queue_head(&st->events);
         q != ngx_queue_sentinel(&st->events);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_live_shop_event_t, queue);

        if (e->seq <= after) {
            continue;
        }

        copy = ngx_palloc(pool, offsetof(ngx_live_shop_event_t, json)
                                + e->len + 1);
        slot = ngx_array_push(events);

        if (copy == NULL || slot == NULL) {
            events->nelts = 0;
            goto done;
        }

        copy->seq = e->seq;
        copy->type = e->type;
        copy->len = e->len;
        ngx_memcpy(copy->json, e->json, e->len);
        copy->json[e->len] = '\0';

        *slot = copy;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return events->nelts ? events : NULL;
}


/*
 * The seq of a stream's last event, 0 for a stream without one: every
 * change of its ranges comes with an event, so a playlist rewritten from
 * ngx_live_shop_ranges() stays right while the seq stays.
 */

uint64_t
ngx_live_shop_stream_seq(ngx_live_shop_shm_t *shm, ngx_str_t *stream)
{
    uint64_t                 seq;
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    seq = st ? st->state.seq : 0;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return seq;
}


/*
 * Begins a group commit of a stream's journal for orders written up to
 * need: NGX_DONE when a finished sync covers them already, else the files
 * opened under the lock (names move only under it), for
 * ngx_live_shop_journal_sync() in a thread. It covers everything written
 * before now: the file being written, and those rotations since the last
 * finished sync put aside.
 */

ngx_int_t
ngx_live_shop_order_sync_begin(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_journal_pos_t *need, ngx_live_shop_journal_sync_t *sync,
    ngx_log_t *log)
{
    ngx_int_t                rc;
    ngx_uint_t               old;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    ngx_memzero(sync, sizeof(ngx_live_shop_journal_sync_t));

    rc = NGX_DONE;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL
        || ngx_live_shop_journal_pos_cmp(need, &st->synced) <= 0)
    {
        goto done;
    }

    sync->upto.file = st->journal_file;
    sync->upto.size = st->journal_size;

    for (old = 0; old < 3; old++) {

        if (old && st->synced.file > sync->upto.file - (int64_t) old) {
            break;
        }

        rc = ngx_live_shop_journal_sync_open(lscf, stream, old,
                                             &sync->fd[sync->nfd], log);

        if (rc == NGX_OK) {
            sync->nfd++;
            continue;
        }

        if (rc == NGX_DECLINED) {
            /* gone: folded into the ledger, which was synced */
            continue;
        }

        while (sync->nfd) {
            ngx_close_file(sync->fd[--sync->nfd]);
        }

        goto done;
    }

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/* A group commit is over: if it succeeded, what it covers is on disk */

void
ngx_live_shop_order_sync_end(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_journal_sync_t *sync)
{
    ngx_live_shop_stream_t  *st;

    if (sync->failed) {
        return;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st && ngx_live_shop_journal_pos_cmp(&sync->upto, &st->synced) > 0) {
        st->synced = sync->upto;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/* Several nodes (live_shop_redis) */

static ngx_int_t
ngx_live_shop_batch_add(ngx_live_shop_write_t *w, const char *line,
    size_t len)
{
    u_char  *p;
    size_t   size;

    if (w->len + len > w->size) {
        size = ngx_max(2 * w->size, w->len + len);

        p = ngx_alloc(size, ngx_cycle->log);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (w->batch) {
            ngx_memcpy(p, w->batch, w->len);
            ngx_free(w->batch);
        }

        w->batch = p;
        w->size = size;
    }

    ngx_memcpy(w->batch + w->len, line, len);
    w->len += len;

    return NGX_OK;
}


/*
 * Events planned by the core, as journal lines in w's batch: each given
 * the next seq on a copy of the state; the one numbered answer (if any)
 * is also w's answer.
 */

static ngx_int_t
ngx_live_shop_batch_events(ngx_live_shop_stream_t *st,
    ngx_live_shop_write_t *w, lshop_event *ev, size_t n, size_t answer)
{
    char         *line;
    size_t        i, len;
    ngx_int_t     rc;
    lshop_state   next;

    next = st->state;

    for (i = 0; i < n; i++) {
        if (ngx_live_shop_number(st, &next, &ev[i], &w->err) != NGX_OK) {
            return NGX_ERROR;
        }

        line = lshop_journal_event_line(&ev[i], &len);
        if (line == NULL) {
            ngx_live_shop_no_memory(&w->err);
            return NGX_ERROR;
        }

        rc = ngx_live_shop_batch_add(w, line, len);

        if (rc == NGX_OK && i == answer) {
            w->event.data = ngx_alloc(len, ngx_cycle->log);

            if (w->event.data) {
                w->event.len = len - 1;
                ngx_memcpy(w->event.data, line, len - 1);
                w->event.data[len - 1] = '\0';

            } else {
                rc = NGX_ERROR;
            }
        }

        free(line);

        if (rc != NGX_OK) {
            ngx_live_shop_no_memory(&w->err);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * Plans a write on this node's copy of its stream: its batch of journal
 * lines and its answer, at w->version. NGX_OK: the batch is to be
 * appended; NGX_DONE: nothing to append (a duplicate order, nothing due);
 * NGX_ERROR: refused, w->err says why. Nothing changes here.
 */

ngx_int_t
ngx_live_shop_plan(ngx_live_shop_shm_t *shm, ngx_live_shop_write_t *w)
{
    char                    *line;
    size_t                   n, answer, len;
    int64_t                  old_stock;
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_pool_t              *pool;
    lshop_event             *ev;
    lshop_offer             *offer;
    ngx_live_shop_offer_t   *o;
    ngx_live_shop_stream_t  *st;

    w->len = 0;
    w->created = 0;
    ngx_memzero(&w->result, sizeof(ngx_live_shop_order_result_t));
    lshop_error_clear(&w->err);

    if (w->event.data) {
        ngx_free(w->event.data);
        ngx_str_null(&w->event);
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ev = ngx_palloc(pool, LSHOP_PLAN_MAX * sizeof(lshop_event));
    offer = ngx_palloc(pool, sizeof(lshop_offer));

    if (ev == NULL || offer == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    line = NULL;
    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, &w->stream,
                              w->kind != NGX_LIVE_SHOP_WRITE_ACT
                              || ngx_live_shop_act_creates(&w->u.act));

    if (st == NULL && w->kind != NGX_LIVE_SHOP_WRITE_ACT) {
        ngx_live_shop_no_memory(&w->err);
        goto done;
    }

    w->version = st ? st->version : 0;

    switch (w->kind) {

    case NGX_LIVE_SHOP_WRITE_OFFER:
        if (ngx_live_shop_offer_check(st, &w->stream, w->u.offer.id,
                                      &w->created, &w->err)
            != NGX_OK)
        {
            goto done;
        }

        id.data = (u_char *) w->u.offer.id;
        id.len = ngx_strlen(w->u.offer.id);

        o = ngx_live_shop_offer(st, &id);
        old_stock = o ? o->stock : LSHOP_STOCK_UNLIMITED;

        line = lshop_journal_offer_line(&w->u.offer, lshop_now_ms(), &len);

        if (line == NULL
            || ngx_live_shop_batch_add(w, line, len) != NGX_OK)
        {
            ngx_live_shop_no_memory(&w->err);
            goto done;
        }

        n = o ? lshop_stock_events(w->u.offer.id, old_stock,
                                   w->u.offer.stock, lshop_now_ms(), ev)
              : 0;

        rc = ngx_live_shop_batch_events(st, w, ev, n, n);
        break;

    case NGX_LIVE_SHOP_WRITE_ACT:
        n = ngx_live_shop_act_plan(st, &w->stream, &w->u.act, ev, offer,
                                   &answer, &w->err);
        if (n == 0) {
            goto done;
        }

        rc = ngx_live_shop_batch_events(st, w, ev, n, answer);
        break;

    case NGX_LIVE_SHOP_WRITE_ORDER:
        rc = ngx_live_shop_plan_orders(st, w, pool);
        break;

    case NGX_LIVE_SHOP_WRITE_SHOW:
        line = lshop_journal_show_line(&w->u.show, lshop_now_ms(), &len);
        rc = ngx_live_shop_plan_config(st, w, ngx_live_shop_show_check,
                                       w->u.show.id, line, len);
        break;

    case NGX_LIVE_SHOP_WRITE_SHOW_DELETE:
        line = lshop_journal_show_deleted_line(w->u.show.id, lshop_now_ms(),
                                               &len);
        rc = ngx_live_shop_plan_config(st, w,
                                       ngx_live_shop_show_delete_check,
                                       w->u.show.id, line, len);
        break;

    case NGX_LIVE_SHOP_WRITE_ANSWER:
        line = lshop_journal_answer_line(&w->u.answer, lshop_now_ms(), &len);
        rc = ngx_live_shop_plan_config(st, w, ngx_live_shop_answer_check,
                                       w->u.answer.id, line, len);
        break;

    case NGX_LIVE_SHOP_WRITE_ANSWER_DELETE:
        line = lshop_journal_answer_deleted_line(w->u.answer.id,
                                                 lshop_now_ms(), &len);
        rc = ngx_live_shop_plan_config(st, w,
                                       ngx_live_shop_answer_delete_check,
                                       w->u.answer.id, line, len);
        break;

    case NGX_LIVE_SHOP_WRITE_WORDS:
        rc = ngx_live_shop_plan_config(st, w, NULL, NULL,
                                       (char *) w->line.data, w->line.len);
        break;

    case NGX_LIVE_SHOP_WRITE_DUE:
        n = ngx_live_shop_due_plan(st, w->at_ms, ev);

        if (n == 0) {
            rc = NGX_DONE;
            goto done;
        }

        rc = ngx_live_shop_batch_events(st, w, ev, n, n);
        break;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    free(line);
    ngx_destroy_pool(pool);

    return rc;
}


/*
 * A change of a stream's configuration into w's batch, if check (if any)
 * allows it: the same line and the same check as on one node. line NULL:
 * no memory for it.
 */

static ngx_int_t
ngx_live_shop_plan_config(ngx_live_shop_stream_t *st,
    ngx_live_shop_write_t *w, ngx_live_shop_check_pt check, const char *id,
    char *line, size_t len)
{
    if (check && check(st, &w->stream, id, &w->created, &w->err) != NGX_OK) {
        return NGX_ERROR;
    }

    if (line == NULL || ngx_live_shop_batch_add(w, line, len) != NGX_OK) {
        ngx_live_shop_no_memory(&w->err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The orders of a batch: w and those in its group, each planned on what
 * the ones before it left, each with its own answer (a refused one is
 * left out of the batch, its planned NGX_ERROR).
 */

static ngx_int_t
ngx_live_shop_plan_orders(ngx_live_shop_stream_t *st,
    ngx_live_shop_write_t *w, ngx_pool_t *pool)
{
    char                     *line;
    size_t                    n, len;
    ngx_int_t                 rc;
    ngx_queue_t              *q;
    lshop_event              *ev;
    ngx_live_shop_write_t    *x;
    ngx_live_shop_planned_t   planned;

    if (ngx_live_shop_planned_init(&planned, st, pool) != NGX_OK) {
        ngx_live_shop_no_memory(&w->err);
        return NGX_ERROR;
    }

    q = NULL;
    x = w;

    for ( ;; ) {

        if (x != w) {
            ngx_memzero(&x->result, sizeof(ngx_live_shop_order_result_t));
            lshop_error_clear(&x->err);
        }

        x->result.durable = 1;
        x->planned = NGX_ERROR;

        ev = ngx_palloc(pool, 3 * (x->u.order.nitems + 1)
                              * sizeof(lshop_event));

        if (ev == NULL) {
            ngx_live_shop_no_memory(&x->err);

        } else if (ngx_live_shop_order_plan(st, &x->u.order, x->provider,
                                            x->at_ms, pool, &planned, ev, &n,
                                            &x->result, &x->err)
                   == NGX_OK)
        {
            x->planned = NGX_DONE;

            if (!x->result.duplicate) {
                line = lshop_journal_order_line(&x->u.order, x->provider,
                                                x->at_ms, ev, n, &len);

                rc = line ? ngx_live_shop_batch_add(w, line, len)
                          : NGX_ERROR;
                free(line);

                if (rc != NGX_OK) {
                    ngx_live_shop_no_memory(&w->err);
                    return NGX_ERROR;
                }

                x->planned = NGX_OK;
            }
        }

        q = (q == NULL) ? ngx_queue_head(&w->group) : ngx_queue_next(q);

        if (q == ngx_queue_sentinel(&w->group)) {
            break;
        }

        x = ngx_queue_data(q, ngx_live_shop_write_t, queue);
    }

    if (w->len) {
        return NGX_OK;
    }

    return (w->planned == NGX_ERROR && ngx_queue_empty(&w->group))
           ? NGX_ERROR : NGX_DONE;
}


/*
 * Applies a batch of the shared log, the one after version, to this
 * node's copy of its stream and journal, as a restart would replay it.
 * NGX_DECLINED: it was applied already; NGX_ABORT: the batches before it
 * are missing here.
 */

ngx_int_t
ngx_live_shop_apply(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t version, u_char *batch, size_t len)
{
    ngx_int_t                rc;
    lshop_error              err;
    lshop_replay_ops         ops;
    ngx_live_shop_load_t     load;
    lshop_replay_result      result;
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);

    if (st == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    if (st->version != version) {
        rc = (st->version > version) ? NGX_DECLINED : NGX_ABORT;
        goto done;
    }

    /* this node's copy first, as one journal is written before it counts */

    if (ngx_live_shop_journal(st, batch, len, &err) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": %s", stream, err.message);
    }

    ngx_live_shop_load_ops(&load, &ops, shm, st);

    ngx_memzero(&result, sizeof(lshop_replay_result));

    (void) lshop_journal_replay((char *) batch, len, &st->state, &ops,
                                &result);

    if (result.skipped) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": %uz lines of batch %uL of the "
                      "shared log skipped: %s", stream, result.skipped,
                      version + 1, result.first_problem.message);
    }

    if (load.rc != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": batch %uL of the shared log is "
                      "not all in the zone: raise live_shop_zone", stream,
                      version + 1);
    }

    st->version = version + 1;

    ngx_live_shop_audience_changed(shm, st);

    ngx_live_shop_clock(shm, st);

    ngx_live_shop_rotate(shm, st);

    ngx_live_shop_changed(shm);

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * With several nodes: this worker's turn to append to a stream's log, so
 * that a node's workers do not race each other for it (only the nodes
 * race). NGX_BUSY: another worker of this node has an append in flight
 * (taken within the last live_shop_redis timeout); NGX_OK: taken (again).
 */

ngx_int_t
ngx_live_shop_append_turn(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_uint_t take)
{
    int64_t                  now;
    ngx_int_t                rc;
    ngx_live_shop_stream_t  *st;

    now = lshop_now_ms();
    rc = NGX_OK;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);

    if (st == NULL) {
        goto done;
    }

    if (!take) {
        if (st->appender == ngx_pid) {
            st->appender = 0;
        }

        goto done;
    }

    if (st->appender && st->appender != ngx_pid && now < st->append_until)
    {
        rc = NGX_BUSY;
        goto done;
    }

    st->appender = ngx_pid;
    st->append_until = now + (int64_t)
                     ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                         ->redis_timeout;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/* The version of the shared log a stream's copy here is at */

uint64_t
ngx_live_shop_version(ngx_live_shop_shm_t *shm, ngx_str_t *stream)
{
    uint64_t                 version;
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);
    version = st ? st->version : 0;

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return version;
}


static ngx_array_t *
ngx_live_shop_names(ngx_live_shop_shm_t *shm, int64_t due, ngx_pool_t *pool)
{
    int64_t                  d, next;
    ngx_str_t               *name;
    ngx_array_t             *names;
    ngx_rbtree_node_t       *node, *root, *sentinel;
    ngx_live_shop_stream_t  *st;

    names = ngx_array_create(pool, 4, sizeof(ngx_str_t));
    if (names == NULL) {
        return NULL;
    }

    next = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    root = shm->sh->rbtree.root;
    sentinel = shm->sh->rbtree.sentinel;

    for (node = (root == sentinel) ? NULL : ngx_rbtree_min(root, sentinel);
         node;
         node = ngx_rbtree_next(&shm->sh->rbtree, node))
    {
        st = (ngx_live_shop_stream_t *) node;

        if (due) {
            d = ngx_live_shop_stream_due(st);

            if (d && (next == 0 || d < next)) {
                next = d;
            }

            if (d == 0 || d > due) {
                continue;
            }
        }

        name = ngx_array_push(names);
        if (name == NULL) {
            break;
        }

        name->len = st->sn.str.len;
        name->data = ngx_pstrdup(pool, &st->sn.str);

        if (name->data == NULL) {
            names->nelts--;
            break;
        }
    }

    if (due) {
        /* what is due stays due until a batch of the log ends it */
        shm->sh->next_due = next;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return names;
}


/* The streams with something due by now_ms */

ngx_array_t *
ngx_live_shop_due(ngx_live_shop_shm_t *shm, int64_t now_ms, ngx_pool_t *pool)
{
    if (shm->sh->next_due == 0 || now_ms < shm->sh->next_due) {
        return NULL;
    }

    return ngx_live_shop_names(shm, now_ms, pool);
}


/* Every stream in the zone */

ngx_array_t *
ngx_live_shop_streams(ngx_live_shop_shm_t *shm, ngx_pool_t *pool)
{
    return ngx_live_shop_names(shm, 0, pool);
}


/* Everything a stream holds in the zone, freed: as new but for its name */

static void
ngx_live_shop_stream_empty(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    ngx_queue_t  *q;

    ngx_live_shop_catalog_clear(shm, st);
    ngx_live_shop_schedule_clear(shm, st);
    ngx_live_shop_answers_clear(shm, st);

    if (st->broadcasts) {
        ngx_slab_free_locked(shm->shpool, st->broadcasts);
        st->broadcasts = NULL;
        st->nbroadcasts = 0;
    }

    while (!ngx_queue_empty(&st->events)) {
        q = ngx_queue_head(&st->events);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_event_t, queue));
    }

    while (!ngx_queue_empty(&st->ranges)) {
        q = ngx_queue_head(&st->ranges);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_range_t, queue));
    }

    while (!ngx_queue_empty(&st->seen_queue)) {
        q = ngx_queue_head(&st->seen_queue);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_seen_t, queue));
    }

    ngx_rbtree_init(&st->seen, &st->seen_sentinel,
                    ngx_str_rbtree_insert_value);

    st->nevents = 0;
    st->nended = 0;
    st->nseen = 0;
    st->journal_size = 0;
    st->journal_file = 0;
    ngx_memzero(&st->synced, sizeof(ngx_live_shop_journal_pos_t));

    lshop_state_init(&st->state);
}


/*
 * With several nodes: a stream made anew from the shared log's base at
 * version (a node behind what the log still holds): its journal files
 * written from the base's ledger and checkpoint, then loaded as after a
 * restart. NGX_DECLINED: this node is at that version or beyond already.
 */

ngx_int_t
ngx_live_shop_load_base(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t version, ngx_str_t *ledger, ngx_str_t *checkpoint)
{
    ngx_int_t                rc;
    ngx_live_shop_conf_t    *lscf;
    ngx_live_shop_stream_t  *st;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 1);

    if (st == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    if (st->version >= version) {
        rc = NGX_DECLINED;
        goto done;
    }

    if (lscf->journal.len == 0
        || ngx_live_shop_journal_begin(lscf, stream, ledger, checkpoint,
                                       ngx_cycle->log)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\" is behind what the shared log "
                      "holds and needs live_shop_journal to start again "
                      "from its base", stream);
        rc = NGX_ERROR;
        goto done;
    }

    ngx_live_shop_stream_empty(shm, st);

    if (ngx_live_shop_load(shm, st) != NGX_OK) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: the base of \"%V\" could not be loaded "
                      "into the zone; raise live_shop_zone", stream);
    }

    st->version = version;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "live_shop: \"%V\" starts again from the shared log's "
                  "base, version %uL, seq %uL", stream, version,
                  st->state.seq);

    ngx_live_shop_changed(shm);

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * With several nodes: the checkpoint line of a stream at version of the
 * shared log, beginning journal file file, malloc'd into *line.
 * NGX_DECLINED: this node's copy is not at that version.
 */

ngx_int_t
ngx_live_shop_checkpoint_at(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t version, int64_t file, ngx_str_t *line)
{
    ngx_int_t                rc;
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL || st->version != version) {
        rc = NGX_DECLINED;

    } else {
        line->data = (u_char *) ngx_live_shop_checkpoint_line(st, file,
                                                              &line->len);
        rc = line->data ? NGX_OK : NGX_ERROR;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/* Shows (SPEC §14) */

static int
ngx_live_shop_load_show(void *arg, const lshop_show *show,
    const char *deleted_id, int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    if (ngx_live_shop_schedule(load->shm, load->st, show, deleted_id)
        == NGX_ERROR)
    {
        load->rc = NGX_ERROR;
    }

    return 0;
}


static lshop_show *
ngx_live_shop_scheduled(ngx_live_shop_stream_t *st, const char *id)
{
    ngx_uint_t  i;

    for (i = 0; st && i < st->nshows; i++) {
        if (ngx_strcmp(st->shows[i].id, id) == 0) {
            return &st->shows[i];
        }
    }

    return NULL;
}


/*
 * Puts show into a stream's schedule, or takes deleted_id off it (show
 * NULL): the schedule is one array, so that the core can choose among
 * it, made anew on each change (schedules change seldom). The lock is
 * held. NGX_DECLINED: nothing to delete.
 */

static ngx_int_t
ngx_live_shop_schedule(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_show *show, const char *deleted_id)
{
    lshop_show  *old, *shows;
    ngx_uint_t   n, i;

    old = ngx_live_shop_scheduled(st, show ? show->id : deleted_id);

    if (show && old) {
        *old = *show;
        return NGX_OK;
    }

    if (show == NULL && old == NULL) {
        return NGX_DECLINED;
    }

    n = show ? st->nshows + 1 : st->nshows - 1;
    shows = NULL;

    if (n) {
        shows = ngx_slab_alloc_locked(shm->shpool, n * sizeof(lshop_show));
        if (shows == NULL) {
            return NGX_ERROR;
        }

        for (i = 0, n = 0; i < st->nshows; i++) {
            if (&st->shows[i] != old) {
                shows[n++] = st->shows[i];
            }
        }

        if (show) {
            shows[n++] = *show;
        }
    }

    if (st->shows) {
        ngx_slab_free_locked(shm->shpool, st->shows);
    }

    st->shows = shows;
    st->nshows = n;

    return NGX_OK;
}


static void
ngx_live_shop_schedule_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    if (st->shows) {
        ngx_slab_free_locked(shm->shpool, st->shows);
    }

    st->shows = NULL;
    st->nshows = 0;
}


/*
 * Keeps the last broadcasts of a stream for GET shows: one begins with
 * show.started (a checkpoint's re-listed one is the same broadcast) and
 * ends with show.ended. The lock is held; without memory the list is
 * simply not kept.
 */

static void
ngx_live_shop_broadcast(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_event *ev)
{
    ngx_uint_t                  i;
    ngx_live_shop_broadcast_t  *b;

    if (ev->type != LSHOP_SHOW_STARTED && ev->type != LSHOP_SHOW_ENDED) {
        return;
    }

    if (st->broadcasts == NULL) {
        st->broadcasts = ngx_slab_alloc_locked(shm->shpool,
                                NGX_LIVE_SHOP_KEEP_SHOWS
                                * sizeof(ngx_live_shop_broadcast_t));
        if (st->broadcasts == NULL) {
            return;
        }

        st->nbroadcasts = 0;
    }

    for (i = st->nbroadcasts; i > 0; i--) {
        b = &st->broadcasts[i - 1];

        if (ngx_strcmp(b->show.id, ev->show.id) != 0 || b->ended_ms) {
            continue;
        }

        if (ev->type == LSHOP_SHOW_ENDED) {
            b->ended_ms = ev->at_ms;
        }

        return;
    }

    if (ev->type == LSHOP_SHOW_ENDED) {
        return;
    }

    if (st->nbroadcasts == NGX_LIVE_SHOP_KEEP_SHOWS) {
        ngx_memmove(&st->broadcasts[0], &st->broadcasts[1],
                    (NGX_LIVE_SHOP_KEEP_SHOWS - 1)
                    * sizeof(ngx_live_shop_broadcast_t));
        st->nbroadcasts--;
    }

    b = &st->broadcasts[st->nbroadcasts++];
    b->show = ev->show;
    b->started_ms = ev->at_ms;
    b->ended_ms = 0;
}


/*
 * When the clock next makes something happen on a stream: what the core
 * says of its timeline, and the end of a show whose publisher has been
 * gone for live_shop_show_grace (SPEC §14)
 */

static int64_t
ngx_live_shop_stream_due(ngx_live_shop_stream_t *st)
{
    int64_t  d, end;

    d = lshop_state_next_due(&st->state);

    if (st->unpublished_ms && st->state.show_live) {
        end = st->unpublished_ms
              + (int64_t) ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                              ->show_grace;

        if (d == 0 || end < d) {
            d = end;
        }
    }

    return d;
}


static size_t
ngx_live_shop_due_plan(ngx_live_shop_stream_t *st, int64_t now_ms,
    lshop_event *ev)
{
    size_t       n;
    int64_t      end;
    lshop_error  err;

    n = lshop_state_due(&st->state, now_ms, ev);

    if (n) {
        ngx_live_shop_poll_counts(st, ev, n);
        return n;
    }

    if (st->unpublished_ms == 0 || !st->state.show_live) {
        return 0;
    }

    end = st->unpublished_ms
          + (int64_t) ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                          ->show_grace;

    if (now_ms < end) {
        return 0;
    }

    return lshop_state_plan_show_end(&st->state, NULL, end, ev, &err);
}


/* A show put into a stream's schedule: at most NGX_LIVE_SHOP_MAX_SHOWS */

static ngx_int_t
ngx_live_shop_show_check(ngx_live_shop_stream_t *st, ngx_str_t *stream,
    const char *id, ngx_uint_t *created, lshop_error *err)
{
    *created = (ngx_live_shop_scheduled(st, id) == NULL);

    if (*created && st->nshows >= NGX_LIVE_SHOP_MAX_SHOWS) {
        lshop_error_set(err, "too_many_shows", "id",
                        "a stream's schedule holds at most %d shows",
                        NGX_LIVE_SHOP_MAX_SHOWS);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A show taken off a stream's schedule: one that is on it */

static ngx_int_t
ngx_live_shop_show_delete_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created, lshop_error *err)
{
    *created = 0;

    if (ngx_live_shop_scheduled(st, id) == NULL) {
        lshop_error_set(err, "not_found", "id",
                        "no show \"%s\" is scheduled on %.*s", id,
                        (int) stream->len, stream->data);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A show put into a stream's schedule (one node) */

ngx_int_t
ngx_live_shop_put_show(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_show *show, ngx_uint_t *created, lshop_error *err)
{
    char       *line;
    size_t      len;
    ngx_int_t   rc;

    line = lshop_journal_show_line(show, lshop_now_ms(), &len);

    rc = ngx_live_shop_configure(shm, stream, ngx_live_shop_show_check,
                                 show->id, line, len, created, err);
    free(line);

    return rc;
}


ngx_int_t
ngx_live_shop_delete_show(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *id, lshop_error *err)
{
    return ngx_live_shop_take_off(shm, stream,
                                  ngx_live_shop_show_delete_check, id,
                                  lshop_journal_show_deleted_line, err);
}


/*
 * GET shows: {"stream":S,"live":SHOW|null,"coming":[SHOW+"next",...],
 * "last":[SHOW+"started_at","ended_at",...]}, coming ordered by their
 * next start, last by the newest first
 */

ngx_int_t
ngx_live_shop_list_shows(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json)
{
    char                        start[LSHOP_TIME_LEN], end[LSHOP_TIME_LEN];
    char                       *s;
    u_char                     *p;
    size_t                      len, total;
    int64_t                     now, next, *nexts;
    ngx_str_t                  *parts, *teased;
    ngx_uint_t                  i, j, k, *order, nshows, nbroadcasts;
    lshop_show                 *shows;
    lshop_state                 state;
    ngx_live_shop_stream_t     *st;
    ngx_live_shop_broadcast_t  *broadcasts, *b;

    now = lshop_now_ms();

    /* a copy taken under the lock, written out without it */

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    nshows = st ? st->nshows : 0;
    nbroadcasts = st ? st->nbroadcasts : 0;

    shows = ngx_palloc(pool, nshows * sizeof(lshop_show) + 1);
    broadcasts = ngx_palloc(pool, nbroadcasts
                                  * sizeof(ngx_live_shop_broadcast_t) + 1);

    if (shows == NULL || broadcasts == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_ERROR;
    }

    teased = ngx_pcalloc(pool, (nshows + 1) * sizeof(ngx_str_t));

    if (teased == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_ERROR;
    }

    if (st) {
        if (nshows) {
            ngx_memcpy(shows, st->shows, nshows * sizeof(lshop_show));
        }

        if (nbroadcasts) {
            ngx_memcpy(broadcasts, st->broadcasts,
                       nbroadcasts * sizeof(ngx_live_shop_broadcast_t));
        }

        state = st->state;

        /* the offers a show teases, as the catalog has them now */

        for (i = 0; i < nshows; i++) {
            if (ngx_live_shop_teased(st, &shows[i], pool, &teased[i])
                != NGX_OK)
            {
                ngx_shmtx_unlock(&shm->shpool->mutex);
                return NGX_ERROR;
            }
        }

    } else {
        lshop_state_init(&state);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    /* the coming shows: those with an occurrence not yet over */

    nexts = ngx_palloc(pool, (nshows + 1) * sizeof(int64_t));
    order = ngx_palloc(pool, (nshows + 1) * sizeof(ngx_uint_t));
    parts = ngx_palloc(pool, (nshows + nbroadcasts + 2) * sizeof(ngx_str_t));

    if (nexts == NULL || order == NULL || parts == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    for (i = 0; i < nshows; i++) {
        if (lshop_show_occurrences(&shows[i],
                                   now - shows[i].duration_s * 1000 + 1,
                                   INT64_MAX, &next, 1)
            == 0)
        {
            continue;
        }

        for (j = k++; j > 0 && nexts[order[j - 1]] > next; j--) {
            order[j] = order[j - 1];
        }

        order[j] = i;
        nexts[i] = next;
    }

    total = 0;

    for (j = 0; j < k; j++) {
        i = order[j];
        s = lshop_show_to_json(&shows[i], &len);
        if (s == NULL) {
            return NGX_ERROR;
        }

        /* ..."} + ,"next":"TIME","teased":[OFFER,...]} */
        lshop_time_format(start, nexts[i]);

        parts[j].data = ngx_pnalloc(pool, len + sizeof(",\"next\":\"\"")
                                          + LSHOP_TIME_LEN
                                          + sizeof(",\"teased\":[]")
                                          + teased[i].len);
        if (parts[j].data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        p = ngx_cpymem(parts[j].data, s, len - 1);
        p = ngx_sprintf(p, ",\"next\":\"%s\",\"teased\":[%V]}", start,
                        &teased[i]);
        parts[j].len = p - parts[j].data;
        total += parts[j].len + 1;
        free(s);
    }

    for (i = 0; i < nbroadcasts; i++) {
        b = &broadcasts[nbroadcasts - 1 - i];

        s = lshop_show_to_json(&b->show, &len);
        if (s == NULL) {
            return NGX_ERROR;
        }

        lshop_time_format(start, b->started_ms);
        lshop_time_format(end, b->ended_ms);

        parts[k + i].data = ngx_pnalloc(pool, len + 2 * LSHOP_TIME_LEN
                                              + sizeof(",\"started_at\":\"\""
                                                       ",\"ended_at\":\"\""));
        if (parts[k + i].data == NULL) {
            free(s);
            return NGX_ERROR;
        }

        p = ngx_cpymem(parts[k + i].data, s, len - 1);
        p = ngx_sprintf(p, ",\"started_at\":\"%s\"", start);

        if (b->ended_ms) {
            p = ngx_sprintf(p, ",\"ended_at\":\"%s\"", end);

        } else {
            p = ngx_cpymem(p, ",\"ended_at\":null", 16);
        }

        *p++ = '}';
        parts[k + i].len = p - parts[k + i].data;
        total += parts[k + i].len + 1;
        free(s);
    }

    s = state.show_live ? lshop_show_to_json(&state.show, &len) : NULL;

    if (state.show_live && s == NULL) {
        return NGX_ERROR;
    }

    total += sizeof("{\"stream\":\"\",\"live\":,\"coming\":[],\"last\":[]}")
             + stream->len + (s ? len : 4);

    json->data = ngx_pnalloc(pool, total);
    if (json->data == NULL) {
        free(s);
        return NGX_ERROR;
    }

    p = ngx_sprintf(json->data, "{\"stream\":\"%V\",\"live\":", stream);
    p = s ? ngx_cpymem(p, s, len) : ngx_cpymem(p, "null", 4);
    free(s);

    p = ngx_cpymem(p, ",\"coming\":[", 11);

    for (j = 0; j < k + nbroadcasts; j++) {
        if (j == k) {
            p = ngx_cpymem(p, "],\"last\":[", 10);

        } else if (j) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, parts[j].data, parts[j].len);
    }

    if (k == k + nbroadcasts) {
        p = ngx_cpymem(p, "],\"last\":[", 10);
    }

    p = ngx_cpymem(p, "]}", 2);
    json->len = p - json->data;

    return NGX_OK;
}


/*
 * The offers of the catalog a show teases, as JSON objects separated by
 * commas, for the lobby of the player (lock held)
 */

static ngx_int_t
ngx_live_shop_teased(ngx_live_shop_stream_t *st, lshop_show *show,
    ngx_pool_t *pool, ngx_str_t *json)
{
    u_char                 *p;
    size_t                  len;
    ngx_str_t               id;
    ngx_uint_t              i;
    ngx_live_shop_offer_t  *o;

    len = 0;

    for (i = 0; i < show->noffers; i++) {
        id.data = (u_char *) show->offers[i];
        id.len = ngx_strlen(show->offers[i]);

        o = ngx_live_shop_offer(st, &id);
        len += o ? o->len + 1 : 0;
    }

    json->len = 0;

    if (len == 0) {
        return NGX_OK;
    }

    json->data = ngx_pnalloc(pool, len);
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    p = json->data;

    for (i = 0; i < show->noffers; i++) {
        id.data = (u_char *) show->offers[i];
        id.len = ngx_strlen(show->offers[i]);

        o = ngx_live_shop_offer(st, &id);

        if (o) {
            if (p != json->data) {
                *p++ = ',';
            }

            p = ngx_cpymem(p, o->json, o->len);
        }
    }

    json->len = p - json->data;

    return NGX_OK;
}


/* The title of an offer in the catalog, for a calendar (lock held) */

typedef struct {
    ngx_live_shop_stream_t         *st;
    lshop_offer                     offer;
} ngx_live_shop_titles_t;


static const char *
ngx_live_shop_offer_title(void *arg, const char *offer_id)
{
    ngx_live_shop_titles_t *t = arg;

    ngx_str_t               id;
    ngx_live_shop_offer_t  *o;

    id.data = (u_char *) offer_id;
    id.len = ngx_strlen(offer_id);

    o = ngx_live_shop_offer(t->st, &id);

    if (o == NULL
        || lshop_offer_parse((char *) o->json, o->len, NULL, &t->offer, NULL)
           != 0)
    {
        return NULL;
    }

    return t->offer.title;
}


/*
 * GET shows.ics, or shows/ID.ics (id not NULL): the coming shows as an
 * RFC 5545 calendar. NGX_DECLINED: no such show.
 */

ngx_int_t
ngx_live_shop_calendar(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *id, ngx_str_t *player_url, ngx_pool_t *pool, ngx_str_t *ics)
{
    char                    *s, name[LSHOP_STREAM_MAX + 1];
    char                     show_id[LSHOP_ID_MAX + 1], *url;
    size_t                   len, n;
    ngx_int_t                rc;
    lshop_show              *shows;
    ngx_live_shop_stream_t  *st;
    ngx_live_shop_titles_t  *titles;

    if (stream->len > LSHOP_STREAM_MAX || (id && id->len > LSHOP_ID_MAX)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(name, stream->data, stream->len);
    name[stream->len] = '\0';

    if (id) {
        ngx_memcpy(show_id, id->data, id->len);
        show_id[id->len] = '\0';
    }

    url = ngx_pnalloc(pool, player_url->len + 1);
    titles = ngx_palloc(pool, sizeof(ngx_live_shop_titles_t));

    if (url == NULL || titles == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(url, player_url->data, player_url->len);
    url[player_url->len] = '\0';

    rc = NGX_OK;
    s = NULL;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    shows = st ? st->shows : NULL;
    n = st ? st->nshows : 0;

    if (id) {
        shows = ngx_live_shop_scheduled(st, show_id);
        n = 1;

        if (shows == NULL) {
            rc = NGX_DECLINED;
            goto done;
        }
    }

    titles->st = st;

    s = lshop_show_calendar(shows, n, name, url, lshop_now_ms(),
                            st ? ngx_live_shop_offer_title : NULL, titles,
                            &len);
    if (s == NULL) {
        rc = NGX_ERROR;
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (s) {
        rc = ngx_live_shop_copy(pool, ics, (u_char *) s, len);
        free(s);
    }

    return rc;
}


/*
 * nginx-rtmp's publish and close of a stream: a publisher gone for
 * live_shop_show_grace ends the show on air (the clock does it)
 */

void
ngx_live_shop_publishing(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_uint_t on)
{
    ngx_live_shop_stream_t  *st;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, on);

    if (st) {
        st->unpublished_ms = on ? 0 : lshop_now_ms();
        ngx_live_shop_clock(shm, st);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/*
 * A stream's publisher came (on) or went: SPEC §14, publishing starts
 * the show scheduled nearest to now, or an unscheduled one
 */

void
ngx_live_shop_on_air(ngx_str_t *stream, ngx_uint_t on)
{
    ngx_str_t                event;
    ngx_pool_t              *pool;
    lshop_error              err;
    ngx_live_shop_shm_t     *shm;
    ngx_live_shop_write_t   *w;
    ngx_live_shop_action_t  *act;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (shm == NULL) {
        return;
    }

    ngx_live_shop_publishing(shm, stream, on);

    if (!on) {
        ngx_live_shop_tick_arm();
        return;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    act = ngx_pcalloc(pool, sizeof(ngx_live_shop_action_t));
    if (act == NULL) {
        goto done;
    }

    act->action = NGX_LIVE_SHOP_SHOW_START;
    act->at_ms = lshop_now_ms();
    act->publish = 1;

    lshop_error_clear(&err);

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(NGX_LIVE_SHOP_WRITE_ACT, stream);

        if (w) {
            w->u.act = *act;

            if (ngx_live_shop_write(w) != NGX_DONE) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "live_shop: \"%V\" is published, but its "
                              "show could not start: the shared store is "
                              "not reachable", stream);
            }
        }

        goto done;
    }

    if (ngx_live_shop_act(shm, stream, act, pool, &event, &err) == NGX_OK) {
        ngx_live_shop_deliver();

    } else if (ngx_strcmp(err.code, "show_live") != 0) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop: \"%V\" is published, but its show could "
                      "not start: %s", stream, err.message);
    }

done:

    ngx_destroy_pool(pool);
}


/* Audience (SPEC §14): counted, never a log of people */

/* The stream's audience, made on its first viewer (lock held) */

static ngx_live_shop_audience_t *
ngx_live_shop_audience(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st)
{
    int64_t                    now;
    ngx_live_shop_audience_t  *a;

    if (st->audience) {
        return st->audience;
    }

    a = ngx_slab_calloc_locked(shm->shpool, sizeof(ngx_live_shop_audience_t));
    if (a == NULL) {
        return NULL;
    }

    ngx_rbtree_init(&a->viewers, &a->viewers_sentinel,
                    ngx_rbtree_insert_value);
    ngx_rbtree_init(&a->limits, &a->limits_sentinel,
                    ngx_rbtree_insert_value);
    ngx_queue_init(&a->seen);
    ngx_queue_init(&a->used);

    /* streams made at once write their figures at different times */
    now = lshop_now_ms();
    a->tallied_ms = now;
    a->sampled_ms = now;
    a->written_ms = now - (int64_t) (ngx_hash_key(st->name, st->sn.str.len)
                                     % NGX_LIVE_SHOP_TALLY_MS);

    lshop_audience_init(&a->tally, st->state.show_live ? st->state.show.id
                                                       : NULL);
    ngx_cpystrn((u_char *) a->pinned,
                (u_char *) (st->state.pinned ? st->state.offer.id : ""),
                sizeof(a->pinned));

    ngx_queue_insert_tail(&shm->sh->audiences, &st->heard);
    st->audience = a;

    return a;
}


/*
 * The day's salt, as this worker keeps a copy of it: drawn anew each UTC
 * day, it lives only in the zone and in the workers' memory, so no hash
 * can be tied to a person or to another day. NULL if none could be drawn.
 */

static uint8_t  ngx_live_shop_salt_copy[LSHOP_SALT_LEN];
static int64_t  ngx_live_shop_salt_day = -1;


static const uint8_t *
ngx_live_shop_salt(ngx_live_shop_shm_t *shm, int64_t now)
{
    int64_t  day;

    day = lshop_audience_day(now);

    if (day == ngx_live_shop_salt_day) {
        return ngx_live_shop_salt_copy;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    if (day != shm->sh->salt_day
        && lshop_salt_new(shm->sh->salt) == 0)
    {
        shm->sh->salt_day = day;
    }

    if (day == shm->sh->salt_day) {
        ngx_memcpy(ngx_live_shop_salt_copy, shm->sh->salt, LSHOP_SALT_LEN);
        ngx_live_shop_salt_day = day;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return (day == ngx_live_shop_salt_day) ? ngx_live_shop_salt_copy : NULL;
}


/*
 * The viewers this worker told the zone of lately, by their hash: one
 * seen again within NGX_LIVE_SHOP_RECENT_MS needs no lock (players ask for
 * a playlist every few seconds; they count for NGX_LIVE_SHOP_VIEWER_TTL)
 */

typedef struct {
    uint64_t                        hash;
    int64_t                         told_ms;
} ngx_live_shop_recent_t;

static ngx_live_shop_recent_t
    ngx_live_shop_recent[NGX_LIVE_SHOP_RECENT];


static ngx_uint_t
ngx_live_shop_told(uint64_t hash, int64_t now)
{
    ngx_live_shop_recent_t  *r;

    r = &ngx_live_shop_recent[hash & (NGX_LIVE_SHOP_RECENT - 1)];

    if (r->hash == hash && now - r->told_ms < NGX_LIVE_SHOP_RECENT_MS
        && now >= r->told_ms)
    {
        return 1;
    }

    r->hash = hash;
    r->told_ms = now;

    return 0;
}


static ngx_rbtree_node_t *
ngx_live_shop_hash_lookup(ngx_rbtree_t *tree, uint64_t hash)
{
    ngx_rbtree_node_t  *node, *sentinel;

    node = tree->root;
    sentinel = tree->sentinel;

    while (node != sentinel) {
        if (hash == (uint64_t) node->key) {
            return node;
        }

        node = (hash < (uint64_t) node->key) ? node->left : node->right;
    }

    return NULL;
}


/* A viewer seen now: counted for NGX_LIVE_SHOP_VIEWER_TTL (lock held) */

static void
ngx_live_shop_viewer(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    ngx_live_shop_audience_t *a, uint64_t hash, int64_t now)
{
    ngx_queue_t             *q;
    ngx_rbtree_node_t       *node;
    ngx_live_shop_viewer_t  *v;

    node = ngx_live_shop_hash_lookup(&a->viewers, hash);

    if (node) {
        v = (ngx_live_shop_viewer_t *) node;
        ngx_queue_remove(&v->queue);

    } else {
        if (a->nviewers >= NGX_LIVE_SHOP_MAX_VIEWERS) {
            /* the one seen longest ago makes room */
            q = ngx_queue_head(&a->seen);
            v = ngx_queue_data(q, ngx_live_shop_viewer_t, queue);
            ngx_queue_remove(q);
            ngx_rbtree_delete(&a->viewers, &v->node);

        } else {
            v = ngx_slab_alloc_locked(shm->shpool,
                                      sizeof(ngx_live_shop_viewer_t));
            if (v == NULL) {
                return;
            }

            a->nviewers++;
        }

        v->node.key = (ngx_rbtree_key_t) hash;
        ngx_rbtree_insert(&a->viewers, &v->node);
    }

    v->seen_ms = now;
    ngx_queue_insert_tail(&a->seen, &v->queue);

    lshop_audience_see(&a->tally, hash,
                       st->state.pinned ? st->state.offer.id : NULL);
}


/*
 * Viewers seen: an HLS request, or this worker's SSE and RTMP clients of
 * a stream (ids: a session the player sent, or what stands for one);
 * n = 0 only reads. *viewers (if not NULL): how many count now. The ids
 * are hashed before the lock is taken, and those this worker told the
 * zone of within NGX_LIVE_SHOP_RECENT_MS are not told again.
 */

ngx_int_t
ngx_live_shop_viewers_seen(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *ids, ngx_uint_t n, int64_t *viewers)
{
    int64_t                    now;
    uint64_t                  *hash, one;
    ngx_int_t                  rc;
    ngx_uint_t                 i, m;
    const uint8_t             *salt;
    ngx_live_shop_stream_t    *st;
    ngx_live_shop_audience_t  *a;

    if (viewers) {
        *viewers = 0;
    }

    if (!ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->audience) {
        return NGX_DECLINED;
    }

    now = lshop_now_ms();
    rc = NGX_OK;
    hash = &one;
    m = 0;

    if (n) {
        salt = ngx_live_shop_salt(shm, now);
        if (salt == NULL) {
            return NGX_ERROR;
        }

        if (n > 1) {
            hash = ngx_alloc(n * sizeof(uint64_t), ngx_cycle->log);
            if (hash == NULL) {
                return NGX_ERROR;
            }
        }

        for (i = 0; i < n; i++) {
            if (lshop_viewer_hash(salt, (char *) stream->data, stream->len,
                                  (char *) ids[i].data, ids[i].len,
                                  &hash[m])
                != 0)
            {
                rc = NGX_ERROR;
                continue;
            }

            if (!ngx_live_shop_told(hash[m], now)) {
                m++;
            }
        }
    }

    if (m == 0 && viewers == NULL) {
        goto done;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, m > 0);
    a = NULL;

    if (st) {
        a = (m > 0) ? ngx_live_shop_audience(shm, st) : st->audience;
    }

    if (a) {
        for (i = 0; i < m; i++) {
            ngx_live_shop_viewer(shm, st, a, hash[i], now);
        }

        if (viewers) {
            *viewers = a->nviewers;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

done:

    if (hash != &one) {
        ngx_free(hash);
    }

    return rc;
}


/*
 * A bucket of the beacon limits, by the salted hash of what it limits
 * (lock held); NULL without memory
 */

static lshop_bucket *
ngx_live_shop_limit(ngx_live_shop_shm_t *shm, ngx_rbtree_t *tree,
    ngx_queue_t *used, ngx_uint_t *n, uint64_t hash)
{
    ngx_queue_t            *q;
    ngx_rbtree_node_t      *node;
    ngx_live_shop_limit_t  *l;

    node = ngx_live_shop_hash_lookup(tree, hash);

    if (node) {
        l = (ngx_live_shop_limit_t *) node;
        ngx_queue_remove(&l->queue);
        ngx_queue_insert_tail(used, &l->queue);
        return &l->bucket;
    }

    if (*n >= NGX_LIVE_SHOP_MAX_LIMITS) {
        q = ngx_queue_head(used);
        l = ngx_queue_data(q, ngx_live_shop_limit_t, queue);
        ngx_queue_remove(q);
        ngx_rbtree_delete(tree, &l->node);

    } else {
        l = ngx_slab_alloc_locked(shm->shpool, sizeof(ngx_live_shop_limit_t));
        if (l == NULL) {
            return NULL;
        }

        (*n)++;
    }

    ngx_memzero(&l->bucket, sizeof(lshop_bucket));
    l->node.key = (ngx_rbtree_key_t) hash;
    ngx_rbtree_insert(tree, &l->node);
    ngx_queue_insert_tail(used, &l->queue);

    return &l->bucket;
}


/*
 * POST beacon: an impression or a click counted for the offer and the
 * show on air, within the limits per session and per address of the
 * stream. NGX_BUSY: over a limit; NGX_DECLINED: no such offer.
 */

ngx_int_t
ngx_live_shop_beacon(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_beacon_request *beacon, ngx_str_t *address, lshop_error *err)
{
    u_char                     key[NGX_SOCKADDR_STRLEN + 3];
    int64_t                    now;
    uint64_t                   hs, ha;
    ngx_str_t                  id;
    ngx_int_t                  rc;
    lshop_bucket              *bs, *ba;
    ngx_msec_t                 clock;
    const uint8_t             *salt;
    ngx_live_shop_stream_t    *st;
    ngx_live_shop_audience_t  *a;

    now = lshop_now_ms();
    clock = ngx_current_msec;
    rc = NGX_ERROR;

    /* "s:SESSION" and "a:ADDRESS", hashed like viewers: not kept */

    salt = ngx_live_shop_salt(shm, now);

    id.data = key;
    id.len = ngx_snprintf(key, sizeof(key), "s:%s", beacon->session) - key;

    if (salt == NULL
        || lshop_viewer_hash(salt, (char *) stream->data, stream->len,
                             (char *) id.data, id.len, &hs)
           != 0)
    {
        lshop_error_set(err, "no_salt", "", "no salt could be drawn");
        return NGX_ERROR;
    }

    id.len = ngx_snprintf(key, sizeof(key), "a:%V", address) - key;

    if (lshop_viewer_hash(salt, (char *) stream->data, stream->len,
                          (char *) id.data, id.len, &ha)
        != 0)
    {
        lshop_error_set(err, "no_salt", "", "the address is too long");
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    id.data = (u_char *) beacon->offer_id;
    id.len = ngx_strlen(beacon->offer_id);

    if (st == NULL || ngx_live_shop_offer(st, &id) == NULL) {
        lshop_error_set(err, "not_found", "offer",
                        "no offer \"%s\" in the catalog of %.*s",
                        beacon->offer_id, (int) stream->len, stream->data);
        rc = NGX_DECLINED;
        goto done;
    }

    a = ngx_live_shop_audience(shm, st);

    if (a == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    bs = ngx_live_shop_limit(shm, &a->limits, &a->used, &a->nlimits, hs);
    ba = ngx_live_shop_limit(shm, &a->limits, &a->used, &a->nlimits, ha);

    if (bs == NULL || ba == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (!lshop_bucket_take(ba, clock, NGX_LIVE_SHOP_ADDRESS_RATE,
                           NGX_LIVE_SHOP_ADDRESS_BURST)
        || !lshop_bucket_take(bs, clock, NGX_LIVE_SHOP_BEACON_RATE,
                              NGX_LIVE_SHOP_BEACON_BURST))
    {
        lshop_error_set(err, "too_many_beacons", "",
                        "too many beacons from this player; they are "
                        "counted again in a second");
        rc = NGX_BUSY;
        goto done;
    }

    lshop_audience_beacon(&a->tally, beacon->click, beacon->offer_id);
    a->dirty = 1;

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * Writes a stream's tally into its journal: a sample of the viewers, or
 * (full) the show's figures so far (lock held). Not into the shared log
 * of several nodes: each node counts its own viewers.
 */

static void
ngx_live_shop_audience_write(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, ngx_uint_t full, int64_t now)
{
    char         *line;
    size_t        len;
    lshop_error   err;

    line = lshop_journal_audience_line(&st->audience->tally, full, now, &len);
    if (line == NULL) {
        return;
    }

    if (ngx_live_shop_journal(st, (u_char *) line, len, &err) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop: \"%V\": %s", &st->sn.str, err.message);
    }

    free(line);

    st->audience->sampled_ms = now;

    if (full) {
        st->audience->written_ms = now;
        st->audience->dirty = 0;
    }
}


/*
 * A stream's tally brought up to now (lock held): viewers not seen for
 * NGX_LIVE_SHOP_VIEWER_TTL stop counting, the tally of the show on air
 * gains the watch time since the last one, and the journal gets a sample
 * every NGX_LIVE_SHOP_SAMPLE_MS, the show's figures every
 * NGX_LIVE_SHOP_TALLY_MS, and as a show ends or begins (full: the figures
 * now, as when nginx stops)
 */

static void
ngx_live_shop_audience_tally(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, int64_t now, ngx_uint_t full)
{
    const char                *show, *pinned;
    ngx_uint_t                 wrote, changed;
    ngx_queue_t               *vq;
    ngx_live_shop_viewer_t    *v;
    ngx_live_shop_audience_t  *a;

    a = st->audience;

    while (!ngx_queue_empty(&a->seen)) {
        vq = ngx_queue_head(&a->seen);
        v = ngx_queue_data(vq, ngx_live_shop_viewer_t, queue);

        if (now - v->seen_ms < NGX_LIVE_SHOP_VIEWER_TTL) {
            break;
        }

        ngx_queue_remove(vq);
        ngx_rbtree_delete(&a->viewers, &v->node);
        ngx_slab_free_locked(shm->shpool, v);
        a->nviewers--;
    }

    /* the viewers up to now watched what was pinned until now */

    lshop_audience_tally(&a->tally, a->nviewers, now - a->tallied_ms,
                         a->pinned[0] ? a->pinned : NULL);
    a->tallied_ms = now;

    if (a->nviewers) {
        a->dirty = 1;
    }

    wrote = 0;
    show = st->state.show_live ? st->state.show.id : "";
    pinned = st->state.pinned ? st->state.offer.id : "";
    changed = ngx_strcmp(a->pinned, pinned) != 0;

    if (ngx_strcmp(a->tally.show_id, show) != 0) {
        /* the last figures of the show that ended, then the next */
        ngx_live_shop_audience_write(shm, st, 1, now);
        lshop_audience_init(&a->tally, show);
        a->tally.viewers = a->nviewers;
        changed = 1;
        wrote = 1;
    }

    if (changed) {
        /* who watches as a show or a pin begins is its viewer already */
        for (vq = ngx_queue_head(&a->seen);
             vq != ngx_queue_sentinel(&a->seen);
             vq = ngx_queue_next(vq))
        {
            v = ngx_queue_data(vq, ngx_live_shop_viewer_t, queue);
            lshop_audience_see(&a->tally, (uint64_t) v->node.key,
                               pinned[0] ? pinned : NULL);
        }
    }

    if (wrote) {
        ngx_live_shop_audience_write(shm, st, 1, now);

    } else if (full
               || (a->dirty && now - a->written_ms >= NGX_LIVE_SHOP_TALLY_MS))
    {
        ngx_live_shop_audience_write(shm, st, 1, now);
        wrote = 1;

    } else if (now - a->sampled_ms >= NGX_LIVE_SHOP_SAMPLE_MS
               && (a->nviewers || show[0]))
    {
        ngx_live_shop_audience_write(shm, st, 0, now);
        wrote = 1;
    }

    ngx_cpystrn((u_char *) a->pinned, (u_char *) pinned, sizeof(a->pinned));

    if (wrote) {
        ngx_live_shop_rotate(shm, st);
    }
}


/*
 * A show began or ended, or a pin changed: the tally so far goes to what
 * was on air until now, at once, so that what comes next (beacons, the
 * report) counts for the next (lock held)
 */

static void
ngx_live_shop_audience_changed(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    const char                *show, *pinned;
    ngx_live_shop_audience_t  *a;

    a = st->audience;

    if (a == NULL) {
        return;
    }

    show = st->state.show_live ? st->state.show.id : "";
    pinned = st->state.pinned ? st->state.offer.id : "";

    if (ngx_strcmp(a->tally.show_id, show) != 0
        || ngx_strcmp(a->pinned, pinned) != 0)
    {
        ngx_live_shop_audience_tally(shm, st, lshop_now_ms(), 0);
    }
}


/* Once a second, by whichever worker comes first; every stream at exit */

void
ngx_live_shop_audience_sweep(ngx_live_shop_shm_t *shm, ngx_uint_t exiting)
{
    int64_t                   now;
    ngx_queue_t              *q;
    ngx_live_shop_stream_t   *st;

    now = lshop_now_ms();

    if (shm == NULL || ngx_queue_empty(&shm->sh->audiences)
        || (!exiting && now - shm->sh->tallied_ms < 1000))
    {
        return;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    if (!exiting && now - shm->sh->tallied_ms < 1000) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return;
    }

    shm->sh->tallied_ms = now;

    for (q = ngx_queue_head(&shm->sh->audiences);
         q != ngx_queue_sentinel(&shm->sh->audiences);
         q = ngx_queue_next(q))
    {
        st = ngx_queue_data(q, ngx_live_shop_stream_t, heard);

        ngx_live_shop_audience_tally(shm, st, now, exiting);
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);
}


/*
 * After a restart, the tally of the show on air goes on from its last
 * figures in the journal
 */

static int
ngx_live_shop_load_audience(void *arg, const lshop_audience *a, int full,
    int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    const char                *show;
    ngx_live_shop_audience_t  *aud;

    if (!load->restart || !full) {
        return 0;
    }

    aud = ngx_live_shop_audience(load->shm, load->st);
    show = load->st->state.show_live ? load->st->state.show.id : "";

    if (aud && ngx_strcmp(a->show_id, show) == 0) {
        aud->tally = *a;
        aud->tally.viewers = 0;
    }

    return 0;
}


/* Questions, saved answers and polls (SPEC §15) */

/* The stream's interaction, made when first needed (lock held) */

static ngx_live_shop_interaction_t *
ngx_live_shop_interaction(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    ngx_live_shop_interaction_t  *in;

    if (st->interaction) {
        return st->interaction;
    }

    in = ngx_slab_calloc_locked(shm->shpool,
                                sizeof(ngx_live_shop_interaction_t));
    if (in == NULL) {
        return NULL;
    }

    ngx_queue_init(&in->questions);
    ngx_queue_init(&in->blocked_queue);
    ngx_queue_init(&in->voters_queue);
    ngx_queue_init(&in->used);
    ngx_queue_init(&in->answers);
    ngx_rbtree_init(&in->blocked, &in->blocked_sentinel,
                    ngx_rbtree_insert_value);
    ngx_rbtree_init(&in->voters, &in->voters_sentinel,
                    ngx_rbtree_insert_value);
    ngx_rbtree_init(&in->limits, &in->limits_sentinel,
                    ngx_rbtree_insert_value);

    /* a question pinned before a restart keeps its id to itself */
    if (st->state.question_pinned && st->state.question.id[0] == 'q') {
        in->asked = ngx_atoi((u_char *) st->state.question.id + 1,
                             ngx_strlen(st->state.question.id + 1));
        if (in->asked == (uint64_t) NGX_ERROR) {
            in->asked = 0;
        }
    }

    st->interaction = in;

    return in;
}


/* The salted hash of "PREFIX:VALUE" on a stream, as viewers are hashed */

static ngx_int_t
ngx_live_shop_key(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    const char *prefix, u_char *value, size_t len, uint64_t *hash)
{
    u_char         key[NGX_SOCKADDR_STRLEN + LSHOP_SESSION_MAX + 8];
    size_t         n;
    const uint8_t *salt;

    salt = ngx_live_shop_salt(shm, lshop_now_ms());

    n = ngx_strlen(prefix);

    if (salt == NULL || n + len > sizeof(key)) {
        return NGX_ERROR;
    }

    ngx_memcpy(key, prefix, n);
    ngx_memcpy(key + n, value, len);

    return lshop_viewer_hash(salt, (char *) stream->data, stream->len,
                             (char *) key, n + len, hash)
           == 0 ? NGX_OK : NGX_ERROR;
}


/* A mark (a blocked session, a voter) by its hash, or NULL */

static ngx_live_shop_mark_t *
ngx_live_shop_mark(ngx_rbtree_t *tree, uint64_t hash)
{
    return (ngx_live_shop_mark_t *) ngx_live_shop_hash_lookup(tree, hash);
}


static void
ngx_live_shop_marks_clear(ngx_live_shop_shm_t *shm, ngx_rbtree_t *tree,
    ngx_rbtree_node_t *sentinel, ngx_queue_t *queue, ngx_uint_t *n)
{
    ngx_queue_t  *q;

    while (!ngx_queue_empty(queue)) {
        q = ngx_queue_head(queue);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_mark_t, queue));
    }

    ngx_rbtree_init(tree, sentinel, ngx_rbtree_insert_value);
    *n = 0;
}


static ngx_live_shop_question_t *
ngx_live_shop_question(ngx_live_shop_interaction_t *in, ngx_str_t *id)
{
    uint64_t                   number;
    ngx_int_t                  n;
    ngx_queue_t               *q;
    ngx_live_shop_question_t  *qu;

    if (in == NULL || id->len < 2 || id->data[0] != 'q') {
        return NULL;
    }

    n = ngx_atoi(id->data + 1, id->len - 1);
    if (n == NGX_ERROR) {
        return NULL;
    }

    number = (uint64_t) n;

    for (q = ngx_queue_head(&in->questions);
         q != ngx_queue_sentinel(&in->questions);
         q = ngx_queue_next(q))
    {
        qu = ngx_queue_data(q, ngx_live_shop_question_t, queue);

        if (qu->number == number) {
            return qu;
        }
    }

    return NULL;
}


static void
ngx_live_shop_question_free(ngx_live_shop_shm_t *shm,
    ngx_live_shop_interaction_t *in, ngx_live_shop_question_t *qu)
{
    ngx_queue_remove(&qu->queue);
    in->nquestions--;
    ngx_slab_free_locked(shm->shpool, qu);
}


static ngx_live_shop_answer_t *
ngx_live_shop_saved(ngx_live_shop_interaction_t *in, const char *id)
{
    ngx_queue_t             *q;
    ngx_live_shop_answer_t  *a;

    if (in == NULL) {
        return NULL;
    }

    for (q = ngx_queue_head(&in->answers);
         q != ngx_queue_sentinel(&in->answers);
         q = ngx_queue_next(q))
    {
        a = ngx_queue_data(q, ngx_live_shop_answer_t, queue);

        if (ngx_strcmp(a->answer.id, id) == 0) {
            return a;
        }
    }

    return NULL;
}


/* The saved answers and blocked words, gone (lock held) */

static void
ngx_live_shop_answers_clear(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st)
{
    ngx_queue_t                  *q;
    ngx_live_shop_interaction_t  *in;

    in = st->interaction;

    if (in == NULL) {
        return;
    }

    while (!ngx_queue_empty(&in->answers)) {
        q = ngx_queue_head(&in->answers);
        ngx_queue_remove(q);
        ngx_slab_free_locked(shm->shpool,
                             ngx_queue_data(q, ngx_live_shop_answer_t, queue));
    }

    in->nanswers = 0;

    if (in->words) {
        ngx_slab_free_locked(shm->shpool, in->words);
        in->words = NULL;
    }
}


/* A saved answer put, or (answer NULL) deleted_id taken (lock held) */

static ngx_int_t
ngx_live_shop_answer_set(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_saved_answer *answer, const char *deleted_id)
{
    ngx_live_shop_answer_t       *a;
    ngx_live_shop_interaction_t  *in;

    in = ngx_live_shop_interaction(shm, st);
    if (in == NULL) {
        return NGX_ERROR;
    }

    a = ngx_live_shop_saved(in, answer ? answer->id : deleted_id);

    if (answer == NULL) {
        if (a == NULL) {
            return NGX_DECLINED;
        }

        ngx_queue_remove(&a->queue);
        in->nanswers--;
        ngx_slab_free_locked(shm->shpool, a);

        return NGX_OK;
    }

    if (a == NULL) {
        a = ngx_slab_alloc_locked(shm->shpool, sizeof(ngx_live_shop_answer_t));
        if (a == NULL) {
            return NGX_ERROR;
        }

        ngx_queue_insert_tail(&in->answers, &a->queue);
        in->nanswers++;
    }

    a->answer = *answer;

    return NGX_OK;
}


/* The blocked words of a stream replaced (lock held) */

static ngx_int_t
ngx_live_shop_words_set(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    const lshop_blocked_words *words)
{
    ngx_live_shop_interaction_t  *in;

    in = ngx_live_shop_interaction(shm, st);
    if (in == NULL) {
        return NGX_ERROR;
    }

    if (words->n == 0) {
        if (in->words) {
            ngx_slab_free_locked(shm->shpool, in->words);
            in->words = NULL;
        }

        return NGX_OK;
    }

    if (in->words == NULL) {
        in->words = ngx_slab_alloc_locked(shm->shpool,
                                          sizeof(lshop_blocked_words));
        if (in->words == NULL) {
            return NGX_ERROR;
        }
    }

    *in->words = *words;

    return NGX_OK;
}


static int
ngx_live_shop_load_answer(void *arg, const lshop_saved_answer *answer,
    const char *deleted_id, int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    if (ngx_live_shop_answer_set(load->shm, load->st, answer, deleted_id)
        == NGX_ERROR)
    {
        load->rc = NGX_ERROR;
    }

    return 0;
}


static int
ngx_live_shop_load_words(void *arg, const lshop_blocked_words *words,
    int64_t at_ms)
{
    ngx_live_shop_load_t *load = arg;

    if (ngx_live_shop_words_set(load->shm, load->st, words) != NGX_OK) {
        load->rc = NGX_ERROR;
    }

    return 0;
}


/*
 * Appends l[0..n) ("\n" included; malloc'd, freed here, NULL: no memory)
 * to *line[0..*len), which is malloc'd and grows
 */

static ngx_int_t
ngx_live_shop_line_add(char **line, size_t *len, char *l, size_t n)
{
    char  *all;

    if (l == NULL) {
        return NGX_ERROR;
    }

    all = realloc(*line, *len + n + 1);

    if (all) {
        ngx_memcpy(all + *len, l, n + 1);
        *line = all;
        *len += n;
    }

    free(l);

    return all ? NGX_OK : NGX_ERROR;
}


/*
 * The lines of ours that follow a checkpoint line: the saved answers and
 * blocked words of a stream as they are (lock held). Returns line with
 * them added, or line as it was if there are none.
 */

static char *
ngx_live_shop_interaction_checkpoint(ngx_live_shop_stream_t *st, char *line,
    size_t *len)
{
    char                         *l;
    size_t                        n;
    ngx_queue_t                  *q;
    ngx_live_shop_answer_t       *a;
    ngx_live_shop_interaction_t  *in;

    in = st->interaction;

    if (line == NULL || in == NULL
        || (in->nanswers == 0 && in->words == NULL))
    {
        return line;
    }

    for (q = ngx_queue_head(&in->answers);
         q != ngx_queue_sentinel(&in->answers);
         q = ngx_queue_next(q))
    {
        a = ngx_queue_data(q, ngx_live_shop_answer_t, queue);

        l = lshop_journal_answer_line(&a->answer, lshop_now_ms(), &n);

        if (ngx_live_shop_line_add(&line, len, l, n) != NGX_OK) {
            goto failed;
        }
    }

    if (in->words) {
        l = lshop_journal_blocked_words_line(in->words, lshop_now_ms(), &n);

        if (ngx_live_shop_line_add(&line, len, l, n) != NGX_OK) {
            goto failed;
        }
    }

    return line;

failed:

    /* a checkpoint without them would lose them: none at all */
    free(line);

    return NULL;
}


/*
 * What a committed event does to the interaction here: a question pinned
 * leaves the queue; a poll started gets an empty count, one ended lets go
 * of its voters (lock held)
 */

static void
ngx_live_shop_interaction_event(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, const lshop_event *ev)
{
    ngx_str_t                     id;
    ngx_live_shop_question_t     *qu;
    ngx_live_shop_interaction_t  *in;

    switch (ev->type) {

    case LSHOP_QUESTION_PINNED:
        in = st->interaction;

        id.data = (u_char *) ev->question.id;
        id.len = ngx_strlen(ev->question.id);

        qu = ngx_live_shop_question(in, &id);

        if (qu && qu->text_len == ngx_strlen(ev->question.text)
            && ngx_strncmp(qu->data, ev->question.text, qu->text_len) == 0)
        {
            ngx_live_shop_question_free(shm, in, qu);
        }

        return;

    case LSHOP_POLL_STARTED:
    case LSHOP_POLL_ENDED:
        in = (ev->type == LSHOP_POLL_STARTED)
             ? ngx_live_shop_interaction(shm, st) : st->interaction;

        if (in == NULL) {
            return;
        }

        ngx_live_shop_marks_clear(shm, &in->voters, &in->voters_sentinel,
                                  &in->voters_queue, &in->nvoters);
        ngx_memzero(in->counts, sizeof(in->counts));
        in->votes = 0;

        if (ev->type == LSHOP_POLL_STARTED) {
            ngx_cpystrn((u_char *) in->poll_id, (u_char *) ev->poll.id,
                        sizeof(in->poll_id));

        } else {
            ngx_cpystrn((u_char *) in->ended_id, (u_char *) ev->poll.id,
                        sizeof(in->ended_id));
            in->poll_id[0] = '\0';
        }

        return;

    default:
        return;
    }
}


/*
 * The counts of every poll.ended planned, from the votes counted here:
 * the core plans them with zero counts (by the API, by the clock, or as
 * a new poll replaces a running one)
 */

static void
ngx_live_shop_poll_counts(ngx_live_shop_stream_t *st, lshop_event *ev,
    size_t n)
{
    size_t                        i;
    ngx_live_shop_interaction_t  *in;

    in = st ? st->interaction : NULL;

    for (i = 0; in && i < n; i++) {
        if (ev[i].type == LSHOP_POLL_ENDED
            && ngx_strcmp(ev[i].poll.id, in->poll_id) == 0)
        {
            ngx_memcpy(ev[i].poll.counts, in->counts, sizeof(in->counts));
        }
    }
}


/*
 * POST questions: a viewer's question queued for the host, within the
 * limits per session and per address. NGX_BUSY: over a limit;
 * NGX_DECLINED: no such stream; NGX_ERROR with err (queue_full, ...).
 * A blocked session's question gets a number and is dropped.
 */

ngx_int_t
ngx_live_shop_ask(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_question_request *req, ngx_str_t *address, uint64_t *number,
    lshop_error *err)
{
    size_t                        tlen, nlen;
    uint64_t                      hs, hq, ha;
    ngx_int_t                     rc;
    ngx_msec_t                    clock;
    lshop_bucket                 *bs, *ba;
    ngx_live_shop_stream_t       *st;
    ngx_live_shop_question_t     *qu;
    ngx_live_shop_interaction_t  *in;

    tlen = ngx_strlen(req->text);
    nlen = ngx_strlen(req->name);

    /* the session and the address, hashed before the lock: never kept */

    if (ngx_live_shop_key(shm, stream, "s:", (u_char *) req->session,
                          ngx_strlen(req->session), &hs)
        != NGX_OK
        || ngx_live_shop_key(shm, stream, "q:", (u_char *) req->session,
                             ngx_strlen(req->session), &hq)
           != NGX_OK
        || ngx_live_shop_key(shm, stream, "qa:", address->data, address->len,
                             &ha)
           != NGX_OK)
    {
        lshop_error_set(err, "no_salt", "", "no salt could be drawn");
        return NGX_ERROR;
    }

    clock = ngx_current_msec;
    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL) {
        lshop_error_set(err, "not_found", "stream",
                        "no stream %.*s here", (int) stream->len,
                        stream->data);
        rc = NGX_DECLINED;
        goto done;
    }

    in = ngx_live_shop_interaction(shm, st);
    if (in == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    ba = ngx_live_shop_limit(shm, &in->limits, &in->used, &in->nlimits, ha);
    bs = ngx_live_shop_limit(shm, &in->limits, &in->used, &in->nlimits, hq);

    if (bs == NULL || ba == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    /* one question per NGX_LIVE_SHOP_ASK_PERIOD s: a bucket on a clock
     * that runs that many times slower */

    if (!lshop_bucket_take(ba, clock, NGX_LIVE_SHOP_ASK_RATE,
                           NGX_LIVE_SHOP_ASK_ADDRESS_BURST)
        || !lshop_bucket_take(bs, clock / NGX_LIVE_SHOP_ASK_PERIOD, 1,
                              NGX_LIVE_SHOP_ASK_BURST))
    {
        lshop_error_set(err, "too_many_questions", "",
                        "too many questions from this player; ask again "
                        "in a few seconds");
        rc = NGX_BUSY;
        goto done;
    }

    *number = ++in->asked;

    if (ngx_live_shop_mark(&in->blocked, hs)) {
        /* a shadow block: answered like any other, and dropped */
        rc = NGX_OK;
        goto done;
    }

    if (in->nquestions >= NGX_LIVE_SHOP_MAX_QUESTIONS) {
        in->asked--;
        lshop_error_set(err, "queue_full", "",
                        "the host has %d questions waiting; ask again "
                        "later", NGX_LIVE_SHOP_MAX_QUESTIONS);
        goto done;
    }

    qu = ngx_slab_alloc_locked(shm->shpool,
                               offsetof(ngx_live_shop_question_t, data)
                               + tlen + nlen);
    if (qu == NULL) {
        in->asked--;
        ngx_live_shop_no_memory(err);
        goto done;
    }

    qu->number = *number;
    qu->session = hs;
    qu->at_ms = lshop_now_ms();
    qu->held = in->words
               && lshop_blocked_words_match(in->words, req->text, NULL);
    qu->text_len = tlen;
    qu->name_len = nlen;
    ngx_memcpy(qu->data, req->text, tlen);
    ngx_memcpy(qu->data + tlen, req->name, nlen);

    ngx_queue_insert_tail(&in->questions, &qu->queue);
    in->nquestions++;

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * GET questions: {"questions":[{"id","text","name","at","held",
 * "session"},...],"blocked_sessions":N}, the oldest first
 */

ngx_int_t
ngx_live_shop_list_questions(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json)
{
    u_char                       *p, at[LSHOP_TIME_LEN];
    size_t                        len;
    ngx_uint_t                    blocked;
    ngx_queue_t                  *q;
    ngx_live_shop_stream_t       *st;
    ngx_live_shop_question_t     *qu;
    ngx_live_shop_interaction_t  *in;

    static u_char  head[] = "{\"questions\":[";
    static u_char  tail[] = "],\"blocked_sessions\":";

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    in = st ? st->interaction : NULL;

    len = sizeof(head) + sizeof(tail) + NGX_INT_T_LEN + 1;

    for (q = in ? ngx_queue_head(&in->questions) : NULL;
         q && q != ngx_queue_sentinel(&in->questions);
         q = ngx_queue_next(q))
    {
        qu = ngx_queue_data(q, ngx_live_shop_question_t, queue);

        len += sizeof("{\"id\":\"q\",\"text\":\"\",\"name\":\"\",\"at\":\"\","
                      "\"held\":false,\"session\":\"\"},")
               + NGX_INT64_LEN + LSHOP_TIME_LEN + 16
               + qu->text_len + ngx_escape_json(NULL, qu->data, qu->text_len)
               + qu->name_len
               + ngx_escape_json(NULL, qu->data + qu->text_len,
                                 qu->name_len);
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        ngx_shmtx_unlock(&shm->shpool->mutex);
        return NGX_ERROR;
    }

    json->data = p;
    p = ngx_cpymem(p, head, sizeof(head) - 1);
    blocked = 0;

    for (q = in ? ngx_queue_head(&in->questions) : NULL;
         q && q != ngx_queue_sentinel(&in->questions);
         q = ngx_queue_next(q))
    {
        qu = ngx_queue_data(q, ngx_live_shop_question_t, queue);

        lshop_time_format((char *) at, qu->at_ms);

        p = ngx_sprintf(p, "%s{\"id\":\"q%uL\",\"text\":\"",
                        q == ngx_queue_head(&in->questions) ? "" : ",",
                        qu->number);
        p = (u_char *) ngx_escape_json(p, qu->data, qu->text_len);
        p = ngx_cpymem(p, "\",\"name\":\"", 10);
        p = (u_char *) ngx_escape_json(p, qu->data + qu->text_len,
                                       qu->name_len);
        p = ngx_sprintf(p, "\",\"at\":\"%s\",\"held\":%s,"
                        "\"session\":\"%016xL\"}",
                        at, qu->held ? "true" : "false", qu->session);
    }

    if (in) {
        blocked = in->nblocked;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    p = ngx_cpymem(p, tail, sizeof(tail) - 1);
    p = ngx_sprintf(p, "%ui}", blocked);

    json->len = p - json->data;

    return NGX_OK;
}


/*
 * POST questions/ID/dismiss, or (block) questions/ID/block: the asker's
 * session blocked on the stream and all its questions removed.
 * NGX_DECLINED: no such question waits.
 */

ngx_int_t
ngx_live_shop_drop_question(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *id, ngx_uint_t block, uint64_t *session, ngx_uint_t *removed,
    lshop_error *err)
{
    ngx_int_t                     rc;
    ngx_queue_t                  *q, *next;
    ngx_live_shop_mark_t         *m;
    ngx_live_shop_stream_t       *st;
    ngx_live_shop_question_t     *qu;
    ngx_live_shop_interaction_t  *in;

    *removed = 0;
    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    in = st ? st->interaction : NULL;

    qu = ngx_live_shop_question(in, id);

    if (qu == NULL) {
        lshop_error_set(err, "not_found", "id",
                        "no question \"%.*s\" is waiting on %.*s",
                        (int) id->len, id->data, (int) stream->len,
                        stream->data);
        rc = NGX_DECLINED;
        goto done;
    }

    *session = qu->session;

    if (!block) {
        ngx_live_shop_question_free(shm, in, qu);
        *removed = 1;
        rc = NGX_OK;
        goto done;
    }

    if (ngx_live_shop_mark(&in->blocked, qu->session) == NULL) {

        if (in->nblocked >= NGX_LIVE_SHOP_MAX_BLOCKED) {
            /* the one blocked longest ago makes room */
            q = ngx_queue_head(&in->blocked_queue);
            m = ngx_queue_data(q, ngx_live_shop_mark_t, queue);
            ngx_queue_remove(q);
            ngx_rbtree_delete(&in->blocked, &m->node);

        } else {
            m = ngx_slab_alloc_locked(shm->shpool,
                                      sizeof(ngx_live_shop_mark_t));
            if (m == NULL) {
                ngx_live_shop_no_memory(err);
                goto done;
            }

            in->nblocked++;
        }

        m->node.key = (ngx_rbtree_key_t) qu->session;
        ngx_rbtree_insert(&in->blocked, &m->node);
        ngx_queue_insert_tail(&in->blocked_queue, &m->queue);
    }

    for (q = ngx_queue_head(&in->questions);
         q != ngx_queue_sentinel(&in->questions);
         q = next)
    {
        next = ngx_queue_next(q);
        qu = ngx_queue_data(q, ngx_live_shop_question_t, queue);

        if (qu->session == *session) {
            ngx_live_shop_question_free(shm, in, qu);
            (*removed)++;
        }
    }

    rc = NGX_OK;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * POST polls/ID/vote: one vote per session for the running poll, within
 * the limit per address. NGX_BUSY: over the limit; NGX_DECLINED: no such
 * poll; NGX_ERROR with err: already_voted, poll_ended, option, ...
 */

ngx_int_t
ngx_live_shop_vote(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *poll_id, u_char *body, size_t len, ngx_str_t *address,
    lshop_error *err)
{
    int64_t                       now;
    uint64_t                      hs, ha;
    ngx_int_t                     rc;
    ngx_msec_t                    clock;
    lshop_bucket                 *ba;
    lshop_vote_request            vote;
    ngx_live_shop_mark_t         *m;
    ngx_live_shop_stream_t       *st;
    ngx_live_shop_interaction_t  *in;

    /* the option is checked against the poll's once it is known */

    if (lshop_vote_request_parse((char *) body, len, LSHOP_POLL_OPTIONS_MAX,
                                 &vote, err)
        != 0)
    {
        return NGX_ABORT;
    }

    if (ngx_live_shop_key(shm, stream, "s:", (u_char *) vote.session,
                          ngx_strlen(vote.session), &hs)
        != NGX_OK
        || ngx_live_shop_key(shm, stream, "va:", address->data,
                             address->len, &ha)
           != NGX_OK)
    {
        lshop_error_set(err, "no_salt", "", "no salt could be drawn");
        return NGX_ERROR;
    }

    now = lshop_now_ms();
    clock = ngx_current_msec;
    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    in = st ? st->interaction : NULL;

    if (in == NULL) {
        goto unknown;
    }

    ba = ngx_live_shop_limit(shm, &in->limits, &in->used, &in->nlimits, ha);

    if (ba == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    if (!lshop_bucket_take(ba, clock, NGX_LIVE_SHOP_VOTE_RATE,
                           NGX_LIVE_SHOP_VOTE_BURST))
    {
        lshop_error_set(err, "too_many_votes", "",
                        "too many votes from this address; they are "
                        "counted again in a second");
        rc = NGX_BUSY;
        goto done;
    }

    if (!st->state.poll_live
        || poll_id->len != ngx_strlen(st->state.poll.id)
        || ngx_strncmp(poll_id->data, st->state.poll.id, poll_id->len) != 0)
    {
        if (poll_id->len == ngx_strlen(in->ended_id)
            && ngx_strncmp(poll_id->data, in->ended_id, poll_id->len) == 0)
        {
            goto ended;
        }

        goto unknown;
    }

    if (now >= st->state.poll.ends_at_ms) {
        /* over, though the clock has not ended it yet */
        goto ended;
    }

    if (vote.option >= st->state.poll.options_n) {
        lshop_error_set(err, "invalid_field", "option",
                        "option must be 0-%d for this poll",
                        st->state.poll.options_n - 1);
        rc = NGX_ABORT;
        goto done;
    }

    if (ngx_live_shop_mark(&in->voters, hs)) {
        lshop_error_set(err, "already_voted", "session",
                        "this session has voted in this poll already");
        goto done;
    }

    if (in->nvoters >= NGX_LIVE_SHOP_MAX_VOTERS) {
        lshop_error_set(err, "too_many_voters", "",
                        "this poll has counted %d votes, as many as it "
                        "can", NGX_LIVE_SHOP_MAX_VOTERS);
        goto done;
    }

    m = ngx_slab_alloc_locked(shm->shpool, sizeof(ngx_live_shop_mark_t));
    if (m == NULL) {
        lshop_error_set(err, "too_many_voters", "",
                        "this poll counts no more votes: the "
                        "live_shop_zone is full");
        goto done;
    }

    m->node.key = (ngx_rbtree_key_t) hs;
    ngx_rbtree_insert(&in->voters, &m->node);
    ngx_queue_insert_tail(&in->voters_queue, &m->queue);
    in->nvoters++;

    if (ngx_strcmp(in->poll_id, st->state.poll.id) != 0) {
        ngx_cpystrn((u_char *) in->poll_id, (u_char *) st->state.poll.id,
                    sizeof(in->poll_id));
        ngx_memzero(in->counts, sizeof(in->counts));
        in->votes = 0;
    }

    in->counts[vote.option]++;
    in->votes++;

    rc = NGX_OK;
    goto done;

ended:

    lshop_error_set(err, "poll_ended", "", "poll \"%.*s\" has ended",
                    (int) poll_id->len, poll_id->data);
    goto done;

unknown:

    lshop_error_set(err, "unknown_poll", "id",
                    "no poll \"%.*s\" runs on %.*s", (int) poll_id->len,
                    poll_id->data, (int) stream->len, stream->data);
    rc = NGX_DECLINED;

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


/*
 * The running poll's tally for SSE, {"id","counts","votes"}, if it
 * changed since *seq and *votes (which are updated). NGX_DECLINED: no poll
 * runs; NGX_DONE: no change.
 */

ngx_int_t
ngx_live_shop_poll_tally(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t *seq, uint64_t *votes, ngx_pool_t *pool, ngx_str_t *json)
{
    char                         *s;
    size_t                        len;
    ngx_int_t                     rc;
    lshop_poll                   *poll;
    ngx_live_shop_stream_t       *st;
    ngx_live_shop_interaction_t  *in;

    poll = ngx_palloc(pool, sizeof(lshop_poll));
    if (poll == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    in = st ? st->interaction : NULL;

    if (in && st->state.poll_live
        && ngx_strcmp(in->poll_id, st->state.poll.id) == 0)
    {
        if (*seq == st->state.poll_seq && *votes == in->votes) {
            rc = NGX_DONE;

        } else if (in->votes == 0) {
            /* a poll just started: its zero counts are in its event */
            *seq = st->state.poll_seq;
            *votes = 0;
            rc = NGX_DONE;

        } else {
            *poll = st->state.poll;
            ngx_memcpy(poll->counts, in->counts, sizeof(in->counts));
            *seq = st->state.poll_seq;
            *votes = in->votes;
            rc = NGX_OK;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    if (rc != NGX_OK) {
        return rc;
    }

    s = lshop_poll_tally_json(poll, &len);
    if (s == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_live_shop_copy(pool, json, (u_char *) s, len);
    free(s);

    return rc;
}


/* A saved answer put: at most NGX_LIVE_SHOP_MAX_ANSWERS on a stream */

static ngx_int_t
ngx_live_shop_answer_check(ngx_live_shop_stream_t *st, ngx_str_t *stream,
    const char *id, ngx_uint_t *created, lshop_error *err)
{
    *created = (ngx_live_shop_saved(st->interaction, id) == NULL);

    if (*created && st->interaction
        && st->interaction->nanswers >= NGX_LIVE_SHOP_MAX_ANSWERS)
    {
        lshop_error_set(err, "too_many_answers", "id",
                        "a stream keeps at most %d saved answers",
                        NGX_LIVE_SHOP_MAX_ANSWERS);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A saved answer taken off: one the stream keeps */

static ngx_int_t
ngx_live_shop_answer_delete_check(ngx_live_shop_stream_t *st,
    ngx_str_t *stream, const char *id, ngx_uint_t *created, lshop_error *err)
{
    *created = 0;

    if (st == NULL || ngx_live_shop_saved(st->interaction, id) == NULL) {
        lshop_error_set(err, "not_found", "id",
                        "no saved answer \"%s\" on %.*s", id,
                        (int) stream->len, stream->data);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* A saved answer put (one node) */

ngx_int_t
ngx_live_shop_put_answer(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_saved_answer *answer, ngx_uint_t *created, lshop_error *err)
{
    char       *line;
    size_t      len;
    ngx_int_t   rc;

    line = lshop_journal_answer_line(answer, lshop_now_ms(), &len);

    rc = ngx_live_shop_configure(shm, stream, ngx_live_shop_answer_check,
                                 answer->id, line, len, created, err);
    free(line);

    return rc;
}


ngx_int_t
ngx_live_shop_delete_answer(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *id, lshop_error *err)
{
    return ngx_live_shop_take_off(shm, stream,
                                  ngx_live_shop_answer_delete_check, id,
                                  lshop_journal_answer_deleted_line, err);
}


ngx_int_t
ngx_live_shop_list_answers(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json)
{
    char                    *s;
    u_char                  *p;
    size_t                   len, n;
    ngx_uint_t               i, k;
    ngx_queue_t             *q;
    lshop_saved_answer      *answers;
    ngx_live_shop_stream_t  *st;
    ngx_live_shop_answer_t  *a;

    static u_char  head[] = "{\"answers\":[";

    answers = ngx_palloc(pool, NGX_LIVE_SHOP_MAX_ANSWERS
                               * sizeof(lshop_saved_answer));
    if (answers == NULL) {
        return NGX_ERROR;
    }

    k = 0;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st && st->interaction) {
        for (q = ngx_queue_head(&st->interaction->answers);
             q != ngx_queue_sentinel(&st->interaction->answers)
             && k < NGX_LIVE_SHOP_MAX_ANSWERS;
             q = ngx_queue_next(q))
        {
            a = ngx_queue_data(q, ngx_live_shop_answer_t, queue);
            answers[k++] = a->answer;
        }
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    len = sizeof(head) + 2;

    for (i = 0; i < k; i++) {
        len += 3 * sizeof(lshop_saved_answer) + 1;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    json->data = p;
    p = ngx_cpymem(p, head, sizeof(head) - 1);

    for (i = 0; i < k; i++) {
        s = lshop_saved_answer_to_json(&answers[i], &n);
        if (s == NULL) {
            return NGX_ERROR;
        }

        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, s, n);
        free(s);
    }

    *p++ = ']';
    *p++ = '}';

    json->len = p - json->data;

    return NGX_OK;
}


/* PUT blocked-words (one node): line is the journal line of the words */

ngx_int_t
ngx_live_shop_put_words(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *line, lshop_error *err)
{
    ngx_uint_t  created;

    return ngx_live_shop_configure(shm, stream, NULL, NULL,
                                   (char *) line->data, line->len, &created,
                                   err);
}


ngx_int_t
ngx_live_shop_get_words(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_str_t *json)
{
    char                    *s;
    size_t                   len;
    ngx_int_t                rc;
    lshop_blocked_words     *words;
    ngx_live_shop_stream_t  *st;

    words = ngx_pcalloc(pool, sizeof(lshop_blocked_words));
    if (words == NULL) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st && st->interaction && st->interaction->words) {
        *words = *st->interaction->words;
    }

    ngx_shmtx_unlock(&shm->shpool->mutex);

    s = lshop_blocked_words_to_json(words, &len);
    if (s == NULL) {
        return NGX_ERROR;
    }

    rc = ngx_live_shop_copy(pool, json, (u_char *) s, len);
    free(s);

    return rc;
}
