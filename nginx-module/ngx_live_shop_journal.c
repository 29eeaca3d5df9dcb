
/*
 * liveshop: the journal files. One per stream, DIR/APP/NAME.journal, and
 * the one before it, NAME.journal.1, once it has been rotated. The file
 * before that waits as NAME.journal.2 until it is folded into the
 * stream's ledger, NAME.ledger (what the report and duplicates need of
 * everything older). What a record holds is the core's business
 * (lshop/journal.h, lshop/ledger.h); this file only appends, reads, cuts,
 * rotates and folds files. Callers hold the zone's lock for writes, so
 * records land in seq order from every worker.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_live_shop.h"


static ngx_int_t ngx_live_shop_journal_path(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, const char *suffix, u_char *path, size_t size);
static ngx_int_t ngx_live_shop_journal_write(ngx_fd_t fd, u_char *data,
    size_t len);
static ngx_int_t ngx_live_shop_journal_create(u_char *path, u_char *data,
    size_t len, ngx_uint_t sync, ngx_log_t *log);
static ngx_int_t ngx_live_shop_journal_replace(u_char *path, u_char *data,
    size_t len, ngx_uint_t sync, ngx_log_t *log);


/* by the "old" of ngx_live_shop_journal_read() */

static const char  *ngx_live_shop_journal_files[] = {
    ".journal", ".journal.1", ".journal.2", ".ledger"
};


static ngx_int_t
ngx_live_shop_journal_path(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    const char *suffix, u_char *path, size_t size)
{
    u_char  *p;

    /* stream names are checked (lshop_stream_valid): "APP/NAME", no ".." */
    p = ngx_snprintf(path, size - 1, "%V/%V%s%Z", &lscf->journal, stream,
                     suffix);

    if (p == path + size - 1) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_live_shop_journal_write(ngx_fd_t fd, u_char *data, size_t len)
{
    ssize_t  n;

    while (len) {
        n = write(fd, data, len);

        if (n == -1) {
            if (ngx_errno == NGX_EINTR) {
                continue;
            }

            return NGX_ERROR;
        }

        data += n;
        len -= n;
    }

    return NGX_OK;
}


/*
 * Appends one record. It is in the kernel's hands when this returns, so it
 * survives a crash of nginx; with live_shop_journal_fsync it is on disk.
 * *size is the journal's size afterwards.
 */

ngx_int_t
ngx_live_shop_journal_append(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    u_char *line, size_t len, off_t *size, ngx_log_t *log)
{
    u_char           path[NGX_MAX_PATH], *slash;
    ngx_fd_t         fd;
    ngx_err_t        err;
    ngx_file_info_t  fi;

    if (ngx_live_shop_journal_path(lscf, stream, ".journal", path,
                                   sizeof(path))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path, NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN,
                       NGX_FILE_DEFAULT_ACCESS);

    if (fd == NGX_INVALID_FILE && ngx_errno == NGX_ENOENT) {
        /* the application's directory, made on its first record */
        slash = (u_char *) strrchr((char *) path, '/');
        *slash = '\0';

        if (ngx_create_dir(path, 0755) == NGX_FILE_ERROR
            && ngx_errno != NGX_EEXIST)
        {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "live_shop: " ngx_create_dir_n " \"%s\" failed",
                          path);
            return NGX_ERROR;
        }

        *slash = '/';

        fd = ngx_open_file(path, NGX_FILE_APPEND, NGX_FILE_CREATE_OR_OPEN,
                           NGX_FILE_DEFAULT_ACCESS);
    }

    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: writing the journal \"%s\" failed ("
                      ngx_open_file_n "), so the change is refused (503) "
                      "and nothing changed", path);
        return NGX_ERROR;
    }

    if (ngx_live_shop_journal_write(fd, line, len) != NGX_OK
        || (lscf->journal_fsync && fdatasync(fd) == -1)
        || ngx_fd_info(fd, &fi) == NGX_FILE_ERROR)
    {
        err = ngx_errno;

        /*
         * a record half written (the disk filled up) is cut off again,
         * so that the next one does not follow half a line
         */
        if (ftruncate(fd, *size) == -1) {
            ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                          "live_shop: cutting the journal \"%s\" back to "
                          "%O bytes failed", path, *size);
        }

        ngx_log_error(NGX_LOG_CRIT, log, err,
                      "live_shop: writing the journal \"%s\" failed, so "
                      "the change is refused (503) and nothing changed",
                      path);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    *size = ngx_file_size(&fi);

    ngx_close_file(fd);

    return NGX_OK;
}


/* Whether a stream has a journal (and so a past to rebuild) */

ngx_uint_t
ngx_live_shop_journal_exists(ngx_live_shop_conf_t *lscf, ngx_str_t *stream)
{
    u_char           path[NGX_MAX_PATH];
    ngx_file_info_t  fi;

    return lscf->journal.len
           && ngx_live_shop_journal_path(lscf, stream, ".journal", path,
                                   sizeof(path))
              == NGX_OK
           && ngx_file_info(path, &fi) != NGX_FILE_ERROR;
}


/*
 * Reads a whole journal file (old: 0 the current one, 1 the rotated one,
 * 2 one waiting for its fold; NGX_LIVE_SHOP_LEDGER the ledger) into
 * memory that the caller frees with ngx_free(). NGX_DECLINED when there
 * is none.
 */

ngx_int_t
ngx_live_shop_journal_read(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    ngx_uint_t old, ngx_str_t *data, ngx_log_t *log)
{
    u_char           path[NGX_MAX_PATH];
    size_t           size;
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    data->data = NULL;
    data->len = 0;

    if (lscf->journal.len == 0
        || ngx_live_shop_journal_path(lscf, stream,
                                      ngx_live_shop_journal_files[old], path,
                                      sizeof(path))
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

    if (fd == NGX_INVALID_FILE) {
        if (ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: " ngx_open_file_n " \"%s\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    size = ngx_file_size(&fi);

    data->data = ngx_alloc(size + 1, log);
    if (data->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, data->data, size);
    ngx_close_file(fd);

    if (n == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: reading \"%s\" failed", path);
        ngx_free(data->data);
        data->data = NULL;
        return NGX_ERROR;
    }

    data->len = n;
    data->data[n] = '\0';

    return NGX_OK;
}


/*
 * Opens a journal file (old: 0 the current one, 1 and 2 those rotated
 * aside) for a group commit, under the zone's lock, so that the name is
 * the file it was. NGX_DECLINED for a rotated one that is gone.
 */

ngx_int_t
ngx_live_shop_journal_sync_open(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_uint_t old, ngx_fd_t *fd, ngx_log_t *log)
{
    u_char  path[NGX_MAX_PATH];

    if (ngx_live_shop_journal_path(lscf, stream,
                                   ngx_live_shop_journal_files[old], path,
                                   sizeof(path))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    *fd = ngx_open_file(path, NGX_FILE_WRONLY, NGX_FILE_OPEN, 0);

    if (*fd == NGX_INVALID_FILE) {
        if (old && ngx_errno == NGX_ENOENT) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: " ngx_open_file_n " \"%s\" for its "
                      "fdatasync failed", path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Puts what was written to the files a group commit opened on disk, and
 * closes them (only closes them once sync->failed). Blocks: it runs in a
 * thread of the pool, and logs nothing (sync->err tells the event loop).
 */

void
ngx_live_shop_journal_sync(ngx_live_shop_journal_sync_t *sync)
{
    ngx_uint_t  i;

    for (i = 0; i < sync->nfd; i++) {

        if (!sync->failed && fdatasync(sync->fd[i]) == -1) {
            sync->err = ngx_errno;
            sync->failed = 1;
        }

        (void) ngx_close_file(sync->fd[i]);
    }

    sync->nfd = 0;
}


/*
 * The cursor of webhooks out: the last seq of the stream a receiver
 * acknowledged, in NAME.notified (written whole, then renamed into place).
 */

ngx_int_t
ngx_live_shop_journal_cursor(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    uint64_t *seq, ngx_uint_t write, ngx_log_t *log)
{
    u_char    path[NGX_MAX_PATH], buf[NGX_INT64_LEN + 2];
    u_char   *p;
    ssize_t   n;
    ngx_fd_t  fd;

    if (lscf->journal.len == 0
        || ngx_live_shop_journal_path(lscf, stream, ".notified", path,
                                   sizeof(path))
           != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (!write) {
        fd = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
        if (fd == NGX_INVALID_FILE) {
            return NGX_DECLINED;
        }

        n = ngx_read_fd(fd, buf, sizeof(buf) - 1);
        ngx_close_file(fd);

        *seq = 0;

        for (p = buf; n > 0 && p < buf + n && *p >= '0' && *p <= '9'; p++) {
            *seq = *seq * 10 + (*p - '0');
        }

        return NGX_OK;
    }

    p = ngx_sprintf(buf, "%uL\n", *seq);

    /* not synced: a cursor lost to a crash only sends events again */
    return ngx_live_shop_journal_replace(path, buf, p - buf, 0, log);
}


/* Cuts the journal after its last whole record (a torn write). */

ngx_int_t
ngx_live_shop_journal_truncate(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    off_t size, ngx_log_t *log)
{
    u_char  path[NGX_MAX_PATH];

    if (ngx_live_shop_journal_path(lscf, stream, ".journal", path,
                                   sizeof(path))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (truncate((char *) path, size) == -1) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: truncate(\"%s\") failed", path);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Removes a stream's journal files (not its webhook cursor): with several
 * nodes, this node's journal is a copy of the shared log, made anew from
 * it whenever the stream comes into the zone.
 */

ngx_int_t
ngx_live_shop_journal_forget(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    ngx_log_t *log)
{
    u_char      path[NGX_MAX_PATH];
    ngx_uint_t  i;

    for (i = 0; i < sizeof(ngx_live_shop_journal_files) / sizeof(char *);
         i++)
    {
        if (ngx_live_shop_journal_path(lscf, stream,
                                       ngx_live_shop_journal_files[i], path,
                                       sizeof(path))
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        if (ngx_delete_file(path) == NGX_FILE_ERROR
            && ngx_errno != NGX_ENOENT)
        {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "live_shop: " ngx_delete_file_n " \"%s\" failed",
                          path);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * With several nodes: a stream's journal made anew from the shared log's
 * base, its ledger and the checkpoint that begins its journal.
 */

ngx_int_t
ngx_live_shop_journal_begin(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    ngx_str_t *ledger, ngx_str_t *checkpoint, ngx_log_t *log)
{
    off_t   size;
    u_char  path[NGX_MAX_PATH];

    if (ngx_live_shop_journal_forget(lscf, stream, log) != NGX_OK) {
        return NGX_ERROR;
    }

    /* the journal first: it makes the application's directory */

    size = 0;

    if (ngx_live_shop_journal_append(lscf, stream, checkpoint->data,
                                     checkpoint->len, &size, log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ledger->len == 0) {
        return NGX_OK;
    }

    if (ngx_live_shop_journal_path(lscf, stream, ".ledger", path,
                                   sizeof(path))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_live_shop_journal_replace(path, ledger->data, ledger->len, 0,
                                         log);
}


/*
 * Starts a new journal with a checkpoint line; the current one becomes
 * NAME.journal.1 and the one before that goes. A journal so takes at most
 * about twice live_shop_journal_max_size.
 */

ngx_int_t
ngx_live_shop_journal_rotate(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    u_char *checkpoint, size_t len, ngx_uint_t *aside, ngx_log_t *log)
{
    u_char           path[NGX_MAX_PATH], old[NGX_MAX_PATH],
                     fold[NGX_MAX_PATH], tmp[NGX_MAX_PATH];
    ngx_file_info_t  fi;

    if (ngx_live_shop_journal_path(lscf, stream, ".journal", path,
                                   sizeof(path))
        != NGX_OK
        || ngx_live_shop_journal_path(lscf, stream, ".journal.1", old,
                                      sizeof(old))
           != NGX_OK
        || ngx_live_shop_journal_path(lscf, stream, ".journal.2", fold,
                                      sizeof(fold))
           != NGX_OK
        || ngx_live_shop_journal_path(lscf, stream, ".journal.new", tmp,
                                      sizeof(tmp))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the file before the rotated one is dropped only once folded */

    if (ngx_file_info(fold, &fi) != NGX_FILE_ERROR) {
        return NGX_DECLINED;
    }

    if (ngx_live_shop_journal_create(tmp, checkpoint, len, 1, log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    /*
     * NAME.journal exists at every moment, and every record is in one of
     * the files or the ledger: a crash anywhere here loses nothing
     */

    *aside = 1;

    if (ngx_rename_file(old, fold) == NGX_FILE_ERROR) {
        *aside = 0;

        if (ngx_errno != NGX_ENOENT) {
            goto failed;
        }
    }

    if (link((char *) path, (char *) old) == -1
        || ngx_rename_file(tmp, path) == NGX_FILE_ERROR)
    {
        goto failed;
    }

    ngx_log_error(NGX_LOG_NOTICE, log, 0,
                  "live_shop: journal \"%s\" rotated", path);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                  "live_shop: rotating the journal \"%s\" failed", path);

    return NGX_ERROR;
}


/*
 * Folds NAME.journal.2, the file a rotation put aside, into NAME.ledger
 * (the report's totals and the order keys, lshop_ledger_fold), then drops
 * it. Reads and parses up to two journals' worth: run outside the zone's
 * lock. NGX_DECLINED when there is nothing to fold.
 */

ngx_int_t
ngx_live_shop_journal_fold(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    ngx_log_t *log)
{
    char         *folded;
    u_char        path[NGX_MAX_PATH], fold[NGX_MAX_PATH];
    size_t        len;
    ngx_int_t     rc;
    ngx_str_t     journal, ledger;
    lshop_error   err;

    if (ngx_live_shop_journal_path(lscf, stream, ".ledger", path,
                                   sizeof(path))
        != NGX_OK
        || ngx_live_shop_journal_path(lscf, stream, ".journal.2", fold,
                                      sizeof(fold))
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    rc = ngx_live_shop_journal_read(lscf, stream, 2, &journal, log);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_live_shop_journal_read(lscf, stream, NGX_LIVE_SHOP_LEDGER,
                                    &ledger, log);
    if (rc == NGX_ERROR) {
        ngx_free(journal.data);
        return NGX_ERROR;
    }

    folded = lshop_ledger_fold((char *) ledger.data, ledger.len,
                               (char *) journal.data, journal.len,
                               lshop_now_ms(), &len, &err);
    ngx_free(journal.data);
    ngx_free(ledger.data);

    if (folded == NULL && ngx_strcmp(err.code, "already_folded") != 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "live_shop: \"%s\" cannot be folded into \"%s\", "
                      "so both are kept: %s", fold, path, err.message);
        return NGX_ERROR;
    }

    if (folded) {
        rc = ngx_live_shop_journal_replace(path, (u_char *) folded, len, 1,
                                           log);
        free(folded);

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }
    }

    if (ngx_delete_file(fold) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: " ngx_delete_file_n " \"%s\" failed", fold);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "live_shop: \"%s\" folded into \"%s\"", fold, path);

    return NGX_OK;
}


/* Writes a new file whole (durably with sync); deleted on failure */

static ngx_int_t
ngx_live_shop_journal_create(u_char *path, u_char *data, size_t len,
    ngx_uint_t sync, ngx_log_t *log)
{
    ngx_fd_t  fd;

    fd = ngx_open_file(path, NGX_FILE_WRONLY, NGX_FILE_TRUNCATE,
                       NGX_FILE_DEFAULT_ACCESS);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: " ngx_open_file_n " \"%s\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_live_shop_journal_write(fd, data, len) != NGX_OK
        || (sync && fdatasync(fd) == -1))
    {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: writing \"%s\" failed", path);
        ngx_close_file(fd);
        ngx_delete_file(path);
        return NGX_ERROR;
    }

    ngx_close_file(fd);

    return NGX_OK;
}


/* Writes a file whole as PATH.new, then renames it into place */

static ngx_int_t
ngx_live_shop_journal_replace(u_char *path, u_char *data, size_t len,
    ngx_uint_t sync, ngx_log_t *log)
{
    u_char  tmp[NGX_MAX_PATH];

    if (ngx_snprintf(tmp, sizeof(tmp) - 1, "%s.new%Z", path)
        == tmp + sizeof(tmp) - 1
        || ngx_live_shop_journal_create(tmp, data, len, sync, log) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_rename_file(tmp, path) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                      "live_shop: " ngx_rename_file_n " \"%s\" to \"%s\" "
                      "failed", tmp, path);
        ngx_delete_file(tmp);
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_live_shop_journal_replay(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    int64_t after, lshop_state *st, lshop_replay_ops *ops, ngx_log_t *log)
{
    ngx_str_t            data;
    ngx_int_t            rc, found;
    ngx_uint_t           old;
    lshop_replay_result  result;

    found = 0;

    for (old = 2; /* void */ ; old--) {

        rc = ngx_live_shop_journal_read(lscf, stream, old, &data, log);
        if (rc == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (rc == NGX_OK
            && lshop_journal_file((char *) data.data, data.len) <= after)
        {
            ngx_free(data.data);
            rc = NGX_DECLINED;
        }

        if (rc == NGX_OK) {
            found = 1;
            ngx_memzero(&result, sizeof(lshop_replay_result));

            rc = lshop_journal_replay((char *) data.data, data.len, st, ops,
                                      &result);
            ngx_free(data.data);

            if (rc != 0) {
                return NGX_ERROR;
            }
        }

        if (old == 0) {
            break;
        }
    }

    return found ? NGX_OK : NGX_DECLINED;
}


/*
 * Catch-up. A subscriber behind what the zone keeps needs the events
 * after its seq, not the journal from its start: each file, newest first,
 * is sought (lshop_journal_seek: a few 4 KiB reads) until one reaches
 * back to that seq, and only the files so found are read, each from the
 * offset found to its end (at most 16 KiB more than needed before, and
 * what was appended after the zone's first event behind).
 */

typedef struct {
    ngx_live_shop_event_pt          handler;
    void                           *arg;
    uint64_t                        after;
} ngx_live_shop_journal_events_t;


static int64_t
ngx_live_shop_journal_pread(void *arg, char *buf, size_t len, int64_t offset)
{
    ngx_fd_t  *fd = arg;

    ssize_t  n;

    n = pread(*fd, buf, len, (off_t) offset);

    return (n == -1) ? -1 : n;
}


static int
ngx_live_shop_journal_event(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored)
{
    ngx_live_shop_journal_events_t *je = arg;

    je->after = ev->seq;
    je->handler(je->arg, ev, (u_char *) json, len);

    return 0;
}


ngx_int_t
ngx_live_shop_journal_events(ngx_live_shop_conf_t *lscf, ngx_str_t *stream,
    uint64_t after, uint64_t upto, ngx_live_shop_event_pt handler, void *arg,
    ngx_log_t *log)
{
    int                              rc;
    u_char                           path[NGX_MAX_PATH];
    size_t                           size;
    ssize_t                          n;
    int64_t                          offset[3];
    ngx_fd_t                         fd[3];
    ngx_int_t                        found;
    ngx_uint_t                       i, nfd;
    ngx_file_info_t                  fi, seen[3];
    lshop_replay_ops                 ops;
    lshop_replay_result              result;
    ngx_live_shop_journal_events_t   je;
    u_char                          *buf;

    if (lscf->journal.len == 0) {
        return NGX_DECLINED;
    }

    found = NGX_DECLINED;
    nfd = 0;

    for (i = 0; i < 3; i++) {

        if (ngx_live_shop_journal_path(lscf, stream,
                                       ngx_live_shop_journal_files[i], path,
                                       sizeof(path))
            != NGX_OK)
        {
            goto done;
        }

        fd[nfd] = ngx_open_file(path, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);

        if (fd[nfd] == NGX_INVALID_FILE) {
            if (ngx_errno == NGX_ENOENT) {
                /* .journal.1 is briefly gone while .journal.2 is made */
                continue;
            }

            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "live_shop: " ngx_open_file_n " \"%s\" failed",
                          path);
            found = NGX_ERROR;
            goto done;
        }

        if (ngx_fd_info(fd[nfd], &fi) == NGX_FILE_ERROR) {
            ngx_close_file(fd[nfd]);
            found = NGX_ERROR;
            goto done;
        }

        /* a rotation between two opens: the same file under two names */

        if (nfd && seen[nfd - 1].st_ino == fi.st_ino
            && seen[nfd - 1].st_dev == fi.st_dev)
        {
            ngx_close_file(fd[nfd]);
            continue;
        }

        seen[nfd] = fi;

        rc = lshop_journal_seek(ngx_live_shop_journal_pread, &fd[nfd],
                                (int64_t) ngx_file_size(&fi), after,
                                &offset[nfd]);
        nfd++;

        if (rc == -1) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "live_shop: reading \"%s\" failed", path);
            found = NGX_ERROR;
            goto done;
        }

        if (rc == 1) {
            break;
        }
    }

    je.handler = handler;
    je.arg = arg;
    je.after = after;

    ngx_memzero(&ops, sizeof(lshop_replay_ops));
    ops.arg = &je;
    ops.event = ngx_live_shop_journal_event;

    /* oldest first */

    while (nfd) {
        nfd--;
        found = NGX_OK;

        size = ngx_file_size(&seen[nfd]) - offset[nfd];

        buf = ngx_alloc(size + 1, log);
        if (buf == NULL) {
            nfd++;
            found = NGX_ERROR;
            goto done;
        }

        n = pread(fd[nfd], buf, size, offset[nfd]);
        ngx_close_file(fd[nfd]);

        if (n == -1) {
            ngx_log_error(NGX_LOG_CRIT, log, ngx_errno,
                          "live_shop: reading the journal of \"%V\" failed",
                          stream);
            ngx_free(buf);
            found = NGX_ERROR;
            goto done;
        }

        rc = lshop_journal_events((char *) buf, n, je.after, upto, &ops,
                                  &result);
        ngx_free(buf);

        if (rc != 0) {
            /* at upto: the rest is in the zone */
            found = (rc == 1) ? NGX_OK : NGX_ERROR;
            goto done;
        }
    }

    return found;

done:

    while (nfd) {
        ngx_close_file(fd[--nfd]);
    }

    return found;
}
