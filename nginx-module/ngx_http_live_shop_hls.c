
/*
 * liveshop: HLS media playlists served from a "live_shop_hls on"
 * location get program date times and the stream's intervals as
 * EXT-X-DATERANGE (SPEC §7). nginx-rtmp writes the playlist to its
 * hls_path; this handler reads it and lets the core rewrite it. Segments
 * and everything else go on to the static module.
 *
 * The rewrite depends only on the file's bytes, its mtime and the
 * stream's ranges, never on the clock, so each worker keeps the last
 * rewrite of every playlist asked for, keyed by the file's identity
 * (device, inode, size, mtime in ns, as open_file_cache compares them)
 * and the stream's seq (every change of its ranges is an event). A hit
 * costs a stat and the zone's lock and sends the kept bytes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_live_shop.h"


#define NGX_HTTP_LIVE_SHOP_MAX_PLAYLIST  (1024 * 1024)

/* per worker: playlists kept, their bytes, and for how long unasked */
#define NGX_HTTP_LIVE_SHOP_HLS_ENTRIES   256
#define NGX_HTTP_LIVE_SHOP_HLS_BYTES     (16 * 1024 * 1024)
#define NGX_HTTP_LIVE_SHOP_HLS_IDLE      60


/*
 * A rewritten playlist; the cache holds one reference and each request
 * sending it another, so a rewrite that replaces it cannot free bytes
 * still on their way out.
 */

typedef struct {
    ngx_uint_t                      refs;
    size_t                          len;
    char                           *data;        /* malloc'd by the core */
} ngx_http_live_shop_hls_body_t;


typedef struct {
    ngx_str_node_t                  sn;          /* key: the file's path */
    ngx_queue_t                     queue;       /* most recently asked first */
    ngx_str_t                       app;         /* live_shop_hls_app */
    ngx_str_t                       stream;      /* empty: not a stream */
    dev_t                           dev;
    ngx_file_uniq_t                 uniq;
    off_t                           size;
    time_t                          mtime_sec;
    long                            mtime_nsec;
    uint64_t                        seq;
    int64_t                         since_ms;    /* the playlist's start */
    ngx_str_t                       ranges;      /* what of them it used */
    time_t                          used;
    ngx_http_live_shop_hls_body_t  *body;
} ngx_http_live_shop_hls_entry_t;


typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_queue_t                     queue;
    ngx_uint_t                      entries;
    size_t                          bytes;
} ngx_http_live_shop_hls_cache_t;


static ngx_int_t ngx_http_live_shop_hls_rewrite(ngx_http_request_t *r,
    ngx_str_t *path, ngx_str_t *app, ngx_http_live_shop_hls_entry_t **ep);
static ngx_int_t ngx_http_live_shop_hls_ranges_key(ngx_pool_t *pool,
    lshop_range *ranges, ngx_uint_t nranges, ngx_str_t *key);
static ngx_int_t ngx_http_live_shop_hls_revalidate(ngx_http_request_t *r,
    ngx_http_live_shop_hls_entry_t *e, uint64_t seq);
static ngx_http_live_shop_hls_entry_t *ngx_http_live_shop_hls_entry(
    ngx_str_t *path, ngx_str_t *app, ngx_str_t *stream, ngx_log_t *log);
static void ngx_http_live_shop_hls_drop(ngx_http_live_shop_hls_entry_t *e);
static void ngx_http_live_shop_hls_expire(ngx_uint_t n);
static ngx_uint_t ngx_http_live_shop_hls_same(
    ngx_http_live_shop_hls_entry_t *e, ngx_file_info_t *fi);
static void ngx_http_live_shop_hls_release(void *data);
static ngx_int_t ngx_http_live_shop_hls_send(ngx_http_request_t *r,
    ngx_http_live_shop_hls_body_t *body);
static ngx_int_t ngx_http_live_shop_hls_stream(ngx_http_request_t *r,
    ngx_str_t *path, ngx_str_t *app, ngx_str_t *stream);
static void ngx_http_live_shop_hls_viewer(ngx_http_request_t *r,
    ngx_str_t *stream);


static ngx_str_t  ngx_http_live_shop_m3u8_type =
    ngx_string("application/vnd.apple.mpegurl");


/* this worker's playlists; the master never fills it */

static ngx_http_live_shop_hls_cache_t  ngx_http_live_shop_hls_cache;


ngx_int_t
ngx_http_live_shop_hls_handler(ngx_http_request_t *r)
{
    size_t                           root;
    uint32_t                         hash;
    uint64_t                         seq;
    u_char                          *last;
    ngx_str_t                        path;
    ngx_int_t                        rc;
    ngx_file_info_t                  fi;
    ngx_live_shop_shm_t             *shm;
    ngx_http_live_shop_hls_cache_t  *c;
    ngx_http_live_shop_hls_entry_t  *e;
    ngx_http_live_shop_loc_conf_t   *lslcf;

    static ngx_str_t  ext = ngx_string(".m3u8");

    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    if (!lslcf->hls
        || !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        || r->uri.len <= ext.len
        || ngx_strncasecmp(r->uri.data + r->uri.len - ext.len, ext.data,
                           ext.len) != 0)
    {
        return NGX_DECLINED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    last = ngx_http_map_uri_to_path(r, &path, &root, 0);
    if (last == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    path.len = last - path.data;

    c = &ngx_http_live_shop_hls_cache;

    if (c->rbtree.root == NULL) {
        ngx_rbtree_init(&c->rbtree, &c->sentinel,
                        ngx_str_rbtree_insert_value);
        ngx_queue_init(&c->queue);
    }

    ngx_http_live_shop_hls_expire(2);

    hash = ngx_crc32_short(path.data, path.len);

    e = (ngx_http_live_shop_hls_entry_t *)
            ngx_str_rbtree_lookup(&c->rbtree, &path, hash);

    if (e
        && e->app.len == lslcf->hls_app.len
        && ngx_strncmp(e->app.data, lslcf->hls_app.data, e->app.len) == 0
        && ngx_file_info(path.data, &fi) != NGX_FILE_ERROR
        && ngx_http_live_shop_hls_same(e, &fi))
    {
        shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

        seq = e->stream.len ? ngx_live_shop_stream_seq(shm, &e->stream) : 0;

        /* an order's events change the seq, not the ranges */
        if (seq == e->seq
            || ngx_http_live_shop_hls_revalidate(r, e, seq) == NGX_OK)
        {
            e->used = ngx_time();
            ngx_queue_remove(&e->queue);
            ngx_queue_insert_head(&c->queue, &e->queue);

            ngx_http_live_shop_hls_viewer(r, &e->stream);

            return ngx_http_live_shop_hls_send(r, e->body);
        }
    }

    rc = ngx_http_live_shop_hls_rewrite(r, &path, &lslcf->hls_app, &e);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_live_shop_hls_viewer(r, &e->stream);

    return ngx_http_live_shop_hls_send(r, e->body);
}


/*
 * SPEC §14: a playlist request is a viewer seen: the session the player
 * sends, else the address and user agent of the client, hashed with the
 * day's salt like a session and not kept
 */

static void
ngx_http_live_shop_hls_viewer(ngx_http_request_t *r, ngx_str_t *stream)
{
    u_char     *p;
    ngx_str_t   id, ua;

    if (stream->len == 0 || ngx_http_live_shop_not_viewer(r)) {
        return;
    }

    if (ngx_http_arg(r, (u_char *) "session", sizeof("session") - 1, &id)
            != NGX_OK
        || !lshop_session_valid((char *) id.data, id.len))
    {
        ua.len = 0;

        if (r->headers_in.user_agent) {
            ua = r->headers_in.user_agent->value;
            ua.len = ngx_min(ua.len, 128);
        }

        id.data = ngx_pnalloc(r->pool, sizeof("hls:\n") - 1
                                       + r->connection->addr_text.len
                                       + ua.len);
        if (id.data == NULL) {
            return;
        }

        p = ngx_sprintf(id.data, "hls:%V\n%V", &r->connection->addr_text,
                        &ua);
        id.len = p - id.data;
    }

    (void) ngx_live_shop_viewers_seen(
                         ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                         stream, &id, 1, NULL);
}


/*
 * Reads the playlist, rewrites it and keeps the result in the cache, in
 * *ep. The seq is taken before the ranges: a range made in between
 * makes the next request rewrite once more, never keeps a stale one.
 */

static ngx_int_t
ngx_http_live_shop_hls_rewrite(ngx_http_request_t *r, ngx_str_t *path,
    ngx_str_t *app, ngx_http_live_shop_hls_entry_t **ep)
{
    char                            *out;
    size_t                           out_len;
    ssize_t                          n;
    u_char                          *data;
    int64_t                          written_ms;
    uint64_t                         seq;
    ngx_fd_t                         fd;
    ngx_str_t                        stream;
    ngx_int_t                        rc;
    int64_t                          since_ms;
    ngx_str_t                        key;
    ngx_uint_t                       nranges, level;
    ngx_err_t                        err;
    ngx_file_info_t                  fi;
    lshop_error                      lerr;
    lshop_range                     *ranges;
    ngx_live_shop_shm_t             *shm;
    ngx_http_live_shop_hls_body_t   *body;
    ngx_http_live_shop_hls_entry_t  *e;

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        err = ngx_errno;

        if (err == NGX_ENOENT || err == NGX_ENOTDIR) {
            level = NGX_LOG_DEBUG;
            rc = NGX_HTTP_NOT_FOUND;

        } else if (err == NGX_EACCES) {
            level = NGX_LOG_ERR;
            rc = NGX_HTTP_FORBIDDEN;

        } else {
            level = NGX_LOG_CRIT;
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_error(level, r->connection->log, err,
                      ngx_open_file_n " \"%s\" failed", path->data);

        return rc;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi)
        || ngx_file_size(&fi) > NGX_HTTP_LIVE_SHOP_MAX_PLAYLIST)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "live_shop: \"%s\" is not a playlist to serve",
                      path->data);
        ngx_close_file(fd);
        return NGX_HTTP_NOT_FOUND;
    }

    /* the playlist is rewritten when its last segment is done */
    written_ms = (int64_t) fi.st_mtim.tv_sec * 1000
                 + fi.st_mtim.tv_nsec / 1000000;

    data = ngx_pnalloc(r->pool, ngx_file_size(&fi) + 1);
    if (data == NULL) {
        ngx_close_file(fd);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_read_fd(fd, data, ngx_file_size(&fi));
    ngx_close_file(fd);

    if (n == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, r->connection->log, ngx_errno,
                      ngx_read_fd_n " \"%s\" failed", path->data);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n != ngx_file_size(&fi)) {
        /* changed under us: keep nothing that claims to be that file */
        fi.st_size = -1;
    }

    ranges = NULL;
    nranges = 0;
    seq = 0;
    since_ms = lshop_playlist_start((char *) data, n, written_ms);

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    rc = ngx_http_live_shop_hls_stream(r, path, app, &stream);

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc == NGX_DECLINED) {
        ngx_str_null(&stream);

    } else {
        seq = ngx_live_shop_stream_seq(shm, &stream);

        if (ngx_live_shop_ranges(shm, &stream, since_ms, r->pool, &ranges,
                                 &nranges)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_live_shop_hls_ranges_key(r->pool, ranges, nranges, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&lerr);

    out = lshop_playlist_rewrite((char *) data, n, written_ms, ranges,
                                 nranges, &out_len, &lerr);
    if (out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live_shop: \"%s\": %s", path->data, lerr.message);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body = ngx_alloc(sizeof(ngx_http_live_shop_hls_body_t) + key.len,
                     r->connection->log);
    if (body == NULL) {
        free(out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body->refs = 1;
    body->len = out_len;
    body->data = out;

    e = ngx_http_live_shop_hls_entry(path, app, &stream, r->connection->log);
    if (e == NULL) {
        ngx_http_live_shop_hls_release(body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e->dev = fi.st_dev;
    e->uniq = ngx_file_uniq(&fi);
    e->size = fi.st_size;
    e->mtime_sec = fi.st_mtim.tv_sec;
    e->mtime_nsec = fi.st_mtim.tv_nsec;
    e->seq = seq;
    e->since_ms = since_ms;

    /* the ranges' key lives with the body it made */
    e->ranges.data = (u_char *) body + sizeof(ngx_http_live_shop_hls_body_t);
    e->ranges.len = key.len;

    if (key.len) {
        /* no ranges: key.data may be NULL, and memcpy's must not be */
        ngx_memcpy(e->ranges.data, key.data, key.len);
    }

    if (e->body) {
        ngx_http_live_shop_hls_cache.bytes -= e->body->len;
        ngx_http_live_shop_hls_release(e->body);
    }

    e->body = body;
    ngx_http_live_shop_hls_cache.bytes += body->len;

    /* bounded: the least recently asked go first, never this one */
    while (ngx_http_live_shop_hls_cache.bytes > NGX_HTTP_LIVE_SHOP_HLS_BYTES
           && ngx_queue_last(&ngx_http_live_shop_hls_cache.queue)
              != &e->queue)
    {
        ngx_http_live_shop_hls_drop(
            ngx_queue_data(ngx_queue_last(&ngx_http_live_shop_hls_cache.queue),
                           ngx_http_live_shop_hls_entry_t, queue));
    }

    *ep = e;

    return NGX_OK;
}


/*
 * What of the ranges a rewrite uses, as bytes to compare: each range's
 * id (its seq: the event is immutable), type, start and end
 */

static ngx_int_t
ngx_http_live_shop_hls_ranges_key(ngx_pool_t *pool, lshop_range *ranges,
    ngx_uint_t nranges, ngx_str_t *key)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    len = 0;

    for (i = 0; i < nranges; i++) {
        len += ngx_strlen(ranges[i].id) + 1 + sizeof(lshop_event_type)
               + 2 * sizeof(int64_t);
    }

    key->len = len;
    key->data = NULL;

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    key->data = p;

    for (i = 0; i < nranges; i++) {
        p = ngx_cpymem(p, ranges[i].id, ngx_strlen(ranges[i].id) + 1);
        p = ngx_cpymem(p, &ranges[i].type, sizeof(lshop_event_type));
        p = ngx_cpymem(p, &ranges[i].start_ms, sizeof(int64_t));
        p = ngx_cpymem(p, &ranges[i].end_ms, sizeof(int64_t));
    }

    return NGX_OK;
}


/*
 * The file is as it was and the seq has moved: if the ranges the
 * playlist reaches are the same, the kept rewrite holds for seq too
 */

static ngx_int_t
ngx_http_live_shop_hls_revalidate(ngx_http_request_t *r,
    ngx_http_live_shop_hls_entry_t *e, uint64_t seq)
{
    ngx_str_t             key;
    ngx_uint_t            nranges;
    lshop_range          *ranges;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_ranges(shm, &e->stream, e->since_ms, r->pool, &ranges,
                             &nranges)
        != NGX_OK
        || ngx_http_live_shop_hls_ranges_key(r->pool, ranges, nranges, &key)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (key.len != e->ranges.len
        || (key.len && ngx_memcmp(key.data, e->ranges.data, key.len) != 0))
    {
        return NGX_DECLINED;
    }

    e->seq = seq;

    return NGX_OK;
}


/*
 * The entry of path, made (the least recently asked one dropped if the
 * cache is full) or its stream set again, at the head of the queue
 */

static ngx_http_live_shop_hls_entry_t *
ngx_http_live_shop_hls_entry(ngx_str_t *path, ngx_str_t *app,
    ngx_str_t *stream, ngx_log_t *log)
{
    u_char                          *p;
    uint32_t                         hash;
    ngx_http_live_shop_hls_cache_t  *c;
    ngx_http_live_shop_hls_entry_t  *e;

    c = &ngx_http_live_shop_hls_cache;

    hash = ngx_crc32_short(path->data, path->len);

    e = (ngx_http_live_shop_hls_entry_t *)
            ngx_str_rbtree_lookup(&c->rbtree, path, hash);

    if (e
        && (e->app.len != app->len
            || ngx_strncmp(e->app.data, app->data, app->len) != 0
            || e->stream.len != stream->len
            || ngx_strncmp(e->stream.data, stream->data, stream->len) != 0))
    {
        /* another location's live_shop_hls_app: one entry per path */
        ngx_http_live_shop_hls_drop(e);
        e = NULL;
    }

    if (e == NULL) {
        if (c->entries >= NGX_HTTP_LIVE_SHOP_HLS_ENTRIES) {
            ngx_http_live_shop_hls_drop(
                ngx_queue_data(ngx_queue_last(&c->queue),
                               ngx_http_live_shop_hls_entry_t, queue));
        }

        e = ngx_alloc(sizeof(ngx_http_live_shop_hls_entry_t) + path->len + 1
                      + app->len + stream->len, log);
        if (e == NULL) {
            return NULL;
        }

        ngx_memzero(e, sizeof(ngx_http_live_shop_hls_entry_t));

        p = (u_char *) e + sizeof(ngx_http_live_shop_hls_entry_t);

        e->sn.str.data = p;
        e->sn.str.len = path->len;
        p = ngx_cpymem(p, path->data, path->len);
        *p++ = '\0';

        e->app.data = p;
        e->app.len = app->len;
        p = ngx_cpymem(p, app->data, app->len);

        e->stream.data = p;
        e->stream.len = stream->len;
        ngx_memcpy(p, stream->data, stream->len);

        e->sn.node.key = hash;
        ngx_rbtree_insert(&c->rbtree, &e->sn.node);
        ngx_queue_insert_head(&c->queue, &e->queue);
        c->entries++;

    } else {
        ngx_queue_remove(&e->queue);
        ngx_queue_insert_head(&c->queue, &e->queue);
    }

    e->used = ngx_time();

    return e;
}


static void
ngx_http_live_shop_hls_drop(ngx_http_live_shop_hls_entry_t *e)
{
    ngx_http_live_shop_hls_cache_t  *c;

    c = &ngx_http_live_shop_hls_cache;

    ngx_queue_remove(&e->queue);
    ngx_rbtree_delete(&c->rbtree, &e->sn.node);
    c->entries--;

    if (e->body) {
        c->bytes -= e->body->len;
        ngx_http_live_shop_hls_release(e->body);
    }

    ngx_free(e);
}


/* drops at most n entries not asked for in a while, like limit_req */

static void
ngx_http_live_shop_hls_expire(ngx_uint_t n)
{
    time_t                           now;
    ngx_queue_t                     *q;
    ngx_http_live_shop_hls_cache_t  *c;
    ngx_http_live_shop_hls_entry_t  *e;

    c = &ngx_http_live_shop_hls_cache;
    now = ngx_time();

    while (n-- && !ngx_queue_empty(&c->queue)) {
        q = ngx_queue_last(&c->queue);
        e = ngx_queue_data(q, ngx_http_live_shop_hls_entry_t, queue);

        if (now - e->used < NGX_HTTP_LIVE_SHOP_HLS_IDLE) {
            return;
        }

        ngx_http_live_shop_hls_drop(e);
    }
}


static ngx_uint_t
ngx_http_live_shop_hls_same(ngx_http_live_shop_hls_entry_t *e,
    ngx_file_info_t *fi)
{
    return e->uniq == ngx_file_uniq(fi)
           && e->dev == fi->st_dev
           && e->size == ngx_file_size(fi)
           && e->mtime_sec == fi->st_mtim.tv_sec
           && e->mtime_nsec == fi->st_mtim.tv_nsec
           && ngx_is_file(fi);
}


static void
ngx_http_live_shop_hls_release(void *data)
{
    ngx_http_live_shop_hls_body_t  *body = data;

    if (--body->refs == 0) {
        free(body->data);
        ngx_free(body);
    }
}


/* sends the kept bytes, holding them until the request is done */

static ngx_int_t
ngx_http_live_shop_hls_send(ngx_http_request_t *r,
    ngx_http_live_shop_hls_body_t *body)
{
    ngx_str_t            out;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_live_shop_hls_release;
    cln->data = body;
    body->refs++;

    out.data = (u_char *) body->data;
    out.len = body->len;

    return ngx_http_live_shop_send(r, NGX_HTTP_OK,
                                   &ngx_http_live_shop_m3u8_type, &out);
}


/*
 * nginx-rtmp writes NAME.m3u8, or NAME/index.m3u8 with "hls_nested on";
 * the stream is APP/NAME with APP from live_shop_hls_app.
 */

static ngx_int_t
ngx_http_live_shop_hls_stream(ngx_http_request_t *r, ngx_str_t *path,
    ngx_str_t *app, ngx_str_t *stream)
{
    u_char  *p, *end, *name;

    static ngx_str_t  index = ngx_string("index");

    end = path->data + path->len - (sizeof(".m3u8") - 1);

    for (name = end; name > path->data && name[-1] != '/'; name--) {
        /* void */
    }

    if ((size_t) (end - name) == index.len
        && ngx_strncmp(name, index.data, index.len) == 0
        && name > path->data + 1)
    {
        end = name - 1;

        for (name = end; name > path->data && name[-1] != '/'; name--) {
            /* void */
        }
    }

    stream->len = app->len + 1 + (end - name);

    stream->data = ngx_pnalloc(r->pool, stream->len);
    if (stream->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(stream->data, app->data, app->len);
    *p++ = '/';
    ngx_memcpy(p, name, end - name);

    if (!lshop_stream_valid((char *) stream->data, stream->len)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}
