
/*
 * liveshop: the store in shared memory. One node per stream holds its
 * timeline state (lshop_state), its catalog, its recent events (for RTMP
 * subscribers in every worker) and its intervals (for HLS DATERANGEs).
 * The decisions about events are the core's (lshop_state_apply); this file
 * keeps them in the zone under its lock.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_live_shop.h"


static ngx_live_shop_stream_t *ngx_live_shop_stream(ngx_live_shop_shm_t *shm,
    ngx_str_t *name, ngx_uint_t create);
static ngx_live_shop_offer_t *ngx_live_shop_offer(ngx_live_shop_stream_t *st,
    ngx_str_t *id);
static ngx_int_t ngx_live_shop_emit(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st, lshop_event *ev, ngx_pool_t *pool,
    ngx_str_t *out, lshop_error *err);
static void ngx_live_shop_trim(ngx_live_shop_shm_t *shm,
    ngx_live_shop_stream_t *st);
static ngx_int_t ngx_live_shop_copy(ngx_pool_t *pool, ngx_str_t *dst,
    u_char *src, size_t len);


static ngx_live_shop_stream_t *
ngx_live_shop_stream(ngx_live_shop_shm_t *shm, ngx_str_t *name,
    ngx_uint_t create)
{
    uint32_t                 hash;
    ngx_str_node_t          *sn;
    ngx_live_shop_stream_t  *st;

    hash = ngx_crc32_short(name->data, name->len);

    sn = ngx_str_rbtree_lookup(&shm->sh->rbtree, name, hash);

    if (sn) {
        return (ngx_live_shop_stream_t *) sn;
    }

    if (!create || name->len > LSHOP_STREAM_MAX) {
        return NULL;
    }

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

    ngx_rbtree_insert(&shm->sh->rbtree, &st->sn.node);

    return st;
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


/*
 * Assigns the next seq, lets the core apply the event to the state, and
 * keeps it for RTMP and, if it opens or closes an interval, for HLS.
 * Called with the lock held. On error nothing has changed.
 */

static ngx_int_t
ngx_live_shop_emit(ngx_live_shop_shm_t *shm, ngx_live_shop_stream_t *st,
    lshop_event *ev, ngx_pool_t *pool, ngx_str_t *out, lshop_error *err)
{
    char                   *json;
    size_t                  len;
    ngx_int_t               opens;
    ngx_queue_t            *q;
    const char             *cls;
    lshop_state             next;
    ngx_live_shop_event_t  *e;
    ngx_live_shop_range_t  *r, *open;

    ev->seq = st->state.seq + 1;
    ngx_memcpy(ev->stream, st->name, st->sn.str.len + 1);

    next = st->state;

    if (lshop_state_apply(&next, ev, err) != 0) {
        return NGX_ERROR;
    }

    json = lshop_event_to_json(ev, &len);
    if (json == NULL) {
        ngx_live_shop_no_memory(err);
        return NGX_ERROR;
    }

    e = ngx_slab_alloc_locked(shm->shpool,
                              offsetof(ngx_live_shop_event_t, json) + len);
    if (e == NULL) {
        goto nomem;
    }

    e->seq = ev->seq;
    e->type = ev->type;
    e->len = len;
    ngx_memcpy(e->json, json, len);

    cls = lshop_event_class(ev->type);
    opens = lshop_event_opens(ev->type);

    r = NULL;
    open = NULL;

    if (cls) {
        for (q = ngx_queue_head(&st->ranges);
             q != ngx_queue_sentinel(&st->ranges);
             q = ngx_queue_next(q))
        {
            r = ngx_queue_data(q, ngx_live_shop_range_t, queue);

            if (r->end_ms == 0 && lshop_event_class(r->type) == cls) {
                open = r;
            }
        }

        r = NULL;

        if (opens) {
            r = ngx_slab_alloc_locked(shm->shpool,
                                offsetof(ngx_live_shop_range_t, json) + len);
            if (r == NULL) {
                ngx_slab_free_locked(shm->shpool, e);
                goto nomem;
            }

            r->type = ev->type;
            r->seq = ev->seq;
            r->start_ms = ev->at_ms;
            r->end_ms = 0;
            r->len = len;
            ngx_memcpy(r->json, json, len);
        }
    }

    /* nothing can fail from here on */

    st->state = next;

    ngx_queue_insert_tail(&st->events, &e->queue);
    st->nevents++;

    if (open) {
        /* ranges of one class never overlap (SPEC §7) */
        open->end_ms = ngx_max(ev->at_ms, open->start_ms);
        st->nended++;
    }

    if (r) {
        ngx_queue_insert_tail(&st->ranges, &r->queue);
    }

    ngx_live_shop_trim(shm, st);

    (void) ngx_atomic_fetch_add(&shm->sh->generation, 1);

    if (out && ngx_live_shop_copy(pool, out, (u_char *) json, len) != NGX_OK)
    {
        free(json);
        return NGX_ERROR;
    }

    free(json);

    return NGX_OK;

nomem:

    free(json);
    ngx_live_shop_no_memory(err);

    return NGX_ERROR;
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


ngx_int_t
ngx_live_shop_put_offer(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_offer *offer, ngx_uint_t *created, lshop_error *err)
{
    char                    *json;
    size_t                   len;
    int64_t                  old_stock;
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_uint_t               i, n;
    lshop_event              ev[2];
    ngx_live_shop_offer_t   *o, *old;
    ngx_live_shop_stream_t  *st;

    json = lshop_offer_to_json(offer, &len);
    if (json == NULL) {
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

    old = ngx_live_shop_offer(st, &id);

    if (old == NULL && st->noffers >= NGX_LIVE_SHOP_MAX_OFFERS) {
        lshop_error_set(err, "too_many_offers", "id",
                        "a stream's catalog holds at most %d offers",
                        NGX_LIVE_SHOP_MAX_OFFERS);
        goto done;
    }

    o = ngx_slab_alloc_locked(shm->shpool,
                              offsetof(ngx_live_shop_offer_t, json)
                              + len + id.len);
    if (o == NULL) {
        ngx_live_shop_no_memory(err);
        goto done;
    }

    o->len = len;
    ngx_memcpy(o->json, json, len);
    o->id.data = o->json + len;
    o->id.len = id.len;
    ngx_memcpy(o->id.data, id.data, id.len);
    o->stock = offer->stock;

    old_stock = LSHOP_STOCK_UNLIMITED;

    if (old) {
        old_stock = old->stock;
        ngx_queue_insert_after(&old->queue, &o->queue);
        ngx_queue_remove(&old->queue);
        ngx_slab_free_locked(shm->shpool, old);

    } else {
        ngx_queue_insert_tail(&st->offers, &o->queue);
        st->noffers++;
    }

    *created = (old == NULL);
    rc = NGX_OK;

    if (old == NULL) {
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

    free(json);

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
ngx_live_shop_pin(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    const char *offer_id, int64_t at_ms, int64_t until_ms, ngx_pool_t *pool,
    ngx_str_t *event, lshop_error *err)
{
    ngx_int_t                rc;
    ngx_str_t                id;
    ngx_uint_t               i, n;
    lshop_offer             *offer;
    lshop_event             *ev;
    ngx_live_shop_offer_t   *o;
    ngx_live_shop_stream_t  *st;

    /* an lshop_event holds a whole offer: keep them off the stack */
    ev = ngx_palloc(pool, 2 * sizeof(lshop_event));
    offer = ngx_palloc(pool, sizeof(lshop_offer));
    if (ev == NULL || offer == NULL) {
        return NGX_ERROR;
    }

    id.data = (u_char *) offer_id;
    id.len = ngx_strlen(offer_id);

    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);
    o = st ? ngx_live_shop_offer(st, &id) : NULL;

    if (o == NULL) {
        lshop_error_set(err, "not_found", "offer",
                        "no offer \"%s\" in the catalog of %.*s; PUT it "
                        "first", offer_id, (int) stream->len, stream->data);
        goto done;
    }

    if (lshop_offer_parse((char *) o->json, o->len, NULL, offer, err) != 0) {
        goto done;
    }

    n = lshop_state_plan_pin(&st->state, offer, at_ms, until_ms, ev, err);

    for (i = 0; i < n; i++) {
        rc = ngx_live_shop_emit(shm, st, &ev[i], pool,
                                i + 1 == n ? event : NULL, err);
        if (rc != NGX_OK) {
            break;
        }
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_live_shop_unpin(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    int64_t at_ms, ngx_pool_t *pool, ngx_str_t *event, lshop_error *err)
{
    ngx_int_t                rc;
    lshop_state              empty;
    lshop_event             *ev;
    ngx_live_shop_stream_t  *st;

    ev = ngx_palloc(pool, sizeof(lshop_event));
    if (ev == NULL) {
        return NGX_ERROR;
    }

    rc = NGX_ERROR;

    ngx_shmtx_lock(&shm->shpool->mutex);

    st = ngx_live_shop_stream(shm, stream, 0);

    if (st == NULL) {
        lshop_state_init(&empty);
        (void) lshop_state_plan_unpin(&empty, at_ms, ev, err);
        goto done;
    }

    if (lshop_state_plan_unpin(&st->state, at_ms, ev, err) == 0) {
        rc = ngx_live_shop_emit(shm, st, ev, pool, event, err);
    }

done:

    ngx_shmtx_unlock(&shm->shpool->mutex);

    return rc;
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


ngx_int_t
ngx_live_shop_ranges(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, lshop_range **ranges, ngx_uint_t *nranges)
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
        n++;
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
 * Copies the kept events after seq "after" into events (an array of
 * ngx_live_shop_event_t *), oldest first. Only the last
 * NGX_LIVE_SHOP_KEEP_EVENTS are kept: a caller that finds the first one
 * copied is not after + 1 has missed some, and sends the state instead.
 */

ngx_int_t
ngx_live_shop_events_after(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t after, ngx_pool_t *pool, ngx_array_t *events)
{
    ngx_int_t                rc;
    ngx_queue_t             *q;
    ngx_live_shop_event_t   *e, *copy, **slot;
    ngx_live_shop_stream_t  *st;

    rc = NGX_OK;

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
            rc = NGX_ERROR;
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

    return rc;
}
