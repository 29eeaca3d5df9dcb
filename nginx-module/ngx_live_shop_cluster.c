
/*
 * liveshop: several nodes sharing their streams through Valkey or Redis
 * (live_shop_redis, SPEC §13).
 *
 * Each stream has a log there: a list of batches, each the journal lines
 * of one write (an offer put, a control call, an order, what the clock
 * made due), and its version, the number of batches. A node keeps a copy
 * of each stream in its zone and journal at some version, and:
 *
 *   - plans a write with the core's rules on its copy (ngx_live_shop_plan)
 *     and has the server append the batch only if the log is still at
 *     that version: the script compares and appends, it decides nothing.
 *     If another node got there first, the reply carries the batches this
 *     node missed; it applies them and plans again. An order is so
 *     counted once, stock never goes below 0 and seq has no gaps, on
 *     whichever node the write arrives;
 *   - applies every batch of the log in order (ngx_live_shop_apply), its
 *     own and the others', so its RTMP, HLS and SSE clients get the same
 *     events with the same seq as every other node's. Worker 0 subscribes
 *     to the wake-ups the script publishes and reads the log from its
 *     copy's version on: the log is the truth, the wake-up only a hint,
 *     and after any gap (a lost connection) every stream is read again.
 *
 * Each worker has one connection for commands and one write in flight;
 * writes wait their turn in order. Countdowns ending and timed unpins
 * are writes too, planned by worker 0 of every node: the first append
 * wins, the others find nothing due once they have its batch.
 *
 * Webhooks out (live_shop_notify) are delivered by one node at a time,
 * the one whose worker 0 holds a lease in the store (renewed every
 * second, taken over by another node within a few seconds of its
 * holder's death); the cursor of each stream's deliveries is kept there
 * too, moved only by the holder.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_live_shop.h"


#define NGX_LIVE_SHOP_CLUSTER_CHUNK     1000   /* batches per read */
#define NGX_LIVE_SHOP_CLUSTER_ATTEMPTS  100    /* plans of one write */
#define NGX_LIVE_SHOP_CLUSTER_LEASE     5000   /* ms, of the deliveries */
#define NGX_LIVE_SHOP_CLUSTER_RENEW     1000   /* ms */


typedef struct {
    ngx_queue_t                     queue;
    ngx_str_t                       stream;
    ngx_uint_t                      again;       /* woken while reading */
    uint64_t                        from;        /* the version read from */
    u_char                          name[LSHOP_STREAM_MAX + 1];
} ngx_live_shop_catchup_t;


static void ngx_live_shop_cluster_up(ngx_live_shop_redis_t *rd);
static void ngx_live_shop_cluster_sub_up(ngx_live_shop_redis_t *rd);
static void ngx_live_shop_cluster_next(void);
static void ngx_live_shop_cluster_attempt(ngx_live_shop_write_t *w);
static void ngx_live_shop_cluster_appended(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_cluster_finish(ngx_live_shop_write_t *w,
    ngx_int_t rc);
static void ngx_live_shop_cluster_unavailable(ngx_live_shop_write_t *w,
    const char *why);
static void ngx_live_shop_write_free(ngx_live_shop_write_t *w);
static ngx_uint_t ngx_live_shop_cluster_apply(ngx_str_t *stream,
    uint64_t version, redisReply *batches);
static void ngx_live_shop_catch_up(ngx_str_t *stream);
static void ngx_live_shop_catch_up_read(ngx_live_shop_catchup_t *cu);
static void ngx_live_shop_caught_up(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_cluster_members(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_cluster_woken(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static ngx_int_t ngx_live_shop_cluster_key(ngx_str_t *key, const char *what,
    ngx_str_t *stream, ngx_pool_t *pool);
static void ngx_live_shop_lease_renew(ngx_event_t *ev);
static void ngx_live_shop_lease_renewed(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_lease_cursors(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_lease_lost(const char *why);
static void ngx_live_shop_cluster_ignored(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);


/*
 * The append: KEYS version, log, streams; ARGV expected version, stream,
 * batch, channel, chunk. Compares and appends, nothing else.
 */

static const char  ngx_live_shop_cluster_append[] =
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if v ~= tonumber(ARGV[1]) then\n"
    "  return {0, v, redis.call('LRANGE', KEYS[2], ARGV[1],"
    " tonumber(ARGV[1]) + tonumber(ARGV[5]) - 1)}\n"
    "end\n"
    "redis.call('RPUSH', KEYS[2], ARGV[3])\n"
    "redis.call('SET', KEYS[1], v + 1)\n"
    "redis.call('SADD', KEYS[3], ARGV[2])\n"
    "redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. (v + 1))\n"
    "return {1, v + 1}\n";


/* The deliveries' lease: KEYS lease; ARGV this node, ms. 2: just taken */

static const char  ngx_live_shop_cluster_lease[] =
    "local h = redis.call('GET', KEYS[1])\n"
    "if h == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "if not h then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return 2\n"
    "end\n"
    "return 0\n";


/* Every stream's cursor: KEYS streams; ARGV the cursors' key prefix */

static const char  ngx_live_shop_cluster_cursors[] =
    "local out = {}\n"
    "for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  out[#out + 1] = s\n"
    "  out[#out + 1] = redis.call('GET', ARGV[1] .. s) or '0'\n"
    "end\n"
    "return out\n";


/* A cursor moved, by the lease's holder only: KEYS lease, cursor */

static const char  ngx_live_shop_cluster_cursor[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[2], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n";


static ngx_live_shop_redis_t    *ngx_live_shop_cluster_cmd;
static ngx_live_shop_redis_t    *ngx_live_shop_cluster_sub;
static ngx_queue_t               ngx_live_shop_cluster_writes;
static ngx_live_shop_write_t    *ngx_live_shop_cluster_busy;
static ngx_queue_t               ngx_live_shop_catchups;

static ngx_event_t               ngx_live_shop_lease_event;
static u_char                    ngx_live_shop_node[NGX_MAXHOSTNAMELEN + 64];
static ngx_str_t                 ngx_live_shop_node_id;
static ngx_uint_t                ngx_live_shop_delivering;
static ngx_msec_t                ngx_live_shop_lease_until;


/*
 * live_shop_redis redis://[user:password@]HOST:PORT[/DB] [prefix=P]
 * [timeout=TIME]
 */

char *
ngx_live_shop_redis_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char                *p, *at, *colon, *slash, *last;
    ngx_str_t             *value, s;
    ngx_int_t              n;
    ngx_url_t              u;
    ngx_uint_t             i;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->redis_host) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len <= sizeof("redis://") - 1
        || ngx_strncasecmp(value[1].data, (u_char *) "redis://",
                           sizeof("redis://") - 1) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" takes a redis://[user:password@]HOST:PORT"
                           "[/DB] URL, not \"%V\"", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    p = value[1].data + sizeof("redis://") - 1;
    last = value[1].data + value[1].len;

    at = ngx_strlchr(p, last, '@');

    if (at) {
        colon = ngx_strlchr(p, at, ':');

        if (colon) {
            lscf->redis_user.data = p;
            lscf->redis_user.len = colon - p;
            lscf->redis_password.data = colon + 1;
            lscf->redis_password.len = at - colon - 1;

        } else {
            lscf->redis_password.data = p;
            lscf->redis_password.len = at - p;
        }

        p = at + 1;
    }

    slash = ngx_strlchr(p, last, '/');

    if (slash) {
        n = ngx_atoi(slash + 1, last - slash - 1);

        if (slash + 1 < last && n == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid database number in \"%V\"",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        lscf->redis_db = (n == NGX_ERROR) ? 0 : (ngx_uint_t) n;
        last = slash;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url.data = p;
    u.url.len = last - p;
    u.default_port = 6379;
    u.no_resolve = 0;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s in \"%V\" of \"%V\"",
                           u.err ? u.err : "host not found", &value[1],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    /* hiredis connects to an address: the name is resolved here, once */

    lscf->redis_host = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (lscf->redis_host == NULL) {
        return NGX_CONF_ERROR;
    }

    n = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                      lscf->redis_host, NGX_SOCKADDR_STRLEN, 0);
    lscf->redis_host[n] = '\0';
    lscf->redis_port = u.port ? u.port : u.default_port;

    ngx_str_set(&lscf->redis_prefix, "liveshop:");

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "prefix=", 7) == 0) {
            lscf->redis_prefix.data = value[i].data + 7;
            lscf->redis_prefix.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            lscf->redis_timeout = ngx_parse_time(&s, 0);

            if (lscf->redis_timeout == (ngx_msec_t) NGX_ERROR
                || lscf->redis_timeout == 0)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid timeout \"%V\"", &value[i]);
                return NGX_CONF_ERROR;
            }

            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" of \"%V\" (prefix= or "
                           "timeout=)", &value[i], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (lscf->redis_timeout == 0) {
        lscf->redis_timeout = 1000;
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_live_shop_clustered(void)
{
    return ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->redis_host
           != NULL;
}


ngx_int_t
ngx_live_shop_cluster_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_live_shop_cluster_writes);
    ngx_queue_init(&ngx_live_shop_catchups);

    if (ngx_live_shop_get_conf(cycle)->redis_host == NULL
        || ngx_process != NGX_PROCESS_WORKER)
    {
        return NGX_OK;
    }

    ngx_live_shop_cluster_cmd = ngx_live_shop_redis_open(cycle, "commands",
                                              ngx_live_shop_cluster_up, NULL);
    if (ngx_live_shop_cluster_cmd == NULL) {
        return NGX_ERROR;
    }

    if (ngx_worker == 0) {
        ngx_live_shop_cluster_sub = ngx_live_shop_redis_open(cycle,
                                   "wake-ups", ngx_live_shop_cluster_sub_up,
                                   NULL);
        if (ngx_live_shop_cluster_sub == NULL) {
            return NGX_ERROR;
        }
    }

    if (ngx_worker == 0 && ngx_live_shop_get_conf(cycle)->notify.url.len) {
        /* this node in the lease: host, process, and a random number */
        ngx_live_shop_node_id.data = ngx_live_shop_node;
        ngx_live_shop_node_id.len = ngx_snprintf(ngx_live_shop_node,
                                        sizeof(ngx_live_shop_node),
                                        "%V:%P:%08xD", &cycle->hostname,
                                        ngx_pid, (uint32_t) ngx_random())
                                    - ngx_live_shop_node;

        ngx_live_shop_lease_event.handler = ngx_live_shop_lease_renew;
        ngx_live_shop_lease_event.log = cycle->log;
        ngx_live_shop_lease_event.cancelable = 1;

        ngx_add_timer(&ngx_live_shop_lease_event, 100);
    }

    return NGX_OK;
}


void
ngx_live_shop_cluster_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_live_shop_cluster_sub) {
        ngx_live_shop_redis_close(ngx_live_shop_cluster_sub);
        ngx_live_shop_cluster_sub = NULL;
    }

    if (ngx_live_shop_cluster_cmd) {
        ngx_live_shop_redis_close(ngx_live_shop_cluster_cmd);
        ngx_live_shop_cluster_cmd = NULL;
    }
}


/* Commands can go again: worker 0 reads every stream's log anew */

static void
ngx_live_shop_cluster_up(ngx_live_shop_redis_t *rd)
{
    ngx_str_t     key;
    ngx_pool_t   *pool;
    const char   *argv[2];
    size_t        lens[2];

    if (ngx_worker != 0) {
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_cluster_key(&key, "streams", NULL, pool) == NGX_OK) {
        argv[0] = "SMEMBERS";
        lens[0] = sizeof("SMEMBERS") - 1;
        argv[1] = (char *) key.data;
        lens[1] = key.len;

        (void) ngx_live_shop_redis_command(rd, 2, argv, lens,
                                           ngx_live_shop_cluster_members,
                                           NULL);
    }

    ngx_destroy_pool(pool);
}


static void
ngx_live_shop_cluster_sub_up(ngx_live_shop_redis_t *rd)
{
    ngx_str_t    channel;
    ngx_pool_t  *pool;

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_cluster_key(&channel, "wake", NULL, pool) == NGX_OK) {
        (void) ngx_live_shop_redis_subscribe(rd, &channel,
                                             ngx_live_shop_cluster_woken,
                                             NULL);
    }

    ngx_destroy_pool(pool);

    /* what was written while it was away */

    if (ngx_live_shop_cluster_cmd && ngx_live_shop_cluster_cmd->up) {
        ngx_live_shop_cluster_up(ngx_live_shop_cluster_cmd);
    }
}


static void
ngx_live_shop_cluster_members(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    size_t      i;
    ngx_str_t   stream;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        return;
    }

    for (i = 0; i < reply->elements; i++) {
        if (reply->element[i]->type != REDIS_REPLY_STRING
            || !lshop_stream_valid(reply->element[i]->str,
                                   reply->element[i]->len))
        {
            continue;
        }

        stream.data = (u_char *) reply->element[i]->str;
        stream.len = reply->element[i]->len;

        ngx_live_shop_catch_up(&stream);
    }
}


/* A wake-up: "STREAM VERSION" */

static void
ngx_live_shop_cluster_woken(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    u_char               *space;
    ngx_str_t             stream;
    ngx_int_t             version;
    redisReply           *msg;
    ngx_live_shop_shm_t  *shm;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || ngx_strcmp(reply->element[0]->str, "message") != 0)
    {
        return;
    }

    msg = reply->element[2];

    if (msg->type != REDIS_REPLY_STRING) {
        return;
    }

    space = (u_char *) ngx_strlchr((u_char *) msg->str,
                                   (u_char *) msg->str + msg->len, ' ');
    if (space == NULL) {
        return;
    }

    stream.data = (u_char *) msg->str;
    stream.len = space - stream.data;

    version = ngx_atoi(space + 1, (u_char *) msg->str + msg->len - space - 1);

    if (version == NGX_ERROR
        || !lshop_stream_valid((char *) stream.data, stream.len))
    {
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if ((uint64_t) version > ngx_live_shop_version(shm, &stream)) {
        ngx_live_shop_catch_up(&stream);
    }
}


/* Reads a stream's log from this node's version on, and applies it */

static void
ngx_live_shop_catch_up(ngx_str_t *stream)
{
    ngx_queue_t              *q;
    ngx_live_shop_catchup_t  *cu;

    for (q = ngx_queue_head(&ngx_live_shop_catchups);
         q != ngx_queue_sentinel(&ngx_live_shop_catchups);
         q = ngx_queue_next(q))
    {
        cu = ngx_queue_data(q, ngx_live_shop_catchup_t, queue);

        if (cu->stream.len == stream->len
            && ngx_strncmp(cu->stream.data, stream->data, stream->len) == 0)
        {
            cu->again = 1;
            return;
        }
    }

    cu = ngx_calloc(sizeof(ngx_live_shop_catchup_t), ngx_cycle->log);
    if (cu == NULL) {
        return;
    }

    ngx_memcpy(cu->name, stream->data, stream->len);
    cu->stream.data = cu->name;
    cu->stream.len = stream->len;

    ngx_queue_insert_tail(&ngx_live_shop_catchups, &cu->queue);

    ngx_live_shop_catch_up_read(cu);
}


static void
ngx_live_shop_catch_up_read(ngx_live_shop_catchup_t *cu)
{
    u_char               from[NGX_INT64_LEN], to[NGX_INT64_LEN];
    uint64_t             version;
    ngx_str_t            key;
    ngx_pool_t          *pool;
    const char          *argv[4];
    size_t               lens[4];
    ngx_live_shop_shm_t *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    cu->again = 0;
    version = ngx_live_shop_version(shm, &cu->stream);

    pool = ngx_create_pool(1024, ngx_cycle->log);

    if (pool == NULL
        || ngx_live_shop_cluster_key(&key, "log", &cu->stream, pool)
           != NGX_OK)
    {
        goto failed;
    }

    argv[0] = "LRANGE";
    lens[0] = sizeof("LRANGE") - 1;
    argv[1] = (char *) key.data;
    lens[1] = key.len;
    cu->from = version;

    argv[2] = (char *) from;
    lens[2] = ngx_sprintf(from, "%uL", version) - from;
    argv[3] = (char *) to;
    lens[3] = ngx_sprintf(to, "%uL",
                          version + NGX_LIVE_SHOP_CLUSTER_CHUNK - 1) - to;

    if (ngx_live_shop_redis_command(ngx_live_shop_cluster_cmd, 4, argv, lens,
                                    ngx_live_shop_caught_up, cu)
        != NGX_OK)
    {
        goto failed;
    }

    ngx_destroy_pool(pool);

    return;

failed:

    if (pool) {
        ngx_destroy_pool(pool);
    }

    /* the next connection reads every stream again */
    ngx_queue_remove(&cu->queue);
    ngx_free(cu);
}


static void
ngx_live_shop_caught_up(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_live_shop_catchup_t *cu = data;

    ngx_uint_t  more;

    more = 0;

    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        if (ngx_live_shop_cluster_apply(&cu->stream, cu->from, reply)) {
            ngx_live_shop_ring();
        }

        more = (reply->elements == NGX_LIVE_SHOP_CLUSTER_CHUNK) || cu->again;
    }

    if (more && rd->up) {
        ngx_live_shop_catch_up_read(cu);
        return;
    }

    ngx_queue_remove(&cu->queue);
    ngx_free(cu);
}


/*
 * Applies batches read from the log, the first being the one after
 * version; those this node has already are passed over. Returns the
 * number applied.
 */

static ngx_uint_t
ngx_live_shop_cluster_apply(ngx_str_t *stream, uint64_t version,
    redisReply *batches)
{
    size_t                i;
    ngx_int_t             rc;
    ngx_uint_t            applied;
    redisReply           *b;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);
    applied = 0;

    for (i = 0; i < batches->elements; i++) {
        b = batches->element[i];

        if (b->type != REDIS_REPLY_STRING) {
            ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                          "live_shop: \"%V\": batch %uL of the shared log "
                          "is not a string", stream, version + i + 1);
            break;
        }

        rc = ngx_live_shop_apply(shm, stream, version + i, (u_char *) b->str,
                                 b->len);

        if (rc == NGX_OK) {
            applied++;

        } else if (rc != NGX_DECLINED) {
            break;
        }
    }

    return applied;
}


/* Writes */

ngx_live_shop_write_t *
ngx_live_shop_write_new(ngx_live_shop_write_e kind, ngx_str_t *stream)
{
    ngx_live_shop_write_t  *w;

    if (stream->len > LSHOP_STREAM_MAX) {
        return NULL;
    }

    w = ngx_calloc(sizeof(ngx_live_shop_write_t), ngx_cycle->log);
    if (w == NULL) {
        return NULL;
    }

    w->kind = kind;
    ngx_memcpy(w->name, stream->data, stream->len);
    w->stream.data = w->name;
    w->stream.len = stream->len;

    return w;
}


static void
ngx_live_shop_write_free(ngx_live_shop_write_t *w)
{
    if (w->batch) {
        ngx_free(w->batch);
    }

    if (w->event.data) {
        ngx_free(w->event.data);
    }

    ngx_free(w);
}


/*
 * Takes a write in turn. NGX_DONE: w->handler will have its answer
 * (w->rc, and w->err, w->event, w->created or w->result), after which w
 * is freed. NGX_BUSY: the server is unreachable, nothing was written;
 * w is freed.
 */

ngx_int_t
ngx_live_shop_write(ngx_live_shop_write_t *w)
{
    if (ngx_live_shop_cluster_cmd == NULL || !ngx_live_shop_cluster_cmd->up)
    {
        ngx_live_shop_write_free(w);
        return NGX_BUSY;
    }

    ngx_queue_insert_tail(&ngx_live_shop_cluster_writes, &w->queue);

    if (ngx_live_shop_cluster_busy == NULL) {
        ngx_live_shop_cluster_next();
    }

    return NGX_DONE;
}


/* The request waiting for w is gone: its write goes on, unanswered */

void
ngx_live_shop_write_cancel(void *data)
{
    ngx_live_shop_write_t *w = data;

    w->handler = NULL;
    w->cancelled = 1;

    if (w != ngx_live_shop_cluster_busy) {
        ngx_queue_remove(&w->queue);
        ngx_live_shop_write_free(w);
    }
}


static void
ngx_live_shop_cluster_next(void)
{
    ngx_queue_t            *q;
    ngx_live_shop_write_t  *w;

    if (ngx_live_shop_cluster_busy
        || ngx_queue_empty(&ngx_live_shop_cluster_writes))
    {
        return;
    }

    q = ngx_queue_head(&ngx_live_shop_cluster_writes);
    ngx_queue_remove(q);

    w = ngx_queue_data(q, ngx_live_shop_write_t, queue);
    ngx_live_shop_cluster_busy = w;

    ngx_live_shop_cluster_attempt(w);
}


static void
ngx_live_shop_cluster_attempt(ngx_live_shop_write_t *w)
{
    u_char                 version[NGX_INT64_LEN], chunk[NGX_INT64_LEN];
    ngx_int_t              rc;
    ngx_str_t              keys[4];
    ngx_pool_t            *pool;
    const char            *argv[11];
    size_t                 lens[11];
    ngx_live_shop_conf_t  *lscf;

    if (w->cancelled) {
        /* not written: it may be dropped */
        ngx_live_shop_cluster_finish(w, NGX_OK);
        return;
    }

    if (++w->attempts > NGX_LIVE_SHOP_CLUSTER_ATTEMPTS) {
        ngx_live_shop_cluster_unavailable(w, "too many other writes to "
                                          "this stream at the same time");
        return;
    }

    rc = ngx_live_shop_plan(ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                            w);

    if (rc == NGX_DONE) {
        ngx_live_shop_cluster_finish(w, NGX_OK);
        return;
    }

    if (rc != NGX_OK) {
        if (w->err.code[0] == '\0') {
            lshop_error_set(&w->err, "zone_full", "", "out of memory");
        }

        ngx_live_shop_cluster_finish(w, NGX_ERROR);
        return;
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    pool = ngx_create_pool(1024, ngx_cycle->log);

    if (pool == NULL
        || ngx_live_shop_cluster_key(&keys[0], "version", &w->stream, pool)
           != NGX_OK
        || ngx_live_shop_cluster_key(&keys[1], "log", &w->stream, pool)
           != NGX_OK
        || ngx_live_shop_cluster_key(&keys[2], "streams", NULL, pool)
           != NGX_OK
        || ngx_live_shop_cluster_key(&keys[3], "wake", NULL, pool)
           != NGX_OK)
    {
        if (pool) {
            ngx_destroy_pool(pool);
        }

        ngx_live_shop_cluster_unavailable(w, "out of memory");
        return;
    }

    argv[0] = "EVAL";
    lens[0] = sizeof("EVAL") - 1;
    argv[1] = ngx_live_shop_cluster_append;
    lens[1] = sizeof(ngx_live_shop_cluster_append) - 1;
    argv[2] = "3";
    lens[2] = 1;
    argv[3] = (char *) keys[0].data;
    lens[3] = keys[0].len;
    argv[4] = (char *) keys[1].data;
    lens[4] = keys[1].len;
    argv[5] = (char *) keys[2].data;
    lens[5] = keys[2].len;
    argv[6] = (char *) version;
    lens[6] = ngx_sprintf(version, "%uL", w->version) - version;
    argv[7] = (char *) w->stream.data;
    lens[7] = w->stream.len;
    argv[8] = (char *) w->batch;
    lens[8] = w->len;
    argv[9] = (char *) keys[3].data;
    lens[9] = keys[3].len;
    argv[10] = (char *) chunk;
    lens[10] = ngx_sprintf(chunk, "%ui", (ngx_uint_t)
                           NGX_LIVE_SHOP_CLUSTER_CHUNK) - chunk;

    rc = ngx_live_shop_redis_command(ngx_live_shop_cluster_cmd, 11, argv,
                                     lens, ngx_live_shop_cluster_appended,
                                     w);

    ngx_destroy_pool(pool);

    (void) lscf;

    if (rc != NGX_OK) {
        ngx_live_shop_cluster_unavailable(w, "not connected");
    }
}


static void
ngx_live_shop_cluster_appended(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_live_shop_write_t *w = data;

    ngx_int_t             rc;
    ngx_live_shop_shm_t  *shm;

    if (reply == NULL) {
        ngx_live_shop_cluster_unavailable(w, "the connection was lost");
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop: live_shop_redis refused a write to "
                      "\"%V\": %*s", &w->stream, (size_t) reply->len,
                      reply->str);
        ngx_live_shop_cluster_unavailable(w, "the server refused it");
        return;
    }

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
    {
        ngx_live_shop_cluster_unavailable(w, "an unexpected reply");
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (reply->element[0]->integer == 1) {
        /* appended: this node applies it like any batch of the log */
        rc = ngx_live_shop_apply(shm, &w->stream, w->version, w->batch,
                                 w->len);

        if (rc == NGX_OK) {
            ngx_live_shop_ring();
        }

        ngx_live_shop_cluster_finish(w, NGX_OK);
        return;
    }

    /* another node got there first: its batches, and plan again */

    if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_ARRAY
        && ngx_live_shop_cluster_apply(&w->stream, w->version,
                                       reply->element[2]))
    {
        ngx_live_shop_ring();
    }

    ngx_live_shop_cluster_attempt(w);
}


static void
ngx_live_shop_cluster_unavailable(ngx_live_shop_write_t *w, const char *why)
{
    lshop_error_set(&w->err, "store_unavailable", "",
                    "the shared store (live_shop_redis) did not take the "
                    "write: %s; nothing was changed, try again", why);

    ngx_live_shop_cluster_finish(w, NGX_BUSY);
}


static void
ngx_live_shop_cluster_finish(ngx_live_shop_write_t *w, ngx_int_t rc)
{
    w->rc = rc;

    /* still busy while answered: a cancel then leaves w to this */

    if (w->handler) {
        w->handler(w);
    }

    ngx_live_shop_cluster_busy = NULL;
    ngx_live_shop_write_free(w);

    ngx_live_shop_cluster_next();
}


/*
 * On worker 0's clock: what the clock has made due, as writes (one per
 * stream at a time). Every node's worker 0 does it; the first append
 * wins.
 */

void
ngx_live_shop_cluster_tick(void)
{
    int64_t                 now;
    ngx_str_t              *names;
    ngx_uint_t              i, queued;
    ngx_pool_t             *pool;
    ngx_queue_t            *q;
    ngx_array_t            *due;
    ngx_live_shop_write_t  *w;

    if (ngx_live_shop_cluster_cmd == NULL || ngx_worker != 0
        || !ngx_live_shop_cluster_cmd->up)
    {
        return;
    }

    now = lshop_now_ms();

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    due = ngx_live_shop_due(ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                            now, pool);

    names = due ? due->elts : NULL;

    for (i = 0; due && i < due->nelts; i++) {

        queued = ngx_live_shop_cluster_busy
                 && ngx_live_shop_cluster_busy->kind == NGX_LIVE_SHOP_WRITE_DUE
                 && ngx_live_shop_cluster_busy->stream.len == names[i].len
                 && ngx_strncmp(ngx_live_shop_cluster_busy->name,
                                names[i].data, names[i].len) == 0;

        for (q = ngx_queue_head(&ngx_live_shop_cluster_writes);
             !queued && q != ngx_queue_sentinel(&ngx_live_shop_cluster_writes);
             q = ngx_queue_next(q))
        {
            w = ngx_queue_data(q, ngx_live_shop_write_t, queue);

            queued = w->kind == NGX_LIVE_SHOP_WRITE_DUE
                     && w->stream.len == names[i].len
                     && ngx_strncmp(w->name, names[i].data, names[i].len)
                        == 0;
        }

        if (queued) {
            continue;
        }

        w = ngx_live_shop_write_new(NGX_LIVE_SHOP_WRITE_DUE, &names[i]);
        if (w == NULL) {
            break;
        }

        w->at_ms = now;

        if (ngx_live_shop_write(w) != NGX_DONE) {
            break;
        }
    }

    ngx_destroy_pool(pool);
}


/* PREFIX + what (+ ":" + stream), NUL-ended */

static ngx_int_t
ngx_live_shop_cluster_key(ngx_str_t *key, const char *what, ngx_str_t *stream,
    ngx_pool_t *pool)
{
    u_char                *p;
    size_t                 len;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    len = lscf->redis_prefix.len + ngx_strlen(what)
          + (stream ? 1 + stream->len : 0);

    key->data = ngx_pnalloc(pool, len + 1);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, lscf->redis_prefix.data,
                   lscf->redis_prefix.len);
    p = ngx_cpymem(p, what, ngx_strlen(what));

    if (stream) {
        *p++ = ':';
        p = ngx_cpymem(p, stream->data, stream->len);
    }

    *p = '\0';
    key->len = len;

    return NGX_OK;
}


/* Webhooks out: whether this node delivers them now */

ngx_uint_t
ngx_live_shop_cluster_delivers(void)
{
    return ngx_live_shop_delivering
           && (ngx_msec_int_t) (ngx_live_shop_lease_until - ngx_current_msec)
              > 0;
}


static void
ngx_live_shop_lease_renew(ngx_event_t *ev)
{
    u_char       ms[NGX_INT_T_LEN];
    ngx_str_t    key;
    ngx_pool_t  *pool;
    const char  *argv[6];
    size_t       lens[6];

    if (ngx_exiting) {
        return;
    }

    ngx_add_timer(ev, NGX_LIVE_SHOP_CLUSTER_RENEW);

    if (ngx_live_shop_delivering && !ngx_live_shop_cluster_delivers()) {
        ngx_live_shop_lease_lost("its lease ran out");
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_cluster_key(&key, "notify", NULL, pool) == NGX_OK) {
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = ngx_live_shop_cluster_lease;
        lens[1] = sizeof(ngx_live_shop_cluster_lease) - 1;
        argv[2] = "1";
        lens[2] = 1;
        argv[3] = (char *) key.data;
        lens[3] = key.len;
        argv[4] = (char *) ngx_live_shop_node_id.data;
        lens[4] = ngx_live_shop_node_id.len;
        argv[5] = (char *) ms;
        lens[5] = ngx_sprintf(ms, "%ui", (ngx_uint_t)
                              NGX_LIVE_SHOP_CLUSTER_LEASE) - ms;

        (void) ngx_live_shop_redis_command(ngx_live_shop_cluster_cmd, 6,
                                           argv, lens,
                                           ngx_live_shop_lease_renewed,
                                           (void *) (uintptr_t)
                                               ngx_current_msec);
    }

    ngx_destroy_pool(pool);
}


static void
ngx_live_shop_lease_renewed(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_msec_t   asked = (ngx_msec_t) (uintptr_t) data;

    ngx_str_t    key, cursors;
    ngx_pool_t  *pool;
    const char  *argv[5];
    size_t       lens[5];

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        return;   /* delivering, if so, until the lease runs out */
    }

    if (reply->integer == 0) {
        if (ngx_live_shop_delivering) {
            ngx_live_shop_lease_lost("another node holds its lease");
        }

        return;
    }

    /* counted from when it was asked for, less a renewal for safety */
    ngx_live_shop_lease_until = asked + NGX_LIVE_SHOP_CLUSTER_LEASE
                                - NGX_LIVE_SHOP_CLUSTER_RENEW;

    if (reply->integer == 1 && ngx_live_shop_delivering) {
        return;
    }

    /* taken: the cursors first, then the deliveries */

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_cluster_key(&key, "streams", NULL, pool) == NGX_OK
        && ngx_live_shop_cluster_key(&cursors, "notified:", NULL, pool)
           == NGX_OK)
    {
        argv[0] = "EVAL";
        lens[0] = 4;
        argv[1] = ngx_live_shop_cluster_cursors;
        lens[1] = sizeof(ngx_live_shop_cluster_cursors) - 1;
        argv[2] = "1";
        lens[2] = 1;
        argv[3] = (char *) key.data;
        lens[3] = key.len;
        argv[4] = (char *) cursors.data;
        lens[4] = cursors.len;

        (void) ngx_live_shop_redis_command(rd, 5, argv, lens,
                                           ngx_live_shop_lease_cursors,
                                           NULL);
    }

    ngx_destroy_pool(pool);
}


static void
ngx_live_shop_lease_cursors(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    size_t                i;
    ngx_int_t             seq;
    ngx_str_t             stream;
    ngx_live_shop_shm_t  *shm;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || ngx_live_shop_delivering)
    {
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    for (i = 0; i + 1 < reply->elements; i += 2) {
        if (reply->element[i]->type != REDIS_REPLY_STRING
            || reply->element[i + 1]->type != REDIS_REPLY_STRING
            || !lshop_stream_valid(reply->element[i]->str,
                                   reply->element[i]->len))
        {
            continue;
        }

        stream.data = (u_char *) reply->element[i]->str;
        stream.len = reply->element[i]->len;

        seq = ngx_atoi((u_char *) reply->element[i + 1]->str,
                       reply->element[i + 1]->len);

        ngx_live_shop_notified_from(shm, &stream,
                                    seq == NGX_ERROR ? 0 : (uint64_t) seq);
    }

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "live_shop: this node delivers the live_shop_notify "
                  "webhooks of the cluster (%V)", &ngx_live_shop_node_id);

    ngx_live_shop_delivering = 1;
    ngx_live_shop_notify_reset();
    ngx_live_shop_notify_kick();
}


static void
ngx_live_shop_lease_lost(const char *why)
{
    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "live_shop: this node stops delivering the "
                  "live_shop_notify webhooks: %s", why);

    ngx_live_shop_delivering = 0;
    ngx_live_shop_notify_reset();
}


/* Webhooks out: a receiver acknowledged a stream's events up to seq */

void
ngx_live_shop_cluster_notified(ngx_str_t *stream, uint64_t seq)
{
    u_char       value[NGX_INT64_LEN];
    ngx_str_t    lease, cursor;
    ngx_pool_t  *pool;
    const char  *argv[7];
    size_t       lens[7];

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_live_shop_cluster_key(&lease, "notify", NULL, pool) != NGX_OK
        || ngx_live_shop_cluster_key(&cursor, "notified", stream, pool)
           != NGX_OK)
    {
        ngx_destroy_pool(pool);
        return;
    }

    argv[0] = "EVAL";
    lens[0] = 4;
    argv[1] = ngx_live_shop_cluster_cursor;
    lens[1] = sizeof(ngx_live_shop_cluster_cursor) - 1;
    argv[2] = "2";
    lens[2] = 1;
    argv[3] = (char *) lease.data;
    lens[3] = lease.len;
    argv[4] = (char *) cursor.data;
    lens[4] = cursor.len;
    argv[5] = (char *) ngx_live_shop_node_id.data;
    lens[5] = ngx_live_shop_node_id.len;
    argv[6] = (char *) value;
    lens[6] = ngx_sprintf(value, "%uL", seq) - value;

    (void) ngx_live_shop_redis_command(ngx_live_shop_cluster_cmd, 7, argv,
                                       lens, ngx_live_shop_cluster_ignored,
                                       NULL);

    ngx_destroy_pool(pool);
}


static void
ngx_live_shop_cluster_ignored(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "live_shop: live_shop_redis: %*s",
                      (size_t) reply->len, reply->str);
    }
}
