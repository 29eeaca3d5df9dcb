
/*
 * liveshop: declarations shared by the parts of ngx_live_shop_module.so —
 * the core module (process-wide settings), the shared-memory store, the
 * HTTP module (API, HLS) and the RTMP module (cue points).
 */


#ifndef _NGX_LIVE_SHOP_H_INCLUDED_
#define _NGX_LIVE_SHOP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <hiredis/async.h>

#include <lshop/audience.h>
#include <lshop/error.h>
#include <lshop/event.h>
#include <lshop/hls.h>
#include <lshop/interaction.h>
#include <lshop/journal.h>
#include <lshop/ledger.h>
#include <lshop/offer.h>
#include <lshop/request.h>
#include <lshop/show.h>
#include <lshop/state.h>
#include <lshop/time.h>


#define NGX_LIVE_SHOP_MAX_OFFERS    1000  /* per stream catalog */
#define NGX_LIVE_SHOP_KEEP_EVENTS   128   /* recent events, for RTMP */
#define NGX_LIVE_SHOP_KEEP_RANGES   512   /* ended intervals, for HLS */
#define NGX_LIVE_SHOP_MAX_SHOWS     64    /* per stream schedule */
#define NGX_LIVE_SHOP_KEEP_SHOWS    8     /* broadcasts, for GET shows */

/* Audience (SPEC §14) */
#define NGX_LIVE_SHOP_VIEWER_TTL    30000   /* ms a viewer counts for */
#define NGX_LIVE_SHOP_MAX_VIEWERS   100000  /* per stream */
#define NGX_LIVE_SHOP_MAX_LIMITS    10000   /* beacon buckets per stream */
#define NGX_LIVE_SHOP_SAMPLE_MS     10000   /* viewers into the journal */
#define NGX_LIVE_SHOP_TALLY_MS      60000   /* a show's figures too */
#define NGX_LIVE_SHOP_TOUCH_MS      10000   /* connected viewers, again */
#define NGX_LIVE_SHOP_RECENT        65536   /* viewers a worker told of */
#define NGX_LIVE_SHOP_RECENT_MS     5000    /* ... not told again within */
#define NGX_LIVE_SHOP_AUDIENCE_MSG  5000    /* SSE audience, at most */
#define NGX_LIVE_SHOP_BEACON_RATE   5       /* per s and session; burst: */
#define NGX_LIVE_SHOP_BEACON_BURST  20
#define NGX_LIVE_SHOP_ADDRESS_RATE  50      /* per s and address */
#define NGX_LIVE_SHOP_ADDRESS_BURST 200

/* Questions and polls (SPEC §15) */
#define NGX_LIVE_SHOP_MAX_QUESTIONS 500     /* waiting, per stream */
#define NGX_LIVE_SHOP_MAX_BLOCKED   1000    /* sessions, per stream */
#define NGX_LIVE_SHOP_MAX_VOTERS    100000  /* per running poll */
#define NGX_LIVE_SHOP_MAX_ANSWERS   200     /* saved, per stream */
#define NGX_LIVE_SHOP_ASK_PERIOD    5       /* s per question and session; */
#define NGX_LIVE_SHOP_ASK_BURST     3       /* burst */
#define NGX_LIVE_SHOP_ASK_RATE      5       /* per s and address */
#define NGX_LIVE_SHOP_ASK_ADDRESS_BURST 20
#define NGX_LIVE_SHOP_VOTE_RATE     50      /* per s and address */
#define NGX_LIVE_SHOP_VOTE_BURST    400
#define NGX_LIVE_SHOP_POLL_MSG      1000    /* SSE poll, at most */


/* Process-wide settings, from the http{} directives. */

typedef struct {
    ngx_shm_zone_t                 *zone;
    ngx_str_t                       secret;
    ngx_str_t                       journal;     /* directory, or empty */
    off_t                           journal_max_size;
    ngx_flag_t                      journal_fsync;
    ngx_str_t                       locale;
    ngx_msec_t                      sse_ping;
    ngx_msec_t                      show_grace;  /* live_shop_show_grace */
    ngx_flag_t                      audience;    /* live_shop_audience */
    ngx_uint_t                      control_rate;  /* calls per 1000 s */
    ngx_uint_t                      control_burst;
    ngx_url_t                       notify;      /* live_shop_notify */
    ngx_str_t                       notify_secret;
    u_char                         *redis_host;  /* live_shop_redis: */
    ngx_uint_t                      redis_port;  /* an address, NUL-ended */
    ngx_str_t                       redis_user;
    ngx_str_t                       redis_password;
    ngx_uint_t                      redis_db;
    ngx_str_t                       redis_prefix;
    ngx_msec_t                      redis_timeout;
    ngx_fd_t                       *bells;       /* a pipe per worker */
    ngx_uint_t                      nbells;
#if (NGX_SSL)
    ngx_ssl_t                      *notify_ssl;  /* an https:// URL */
    ngx_flag_t                      notify_ssl_verify;
    ngx_str_t                       notify_ssl_trusted_certificate;
#endif
} ngx_live_shop_conf_t;


/* Shared memory: every worker sees the same streams. */

typedef struct {
    ngx_rbtree_t                    rbtree;
    ngx_rbtree_node_t               sentinel;
    ngx_atomic_t                    generation;  /* bumped on every event */
    int64_t                         next_due;    /* ms; 0: nothing due */
    ngx_queue_t                     folds;       /* streams to fold */
    ngx_queue_t                     audiences;   /* streams with an
                                                    audience */
    int64_t                         tallied_ms;  /* the last sweep */
    int64_t                         salt_day;    /* lshop_audience_day */
    uint8_t                         salt[LSHOP_SALT_LEN]; /* never stored */
} ngx_live_shop_sh_t;


typedef struct {
    ngx_live_shop_sh_t             *sh;
    ngx_slab_pool_t                *shpool;
} ngx_live_shop_shm_t;


typedef struct {
    ngx_queue_t                     queue;
    ngx_str_t                       id;
    int64_t                         stock;
    size_t                          len;
    u_char                          json[1];
} ngx_live_shop_offer_t;


typedef struct {
    ngx_queue_t                     queue;
    uint64_t                        seq;
    lshop_event_type                type;
    size_t                          len;
    u_char                          json[1];
} ngx_live_shop_event_t;


typedef struct {
    ngx_queue_t                     queue;
    lshop_event_type                type;
    uint64_t                        seq;
    int64_t                         start_ms;
    int64_t                         end_ms;      /* 0: still open */
    size_t                          len;
    u_char                          json[1];     /* the opening event */
} ngx_live_shop_range_t;


/*
 * The audience of a stream (SPEC §14): its viewers by the salted hash of
 * their session (lshop_viewer_hash), each counted for
 * NGX_LIVE_SHOP_VIEWER_TTL after it was last seen; the buckets that limit
 * beacons; and the tally of the show on air
 */

typedef struct {
    ngx_rbtree_node_t               node;        /* key: the hash */
    ngx_queue_t                     queue;       /* oldest seen first */
    int64_t                         seen_ms;
} ngx_live_shop_viewer_t;


typedef struct {
    ngx_rbtree_node_t               node;        /* key: the hash */
    ngx_queue_t                     queue;       /* oldest used first */
    lshop_bucket                    bucket;
} ngx_live_shop_limit_t;


typedef struct {
    ngx_rbtree_t                    viewers;
    ngx_rbtree_node_t               viewers_sentinel;
    ngx_queue_t                     seen;
    ngx_uint_t                      nviewers;
    ngx_rbtree_t                    limits;
    ngx_rbtree_node_t               limits_sentinel;
    ngx_queue_t                     used;
    ngx_uint_t                      nlimits;
    int64_t                         tallied_ms;
    int64_t                         sampled_ms;  /* into the journal */
    int64_t                         written_ms;
    char                            pinned[LSHOP_ID_MAX + 1]; /* since
                                                    tallied_ms */
    ngx_uint_t                      dirty;       /* since written_ms */
    lshop_audience                  tally;
} ngx_live_shop_audience_t;


/*
 * What viewers and the host say to each other on a stream (SPEC §15):
 * the questions waiting, the sessions blocked and the voters of the
 * running poll, each by the salted hash of the session (never the session
 * itself), and the saved answers and blocked words, which are journalled
 */

typedef struct {
    ngx_queue_t                     queue;       /* oldest first */
    uint64_t                        number;      /* its id: "q" NUMBER */
    uint64_t                        session;     /* the hash */
    int64_t                         at_ms;
    ngx_uint_t                      held;        /* a blocked word */
    size_t                          text_len;
    size_t                          name_len;
    u_char                          data[1];     /* text, then name */
} ngx_live_shop_question_t;


typedef struct {
    ngx_rbtree_node_t               node;        /* key: the hash */
    ngx_queue_t                     queue;       /* oldest first */
} ngx_live_shop_mark_t;                          /* blocked; voted */


typedef struct {
    ngx_queue_t                     queue;
    lshop_saved_answer              answer;
} ngx_live_shop_answer_t;


typedef struct {
    ngx_queue_t                     questions;
    ngx_uint_t                      nquestions;
    uint64_t                        asked;       /* numbers given */
    ngx_rbtree_t                    blocked;
    ngx_rbtree_node_t               blocked_sentinel;
    ngx_queue_t                     blocked_queue;
    ngx_uint_t                      nblocked;
    ngx_rbtree_t                    voters;
    ngx_rbtree_node_t               voters_sentinel;
    ngx_queue_t                     voters_queue;
    ngx_uint_t                      nvoters;
    char                            poll_id[LSHOP_ID_MAX + 1]; /* counted */
    char                            ended_id[LSHOP_ID_MAX + 1]; /* last */
    int64_t                         counts[LSHOP_POLL_OPTIONS_MAX];
    uint64_t                        votes;
    ngx_rbtree_t                    limits;      /* questions, votes */
    ngx_rbtree_node_t               limits_sentinel;
    ngx_queue_t                     used;
    ngx_uint_t                      nlimits;
    ngx_queue_t                     answers;
    ngx_uint_t                      nanswers;
    lshop_blocked_words            *words;       /* NULL: none */
} ngx_live_shop_interaction_t;


/* A broadcast of a stream, for GET shows (SPEC §14) */

typedef struct {
    lshop_show                      show;
    int64_t                         started_ms;
    int64_t                         ended_ms;    /* 0: on air */
} ngx_live_shop_broadcast_t;


/*
 * A place in a stream's journal: the file (lshop_journal_file, one up with
 * every rotation) and the size it had; places compare file first.
 */

typedef struct {
    int64_t                         file;
    off_t                           size;
} ngx_live_shop_journal_pos_t;


static ngx_inline ngx_int_t
ngx_live_shop_journal_pos_cmp(ngx_live_shop_journal_pos_t *a,
    ngx_live_shop_journal_pos_t *b)
{
    if (a->file != b->file) {
        return a->file < b->file ? -1 : 1;
    }

    return a->size < b->size ? -1 : (a->size > b->size);
}


typedef struct {
    ngx_str_node_t                  sn;          /* key: "app/name" */
    u_char                          name[LSHOP_STREAM_MAX + 1];
    lshop_state                     state;
    ngx_queue_t                     offers;
    ngx_uint_t                      noffers;
    ngx_queue_t                     events;      /* oldest first */
    ngx_uint_t                      nevents;
    ngx_queue_t                     ranges;      /* by start */
    ngx_uint_t                      nended;
    off_t                           journal_size;
    int64_t                         journal_file; /* lshop_journal_file */
    ngx_live_shop_journal_pos_t     synced;      /* on disk up to here */
    ngx_queue_t                     fold;        /* in sh->folds */
    int64_t                         fold_at;     /* ms: not before */
    unsigned                        folding:1;   /* NAME.journal.2 waits */
    ngx_rbtree_t                    seen;        /* orders, for duplicates */
    ngx_rbtree_node_t               seen_sentinel;
    ngx_queue_t                     seen_queue;  /* oldest first */
    ngx_uint_t                      nseen;
    uint64_t                        notified;    /* delivered by webhook */
    int64_t                         rate_last;   /* ms of the last call */
    ngx_int_t                       rate_excess; /* calls × 1000 waiting */
    uint64_t                        version;     /* batches of the shared
                                                    log applied here */
    ngx_pid_t                       appender;    /* the worker appending */
    int64_t                         append_until;
    lshop_show                     *shows;       /* the schedule, by id */
    ngx_uint_t                      nshows;
    ngx_live_shop_broadcast_t      *broadcasts;  /* the last, oldest first */
    ngx_uint_t                      nbroadcasts;
    int64_t                         unpublished_ms; /* publishing stopped;
                                                       0: on, or never */
    ngx_live_shop_audience_t       *audience;
    ngx_queue_t                     heard;       /* in sh->audiences */
    ngx_live_shop_interaction_t    *interaction; /* SPEC §15, or NULL */
} ngx_live_shop_stream_t;


/*
 * An order a stream has taken, by its key (lshop_order_key): kept for
 * LSHOP_ORDER_KEEP_MS, like the ledger keeps it
 */

typedef struct {
    ngx_str_node_t                  sn;
    ngx_queue_t                     queue;
    int64_t                         at_ms;
    u_char                          data[1];
} ngx_live_shop_seen_t;


typedef struct {
    ngx_uint_t                      duplicate;
    int64_t                         sold;
    int64_t                         oversold;
    ngx_uint_t                      durable;     /* on disk already */
    ngx_live_shop_journal_pos_t     journal;     /* else once synced here */
} ngx_live_shop_order_result_t;


/*
 * A group commit of a stream's journal (SPEC §9: 2xx only once on disk):
 * the files opened under the lock, fdatasync'ed in a thread; once done,
 * everything written before it began, up to upto, is on disk.
 */

typedef struct {
    ngx_live_shop_journal_pos_t     upto;
    ngx_fd_t                        fd[3];       /* .journal, .1, .2 */
    ngx_uint_t                      nfd;
    ngx_err_t                       err;         /* of a failed sync */
    ngx_uint_t                      failed;
} ngx_live_shop_journal_sync_t;


/* A copy of a stream's state taken under the lock, for answers. */

typedef struct {
    lshop_state                     state;
    lshop_stock_entry              *stock;
    ngx_uint_t                      nstock;
} ngx_live_shop_snapshot_t;


extern ngx_module_t  ngx_live_shop_module;
extern ngx_module_t  ngx_http_live_shop_module;
extern ngx_module_t  ngx_rtmp_live_shop_module;


ngx_live_shop_conf_t *ngx_live_shop_get_conf(ngx_cycle_t *cycle);
ngx_live_shop_shm_t *ngx_live_shop_get_shm(ngx_cycle_t *cycle);

char *ngx_live_shop_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* A control call on a stream's timeline, as the store carries it out. */

typedef enum {
    NGX_LIVE_SHOP_PIN,
    NGX_LIVE_SHOP_UNPIN,
    NGX_LIVE_SHOP_COUNTDOWN,
    NGX_LIVE_SHOP_STOP_COUNTDOWN,
    NGX_LIVE_SHOP_DISCLOSE,
    NGX_LIVE_SHOP_HIDE,
    NGX_LIVE_SHOP_SHOW_START,
    NGX_LIVE_SHOP_SHOW_END,
    NGX_LIVE_SHOP_QUESTION_PIN,
    NGX_LIVE_SHOP_ANSWER_PIN,
    NGX_LIVE_SHOP_QUESTION_UNPIN,
    NGX_LIVE_SHOP_POLL_START,
    NGX_LIVE_SHOP_POLL_END
} ngx_live_shop_action_e;


typedef struct {
    ngx_live_shop_action_e          action;
    int64_t                         at_ms;
    lshop_pin_request               pin;
    lshop_countdown_request         countdown;
    lshop_disclosure_request        disclosure;
    char                            show_id[LSHOP_ID_MAX + 1]; /* "": any */
    ngx_uint_t                      publish;     /* a show started by a
                                                    publish, not a call */
    char                            id[LSHOP_ID_MAX + 1]; /* a question,
                                                    answer or poll */
    char                            answer[LSHOP_QUESTION_MAX + 1];
    lshop_poll_request              poll;
} ngx_live_shop_action_t;


/*
 * Several nodes (live_shop_redis, SPEC §13): a write is planned by the
 * core on this node's copy of the stream at a version of the shared log,
 * appended there as one batch of journal lines only if the log is still
 * at that version, then applied here like any batch of the log.
 */

typedef enum {
    NGX_LIVE_SHOP_WRITE_OFFER,
    NGX_LIVE_SHOP_WRITE_ACT,
    NGX_LIVE_SHOP_WRITE_ORDER,
    NGX_LIVE_SHOP_WRITE_DUE,
    NGX_LIVE_SHOP_WRITE_SHOW,
    NGX_LIVE_SHOP_WRITE_SHOW_DELETE,
    NGX_LIVE_SHOP_WRITE_ANSWER,
    NGX_LIVE_SHOP_WRITE_ANSWER_DELETE,
    NGX_LIVE_SHOP_WRITE_WORDS
} ngx_live_shop_write_e;


typedef struct ngx_live_shop_write_s  ngx_live_shop_write_t;

typedef void (*ngx_live_shop_write_pt)(ngx_live_shop_write_t *w);

struct ngx_live_shop_write_s {
    ngx_queue_t                     queue;
    ngx_live_shop_write_e           kind;
    u_char                          name[LSHOP_STREAM_MAX + 1];
    ngx_str_t                       stream;
    int64_t                         at_ms;       /* of a purchase, a due */
    lshop_provider                  provider;
    union {
        lshop_offer                 offer;
        ngx_live_shop_action_t      act;
        lshop_order                 order;
        lshop_show                  show;        /* its id, to delete */
        lshop_saved_answer          answer;      /* its id, to delete */
    } u;

    ngx_str_t                       line;        /* a journal line made
                                                    beforehand (words) */

    uint64_t                        version;     /* planned on */
    u_char                         *batch;       /* journal lines */
    size_t                          len;
    size_t                          size;
    ngx_uint_t                      attempts;
    ngx_msec_t                      since;       /* the first attempt */

    ngx_int_t                       rc;          /* the answer: */
    lshop_error                     err;
    ngx_str_t                       event;       /* of a control call */
    ngx_uint_t                      created;     /* of an offer */
    ngx_live_shop_order_result_t    result;      /* of an order */

    ngx_live_shop_write_pt          handler;     /* NULL: none waits */
    void                           *data;

    ngx_queue_t                     group;       /* orders in its batch */
    ngx_int_t                       planned;     /* NGX_ERROR: refused */
    unsigned                        flying:1;
    unsigned                        cancelled:1;
};


/* The store; every function takes the zone's lock itself. */

ngx_int_t ngx_live_shop_put_offer(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_offer *offer, ngx_uint_t *created, lshop_error *err);
ngx_int_t ngx_live_shop_list_offers(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);
ngx_int_t ngx_live_shop_put_show(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_show *show, ngx_uint_t *created, lshop_error *err);
ngx_int_t ngx_live_shop_delete_show(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *id, lshop_error *err);
ngx_int_t ngx_live_shop_list_shows(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);
ngx_int_t ngx_live_shop_calendar(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *id, ngx_str_t *player_url,
    ngx_pool_t *pool, ngx_str_t *ics);
void ngx_live_shop_publishing(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_uint_t on);
void ngx_live_shop_on_air(ngx_str_t *stream, ngx_uint_t on);
ngx_int_t ngx_live_shop_viewers_seen(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *ids, ngx_uint_t n, int64_t *viewers);
ngx_int_t ngx_live_shop_beacon(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_beacon_request *beacon, ngx_str_t *address, lshop_error *err);
void ngx_live_shop_audience_sweep(ngx_live_shop_shm_t *shm,
    ngx_uint_t exiting);
ngx_int_t ngx_live_shop_ask(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    lshop_question_request *req, ngx_str_t *address, uint64_t *number,
    lshop_error *err);
ngx_int_t ngx_live_shop_list_questions(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);
ngx_int_t ngx_live_shop_drop_question(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *id, ngx_uint_t block, uint64_t *session,
    ngx_uint_t *removed, lshop_error *err);
ngx_int_t ngx_live_shop_vote(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_str_t *poll_id, u_char *body, size_t len, ngx_str_t *address,
    lshop_error *err);
ngx_int_t ngx_live_shop_poll_tally(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, uint64_t *seq, uint64_t *votes, ngx_pool_t *pool,
    ngx_str_t *json);
ngx_int_t ngx_live_shop_put_answer(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, lshop_saved_answer *answer, ngx_uint_t *created,
    lshop_error *err);
ngx_int_t ngx_live_shop_delete_answer(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *id, lshop_error *err);
ngx_int_t ngx_live_shop_list_answers(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);
ngx_int_t ngx_live_shop_put_words(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_str_t *line, lshop_error *err);
ngx_int_t ngx_live_shop_get_words(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);
ngx_int_t ngx_live_shop_act(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_live_shop_action_t *act, ngx_pool_t *pool, ngx_str_t *event,
    lshop_error *err);
ngx_uint_t ngx_live_shop_fire_due(ngx_live_shop_shm_t *shm, int64_t now_ms);
void ngx_live_shop_fold(ngx_live_shop_shm_t *shm);
ngx_int_t ngx_live_shop_rate(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_uint_t rate, ngx_uint_t burst, time_t *retry_after);
void ngx_live_shop_notified(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t seq);
void ngx_live_shop_notified_from(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, uint64_t seq);
void ngx_live_shop_load_all(ngx_live_shop_shm_t *shm);
ngx_int_t ngx_live_shop_order(ngx_live_shop_shm_t *shm, lshop_order *order,
    lshop_provider provider, ngx_pool_t *pool,
    ngx_live_shop_order_result_t *result, lshop_error *err);
ngx_int_t ngx_live_shop_order_sync_begin(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_live_shop_journal_pos_t *need,
    ngx_live_shop_journal_sync_t *sync, ngx_log_t *log);
void ngx_live_shop_order_sync_end(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_live_shop_journal_sync_t *sync);
ngx_int_t ngx_live_shop_snapshot(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    ngx_pool_t *pool, ngx_live_shop_snapshot_t *snap);
ngx_int_t ngx_live_shop_state_json(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json, uint64_t *seq);
ngx_int_t ngx_live_shop_ranges(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    int64_t since_ms, ngx_pool_t *pool, lshop_range **ranges,
    ngx_uint_t *nranges);
ngx_array_t *ngx_live_shop_events_after(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, uint64_t after, ngx_pool_t *pool);
uint64_t ngx_live_shop_stream_seq(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream);

ngx_int_t ngx_live_shop_plan(ngx_live_shop_shm_t *shm,
    ngx_live_shop_write_t *w);
ngx_int_t ngx_live_shop_apply(ngx_live_shop_shm_t *shm, ngx_str_t *stream,
    uint64_t version, u_char *batch, size_t len);
uint64_t ngx_live_shop_version(ngx_live_shop_shm_t *shm, ngx_str_t *stream);
ngx_int_t ngx_live_shop_append_turn(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_uint_t take);
ngx_int_t ngx_live_shop_load_base(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, uint64_t version, ngx_str_t *ledger,
    ngx_str_t *checkpoint);
ngx_int_t ngx_live_shop_checkpoint_at(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, uint64_t version, int64_t file, ngx_str_t *line);
ngx_array_t *ngx_live_shop_due(ngx_live_shop_shm_t *shm, int64_t now_ms,
    ngx_pool_t *pool);
ngx_array_t *ngx_live_shop_streams(ngx_live_shop_shm_t *shm,
    ngx_pool_t *pool);

/* The journal files (callers hold the lock for writes) */

ngx_int_t ngx_live_shop_journal_append(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, u_char *line, size_t len, off_t *size, ngx_log_t *log);
ngx_uint_t ngx_live_shop_journal_exists(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream);
ngx_int_t ngx_live_shop_journal_read(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_uint_t old, ngx_str_t *data, ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_sync_open(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_uint_t old, ngx_fd_t *fd, ngx_log_t *log);
void ngx_live_shop_journal_sync(ngx_live_shop_journal_sync_t *sync);
ngx_int_t ngx_live_shop_journal_cursor(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, uint64_t *seq, ngx_uint_t write, ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_truncate(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, off_t size, ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_rotate(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, u_char *checkpoint, size_t len, ngx_uint_t *aside,
    ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_forget(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_begin(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_str_t *ledger, ngx_str_t *checkpoint,
    ngx_log_t *log);
ngx_int_t ngx_live_shop_journal_fold(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, ngx_log_t *log);

#define NGX_LIVE_SHOP_LEDGER  3   /* the "old" of ..._journal_read() */

/*
 * Replays a stream's journal files, oldest first, but for those numbered
 * up to after (-1: none; lshop_journal_file), through ops onto st,
 * outside the zone: for SSE catch-up, webhooks out and reports.
 */
ngx_int_t ngx_live_shop_journal_replay(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, int64_t after, lshop_state *st, lshop_replay_ops *ops,
    ngx_log_t *log);

/*
 * The journalled events of a stream after "after" and before "upto",
 * oldest first (not the open intervals a checkpoint re-lists), each
 * handed to handler: how RTMP and SSE subscribers behind what the zone
 * keeps catch up, with one read for all of a stream's. Reads only the
 * part of the journal from "after" on (lshop_journal_seek), not the
 * files before it. NGX_DECLINED when there is no journal.
 */
typedef void (*ngx_live_shop_event_pt)(void *arg, const lshop_event *ev,
    u_char *json, size_t len);

ngx_int_t ngx_live_shop_journal_events(ngx_live_shop_conf_t *lscf,
    ngx_str_t *stream, uint64_t after, uint64_t upto,
    ngx_live_shop_event_pt handler, void *arg, ngx_log_t *log);

/* The connection to Valkey or Redis (ngx_live_shop_redis.c) */

typedef struct ngx_live_shop_redis_s  ngx_live_shop_redis_t;

typedef void (*ngx_live_shop_redis_pt)(ngx_live_shop_redis_t *rd);
typedef void (*ngx_live_shop_redis_reply_pt)(ngx_live_shop_redis_t *rd,
    redisReply *reply, void *data);

struct ngx_live_shop_redis_s {
    redisAsyncContext              *ac;
    ngx_connection_t               *conn;
    ngx_event_t                     retry;       /* the next connect */
    ngx_event_t                     timeout;     /* replies overdue */
    ngx_msec_t                      backoff;
    ngx_uint_t                      pending;     /* replies awaited */
    const char                     *name;        /* for the log */
    ngx_log_t                      *log;
    ngx_live_shop_redis_pt          up_handler;  /* connected (again) */
    void                           *data;
    ngx_live_shop_redis_reply_pt    message;     /* of a subscription */
    void                           *message_data;
    unsigned                        up:1;
    unsigned                        closing:1;
};

ngx_live_shop_redis_t *ngx_live_shop_redis_open(ngx_cycle_t *cycle,
    const char *name, ngx_live_shop_redis_pt up, void *data);
void ngx_live_shop_redis_close(ngx_live_shop_redis_t *rd);
ngx_int_t ngx_live_shop_redis_command(ngx_live_shop_redis_t *rd, int argc,
    const char **argv, const size_t *lens,
    ngx_live_shop_redis_reply_pt handler, void *data);
ngx_int_t ngx_live_shop_redis_subscribe(ngx_live_shop_redis_t *rd,
    ngx_str_t *channel, ngx_live_shop_redis_reply_pt handler, void *data);

/* Several nodes (ngx_live_shop_cluster.c) */

char *ngx_live_shop_redis_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_live_shop_cluster_init_process(ngx_cycle_t *cycle);
void ngx_live_shop_cluster_exit_process(ngx_cycle_t *cycle);
ngx_uint_t ngx_live_shop_clustered(void);
ngx_live_shop_write_t *ngx_live_shop_write_new(ngx_live_shop_write_e kind,
    ngx_str_t *stream);
ngx_int_t ngx_live_shop_write(ngx_live_shop_write_t *w);
void ngx_live_shop_write_cancel(void *data);
void ngx_live_shop_cluster_tick(void);
ngx_uint_t ngx_live_shop_cluster_delivers(void);
void ngx_live_shop_cluster_notified(ngx_str_t *stream, uint64_t seq);

/* Webhooks out (worker 0 delivers) */

char *ngx_live_shop_notify_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_live_shop_notify_init_conf(ngx_cycle_t *cycle,
    ngx_live_shop_conf_t *lscf);
ngx_int_t ngx_live_shop_notify_init_process(ngx_cycle_t *cycle);
void ngx_live_shop_notify_exit_process(ngx_cycle_t *cycle);
void ngx_live_shop_notify_kick(void);
void ngx_live_shop_notify_reset(void);

/*
 * A new event may be in the zone: every worker delivers it now (to its
 * RTMP and SSE subscribers, and worker 0 to live_shop_notify), not on
 * its clock.
 */
void ngx_live_shop_ring(void);

/*
 * This worker's clock: fires due events, hands new events to its RTMP and
 * SSE subscribers. Arm it again after anything that may make it due
 * sooner.
 */
void ngx_live_shop_tick_arm(void);
void ngx_live_shop_deliver(void);

/* This worker's subscribers: new events from the zone, and whether any */
void ngx_rtmp_live_shop_deliver(void);
ngx_uint_t ngx_rtmp_live_shop_listening(void);
void ngx_rtmp_live_shop_audience(void);
void ngx_http_live_shop_sse_deliver(void);
void ngx_http_live_shop_sse_keepalive(void);
void ngx_http_live_shop_sse_close_all(void);
ngx_uint_t ngx_http_live_shop_sse_listening(void);


#endif /* _NGX_LIVE_SHOP_H_INCLUDED_ */
