
/*
 * liveshop: HLS media playlists served from a "live_shop_hls on"
 * location get program date times and the stream's intervals as
 * EXT-X-DATERANGE (SPEC §7). nginx-rtmp writes the playlist to its
 * hls_path; this handler reads it and lets the core rewrite it. Segments
 * and everything else go on to the static module.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_live_shop.h"


#define NGX_HTTP_LIVE_SHOP_MAX_PLAYLIST  (1024 * 1024)


static ngx_int_t ngx_http_live_shop_hls_stream(ngx_http_request_t *r,
    ngx_str_t *path, ngx_str_t *app, ngx_str_t *stream);


static ngx_str_t  ngx_http_live_shop_m3u8_type =
    ngx_string("application/vnd.apple.mpegurl");


ngx_int_t
ngx_http_live_shop_hls_handler(ngx_http_request_t *r)
{
    char                           *out;
    size_t                          root, out_len;
    ssize_t                         n;
    u_char                         *last, *data;
    int64_t                         written_ms;
    ngx_fd_t                        fd;
    ngx_str_t                       path, stream, body;
    ngx_int_t                       rc;
    ngx_uint_t                      nranges, level;
    ngx_err_t                       err;
    ngx_file_info_t                 fi;
    lshop_error                     lerr;
    lshop_range                    *ranges;
    ngx_live_shop_shm_t            *shm;
    ngx_http_live_shop_loc_conf_t  *lslcf;

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

    fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

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
                      ngx_open_file_n " \"%s\" failed", path.data);

        return rc;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || !ngx_is_file(&fi)
        || ngx_file_size(&fi) > NGX_HTTP_LIVE_SHOP_MAX_PLAYLIST)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, ngx_errno,
                      "live_shop: \"%s\" is not a playlist to serve",
                      path.data);
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
                      ngx_read_fd_n " \"%s\" failed", path.data);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ranges = NULL;
    nranges = 0;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_http_live_shop_hls_stream(r, &path, &lslcf->hls_app, &stream)
        == NGX_OK
        && ngx_live_shop_ranges(shm, &stream,
                                lshop_playlist_start((char *) data, n,
                                                     written_ms),
                                r->pool, &ranges, &nranges)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&lerr);

    out = lshop_playlist_rewrite((char *) data, n, written_ms, ranges,
                                 nranges, &out_len, &lerr);
    if (out == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live_shop: \"%s\": %s", path.data, lerr.message);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = ngx_pnalloc(r->pool, out_len);
    if (body.data == NULL) {
        free(out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, out, out_len);
    body.len = out_len;
    free(out);

    return ngx_http_live_shop_send(r, NGX_HTTP_OK,
                                   &ngx_http_live_shop_m3u8_type, &body);
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
