
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
 *
 * A stream's log is bounded as its journal is: once it has grown by
 * live_shop_journal_max_size since its base, the node whose append
 * crossed that folds it into a new base (a ledger of the report's
 * totals and the last 7 days' order keys, and a checkpoint); the log
 * keeps the batches since the previous base, so that a node a little
 * behind reads on, and a node further behind (or new) starts from the
 * base.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_live_shop.h"


#define NGX_LIVE_SHOP_CLUSTER_CHUNK       1000   /* batches per read */
#define NGX_LIVE_SHOP_CLUSTER_GIVE_UP     5000   /* ms of a write lost
                                                    to others' appends */
#define NGX_LIVE_SHOP_CLUSTER_LEASE       5000   /* ms, of the deliveries */
#define NGX_LIVE_SHOP_CLUSTER_RENEW       1000   /* ms */
#define NGX_LIVE_SHOP_CLUSTER_BEHIND      50     /* ms, before a write is
                                                    planned again on a
                                                    stream started anew */
#define NGX_LIVE_SHOP_CLUSTER_GROUP       64     /* orders in one batch */
#define NGX_LIVE_SHOP_CLUSTER_PREFIX_MAX  64
#define NGX_LIVE_SHOP_CLUSTER_KEY_MAX                                      \
    (NGX_LIVE_SHOP_CLUSTER_PREFIX_MAX + sizeof("notified:") + LSHOP_STREAM_MAX)


typedef struct {
    ngx_queue_t                     queue;
    ngx_str_t                       stream;
    ngx_uint_t                      again;       /* woken while reading */
    uint64_t                        from;        /* the version read from */
    u_char                          name[LSHOP_STREAM_MAX + 1];
} ngx_live_shop_catchup_t;


static ngx_int_t ngx_live_shop_cluster_eval(ngx_str_t *script,
    ngx_str_t *stream, const char **keys, ngx_uint_t nkeys, ngx_str_t *args,
    ngx_uint_t nargs, ngx_live_shop_redis_reply_pt handler, void *data);
static size_t ngx_live_shop_cluster_key(u_char *key, const char *what,
    ngx_str_t *stream);
static ngx_str_t *ngx_live_shop_cluster_number(ngx_str_t *s, u_char *buf,
    uint64_t n);
static void ngx_live_shop_cluster_up(ngx_live_shop_redis_t *rd);
static void ngx_live_shop_cluster_sub_up(ngx_live_shop_redis_t *rd);
static void ngx_live_shop_cluster_members(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_cluster_woken(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_catch_up(ngx_str_t *stream);
static void ngx_live_shop_catch_up_read(ngx_live_shop_catchup_t *cu);
static void ngx_live_shop_caught_up(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static ngx_int_t ngx_live_shop_cluster_base(ngx_str_t *stream,
    redisReply *base);
static void ngx_live_shop_cluster_apply(ngx_str_t *stream,
    uint64_t version, redisReply *batches);
static void ngx_live_shop_cluster_next(void);
static void ngx_live_shop_cluster_group(ngx_live_shop_write_t *w);
static void ngx_live_shop_cluster_attempt(ngx_live_shop_write_t *w);
static void ngx_live_shop_cluster_retry(ngx_event_t *ev);
static void ngx_live_shop_cluster_appended(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_cluster_unavailable(ngx_live_shop_write_t *w,
    const char *why);
static void ngx_live_shop_cluster_finish(ngx_live_shop_write_t *w,
    ngx_int_t rc);
static void ngx_live_shop_write_free(ngx_live_shop_write_t *w);
static ngx_uint_t ngx_live_shop_write_is(ngx_live_shop_write_t *w,
    ngx_live_shop_write_e kind, ngx_str_t *stream);
static void ngx_live_shop_fold_start(ngx_str_t *stream);
static void ngx_live_shop_fold_read(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_fold_written(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_lease_renew(ngx_event_t *ev);
static void ngx_live_shop_lease_renewed(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_lease_cursors(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);
static void ngx_live_shop_lease_lost(const char *why);
static void ngx_live_shop_cluster_ignored(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);


/*
 * A stream's keys: PREFIX version:S (batches ever appended), log:S (the
 * batches after its "first"), base:S (a hash: "version", "ledger" and
 * "checkpoint" of the base a node behind the log starts from; "first";
 * "bytes" appended since the base). And PREFIX streams (a set of their
 * names), wake (the channel), notify (the deliveries' lease), notified:S
 * (a stream's cursor of deliveries).
 *
 * The append: KEYS version, log, streams, base; ARGV the version planned
 * on, stream, batch, channel, chunk. It compares and appends, nothing
 * else. {1, version, bytes}: appended; {0, version, batches}: the batches
 * after the one planned on; {2, version}: those are gone (trimmed), the
 * node starts from the base.
 */

static ngx_str_t  ngx_live_shop_cluster_append = ngx_string(
    "local v = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local at = tonumber(ARGV[1])\n"
    "if v ~= at then\n"
    "  local first = tonumber(redis.call('HGET', KEYS[4], 'first') or '0')\n"
    "  if at < first then return {2, v} end\n"
    "  return {0, v, redis.call('LRANGE', KEYS[2], at - first,"
    " at - first + tonumber(ARGV[5]) - 1)}\n"
    "end\n"
    "redis.call('RPUSH', KEYS[2], ARGV[3])\n"
    "redis.call('SET', KEYS[1], v + 1)\n"
    "redis.call('SADD', KEYS[3], ARGV[2])\n"
    "redis.call('PUBLISH', ARGV[4], ARGV[2] .. ' ' .. (v + 1))\n"
    "return {1, v + 1, redis.call('HINCRBY', KEYS[4], 'bytes', #ARGV[3])}\n");

static const char  *ngx_live_shop_cluster_append_keys[] = {
    "version:", "log:", "streams", "base:"
};


/*
 * A read of ARGV[2] batches from version ARGV[1] on: KEYS log, base.
 * {0, batches}, or {1, {version, ledger, checkpoint}}: they are gone,
 * start from the base.
 */

static ngx_str_t  ngx_live_shop_cluster_read = ngx_string(
    "local first = tonumber(redis.call('HGET', KEYS[2], 'first') or '0')\n"
    "local from = tonumber(ARGV[1])\n"
    "if from < first then\n"
    "  return {1, redis.call('HMGET', KEYS[2], 'version', 'ledger',"
    " 'checkpoint')}\n"
    "end\n"
    "return {0, redis.call('LRANGE', KEYS[1], from - first,"
    " from - first + tonumber(ARGV[2]) - 1)}\n");

static const char  *ngx_live_shop_cluster_read_keys[] = { "log:", "base:" };


/*
 * The log to fold into a new base: KEYS version, log, base. {version,
 * base version, ledger, checkpoint, the batches after the base}.
 */

static ngx_str_t  ngx_live_shop_cluster_fold_read = ngx_string(
    "local first = tonumber(redis.call('HGET', KEYS[3], 'first') or '0')\n"
    "local b = redis.call('HMGET', KEYS[3], 'version', 'ledger',"
    " 'checkpoint')\n"
    "local bv = tonumber(b[1] or '0')\n"
    "return {tonumber(redis.call('GET', KEYS[1]) or '0'), bv, b[2] or '',"
    " b[3] or '', redis.call('LRANGE', KEYS[2], bv - first, -1)}\n");

/*
 * The new base at ARGV[1], if nothing was appended since and the base is
 * still ARGV[2]; the log keeps the batches after the old base, for the
 * nodes a little behind. KEYS version, log, base; ARGV version, old base
 * version, ledger, checkpoint.
 */

static ngx_str_t  ngx_live_shop_cluster_fold_write = ngx_string(
    "if tonumber(redis.call('GET', KEYS[1]) or '0') ~= tonumber(ARGV[1])"
    " then return 0 end\n"
    "local bv = tonumber(redis.call('HGET', KEYS[3], 'version') or '0')\n"
    "if bv ~= tonumber(ARGV[2]) then return 0 end\n"
    "local first = tonumber(redis.call('HGET', KEYS[3], 'first') or '0')\n"
    "redis.call('LTRIM', KEYS[2], bv - first, -1)\n"
    "redis.call('HSET', KEYS[3], 'first', bv, 'version', ARGV[1],"
    " 'ledger', ARGV[3], 'checkpoint', ARGV[4], 'bytes', 0)\n"
    "return 1\n");

static const char  *ngx_live_shop_cluster_fold_keys[] = {
    "version:", "log:", "base:"
};


/* The deliveries' lease: KEYS lease; ARGV this node, ms. 2: just taken */

static ngx_str_t  ngx_live_shop_cluster_lease = ngx_string(
    "local h = redis.call('GET', KEYS[1])\n"
    "if h == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "if not h then\n"
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
    "  return 2\n"
    "end\n"
    "return 0\n");

static const char  *ngx_live_shop_cluster_lease_keys[] = { "notify" };


/* Every stream's cursor: KEYS streams; ARGV the cursors' key prefix */

static ngx_str_t  ngx_live_shop_cluster_cursors = ngx_string(
    "local out = {}\n"
    "for _, s in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  out[#out + 1] = s\n"
    "  out[#out + 1] = redis.call('GET', ARGV[1] .. s) or '0'\n"
    "end\n"
    "return out\n");

static const char  *ngx_live_shop_cluster_cursors_keys[] = { "streams" };


/* A cursor moved, by the lease's holder only: KEYS lease, cursor */

static ngx_str_t  ngx_live_shop_cluster_cursor = ngx_string(
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  redis.call('SET', KEYS[2], ARGV[2])\n"
    "  return 1\n"
    "end\n"
    "return 0\n");

static const char  *ngx_live_shop_cluster_cursor_keys[] = {
    "notify", "notified:"
};


static ngx_live_shop_redis_t    *ngx_live_shop_cluster_cmd;
static ngx_live_shop_redis_t    *ngx_live_shop_cluster_sub;
static ngx_queue_t               ngx_live_shop_cluster_writes;
static ngx_live_shop_write_t    *ngx_live_shop_cluster_busy;
static ngx_event_t               ngx_live_shop_cluster_behind;
static ngx_queue_t               ngx_live_shop_catchups;

/* this worker's fold of a stream's log into a new base, one at a time */
static u_char                    ngx_live_shop_folding[LSHOP_STREAM_MAX + 1];
static ngx_str_t                 ngx_live_shop_fold_stream;

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

            if (lscf->redis_prefix.len > NGX_LIVE_SHOP_CLUSTER_PREFIX_MAX) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"%V\": a prefix of at most %d "
                                   "characters", &value[i],
                                   NGX_LIVE_SHOP_CLUSTER_PREFIX_MAX);
                return NGX_CONF_ERROR;
            }

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

    ngx_live_shop_cluster_behind.handler = ngx_live_shop_cluster_retry;
    ngx_live_shop_cluster_behind.log = cycle->log;

    ngx_live_shop_cluster_cmd = ngx_live_shop_redis_open(cycle, "commands",
                                              ngx_live_shop_cluster_up, NULL);
    if (ngx_live_shop_cluster_cmd == NULL) {
        return NGX_ERROR;
    }

    if (ngx_worker != 0) {
        return NGX_OK;
    }

    ngx_live_shop_cluster_sub = ngx_live_shop_redis_open(cycle, "wake-ups",
                                          ngx_live_shop_cluster_sub_up, NULL);
    if (ngx_live_shop_cluster_sub == NULL) {
        return NGX_ERROR;
    }

    if (ngx_live_shop_get_conf(cycle)->notify.url.len) {
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


/*
 * EVAL of a script on keys (names as ngx_live_shop_cluster_key takes
 * them, of stream) and args, on this worker's connection
 */

static ngx_int_t
ngx_live_shop_cluster_eval(ngx_str_t *script, ngx_str_t *stream,
    const char **keys, ngx_uint_t nkeys, ngx_str_t *args, ngx_uint_t nargs,
    ngx_live_shop_redis_reply_pt handler, void *data)
{
    u_char       names[4][NGX_LIVE_SHOP_CLUSTER_KEY_MAX], n[NGX_INT_T_LEN];
    size_t       lens[3 + 4 + 8];
    ngx_uint_t   i;
    const char  *argv[3 + 4 + 8];

    if (nkeys > 4 || nargs > 8 || ngx_live_shop_cluster_cmd == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    lens[0] = sizeof("EVAL") - 1;
    argv[1] = (char *) script->data;
    lens[1] = script->len;
    argv[2] = (char *) n;
    lens[2] = ngx_sprintf(n, "%ui", nkeys) - n;

    for (i = 0; i < nkeys; i++) {
        argv[3 + i] = (char *) names[i];
        lens[3 + i] = ngx_live_shop_cluster_key(names[i], keys[i], stream);
    }

    for (i = 0; i < nargs; i++) {
        argv[3 + nkeys + i] = (char *) args[i].data;
        lens[3 + nkeys + i] = args[i].len;
    }

    return ngx_live_shop_redis_command(ngx_live_shop_cluster_cmd,
                                       3 + nkeys + nargs, argv, lens,
                                       handler, data);
}


/* PREFIX + what, and the stream's name when what ends with ":" */

static size_t
ngx_live_shop_cluster_key(u_char *key, const char *what, ngx_str_t *stream)
{
    u_char                *p;
    size_t                 len;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    len = ngx_strlen(what);

    p = ngx_cpymem(key, lscf->redis_prefix.data, lscf->redis_prefix.len);
    p = ngx_cpymem(p, what, len);

    if (len && what[len - 1] == ':' && stream) {
        p = ngx_cpymem(p, stream->data, stream->len);
    }

    return p - key;
}


static ngx_str_t *
ngx_live_shop_cluster_number(ngx_str_t *s, u_char *buf, uint64_t n)
{
    s->data = buf;
    s->len = ngx_sprintf(buf, "%uL", n) - buf;

    return s;
}


/* Commands can go again: worker 0 reads every stream's log anew */

static void
ngx_live_shop_cluster_up(ngx_live_shop_redis_t *rd)
{
    u_char       key[NGX_LIVE_SHOP_CLUSTER_KEY_MAX];
    size_t       lens[2];
    const char  *argv[2];

    if (ngx_worker != 0) {
        return;
    }

    argv[0] = "SMEMBERS";
    lens[0] = sizeof("SMEMBERS") - 1;
    argv[1] = (char *) key;
    lens[1] = ngx_live_shop_cluster_key(key, "streams", NULL);

    (void) ngx_live_shop_redis_command(rd, 2, argv, lens,
                                       ngx_live_shop_cluster_members, NULL);
}


static void
ngx_live_shop_cluster_sub_up(ngx_live_shop_redis_t *rd)
{
    u_char     key[NGX_LIVE_SHOP_CLUSTER_KEY_MAX];
    ngx_str_t  channel;

    channel.data = key;
    channel.len = ngx_live_shop_cluster_key(key, "wake", NULL);

    (void) ngx_live_shop_redis_subscribe(rd, &channel,
                                         ngx_live_shop_cluster_woken, NULL);

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

    space = ngx_strlchr((u_char *) msg->str, (u_char *) msg->str + msg->len,
                        ' ');
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
    u_char      from[NGX_INT64_LEN], chunk[NGX_INT64_LEN];
    ngx_str_t   args[2];

    cu->again = 0;
    cu->from = ngx_live_shop_version(
                             ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                             &cu->stream);

    (void) ngx_live_shop_cluster_number(&args[0], from, cu->from);
    (void) ngx_live_shop_cluster_number(&args[1], chunk,
                                        NGX_LIVE_SHOP_CLUSTER_CHUNK);

    if (ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_read, &cu->stream,
                                   ngx_live_shop_cluster_read_keys, 2, args,
                                   2, ngx_live_shop_caught_up, cu)
        != NGX_OK)
    {
        /* the next connection reads every stream again */
        ngx_queue_remove(&cu->queue);
        ngx_free(cu);
    }
}


static void
ngx_live_shop_caught_up(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_live_shop_catchup_t *cu = data;

    ngx_uint_t   more;
    redisReply  *got;

    more = 0;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && reply->element[0]->type == REDIS_REPLY_INTEGER
        && reply->element[1]->type == REDIS_REPLY_ARRAY)
    {
        got = reply->element[1];

        if (reply->element[0]->integer == 1) {
            /* behind what the log holds: from its base, then the rest */
            more = (ngx_live_shop_cluster_base(&cu->stream, got) == NGX_OK);

        } else {
            ngx_live_shop_cluster_apply(&cu->stream, cu->from, got);

            more = (got->elements == NGX_LIVE_SHOP_CLUSTER_CHUNK);
        }

        more = more || cu->again;
    }

    if (more && rd->up) {
        ngx_live_shop_catch_up_read(cu);
        return;
    }

    ngx_queue_remove(&cu->queue);
    ngx_free(cu);
}


/* The base a read returned: {version, ledger, checkpoint} */

static ngx_int_t
ngx_live_shop_cluster_base(ngx_str_t *stream, redisReply *base)
{
    ngx_int_t   version, rc;
    ngx_str_t   ledger, checkpoint;

    if (base->elements != 3
        || base->element[0]->type != REDIS_REPLY_STRING
        || base->element[2]->type != REDIS_REPLY_STRING)
    {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": the shared log has no base where "
                      "it should", stream);
        return NGX_ERROR;
    }

    version = ngx_atoi((u_char *) base->element[0]->str,
                       base->element[0]->len);
    if (version == NGX_ERROR) {
        return NGX_ERROR;
    }

    ngx_str_null(&ledger);

    if (base->element[1]->type == REDIS_REPLY_STRING) {
        ledger.data = (u_char *) base->element[1]->str;
        ledger.len = base->element[1]->len;
    }

    checkpoint.data = (u_char *) base->element[2]->str;
    checkpoint.len = base->element[2]->len;

    rc = ngx_live_shop_load_base(
                             ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                             stream, (uint64_t) version, &ledger, &checkpoint);

    return rc == NGX_ERROR ? NGX_ERROR : NGX_OK;
}


/*
 * Applies batches read from the log, the first being the one after
 * version; those this node has already are passed over (each applied
 * rings the workers: ngx_live_shop_apply).
 */

static void
ngx_live_shop_cluster_apply(ngx_str_t *stream, uint64_t version,
    redisReply *batches)
{
    size_t                i;
    ngx_int_t             rc;
    redisReply           *b;
    ngx_live_shop_shm_t  *shm;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

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

        if (rc != NGX_OK && rc != NGX_DECLINED) {
            break;
        }
    }
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
    ngx_queue_init(&w->group);

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

    if (w->line.data) {
        free(w->line.data);     /* made by the core's allocator */
    }

    ngx_free(w);
}


static ngx_uint_t
ngx_live_shop_write_is(ngx_live_shop_write_t *w, ngx_live_shop_write_e kind,
    ngx_str_t *stream)
{
    return w->kind == kind && w->stream.len == stream->len
           && ngx_strncmp(w->name, stream->data, stream->len) == 0;
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

    if (!w->flying) {
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
    w->flying = 1;
    w->since = ngx_current_msec;
    ngx_live_shop_cluster_busy = w;

    ngx_live_shop_cluster_attempt(w);
}


/*
 * The orders of w's stream waiting behind it go in its batch: under a
 * rush, one append carries what would be as many appends racing.
 */

static void
ngx_live_shop_cluster_group(ngx_live_shop_write_t *w)
{
    ngx_uint_t              n;
    ngx_queue_t            *q, *next;
    ngx_live_shop_write_t  *x;

    n = 1;

    for (q = ngx_queue_head(&w->group);
         q != ngx_queue_sentinel(&w->group);
         q = ngx_queue_next(q))
    {
        n++;
    }

    for (q = ngx_queue_head(&ngx_live_shop_cluster_writes);
         q != ngx_queue_sentinel(&ngx_live_shop_cluster_writes)
         && n < NGX_LIVE_SHOP_CLUSTER_GROUP;
         q = next)
    {
        next = ngx_queue_next(q);
        x = ngx_queue_data(q, ngx_live_shop_write_t, queue);

        if (!ngx_live_shop_write_is(x, NGX_LIVE_SHOP_WRITE_ORDER,
                                    &w->stream))
        {
            continue;
        }

        ngx_queue_remove(q);
        ngx_queue_insert_tail(&w->group, q);
        x->flying = 1;
        n++;
    }
}


static void
ngx_live_shop_cluster_attempt(ngx_live_shop_write_t *w)
{
    u_char                 version[NGX_INT64_LEN], chunk[NGX_INT64_LEN];
    u_char                 wake[NGX_LIVE_SHOP_CLUSTER_KEY_MAX];
    ngx_int_t              rc;
    ngx_str_t              args[5];
    ngx_live_shop_shm_t   *shm;

    if (w->cancelled && ngx_queue_empty(&w->group)) {
        /* not written, and none rides with it: it may be dropped */
        ngx_live_shop_cluster_finish(w, NGX_OK);
        return;
    }

    if (ngx_current_msec - w->since > NGX_LIVE_SHOP_CLUSTER_GIVE_UP) {
        ngx_live_shop_cluster_unavailable(w, "other writes to this stream "
                                          "came first for too long");
        return;
    }

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_append_turn(shm, &w->stream, 1) == NGX_BUSY) {
        /* another worker of this node is appending: plan after its batch */
        ngx_add_timer(&ngx_live_shop_cluster_behind, 1);
        return;
    }

    if (w->kind == NGX_LIVE_SHOP_WRITE_ORDER) {
        /* and the orders that came meanwhile ride along */
        ngx_live_shop_cluster_group(w);
    }

    w->attempts++;

    rc = ngx_live_shop_plan(shm, w);

    if (rc != NGX_OK) {
        (void) ngx_live_shop_append_turn(shm, &w->stream, 0);
    }

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

    (void) ngx_live_shop_cluster_number(&args[0], version, w->version);
    args[1] = w->stream;
    args[2].data = w->batch;
    args[2].len = w->len;
    args[3].data = wake;
    args[3].len = ngx_live_shop_cluster_key(wake, "wake", NULL);
    (void) ngx_live_shop_cluster_number(&args[4], chunk,
                                        NGX_LIVE_SHOP_CLUSTER_CHUNK);

    if (ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_append, &w->stream,
                                   ngx_live_shop_cluster_append_keys, 4,
                                   args, 5, ngx_live_shop_cluster_appended,
                                   w)
        != NGX_OK)
    {
        (void) ngx_live_shop_append_turn(shm, &w->stream, 0);
        ngx_live_shop_cluster_unavailable(w, "not connected");
    }
}


/* The busy write, planned again once its stream started from the base */

static void
ngx_live_shop_cluster_retry(ngx_event_t *ev)
{
    if (ngx_live_shop_cluster_busy) {
        ngx_live_shop_cluster_attempt(ngx_live_shop_cluster_busy);
    }
}


static void
ngx_live_shop_cluster_appended(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_live_shop_write_t *w = data;

    ngx_live_shop_shm_t   *shm;
    ngx_live_shop_conf_t  *lscf;

    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    /* the node's other workers may append once this batch is applied */
    (void) ngx_live_shop_append_turn(shm, &w->stream, 0);

    if (reply == NULL) {
        /* the server may have appended it before it went: unknowable */
        ngx_live_shop_cluster_unavailable(w, "the connection was lost "
                                          "before the server answered, so "
                                          "it may have been taken (an order "
                                          "sent again is then a duplicate)");
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

    switch (reply->element[0]->integer) {

    case 1:
        /* appended: this node applies it like any batch of the log */
        (void) ngx_live_shop_apply(shm, &w->stream, w->version, w->batch,
                                   w->len);

        lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

        if (reply->elements == 3
            && reply->element[2]->type == REDIS_REPLY_INTEGER
            && reply->element[2]->integer >= lscf->journal_max_size)
        {
            ngx_live_shop_fold_start(&w->stream);
        }

        ngx_live_shop_cluster_finish(w, NGX_OK);
        return;

    case 2:
        /* this node is behind what the log holds: from the base, later */
        ngx_live_shop_catch_up(&w->stream);
        ngx_add_timer(&ngx_live_shop_cluster_behind,
                      NGX_LIVE_SHOP_CLUSTER_BEHIND);
        return;
    }

    if (reply->element[1]->type == REDIS_REPLY_INTEGER
        && (uint64_t) reply->element[1]->integer < w->version)
    {
        /* never counted again under seqs already given out (SPEC §3) */
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: the shared log of \"%V\" is at version "
                      "%L, behind this node's %uL: the server lost writes "
                      "it had answered (see docs/cluster.md, "
                      "\"persistence\"); no more writes to it here",
                      &w->stream, reply->element[1]->integer, w->version);
        ngx_live_shop_cluster_unavailable(w, "the server is behind this "
                                          "node: it lost writes");
        return;
    }

    /* another node got there first: its batches, and plan again */

    if (reply->elements == 3
        && reply->element[2]->type == REDIS_REPLY_ARRAY)
    {
        ngx_live_shop_cluster_apply(&w->stream, w->version,
                                    reply->element[2]);
    }

    if (w->attempts < 3) {
        ngx_live_shop_cluster_attempt(w);
        return;
    }

    /* lost again: a pause of a few ms, of its own length, thins the race */
    ngx_add_timer(&ngx_live_shop_cluster_behind,
                  1 + ngx_random() % ngx_min(w->attempts, 8));
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
    ngx_queue_t            *q;
    ngx_live_shop_write_t  *x;

    /* flying while answered: a cancel then leaves them to this */

    for ( ;; ) {
        if (ngx_queue_empty(&w->group)) {
            x = w;

        } else {
            q = ngx_queue_head(&w->group);
            ngx_queue_remove(q);
            x = ngx_queue_data(q, ngx_live_shop_write_t, queue);
        }

        /* an order of a batch refused on its own (a bad item …) */
        x->rc = (x->kind == NGX_LIVE_SHOP_WRITE_ORDER && rc == NGX_OK
                 && x->planned == NGX_ERROR) ? NGX_ERROR : rc;

        if (x != w && rc != NGX_OK) {
            /* the batch's fate, said once for all its orders */
            x->err = w->err;
        }

        if (x->handler) {
            x->handler(x);
        }

        if (x == w) {
            break;
        }

        ngx_live_shop_write_free(x);
    }

    ngx_live_shop_cluster_busy = NULL;
    ngx_live_shop_write_free(w);

    ngx_live_shop_cluster_next();
}


/*
 * A stream's log has grown by live_shop_journal_max_size since its base:
 * this node folds it into a new base at the version it is at, as a
 * journal is rotated and folded into its ledger (the report's totals, the
 * order keys of the last 7 days, and a checkpoint), unless another write
 * comes first. The log then keeps the batches after the old base.
 */

static void
ngx_live_shop_fold_start(ngx_str_t *stream)
{
    if (ngx_live_shop_fold_stream.len) {
        return;   /* one at a time */
    }

    ngx_memcpy(ngx_live_shop_folding, stream->data, stream->len);
    ngx_live_shop_fold_stream.data = ngx_live_shop_folding;
    ngx_live_shop_fold_stream.len = stream->len;

    if (ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_fold_read, stream,
                                   ngx_live_shop_cluster_fold_keys, 3, NULL,
                                   0, ngx_live_shop_fold_read, NULL)
        != NGX_OK)
    {
        ngx_live_shop_fold_stream.len = 0;
    }
}


static void
ngx_live_shop_fold_read(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    u_char       *text, *p, version[NGX_INT64_LEN], old[NGX_INT64_LEN];
    char         *ledger;
    size_t        i, len, ledger_len;
    uint64_t      v, bv;
    ngx_int_t     rc;
    ngx_str_t     args[4], checkpoint, *stream;
    redisReply  **e;
    lshop_error   err;

    stream = &ngx_live_shop_fold_stream;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 5
        || reply->element[0]->type != REDIS_REPLY_INTEGER
        || reply->element[1]->type != REDIS_REPLY_INTEGER
        || reply->element[2]->type != REDIS_REPLY_STRING
        || reply->element[3]->type != REDIS_REPLY_STRING
        || reply->element[4]->type != REDIS_REPLY_ARRAY)
    {
        stream->len = 0;
        return;
    }

    e = reply->element;
    v = (uint64_t) e[0]->integer;
    bv = (uint64_t) e[1]->integer;

    /* this node at the log's version, for the checkpoint */

    ngx_live_shop_cluster_apply(stream, bv, e[4]);

    /* the base's checkpoint and the batches after it: a journal file */

    len = e[3]->len;

    for (i = 0; i < e[4]->elements; i++) {
        if (e[4]->element[i]->type != REDIS_REPLY_STRING) {
            stream->len = 0;
            return;
        }

        len += e[4]->element[i]->len;
    }

    text = ngx_alloc(len + 1, ngx_cycle->log);
    if (text == NULL) {
        stream->len = 0;
        return;
    }

    p = ngx_cpymem(text, e[3]->str, e[3]->len);

    for (i = 0; i < e[4]->elements; i++) {
        p = ngx_cpymem(p, e[4]->element[i]->str, e[4]->element[i]->len);
    }

    ledger = lshop_ledger_fold(e[2]->len ? e[2]->str : NULL, e[2]->len,
                               (char *) text, len, lshop_now_ms(),
                               &ledger_len, &err);

    rc = ledger ? ngx_live_shop_checkpoint_at(
                             ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                             stream, v,
                             lshop_journal_file((char *) text, len) + 1,
                             &checkpoint)
                : NGX_ERROR;

    ngx_free(text);

    if (ledger == NULL) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0,
                      "live_shop: \"%V\": the shared log cannot be folded, "
                      "so it grows: %s", stream, err.message);
    }

    if (rc != NGX_OK) {
        /* not at that version (any more): the next append tries again */
        free(ledger);
        stream->len = 0;
        return;
    }

    (void) ngx_live_shop_cluster_number(&args[0], version, v);
    (void) ngx_live_shop_cluster_number(&args[1], old, bv);
    args[2].data = (u_char *) ledger;
    args[2].len = ledger_len;
    args[3] = checkpoint;

    if (ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_fold_write, stream,
                                   ngx_live_shop_cluster_fold_keys, 3, args,
                                   4, ngx_live_shop_fold_written,
                                   (void *) (uintptr_t) v)
        != NGX_OK)
    {
        stream->len = 0;
    }

    free(ledger);
    free(checkpoint.data);
}


static void
ngx_live_shop_fold_written(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    uint64_t  version = (uint64_t) (uintptr_t) data;

    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "live_shop: \"%V\": the shared log folded into a new "
                      "base at version %uL", &ngx_live_shop_fold_stream,
                      version);
    }

    ngx_live_shop_fold_stream.len = 0;
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
                 && ngx_live_shop_write_is(ngx_live_shop_cluster_busy,
                                           NGX_LIVE_SHOP_WRITE_DUE,
                                           &names[i]);

        for (q = ngx_queue_head(&ngx_live_shop_cluster_writes);
             !queued && q != ngx_queue_sentinel(&ngx_live_shop_cluster_writes);
             q = ngx_queue_next(q))
        {
            queued = ngx_live_shop_write_is(
                         ngx_queue_data(q, ngx_live_shop_write_t, queue),
                         NGX_LIVE_SHOP_WRITE_DUE, &names[i]);
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
    u_char     ms[NGX_INT64_LEN];
    ngx_str_t  args[2];

    if (ngx_exiting) {
        return;
    }

    ngx_add_timer(ev, NGX_LIVE_SHOP_CLUSTER_RENEW);

    if (ngx_live_shop_delivering && !ngx_live_shop_cluster_delivers()) {
        ngx_live_shop_lease_lost("its lease ran out");
    }

    args[0] = ngx_live_shop_node_id;
    (void) ngx_live_shop_cluster_number(&args[1], ms,
                                        NGX_LIVE_SHOP_CLUSTER_LEASE);

    (void) ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_lease, NULL,
                                      ngx_live_shop_cluster_lease_keys, 1,
                                      args, 2, ngx_live_shop_lease_renewed,
                                      (void *) (uintptr_t) ngx_current_msec);
}


static void
ngx_live_shop_lease_renewed(ngx_live_shop_redis_t *rd, redisReply *reply,
    void *data)
{
    ngx_msec_t  asked = (ngx_msec_t) (uintptr_t) data;

    u_char      prefix[NGX_LIVE_SHOP_CLUSTER_KEY_MAX];
    ngx_str_t   args[1];

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

    args[0].data = prefix;
    args[0].len = ngx_live_shop_cluster_key(prefix, "notified:", NULL);

    (void) ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_cursors, NULL,
                                      ngx_live_shop_cluster_cursors_keys, 1,
                                      args, 1, ngx_live_shop_lease_cursors,
                                      NULL);
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
    u_char     value[NGX_INT64_LEN];
    ngx_str_t  args[2];

    args[0] = ngx_live_shop_node_id;
    (void) ngx_live_shop_cluster_number(&args[1], value, seq);

    (void) ngx_live_shop_cluster_eval(&ngx_live_shop_cluster_cursor, stream,
                                      ngx_live_shop_cluster_cursor_keys, 2,
                                      args, 2, ngx_live_shop_cluster_ignored,
                                      NULL);
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
