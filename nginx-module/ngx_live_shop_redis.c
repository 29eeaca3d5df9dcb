
/*
 * liveshop: a connection to Valkey or Redis (live_shop_redis) driven by
 * nginx's event loop. hiredis formats commands and parses replies; the
 * socket is an nginx connection whose read and write events call
 * hiredis, level-triggered, so a reply left in the socket is read on the
 * next turn of the loop. Timeouts are nginx timers; a lost connection is
 * made again after a backoff with jitter (100 ms doubling to 1 s), so a
 * server that comes back is used again within about a second.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_live_shop.h"


#define NGX_LIVE_SHOP_REDIS_BACKOFF_MIN  100    /* ms */
#define NGX_LIVE_SHOP_REDIS_BACKOFF_MAX  1000   /* ms */


typedef struct {
    ngx_live_shop_redis_t          *rd;
    ngx_live_shop_redis_reply_pt    handler;
    void                           *data;
} ngx_live_shop_redis_call_t;


static void ngx_live_shop_redis_connect(ngx_event_t *ev);
static void ngx_live_shop_redis_lost(ngx_live_shop_redis_t *rd,
    const char *why);
static void ngx_live_shop_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_live_shop_redis_disconnected(const redisAsyncContext *ac,
    int status);
static void ngx_live_shop_redis_ready(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_live_shop_redis_replied(redisAsyncContext *ac, void *r,
    void *data);
static void ngx_live_shop_redis_timeout(ngx_event_t *ev);
static void ngx_live_shop_redis_read(ngx_event_t *ev);
static void ngx_live_shop_redis_write(ngx_event_t *ev);
static void ngx_live_shop_redis_add_read(void *data);
static void ngx_live_shop_redis_del_read(void *data);
static void ngx_live_shop_redis_add_write(void *data);
static void ngx_live_shop_redis_del_write(void *data);
static void ngx_live_shop_redis_cleanup(void *data);


ngx_live_shop_redis_t *
ngx_live_shop_redis_open(ngx_cycle_t *cycle, const char *name,
    ngx_live_shop_redis_pt up, void *data)
{
    ngx_live_shop_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_live_shop_redis_t));
    if (rd == NULL) {
        return NULL;
    }

    rd->name = name;
    rd->up_handler = up;
    rd->data = data;
    rd->log = cycle->log;

    rd->retry.handler = ngx_live_shop_redis_connect;
    rd->retry.data = rd;
    rd->retry.log = cycle->log;
    rd->retry.cancelable = 1;

    rd->timeout.handler = ngx_live_shop_redis_timeout;
    rd->timeout.data = rd;
    rd->timeout.log = cycle->log;
    rd->timeout.cancelable = 0;   /* a worker that stops waits for replies */

    ngx_live_shop_redis_connect(&rd->retry);

    return rd;
}


void
ngx_live_shop_redis_close(ngx_live_shop_redis_t *rd)
{
    rd->closing = 1;

    if (rd->retry.timer_set) {
        ngx_del_timer(&rd->retry);
    }

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (rd->ac) {
        redisAsyncFree(rd->ac);
    }
}


static void
ngx_live_shop_redis_connect(ngx_event_t *ev)
{
    ngx_live_shop_redis_t *rd = ev->data;

    ngx_connection_t      *c;
    redisAsyncContext     *ac;
    ngx_live_shop_conf_t  *lscf;

    if (rd->closing || ngx_exiting) {
        return;
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    /* an address resolved when the configuration was read: never blocks */
    ac = redisAsyncConnect((char *) lscf->redis_host, (int) lscf->redis_port);

    if (ac == NULL || ac->err) {
        ngx_live_shop_redis_lost(rd, ac ? ac->errstr : "out of memory");

        if (ac) {
            redisAsyncFree(ac);
        }

        return;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_live_shop_redis_lost(rd, "no free connection");
        return;
    }

    c->data = rd;
    c->log = rd->log;
    c->read->log = rd->log;
    c->write->log = rd->log;
    c->read->handler = ngx_live_shop_redis_read;
    c->write->handler = ngx_live_shop_redis_write;

    rd->ac = ac;
    rd->conn = c;

    ac->data = rd;
    ac->ev.data = rd;
    ac->ev.addRead = ngx_live_shop_redis_add_read;
    ac->ev.delRead = ngx_live_shop_redis_del_read;
    ac->ev.addWrite = ngx_live_shop_redis_add_write;
    ac->ev.delWrite = ngx_live_shop_redis_del_write;
    ac->ev.cleanup = ngx_live_shop_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_live_shop_redis_connected);
    redisAsyncSetDisconnectCallback(ac, ngx_live_shop_redis_disconnected);

    /* AUTH and SELECT go first; the connection is up once they answer */

    if (lscf->redis_password.len) {
        if (lscf->redis_user.len) {
            (void) redisAsyncCommand(ac, NULL, NULL, "AUTH %b %b",
                                     lscf->redis_user.data,
                                     lscf->redis_user.len,
                                     lscf->redis_password.data,
                                     lscf->redis_password.len);
        } else {
            (void) redisAsyncCommand(ac, NULL, NULL, "AUTH %b",
                                     lscf->redis_password.data,
                                     lscf->redis_password.len);
        }
    }

    (void) redisAsyncCommand(ac, ngx_live_shop_redis_ready, rd,
                             "SELECT %d", (int) lscf->redis_db);

    ngx_add_timer(&rd->timeout, lscf->redis_timeout);
}


/* The connection failed or broke: commands wait for the next one */

static void
ngx_live_shop_redis_lost(ngx_live_shop_redis_t *rd, const char *why)
{
    ngx_msec_t             wait;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if ((rd->up || rd->backoff == 0) && !rd->closing) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "live_shop: live_shop_redis %s:%ui (%s) %s: %s; "
                      "trying again", lscf->redis_host, lscf->redis_port,
                      rd->name, rd->up ? "lost" : "unreachable", why);
    }

    rd->up = 0;
    rd->ac = NULL;

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (rd->closing || ngx_exiting || rd->retry.timer_set) {
        return;
    }

    rd->backoff = rd->backoff ? ngx_min(2 * rd->backoff,
                                        NGX_LIVE_SHOP_REDIS_BACKOFF_MAX)
                              : NGX_LIVE_SHOP_REDIS_BACKOFF_MIN;

    /* jitter: nodes that lost the server together do not return together */
    wait = rd->backoff * 3 / 4 + ngx_random() % (rd->backoff / 2 + 1);

    ngx_add_timer(&rd->retry, wait);
}


static void
ngx_live_shop_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_live_shop_redis_t *rd = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context after this */
        ngx_live_shop_redis_lost(rd, ac->errstr);
    }
}


static void
ngx_live_shop_redis_disconnected(const redisAsyncContext *ac, int status)
{
    ngx_live_shop_redis_t *rd = ac->data;

    ngx_live_shop_redis_lost(rd, status == REDIS_OK ? "closed"
                                                    : ac->errstr);
}


static void
ngx_live_shop_redis_ready(redisAsyncContext *ac, void *r, void *data)
{
    ngx_live_shop_redis_t *rd = data;

    redisReply            *reply = r;
    ngx_live_shop_conf_t  *lscf;

    if (reply == NULL) {
        return;   /* lost: said there */
    }

    if (rd->timeout.timer_set) {
        ngx_del_timer(&rd->timeout);
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "live_shop: live_shop_redis %s:%ui refused "
                      "AUTH or SELECT: %*s", lscf->redis_host,
                      lscf->redis_port, (size_t) reply->len, reply->str);

        rd->backoff = NGX_LIVE_SHOP_REDIS_BACKOFF_MAX;
        redisAsyncDisconnect(ac);
        return;
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    ngx_log_error(NGX_LOG_NOTICE, rd->log, 0,
                  "live_shop: live_shop_redis %s:%ui (%s) connected",
                  lscf->redis_host, lscf->redis_port, rd->name);

    rd->up = 1;
    rd->backoff = 0;
    rd->pending = 0;

    if (rd->up_handler) {
        rd->up_handler(rd);
    }
}


/*
 * Sends a command (argv). NGX_DECLINED while there is no connection; else
 * handler gets the reply once, or NULL if the connection is lost first or
 * the server does not answer within live_shop_redis_timeout.
 */

ngx_int_t
ngx_live_shop_redis_command(ngx_live_shop_redis_t *rd, int argc,
    const char **argv, const size_t *lens,
    ngx_live_shop_redis_reply_pt handler, void *data)
{
    ngx_live_shop_redis_call_t  *call;

    if (!rd->up || rd->ac == NULL) {
        return NGX_DECLINED;
    }

    call = ngx_alloc(sizeof(ngx_live_shop_redis_call_t), rd->log);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->rd = rd;
    call->handler = handler;
    call->data = data;

    if (redisAsyncCommandArgv(rd->ac, ngx_live_shop_redis_replied, call,
                              argc, argv, lens)
        != REDIS_OK)
    {
        ngx_free(call);
        return NGX_ERROR;
    }

    if (rd->pending++ == 0) {
        ngx_add_timer(&rd->timeout,
                  ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                      ->redis_timeout);
    }

    return NGX_OK;
}


/* SUBSCRIBE: handler gets every message of the channel, NULL once lost */

ngx_int_t
ngx_live_shop_redis_subscribe(ngx_live_shop_redis_t *rd, ngx_str_t *channel,
    ngx_live_shop_redis_reply_pt handler, void *data)
{
    if (!rd->up || rd->ac == NULL) {
        return NGX_DECLINED;
    }

    rd->message = handler;
    rd->message_data = data;

    if (redisAsyncCommand(rd->ac, ngx_live_shop_redis_replied, NULL,
                          "SUBSCRIBE %b", channel->data, channel->len)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_live_shop_redis_replied(redisAsyncContext *ac, void *r, void *data)
{
    ngx_live_shop_redis_call_t *call = data;

    ngx_live_shop_redis_t  *rd;

    if (call == NULL) {
        /* a subscription's message */
        rd = ac->data;

        if (rd->message) {
            rd->message(rd, r, rd->message_data);
        }

        return;
    }

    rd = call->rd;

    if (r == NULL) {
        rd->up = 0;   /* going: nothing more is sent on it */
    }

    if (rd->pending && --rd->pending == 0) {
        if (rd->timeout.timer_set) {
            ngx_del_timer(&rd->timeout);
        }

    } else if (r && rd->pending) {
        /* the next reply has as long again */
        ngx_add_timer(&rd->timeout,
                  ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                      ->redis_timeout);
    }

    call->handler(rd, r, call->data);

    ngx_free(call);
}


/* No answer in time: the server is as good as gone */

static void
ngx_live_shop_redis_timeout(ngx_event_t *ev)
{
    ngx_live_shop_redis_t *rd = ev->data;

    u_char              why[64];
    redisAsyncContext  *ac;

    if (rd->ac == NULL) {
        return;
    }

    (void) ngx_snprintf(why, sizeof(why), "no answer in %M ms%Z",
                        ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)
                            ->redis_timeout);

    ac = rd->ac;
    ngx_live_shop_redis_lost(rd, (char *) why);

    /* every command waiting gets NULL, now */
    redisAsyncFree(ac);
}


static void
ngx_live_shop_redis_read(ngx_event_t *ev)
{
    ngx_connection_t       *c = ev->data;
    ngx_live_shop_redis_t  *rd = c->data;

    /* the context and this connection may be gone after this */
    redisAsyncHandleRead(rd->ac);
}


static void
ngx_live_shop_redis_write(ngx_event_t *ev)
{
    ngx_connection_t       *c = ev->data;
    ngx_live_shop_redis_t  *rd = c->data;

    redisAsyncHandleWrite(rd->ac);
}


/*
 * hiredis's hooks. Events are level-triggered (flags 0): nginx's own
 * connections use edge-triggered epoll and read until EAGAIN, but
 * hiredis reads once per call.
 */

static void
ngx_live_shop_redis_add_read(void *data)
{
    ngx_live_shop_redis_t *rd = data;

    if (rd->conn && !rd->conn->read->active) {
        (void) ngx_add_event(rd->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_live_shop_redis_del_read(void *data)
{
    ngx_live_shop_redis_t *rd = data;

    if (rd->conn && rd->conn->read->active) {
        (void) ngx_del_event(rd->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_live_shop_redis_add_write(void *data)
{
    ngx_live_shop_redis_t *rd = data;

    if (rd->conn && !rd->conn->write->active) {
        (void) ngx_add_event(rd->conn->write, NGX_WRITE_EVENT,
                             NGX_LEVEL_EVENT);
    }
}


static void
ngx_live_shop_redis_del_write(void *data)
{
    ngx_live_shop_redis_t *rd = data;

    if (rd->conn && rd->conn->write->active) {
        (void) ngx_del_event(rd->conn->write, NGX_WRITE_EVENT,
                             NGX_LEVEL_EVENT);
    }
}


/* hiredis is about to close the socket: nginx lets go of it first */

static void
ngx_live_shop_redis_cleanup(void *data)
{
    ngx_live_shop_redis_t *rd = data;

    ngx_connection_t  *c;

    c = rd->conn;

    if (c == NULL) {
        return;
    }

    ngx_live_shop_redis_del_read(rd);
    ngx_live_shop_redis_del_write(rd);

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;   /* hiredis closes it */
    ngx_free_connection(c);

    rd->conn = NULL;
}
