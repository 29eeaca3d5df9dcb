
/*
 * liveshop: the HTTP module. Directives of SPEC §4 and the HTTP API of
 * SPEC §5 under a "live_shop_api" location. The rules about offers,
 * tokens and events are the core's; this file routes requests to them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <lshop/report.h>
#include <lshop/request.h>
#include <lshop/token.h>

#include "ngx_http_live_shop.h"




typedef ngx_int_t (*ngx_http_live_shop_call_pt)(ngx_http_request_t *r,
    u_char *body, size_t len);

/* A list of the store's as JSON: ngx_live_shop_list_offers and the like */

typedef ngx_int_t (*ngx_http_live_shop_list_pt)(ngx_live_shop_shm_t *shm,
    ngx_str_t *stream, ngx_pool_t *pool, ngx_str_t *json);


typedef struct {
    ngx_str_t                       stream;      /* "app/name" */
    ngx_str_t                       id;          /* offers/ID */
    ngx_str_t                       verb;        /* questions/ID/VERB */
    ngx_http_live_shop_call_pt      call;
    ngx_live_shop_action_e          action;      /* of a control call */
} ngx_http_live_shop_ctx_t;


typedef struct {
    ngx_str_t                       resource;
    ngx_uint_t                      with_id;
    ngx_uint_t                      method;
    ngx_uint_t                      auth;
    ngx_http_live_shop_call_pt      call;
    ngx_live_shop_action_e          action;
    ngx_str_t                       verb;        /* after the id, or none */
} ngx_http_live_shop_route_t;


static ngx_int_t ngx_http_live_shop_api_handler(ngx_http_request_t *r);
static void ngx_http_live_shop_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_live_shop_route(ngx_http_request_t *r,
    ngx_http_live_shop_ctx_t *ctx, ngx_uint_t *auth, lshop_error *err);
static ngx_int_t ngx_http_live_shop_authorize(ngx_http_request_t *r,
    ngx_str_t *stream, lshop_error *err);
static ngx_int_t ngx_http_live_shop_store_error(ngx_http_request_t *r,
    lshop_error *err);
static ngx_int_t ngx_http_live_shop_send_event(ngx_http_request_t *r,
    ngx_str_t *event);
static ngx_int_t ngx_http_live_shop_put(ngx_http_request_t *r,
    ngx_live_shop_write_e kind, void *data, size_t size);
static ngx_int_t ngx_http_live_shop_send_put(ngx_http_request_t *r,
    ngx_live_shop_write_e kind, void *data, ngx_uint_t created);
static void ngx_http_live_shop_written(ngx_live_shop_write_t *w);
static void ngx_http_live_shop_write_gone(void *data);
static ngx_int_t ngx_http_live_shop_config_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w);
static ngx_int_t ngx_http_live_shop_control_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w);


typedef struct {
    ngx_http_request_t             *request;
    ngx_live_shop_write_t          *write;
    ngx_pool_cleanup_t             *cleanup;
    ngx_http_live_shop_answer_pt    answer;
} ngx_http_live_shop_wait_t;

static ngx_int_t ngx_http_live_shop_send_list(ngx_http_request_t *r,
    ngx_http_live_shop_list_pt list);
static ngx_int_t ngx_http_live_shop_put_offer(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_list_offers(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_control(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_put_show(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_delete_show(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_delete(ngx_http_request_t *r,
    ngx_live_shop_write_e kind);
static ngx_int_t ngx_http_live_shop_no_content(ngx_http_request_t *r);
static ngx_int_t ngx_http_live_shop_list_shows(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_calendar(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_player_url(ngx_http_request_t *r,
    ngx_str_t *stream, ngx_str_t *url);
static ngx_int_t ngx_http_live_shop_beacon(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_ask(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_questions(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_dismiss(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_block(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_put_words(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_get_words(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_put_answer(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_delete_answer(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_list_answers(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_vote(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_state(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_events(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_report(ngx_http_request_t *r,
    u_char *body, size_t len);
static int ngx_http_live_shop_report_offer(void *arg,
    const lshop_offer *offer, int64_t at_ms);
static int ngx_http_live_shop_report_event(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored);
static int ngx_http_live_shop_report_audience(void *arg,
    const lshop_audience *a, int full, int64_t at_ms);
static ngx_int_t ngx_http_live_shop_report_csv(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_chapters(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_commissions(ngx_http_request_t *r,
    u_char *body, size_t len);
static ngx_int_t ngx_http_live_shop_period(ngx_http_request_t *r,
    int64_t *from, int64_t *to, int *by_host, lshop_error *err);
static ngx_int_t ngx_http_live_shop_report_send(ngx_http_request_t *r,
    ngx_uint_t format);
static int ngx_http_live_shop_report_order(void *arg,
    const lshop_order *order, lshop_provider provider, int64_t at_ms);

static char *ngx_http_live_shop_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_live_shop_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_live_shop_journal_size(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_live_shop_locale(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_live_shop_control_rate(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_http_live_shop_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_live_shop_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_live_shop_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_live_shop_init(ngx_conf_t *cf);


static ngx_conf_post_handler_pt  ngx_http_live_shop_journal_size_post =
    ngx_http_live_shop_journal_size;
static ngx_conf_post_handler_pt  ngx_http_live_shop_locale_post =
    ngx_http_live_shop_locale;


/*
 * The http{} settings are process-wide, shared with the RTMP module: the
 * main configuration of this module is the core module's (live_shop).
 */

static ngx_command_t  ngx_http_live_shop_commands[] = {

    { ngx_string("live_shop_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_live_shop_zone,
      0,
      0,
      NULL },

    { ngx_string("live_shop_secret"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_live_shop_secret,
      0,
      0,
      NULL },

    { ngx_string("live_shop_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE123,
      ngx_live_shop_redis_conf,
      0,
      0,
      NULL },

    { ngx_string("live_shop_journal"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, journal),
      NULL },

    { ngx_string("live_shop_journal_max_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_off_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, journal_max_size),
      &ngx_http_live_shop_journal_size_post },

    { ngx_string("live_shop_journal_fsync"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, journal_fsync),
      NULL },

    { ngx_string("live_shop_locale"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, locale),
      &ngx_http_live_shop_locale_post },

    { ngx_string("live_shop_sse_ping"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, sse_ping),
      NULL },

    { ngx_string("live_shop_show_grace"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, show_grace),
      NULL },

    { ngx_string("live_shop_audience"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, audience),
      NULL },

    { ngx_string("live_shop_notify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_live_shop_notify_conf,
      0,
      0,
      NULL },

#if (NGX_SSL)

    { ngx_string("live_shop_notify_ssl_verify"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, notify_ssl_verify),
      NULL },

    { ngx_string("live_shop_notify_ssl_trusted_certificate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_live_shop_conf_t, notify_ssl_trusted_certificate),
      NULL },

#endif

    { ngx_string("live_shop_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_live_shop_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("live_shop_webhook"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_live_shop_webhook,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("live_shop_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_live_shop_loc_conf_t, max_body),
      NULL },

    { ngx_string("live_shop_control_rate"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_live_shop_control_rate,
      0,
      0,
      NULL },

    { ngx_string("live_shop_hls"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_live_shop_loc_conf_t, hls),
      NULL },

    { ngx_string("live_shop_player"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_live_shop_loc_conf_t, player),
      NULL },

    { ngx_string("live_shop_hls_app"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_live_shop_loc_conf_t, hls_app),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_live_shop_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_live_shop_init,               /* postconfiguration */

    ngx_http_live_shop_create_main_conf,   /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_live_shop_create_loc_conf,    /* create location configuration */
    ngx_http_live_shop_merge_loc_conf      /* merge location configuration */
};


ngx_module_t  ngx_http_live_shop_module = {
    NGX_MODULE_V1,
    &ngx_http_live_shop_module_ctx,        /* module context */
    ngx_http_live_shop_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* SPEC §5; "auth" marks control calls that need a token */

static ngx_http_live_shop_route_t  ngx_http_live_shop_routes[] = {

    { ngx_string("offers"), 1, NGX_HTTP_PUT, 1,
      ngx_http_live_shop_put_offer, 0,
      ngx_null_string },

    { ngx_string("offers"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_list_offers, 0,
      ngx_null_string },

    { ngx_string("pin"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_PIN,
      ngx_null_string },

    { ngx_string("unpin"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_UNPIN,
      ngx_null_string },

    { ngx_string("countdown"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_COUNTDOWN,
      ngx_null_string },

    { ngx_string("countdown"), 0, NGX_HTTP_DELETE, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_STOP_COUNTDOWN,
      ngx_null_string },

    { ngx_string("disclosure"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_DISCLOSE,
      ngx_null_string },

    { ngx_string("disclosure"), 0, NGX_HTTP_DELETE, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_HIDE,
      ngx_null_string },

    { ngx_string("state"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_live_shop_state, 0,
      ngx_null_string },

    { ngx_string("events"), 0, NGX_HTTP_GET, 0,
      ngx_http_live_shop_events, 0,
      ngx_null_string },

    { ngx_string("report"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_report, 0,
      ngx_null_string },

    { ngx_string("report.csv"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_report_csv, 0,
      ngx_null_string },

    { ngx_string("commissions.csv"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_commissions, 0,
      ngx_null_string },

    /* SPEC §14 */

    { ngx_string("shows"), 1, NGX_HTTP_PUT, 1,
      ngx_http_live_shop_put_show, 0,
      ngx_null_string },

    { ngx_string("shows"), 1, NGX_HTTP_DELETE, 1,
      ngx_http_live_shop_delete_show, 0,
      ngx_null_string },

    { ngx_string("shows"), 1, NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_live_shop_calendar, 0,
      ngx_null_string },

    { ngx_string("shows"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_live_shop_list_shows, 0,
      ngx_null_string },

    { ngx_string("shows.ics"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_live_shop_calendar, 0,
      ngx_null_string },

    /* SPEC §16 */

    { ngx_string("shows"), 1, NGX_HTTP_GET|NGX_HTTP_HEAD, 0,
      ngx_http_live_shop_chapters, 0,
      ngx_string("chapters.vtt") },

    { ngx_string("show"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_SHOW_START,
      ngx_null_string },

    { ngx_string("show"), 0, NGX_HTTP_DELETE, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_SHOW_END,
      ngx_null_string },

    { ngx_string("beacon"), 0, NGX_HTTP_POST, 0,
      ngx_http_live_shop_beacon, 0,
      ngx_null_string },

    /* SPEC §15 */

    { ngx_string("questions"), 0, NGX_HTTP_POST, 0,
      ngx_http_live_shop_ask, 0,
      ngx_null_string },

    { ngx_string("questions"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_questions, 0,
      ngx_null_string },

    { ngx_string("questions"), 1, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_QUESTION_PIN,
      ngx_string("pin") },

    { ngx_string("questions"), 1, NGX_HTTP_POST, 1,
      ngx_http_live_shop_dismiss, 0, ngx_string("dismiss") },

    { ngx_string("questions"), 1, NGX_HTTP_POST, 1,
      ngx_http_live_shop_block, 0, ngx_string("block") },

    { ngx_string("unpin-question"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_QUESTION_UNPIN,
      ngx_null_string },

    { ngx_string("blocked-words"), 0, NGX_HTTP_PUT, 1,
      ngx_http_live_shop_put_words, 0,
      ngx_null_string },

    { ngx_string("blocked-words"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_get_words, 0,
      ngx_null_string },

    { ngx_string("answers"), 1, NGX_HTTP_PUT, 1,
      ngx_http_live_shop_put_answer, 0,
      ngx_null_string },

    { ngx_string("answers"), 1, NGX_HTTP_DELETE, 1,
      ngx_http_live_shop_delete_answer, 0,
      ngx_null_string },

    { ngx_string("answers"), 0, NGX_HTTP_GET|NGX_HTTP_HEAD, 1,
      ngx_http_live_shop_list_answers, 0,
      ngx_null_string },

    { ngx_string("answers"), 1, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_ANSWER_PIN,
      ngx_string("pin") },

    { ngx_string("polls"), 0, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_POLL_START,
      ngx_null_string },

    { ngx_string("polls"), 1, NGX_HTTP_POST, 0,
      ngx_http_live_shop_vote, 0, ngx_string("vote") },

    { ngx_string("polls"), 1, NGX_HTTP_POST, 1,
      ngx_http_live_shop_control, NGX_LIVE_SHOP_POLL_END,
      ngx_string("end") },

    { ngx_null_string, 0, 0, 0, NULL, 0, ngx_null_string }
};


typedef struct {
    ngx_uint_t                      method;
    const char                     *name;
} ngx_http_live_shop_method_t;


static ngx_http_live_shop_method_t  ngx_http_live_shop_methods[] = {
    { NGX_HTTP_GET, "GET" },
    { NGX_HTTP_HEAD, "HEAD" },
    { NGX_HTTP_POST, "POST" },
    { NGX_HTTP_PUT, "PUT" },
    { NGX_HTTP_DELETE, "DELETE" },
    { 0, NULL }
};


static ngx_str_t  ngx_http_live_shop_json_type =
    ngx_string("application/json");


static ngx_int_t
ngx_http_live_shop_api_handler(ngx_http_request_t *r)
{
    size_t                          max;
    time_t                          retry;
    u_char                          value[NGX_TIME_T_LEN + 1];
    ngx_int_t                       rc;
    ngx_uint_t                      auth;
    lshop_error                     err;
    ngx_live_shop_conf_t           *lscf;
    ngx_http_live_shop_ctx_t       *ctx;
    ngx_http_live_shop_loc_conf_t  *lslcf;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_live_shop_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_live_shop_module);

    lshop_error_clear(&err);

    rc = ngx_http_live_shop_route(r, ctx, &auth, &err);

    if (rc == NGX_OK && auth) {
        rc = ngx_http_live_shop_authorize(r, &ctx->stream, &err);
    }

    if (rc != NGX_OK) {
        /* refused: the call is never made */
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (err.code[0] == '\0') {
            return rc;
        }

        return ngx_http_live_shop_error(r, rc, &err);
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (auth && lscf->control_rate
        && (r->method & (NGX_HTTP_PUT|NGX_HTTP_POST|NGX_HTTP_DELETE))
        && ngx_live_shop_rate(ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle),
                              &ctx->stream, lscf->control_rate,
                              lscf->control_burst, &retry)
           == NGX_BUSY)
    {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *ngx_sprintf(value, "%T", retry) = '\0';

        if (ngx_http_live_shop_add_header(r, "Retry-After", (char *) value)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        lshop_error_set(&err, "rate_limited", "",
                        "too many control calls on %.*s "
                        "(live_shop_control_rate): try again in %d s",
                        (int) ctx->stream.len, ctx->stream.data,
                        (int) retry);

        return ngx_http_live_shop_error(r, NGX_HTTP_TOO_MANY_REQUESTS, &err);
    }

    if (!(r->method & (NGX_HTTP_PUT|NGX_HTTP_POST|NGX_HTTP_DELETE))) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ctx->call(r, NULL, 0);
    }

    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    max = ngx_http_live_shop_max_body(lslcf);

    if (r->headers_in.content_length_n > (off_t) max) {
        ngx_http_discard_request_body(r);
        return ngx_http_live_shop_too_large(r, max);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_live_shop_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_live_shop_body_handler(ngx_http_request_t *r)
{
    size_t                          max;
    ngx_int_t                       rc;
    ngx_str_t                       body;
    ngx_http_live_shop_ctx_t       *ctx;
    ngx_http_live_shop_loc_conf_t  *lslcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    max = ngx_http_live_shop_max_body(lslcf);

    rc = ngx_http_live_shop_request_body(r, max, &body);

    if (rc == NGX_OK) {
        rc = ctx->call(r, body.data, body.len);

    } else if (rc == NGX_DECLINED) {
        rc = ngx_http_live_shop_too_large(r, max);

    } else {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_finalize_request(r, rc);
}


/*
 * The request body read, in one piece with a NUL after it. NGX_DECLINED
 * for a body over max, NGX_ERROR on failure; nothing is answered here.
 */

ngx_int_t
ngx_http_live_shop_request_body(ngx_http_request_t *r, size_t max,
    ngx_str_t *body)
{
    u_char       *p;
    size_t        len;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    len = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            len += ngx_buf_size(cl->buf);
        }
    }

    if (len > max) {
        return NGX_DECLINED;
    }

    body->data = ngx_pnalloc(r->pool, len + 1);
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = body->data;

    for (cl = r->request_body ? r->request_body->bufs : NULL;
         cl;
         cl = cl->next)
    {
        b = cl->buf;

        if (!b->in_file) {
            /* an empty buffer may have no memory at all (pos NULL) */
            if (b->last > b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }

            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';
    body->len = p - body->data;

    return NGX_OK;
}


/*
 * v1/streams/APP/NAME/RESOURCE[/ID], relative to the location. The stream
 * name is checked by the core (lshop_stream_valid), so what reaches the
 * store, the logs and later the file system is always a safe name.
 */

static ngx_int_t
ngx_http_live_shop_route(ngx_http_request_t *r, ngx_http_live_shop_ctx_t *ctx,
    ngx_uint_t *auth, lshop_error *err)
{
    u_char                       *p, *last, *app, *name, *res, *id;
    u_char                       *methods;
    ngx_str_t                     resource;
    ngx_uint_t                    allowed, with_id;
    ngx_http_core_loc_conf_t     *clcf;
    ngx_http_live_shop_route_t   *rt;
    ngx_http_live_shop_method_t  *m;

    static u_char  prefix[] = "v1/streams/";

    *auth = 0;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    p = r->uri.data;
    last = r->uri.data + r->uri.len;

    if (r->uri.len < clcf->name.len
        || ngx_strncmp(p, clcf->name.data, clcf->name.len) != 0)
    {
        goto not_found;
    }

    p += clcf->name.len;

    if (p < last && *p == '/') {
        p++;
    }

    if ((size_t) (last - p) < sizeof(prefix) - 1
        || ngx_strncmp(p, prefix, sizeof(prefix) - 1) != 0)
    {
        goto not_found;
    }

    app = p + sizeof(prefix) - 1;

    name = ngx_strlchr(app, last, '/');
    if (name == NULL) {
        goto not_found;
    }

    res = ngx_strlchr(++name, last, '/');
    if (res == NULL) {
        goto not_found;
    }

    ctx->stream.data = app;
    ctx->stream.len = res - app;

    res++;
    id = ngx_strlchr(res, last, '/');

    resource.data = res;
    resource.len = (id ? id : last) - res;

    with_id = (id != NULL);

    if (id) {
        id++;
        ctx->id.data = id;
        ctx->id.len = last - id;

        /* questions/ID/pin: one more level, no more */
        p = ngx_strlchr(id, last, '/');

        if (p) {
            ctx->id.len = p - id;
            ctx->verb.data = p + 1;
            ctx->verb.len = last - (p + 1);

            if (ngx_strlchr(p + 1, last, '/')) {
                goto not_found;
            }
        }
    }

    if (!lshop_stream_valid((char *) ctx->stream.data, ctx->stream.len)) {
        lshop_error_set(err, "invalid_field", "stream",
                        "the stream must be APP/NAME, each 1-64 of "
                        "A-Z a-z 0-9 . _ -");
        return NGX_HTTP_BAD_REQUEST;
    }

    allowed = 0;

    for (rt = ngx_http_live_shop_routes; rt->call; rt++) {
        if (rt->resource.len != resource.len
            || ngx_strncmp(rt->resource.data, resource.data, resource.len)
               != 0
            || rt->with_id != with_id
            || rt->verb.len != ctx->verb.len
            || (ctx->verb.len
                && ngx_strncmp(rt->verb.data, ctx->verb.data, ctx->verb.len)
                   != 0))
        {
            continue;
        }

        allowed |= rt->method;

        if (r->method & rt->method) {
            *auth = rt->auth;
            ctx->call = rt->call;
            ctx->action = rt->action;
            break;
        }
    }

    if (ctx->call) {
        if (with_id && !lshop_id_valid((char *) ctx->id.data, ctx->id.len))
        {
            lshop_error_set(err, "invalid_field", "id",
                            "an id is 1-64 of A-Z a-z 0-9 . _ -");
            return NGX_HTTP_BAD_REQUEST;
        }

        return NGX_OK;
    }

    if (allowed == 0) {
        goto not_found;
    }

    /* the header keeps the value: it lives as long as the request */
    methods = ngx_pnalloc(r->pool, sizeof("GET, HEAD, POST, PUT, DELETE"));
    if (methods == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = methods;

    for (m = ngx_http_live_shop_methods; m->name; m++) {
        if (allowed & m->method) {
            p = ngx_sprintf(p, "%s%s", p == methods ? "" : ", ", m->name);
        }
    }

    *p = '\0';

    if (ngx_http_live_shop_add_header(r, "Allow", (char *) methods)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_set(err, "method_not_allowed", "",
                    "this call does not take that method");

    return NGX_HTTP_NOT_ALLOWED;

not_found:

    lshop_error_set(err, "not_found", "", "no such API call; see docs/api.md");

    return NGX_HTTP_NOT_FOUND;
}


/* SPEC §5: 401 when missing or forged, 403 on another stream */

static ngx_int_t
ngx_http_live_shop_authorize(ngx_http_request_t *r, ngx_str_t *stream,
    lshop_error *err)
{
    ngx_str_t              token;
    ngx_table_elt_t       *auth;
    ngx_live_shop_conf_t  *lscf;
    lshop_token_result     rc;

    static ngx_str_t  bearer = ngx_string("Bearer ");

    auth = r->headers_in.authorization;

    if (auth == NULL
        || auth->value.len <= bearer.len
        || ngx_strncasecmp(auth->value.data, bearer.data, bearer.len) != 0)
    {
        rc = LSHOP_TOKEN_MALFORMED;
        goto unauthorized;
    }

    token.data = auth->value.data + bearer.len;
    token.len = auth->value.len - bearer.len;

    while (token.len && token.data[0] == ' ') {
        token.data++;
        token.len--;
    }

    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    rc = lshop_token_verify((char *) lscf->secret.data, lscf->secret.len,
                            (char *) token.data, token.len,
                            (char *) stream->data, stream->len,
                            ngx_time());

    if (rc == LSHOP_TOKEN_OK) {
        return NGX_OK;
    }

    if (rc == LSHOP_TOKEN_OTHER_STREAM) {
        lshop_error_set(err, "forbidden", "",
                        "this token is for another stream");
        return NGX_HTTP_FORBIDDEN;
    }

unauthorized:

    if (ngx_http_live_shop_add_header(r, "WWW-Authenticate",
                                      "Bearer realm=\"liveshop\"")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "live_shop: refused a control call on \"%V\": %s",
                  stream, lshop_token_result_text(rc));

    lshop_error_set(err, "unauthorized", "", "%s",
                    auth ? lshop_token_result_text(rc)
                         : "an Authorization: Bearer token is needed");

    return NGX_HTTP_UNAUTHORIZED;
}


ngx_int_t
ngx_http_live_shop_add_header(ngx_http_request_t *r, const char *key,
    const char *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = (u_char *) value;
    h->value.len = ngx_strlen(value);

    return NGX_OK;
}


ngx_int_t
ngx_http_live_shop_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body)
{
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_chain_t       out;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = body->len ? 1 : 0;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* JSON answers end with a newline, for people reading them in a shell */

ngx_int_t
ngx_http_live_shop_send_json(ngx_http_request_t *r, ngx_uint_t status,
    u_char *json, size_t len)
{
    ngx_str_t  body;

    /* API answers are live state: never from a cache */
    if (ngx_http_live_shop_add_header(r, "Cache-Control", "no-store")
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = ngx_pnalloc(r->pool, len + 1);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, json, len);
    body.data[len] = '\n';
    body.len = len + 1;

    return ngx_http_live_shop_send(r, status, &ngx_http_live_shop_json_type,
                                   &body);
}


/*
 * SPEC §5: a control call answers with the event it made. This worker's
 * RTMP subscribers get it first; the other workers' find it in the zone.
 */

static ngx_int_t
ngx_http_live_shop_send_event(ngx_http_request_t *r, ngx_str_t *event)
{
    ngx_rtmp_live_shop_deliver();

    return ngx_http_live_shop_send_json(r, NGX_HTTP_OK, event->data,
                                        event->len);
}


ngx_int_t
ngx_http_live_shop_error(ngx_http_request_t *r, ngx_uint_t status,
    lshop_error *err)
{
    char       *json;
    ngx_int_t   rc;

    json = lshop_error_json(err);
    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_live_shop_send_json(r, status, (u_char *) json,
                                      ngx_strlen(json));
    free(json);

    return rc;
}


/* 413 for a body over live_shop_max_body_size */

ngx_int_t
ngx_http_live_shop_too_large(ngx_http_request_t *r, size_t max)
{
    lshop_error  err;

    lshop_error_set(&err, "too_large", "",
                    "the request body is over %zu bytes, the limit set by "
                    "live_shop_max_body_size", max);

    return ngx_http_live_shop_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                    &err);
}


ngx_int_t
ngx_http_live_shop_fail(ngx_http_request_t *r, ngx_uint_t status,
    const char *code, const char *field, const char *message)
{
    lshop_error  err;

    lshop_error_set(&err, code, field, "%s", message);

    return ngx_http_live_shop_error(r, status, &err);
}


/* The store's refusals, each with the status that says it */

static ngx_int_t
ngx_http_live_shop_store_error(ngx_http_request_t *r, lshop_error *err)
{
    ngx_uint_t  status;

    if (err->code[0] == '\0') {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_strcmp(err->code, "not_found") == 0
        || ngx_strcmp(err->code, "unknown_poll") == 0)
    {
        status = NGX_HTTP_NOT_FOUND;

    } else if (ngx_strcmp(err->code, "not_pinned") == 0
               || ngx_strcmp(err->code, "not_live") == 0
               || ngx_strcmp(err->code, "too_many_shows") == 0
               || ngx_strcmp(err->code, "not_running") == 0
               || ngx_strcmp(err->code, "not_shown") == 0
               || ngx_strcmp(err->code, "disclosure_required") == 0
               || ngx_strcmp(err->code, "too_many_offers") == 0
               || ngx_strcmp(err->code, "too_many_answers") == 0
               || ngx_strcmp(err->code, "already_voted") == 0
               || ngx_strcmp(err->code, "poll_ended") == 0)
    {
        status = NGX_HTTP_CONFLICT;

    } else if (ngx_strcmp(err->code, "queue_full") == 0
               || ngx_strcmp(err->code, "too_many_voters") == 0)
    {
        status = NGX_HTTP_SERVICE_UNAVAILABLE;

    } else if (ngx_strcmp(err->code, "zone_full") == 0
               || ngx_strcmp(err->code, "journal_failed") == 0)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "live_shop: %s", err->message);
        status = NGX_HTTP_SERVICE_UNAVAILABLE;

    } else {
        status = NGX_HTTP_BAD_REQUEST;
    }

    return ngx_http_live_shop_error(r, status, err);
}


static ngx_int_t
ngx_http_live_shop_put_offer(ngx_http_request_t *r, u_char *body, size_t len)
{
    char                       id[LSHOP_ID_MAX + 1];
    lshop_error                err;
    lshop_offer               *offer;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    ngx_memcpy(id, ctx->id.data, ctx->id.len);
    id[ctx->id.len] = '\0';

    offer = ngx_palloc(r->pool, sizeof(lshop_offer));
    if (offer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&err);

    if (lshop_offer_parse((char *) body, len, id, offer, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    return ngx_http_live_shop_put(r, NGX_LIVE_SHOP_WRITE_OFFER, offer,
                                  sizeof(lshop_offer));
}


/* GET of a list: 200 with the JSON that list makes of it */

/*
 * PUT offers/ID, shows/ID and answers/ID: data is what the core parsed,
 * an lshop_offer, lshop_show or lshop_saved_answer as kind says, put
 * here or through the shared log
 */

static ngx_int_t
ngx_http_live_shop_put(ngx_http_request_t *r, ngx_live_shop_write_e kind,
    void *data, size_t size)
{
    ngx_int_t                  rc;
    ngx_uint_t                 created;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_write_t     *w;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(kind, &ctx->stream);
        if (w == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* w->u.offer, w->u.show or w->u.answer */
        ngx_memcpy(&w->u, data, size);

        return ngx_http_live_shop_write(r, w,
                                        ngx_http_live_shop_config_written);
    }

    lshop_error_clear(&err);

    switch (kind) {

    case NGX_LIVE_SHOP_WRITE_OFFER:
        rc = ngx_live_shop_put_offer(shm, &ctx->stream, data, &created, &err);
        break;

    case NGX_LIVE_SHOP_WRITE_SHOW:
        rc = ngx_live_shop_put_show(shm, &ctx->stream, data, &created, &err);
        break;

    default: /* NGX_LIVE_SHOP_WRITE_ANSWER */
        rc = ngx_live_shop_put_answer(shm, &ctx->stream, data, &created,
                                      &err);
        break;
    }

    if (rc != NGX_OK) {
        return ngx_http_live_shop_store_error(r, &err);
    }

    return ngx_http_live_shop_send_put(r, kind, data, created);
}


/* What was put, as put: 201 when it was new, else 200 */

static ngx_int_t
ngx_http_live_shop_send_put(ngx_http_request_t *r, ngx_live_shop_write_e kind,
    void *data, ngx_uint_t created)
{
    char        *json;
    size_t       n;
    ngx_int_t    rc;
    ngx_uint_t   status;

    status = created ? NGX_HTTP_CREATED : NGX_HTTP_OK;

    switch (kind) {

    case NGX_LIVE_SHOP_WRITE_OFFER:
        ngx_rtmp_live_shop_deliver();
        json = lshop_offer_to_json(data, &n);
        break;

    case NGX_LIVE_SHOP_WRITE_SHOW:
        json = lshop_show_to_json(data, &n);
        break;

    default: /* NGX_LIVE_SHOP_WRITE_ANSWER */
        json = lshop_saved_answer_to_json(data, &n);

        /* the design of SPEC §15 answers 200 either way */
        status = NGX_HTTP_OK;
        break;
    }

    if (json == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_live_shop_send_json(r, status, (u_char *) json, n);
    free(json);

    return rc;
}


static ngx_int_t
ngx_http_live_shop_send_list(ngx_http_request_t *r,
    ngx_http_live_shop_list_pt list)
{
    ngx_str_t                  json;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    if (list(ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle), &ctx->stream,
             r->pool, &json)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_shop_send_json(r, NGX_HTTP_OK, json.data, json.len);
}


static ngx_int_t
ngx_http_live_shop_list_offers(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_send_list(r, ngx_live_shop_list_offers);
}


/* SPEC §14: a show scheduled, or changed */

static ngx_int_t
ngx_http_live_shop_put_show(ngx_http_request_t *r, u_char *body, size_t len)
{
    char                       id[LSHOP_ID_MAX + 1];
    lshop_show                *show;
    lshop_error                err;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    ngx_memcpy(id, ctx->id.data, ctx->id.len);
    id[ctx->id.len] = '\0';

    show = ngx_palloc(r->pool, sizeof(lshop_show));
    if (show == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&err);

    if (lshop_show_parse((char *) body, len, id, show, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    return ngx_http_live_shop_put(r, NGX_LIVE_SHOP_WRITE_SHOW, show,
                                  sizeof(lshop_show));
}


static ngx_int_t
ngx_http_live_shop_delete_show(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    lshop_error                err;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    if (ctx->id.len > LSHOP_SHOW_ID_MAX) {
        lshop_error_clear(&err);
        lshop_error_set(&err, "not_found", "id",
                        "no show \"%.*s\" is scheduled: show ids are 1-%d "
                        "characters", (int) ctx->id.len, ctx->id.data,
                        LSHOP_SHOW_ID_MAX);
        return ngx_http_live_shop_error(r, NGX_HTTP_NOT_FOUND, &err);
    }

    return ngx_http_live_shop_delete(r, NGX_LIVE_SHOP_WRITE_SHOW_DELETE);
}


/*
 * DELETE shows/ID and answers/ID: 204 when it was taken off (the kind of
 * write, NGX_LIVE_SHOP_WRITE_SHOW_DELETE or _ANSWER_DELETE, says which)
 */

static ngx_int_t
ngx_http_live_shop_delete(ngx_http_request_t *r, ngx_live_shop_write_e kind)
{
    ngx_int_t                  rc;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_write_t     *w;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    lshop_error_clear(&err);

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(kind, &ctx->stream);
        if (w == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy(kind == NGX_LIVE_SHOP_WRITE_SHOW_DELETE ? w->u.show.id
                                                           : w->u.answer.id,
                   ctx->id.data, ctx->id.len);

        return ngx_http_live_shop_write(r, w,
                                        ngx_http_live_shop_config_written);
    }

    rc = (kind == NGX_LIVE_SHOP_WRITE_SHOW_DELETE)
         ? ngx_live_shop_delete_show(shm, &ctx->stream, &ctx->id, &err)
         : ngx_live_shop_delete_answer(shm, &ctx->stream, &ctx->id, &err);

    if (rc != NGX_OK) {
        return ngx_http_live_shop_store_error(r, &err);
    }

    return ngx_http_live_shop_no_content(r);
}


/*
 * The answer to a change of a stream's configuration that the shared log
 * took: the offer, show or saved answer as put, the blocked words, or
 * 204 for one taken off
 */

static ngx_int_t
ngx_http_live_shop_config_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w)
{
    if (w->rc != NGX_OK) {
        return ngx_http_live_shop_store_error(r, &w->err);
    }

    switch (w->kind) {

    case NGX_LIVE_SHOP_WRITE_OFFER:
    case NGX_LIVE_SHOP_WRITE_SHOW:
    case NGX_LIVE_SHOP_WRITE_ANSWER:
        return ngx_http_live_shop_send_put(r, w->kind, &w->u, w->created);

    case NGX_LIVE_SHOP_WRITE_WORDS:
        return ngx_http_live_shop_get_words(r, NULL, 0);

    default: /* a deletion */
        return ngx_http_live_shop_no_content(r);
    }
}


static ngx_int_t
ngx_http_live_shop_no_content(ngx_http_request_t *r)
{
    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->header_only = 1;
    r->headers_out.content_length_n = 0;

    return ngx_http_send_header(r);
}


static ngx_int_t
ngx_http_live_shop_list_shows(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_send_list(r, ngx_live_shop_list_shows);
}


/* shows.ics, or shows/ID.ics: RFC 5545, for calendar apps to subscribe */

static ngx_int_t
ngx_http_live_shop_calendar(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t                  rc;
    ngx_str_t                  ics, url, id, *one;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_http_live_shop_ctx_t  *ctx;

    static ngx_str_t  type = ngx_string("text/calendar; charset=utf-8");

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    one = NULL;

    if (ctx->id.len) {
        if (ctx->id.len <= 4
            || ngx_strncmp(ctx->id.data + ctx->id.len - 4, ".ics", 4) != 0)
        {
            return ngx_http_live_shop_fail(r, NGX_HTTP_NOT_FOUND,
                                           "not_found", "",
                                           "a show is read as its calendar: "
                                           "shows/ID.ics");
        }

        id.data = ctx->id.data;
        id.len = ctx->id.len - 4;
        one = &id;
    }

    if (ngx_http_live_shop_player_url(r, &ctx->stream, &url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_live_shop_calendar(shm, &ctx->stream, one, &url, r->pool, &ics);

    if (rc == NGX_DECLINED) {
        lshop_error_clear(&err);
        lshop_error_set(&err, "not_found", "id",
                        "no show \"%.*s\" is scheduled on %.*s",
                        (int) id.len, id.data, (int) ctx->stream.len,
                        ctx->stream.data);
        return ngx_http_live_shop_error(r, NGX_HTTP_NOT_FOUND, &err);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_shop_send(r, NGX_HTTP_OK, &type, &ics);
}


/*
 * SPEC §14: the player's impressions and clicks, no token; counted, never
 * kept as a log of people
 */

static ngx_int_t
ngx_http_live_shop_beacon(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t                  rc;
    lshop_error                err;
    lshop_beacon_request       beacon;
    ngx_live_shop_shm_t       *shm;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (len > NGX_HTTP_LIVE_SHOP_BEACON_BODY) {
        return ngx_http_live_shop_too_large(r, NGX_HTTP_LIVE_SHOP_BEACON_BODY);
    }

    lshop_error_clear(&err);

    if (lshop_beacon_request_parse((char *) body, len, &beacon, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    if (!ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle)->audience) {
        /* counting is off: taken, and not counted */
        return ngx_http_live_shop_no_content(r);
    }

    rc = ngx_live_shop_beacon(shm, &ctx->stream, &beacon,
                              &r->connection->addr_text, &err);

    switch (rc) {

    case NGX_OK:
        return ngx_http_live_shop_no_content(r);

    case NGX_BUSY:
        if (ngx_http_live_shop_add_header(r, "Retry-After", "1") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_live_shop_error(r, NGX_HTTP_TOO_MANY_REQUESTS, &err);

    case NGX_DECLINED:
        return ngx_http_live_shop_error(r, NGX_HTTP_NOT_FOUND, &err);

    default:
        return ngx_http_live_shop_store_error(r, &err);
    }
}


/* SPEC §15: questions, saved answers, polls */

#define NGX_HTTP_LIVE_SHOP_ASK_BODY   (16 * 1024)
#define NGX_HTTP_LIVE_SHOP_VOTE_BODY  1024


static ngx_int_t
ngx_http_live_shop_busy(ngx_http_request_t *r, lshop_error *err)
{
    if (ngx_http_live_shop_add_header(r, "Retry-After", "1") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_shop_error(r, NGX_HTTP_TOO_MANY_REQUESTS, err);
}


/* POST questions (no token): 202 {"id":"q7"} */

static ngx_int_t
ngx_http_live_shop_ask(ngx_http_request_t *r, u_char *body, size_t len)
{
    u_char                     answer[sizeof("{\"id\":\"q\"}") + NGX_INT64_LEN];
    uint64_t                   number;
    ngx_int_t                  rc;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    lshop_question_request    *req;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (len > NGX_HTTP_LIVE_SHOP_ASK_BODY) {
        return ngx_http_live_shop_too_large(r, NGX_HTTP_LIVE_SHOP_ASK_BODY);
    }

    req = ngx_palloc(r->pool, sizeof(lshop_question_request));
    if (req == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&err);

    if (lshop_question_request_parse((char *) body, len, req, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    rc = ngx_live_shop_ask(shm, &ctx->stream, req, &r->connection->addr_text,
                           &number, &err);

    switch (rc) {

    case NGX_OK:
        len = ngx_sprintf(answer, "{\"id\":\"q%uL\"}", number) - answer;
        return ngx_http_live_shop_send_json(r, NGX_HTTP_ACCEPTED, answer, len);

    case NGX_BUSY:
        return ngx_http_live_shop_busy(r, &err);

    case NGX_DECLINED:
        return ngx_http_live_shop_error(r, NGX_HTTP_NOT_FOUND, &err);

    default:
        return ngx_http_live_shop_store_error(r, &err);
    }
}


static ngx_int_t
ngx_http_live_shop_questions(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_send_list(r, ngx_live_shop_list_questions);
}


static ngx_int_t
ngx_http_live_shop_drop(ngx_http_request_t *r, ngx_uint_t block)
{
    u_char                    *p, *last;
    uint64_t                   session;
    ngx_uint_t                 removed;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    lshop_error_clear(&err);

    if (ngx_live_shop_drop_question(shm, &ctx->stream, &ctx->id, block,
                                    &session, &removed, &err)
        != NGX_OK)
    {
        return ngx_http_live_shop_store_error(r, &err);
    }

    p = ngx_pnalloc(r->pool, sizeof("{\"blocked\":\"\",\"removed\":}")
                             + 16 + NGX_INT_T_LEN + LSHOP_ID_MAX
                             + sizeof("{\"dismissed\":\"\"}"));
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = block ? ngx_sprintf(p, "{\"blocked\":\"%016xL\",\"removed\":%ui}",
                               session, removed)
                 : ngx_sprintf(p, "{\"dismissed\":\"%V\"}", &ctx->id);

    return ngx_http_live_shop_send_json(r, NGX_HTTP_OK, p, last - p);
}


static ngx_int_t
ngx_http_live_shop_dismiss(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_drop(r, 0);
}


static ngx_int_t
ngx_http_live_shop_block(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_drop(r, 1);
}


/* PUT blocked-words: the words as the core cleaned them, in the journal */

static ngx_int_t
ngx_http_live_shop_put_words(ngx_http_request_t *r, u_char *body, size_t len)
{
    char                      *line;
    size_t                     n;
    ngx_int_t                  rc;
    ngx_str_t                  l;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    lshop_blocked_words       *words;
    ngx_live_shop_write_t     *w;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    words = ngx_palloc(r->pool, sizeof(lshop_blocked_words));
    if (words == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&err);

    if (lshop_blocked_words_parse((char *) body, len, words, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    line = lshop_journal_blocked_words_line(words, lshop_now_ms(), &n);
    if (line == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(NGX_LIVE_SHOP_WRITE_WORDS, &ctx->stream);
        if (w == NULL) {
            free(line);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        w->line.data = (u_char *) line;
        w->line.len = n;

        return ngx_http_live_shop_write(r, w,
                                        ngx_http_live_shop_config_written);
    }

    l.data = (u_char *) line;
    l.len = n;

    rc = ngx_live_shop_put_words(shm, &ctx->stream, &l, &err);
    free(line);

    if (rc != NGX_OK) {
        return ngx_http_live_shop_store_error(r, &err);
    }

    return ngx_http_live_shop_get_words(r, NULL, 0);
}


static ngx_int_t
ngx_http_live_shop_get_words(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_send_list(r, ngx_live_shop_get_words);
}


/* PUT answers/ID: a saved answer, 201 when new, 200 when replaced */

static ngx_int_t
ngx_http_live_shop_put_answer(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    char                       id[LSHOP_ID_MAX + 1];
    lshop_error                err;
    lshop_saved_answer        *answer;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    ngx_memcpy(id, ctx->id.data, ctx->id.len);
    id[ctx->id.len] = '\0';

    answer = ngx_palloc(r->pool, sizeof(lshop_saved_answer));
    if (answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_error_clear(&err);

    if (lshop_saved_answer_parse((char *) body, len, id, answer, &err) != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    return ngx_http_live_shop_put(r, NGX_LIVE_SHOP_WRITE_ANSWER, answer,
                                  sizeof(lshop_saved_answer));
}


static ngx_int_t
ngx_http_live_shop_delete_answer(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_delete(r, NGX_LIVE_SHOP_WRITE_ANSWER_DELETE);
}


static ngx_int_t
ngx_http_live_shop_list_answers(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_send_list(r, ngx_live_shop_list_answers);
}


/* POST polls/ID/vote (no token): 202 {"counted":true} */

static ngx_int_t
ngx_http_live_shop_vote(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_int_t                  rc;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_http_live_shop_ctx_t  *ctx;

    static u_char  counted[] = "{\"counted\":true}";

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (len > NGX_HTTP_LIVE_SHOP_VOTE_BODY) {
        return ngx_http_live_shop_too_large(r, NGX_HTTP_LIVE_SHOP_VOTE_BODY);
    }

    lshop_error_clear(&err);

    rc = ngx_live_shop_vote(shm, &ctx->stream, &ctx->id, body, len,
                            &r->connection->addr_text, &err);

    switch (rc) {

    case NGX_OK:
        return ngx_http_live_shop_send_json(r, NGX_HTTP_ACCEPTED, counted,
                                            sizeof(counted) - 1);

    case NGX_BUSY:
        return ngx_http_live_shop_busy(r, &err);

    case NGX_ABORT:
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);

    default:
        return ngx_http_live_shop_store_error(r, &err);
    }
}


/*
 * The player page of a stream, for calendars: live_shop_player with
 * "stream=APP/NAME" added to its query, else the page at / of the host
 * asked (where the packages install it)
 */

static ngx_int_t
ngx_http_live_shop_player_url(ngx_http_request_t *r, ngx_str_t *stream,
    ngx_str_t *url)
{
    u_char                         *p;
    ngx_str_t                       base, host;
    ngx_http_live_shop_loc_conf_t  *lslcf;

    lslcf = ngx_http_get_module_loc_conf(r, ngx_http_live_shop_module);

    base = lslcf->player;

    if (base.len == 0) {
        /* the Host header, port included */
        host = r->headers_in.host ? r->headers_in.host->value
                                  : r->headers_in.server;

        if (host.len == 0) {
            ngx_str_set(&host, "localhost");
        }

        base.len = sizeof("https:///") - 1 + host.len;
        base.data = ngx_pnalloc(r->pool, base.len);
        if (base.data == NULL) {
            return NGX_ERROR;
        }

        base.len = ngx_sprintf(base.data, "%s://%V/",
#if (NGX_HTTP_SSL)
                               r->connection->ssl ? "https" : "http",
#else
                               "http",
#endif
                               &host)
                   - base.data;
    }

    url->data = ngx_pnalloc(r->pool, base.len + sizeof("?stream=")
                                     + 3 * stream->len);
    if (url->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(url->data, base.data, base.len);
    p = ngx_cpymem(p, ngx_strlchr(base.data, base.data + base.len, '?')
                      ? "&stream=" : "?stream=", 8);
    p = (u_char *) ngx_escape_uri(p, stream->data, stream->len,
                                  NGX_ESCAPE_ARGS);

    url->len = p - url->data;

    return NGX_OK;
}


/*
 * pin, unpin, countdown, disclosure: the core parses the body, the store
 * carries the call out, and the answer is the event it made.
 */

static ngx_int_t
ngx_http_live_shop_control(ngx_http_request_t *r, u_char *body, size_t len)
{
    int                        rc;
    int64_t                    now;
    ngx_str_t                  event;
    lshop_error                err;
    ngx_live_shop_shm_t       *shm;
    ngx_live_shop_write_t     *w;
    ngx_live_shop_action_t    *act;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    act = ngx_pcalloc(r->pool, sizeof(ngx_live_shop_action_t));
    if (act == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    act->action = ctx->action;

    now = lshop_now_ms();
    act->at_ms = now;
    rc = 0;

    lshop_error_clear(&err);

    switch (act->action) {

    case NGX_LIVE_SHOP_PIN:
        rc = lshop_pin_request_parse((char *) body, len, now, &act->pin,
                                     &err);
        act->at_ms = act->pin.at_ms;
        break;

    case NGX_LIVE_SHOP_COUNTDOWN:
        rc = lshop_countdown_request_parse((char *) body, len, now,
                                           &act->countdown, &err);
        act->at_ms = act->countdown.at_ms;
        break;

    case NGX_LIVE_SHOP_DISCLOSE:
        rc = lshop_disclosure_request_parse((char *) body, len, now,
                                            &act->disclosure, &err);
        act->at_ms = act->disclosure.at_ms;
        break;

    case NGX_LIVE_SHOP_UNPIN:
    case NGX_LIVE_SHOP_STOP_COUNTDOWN:
    case NGX_LIVE_SHOP_HIDE:
        rc = lshop_moment_request_parse((char *) body, len, now,
                                        &act->at_ms, &err);
        break;

    case NGX_LIVE_SHOP_SHOW_START:
    case NGX_LIVE_SHOP_SHOW_END:
        rc = lshop_show_request_parse((char *) body, len, now, act->show_id,
                                      &act->at_ms, &err);
        break;

    case NGX_LIVE_SHOP_QUESTION_PIN:
        rc = lshop_question_pin_request_parse((char *) body, len,
                                              act->answer, &err);
        break;

    case NGX_LIVE_SHOP_POLL_START:
        rc = lshop_poll_request_parse((char *) body, len, &act->poll, &err);
        break;

    case NGX_LIVE_SHOP_ANSWER_PIN:
    case NGX_LIVE_SHOP_QUESTION_UNPIN:
    case NGX_LIVE_SHOP_POLL_END:
        /* nothing to say, or the moment of it */
        rc = len ? lshop_moment_request_parse((char *) body, len, now,
                                              &act->at_ms, &err)
                 : 0;
        break;
    }

    if (ctx->id.len) {
        ngx_memcpy(act->id, ctx->id.data, ngx_min(ctx->id.len, LSHOP_ID_MAX));
    }

    if (rc != 0) {
        return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
    }

    if (ngx_live_shop_clustered()) {
        w = ngx_live_shop_write_new(NGX_LIVE_SHOP_WRITE_ACT, &ctx->stream);
        if (w == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        w->u.act = *act;

        return ngx_http_live_shop_write(r, w,
                                        ngx_http_live_shop_control_written);
    }

    if (ngx_live_shop_act(shm, &ctx->stream, act, r->pool, &event, &err)
        != NGX_OK)
    {
        return ngx_http_live_shop_store_error(r, &err);
    }

    return ngx_http_live_shop_send_event(r, &event);
}


static ngx_int_t
ngx_http_live_shop_control_written(ngx_http_request_t *r,
    ngx_live_shop_write_t *w)
{
    if (w->rc != NGX_OK) {
        return ngx_http_live_shop_store_error(r, &w->err);
    }

    return ngx_http_live_shop_send_event(r, &w->event);
}


ngx_int_t
ngx_http_live_shop_write(ngx_http_request_t *r, ngx_live_shop_write_t *w,
    ngx_http_live_shop_answer_pt answer)
{
    lshop_error                 err;
    ngx_http_live_shop_wait_t  *wait;

    wait = ngx_pcalloc(r->pool, sizeof(ngx_http_live_shop_wait_t));
    if (wait) {
        wait->cleanup = ngx_pool_cleanup_add(r->pool, 0);
    }

    if (wait == NULL || wait->cleanup == NULL) {
        ngx_free(w);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    wait->request = r;
    wait->write = w;
    wait->answer = answer;

    w->handler = ngx_http_live_shop_written;
    w->data = wait;

    /*
     * the request waits (its answer may also come at once, from within
     * ngx_live_shop_write); one that ends otherwise (terminated) lets go
     * of its write
     */

    wait->cleanup->handler = ngx_http_live_shop_write_gone;
    wait->cleanup->data = wait;

    r->main->count++;

    if (ngx_live_shop_write(w) != NGX_DONE) {
        wait->cleanup->handler = NULL;
        r->main->count--;

        lshop_error_clear(&err);
        lshop_error_set(&err, "store_unavailable", "",
                        "the shared store (live_shop_redis) is not "
                        "reachable from this node; nothing was changed, "
                        "try again");
        return ngx_http_live_shop_unavailable(r, &err);
    }

    return NGX_DONE;
}


static void
ngx_http_live_shop_written(ngx_live_shop_write_t *w)
{
    ngx_http_live_shop_wait_t *wait = w->data;

    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = wait->request;
    wait->cleanup->handler = NULL;

    if (w->rc == NGX_BUSY) {
        rc = ngx_http_live_shop_unavailable(r, &w->err);

    } else {
        rc = wait->answer(r, w);
    }

    ngx_http_finalize_request(r, rc);
}


static void
ngx_http_live_shop_write_gone(void *data)
{
    ngx_http_live_shop_wait_t *wait = data;

    ngx_live_shop_write_cancel(wait->write);
}


/* SPEC §13: 503 store_unavailable, to be tried again in a second */

ngx_int_t
ngx_http_live_shop_unavailable(ngx_http_request_t *r, lshop_error *err)
{
    if (ngx_http_live_shop_add_header(r, "Retry-After", "1") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_shop_error(r, NGX_HTTP_SERVICE_UNAVAILABLE, err);
}


static ngx_int_t
ngx_http_live_shop_state(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_str_t                  json;
    ngx_live_shop_shm_t       *shm;
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    shm = ngx_live_shop_get_shm((ngx_cycle_t *) ngx_cycle);

    if (ngx_live_shop_state_json(shm, &ctx->stream, r->pool, &json, NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_live_shop_send_json(r, NGX_HTTP_OK, json.data, json.len);
}


static ngx_int_t
ngx_http_live_shop_events(ngx_http_request_t *r, u_char *body, size_t len)
{
    ngx_http_live_shop_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);

    return ngx_http_live_shop_sse(r, &ctx->stream);
}


typedef struct {
    lshop_report                   *report;
    uint64_t                        seq;      /* last event fed */
    ngx_int_t                       rc;
} ngx_http_live_shop_report_ctx_t;


/* what ngx_http_live_shop_report_send answers with */
#define NGX_HTTP_LIVE_SHOP_REPORT_JSON      0
#define NGX_HTTP_LIVE_SHOP_REPORT_CSV       1
#define NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS  2
#define NGX_HTTP_LIVE_SHOP_REPORT_COMMISSIONS  3


/*
 * SPEC §5 and §14: the report, computed from the journal by the core:
 * ?shows=N (1-50) of the last shows, or ?show=ID for one; report.csv the
 * same as CSV (its offers; with ?shows=N, the shows)
 */

static ngx_int_t
ngx_http_live_shop_report(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_report_send(r, NGX_HTTP_LIVE_SHOP_REPORT_JSON);
}


static ngx_int_t
ngx_http_live_shop_report_csv(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_report_send(r, NGX_HTTP_LIVE_SHOP_REPORT_CSV);
}


/*
 * SPEC §16: shows/ID/chapters.vtt, one WebVTT cue per pin of the show,
 * timed against its recording; from the same report as the others
 */

static ngx_int_t
ngx_http_live_shop_chapters(ngx_http_request_t *r, u_char *body, size_t len)
{
    return ngx_http_live_shop_report_send(r,
                                          NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS);
}


/*
 * SPEC §16, docs/kpis.md "Commissions": commissions.csv, the payout rows
 * of the shows started in [from, to) (?from=&to=, RFC 3339, each
 * optional), or with ?by=host one row per host and currency
 */

static ngx_int_t
ngx_http_live_shop_commissions(ngx_http_request_t *r, u_char *body,
    size_t len)
{
    return ngx_http_live_shop_report_send(r,
                                          NGX_HTTP_LIVE_SHOP_REPORT_COMMISSIONS);
}


static ngx_int_t
ngx_http_live_shop_period(ngx_http_request_t *r, int64_t *from, int64_t *to,
    int *by_host, lshop_error *err)
{
    u_char      *dst, *src, buf[64];
    int64_t     *ms;
    ngx_str_t    arg;
    ngx_uint_t   i;

    static const char  *names[] = { "from", "to" };

    *from = INT64_MIN;
    *to = INT64_MAX;
    *by_host = 0;

    for (i = 0; i < 2; i++) {
        if (ngx_http_arg(r, (u_char *) names[i], ngx_strlen(names[i]), &arg)
            != NGX_OK)
        {
            continue;
        }

        ms = i ? to : from;
        dst = buf;
        src = arg.data;

        if (arg.len < sizeof(buf)) {
            /* "%3A" for ':' and "%2B" for '+' as a client encodes them */
            ngx_unescape_uri(&dst, &src, arg.len, 0);
        }

        if (arg.len >= sizeof(buf)
            || lshop_time_parse((char *) buf, dst - buf, ms) != 0)
        {
            lshop_error_set(err, "invalid_field", names[i],
                            "%s must be an RFC 3339 time, like "
                            "2026-11-01T00:00:00Z", names[i]);
            return NGX_ERROR;
        }
    }

    if (*from >= *to) {
        lshop_error_set(err, "invalid_field", "to", "to must be after from");
        return NGX_ERROR;
    }

    if (ngx_http_arg(r, (u_char *) "by", sizeof("by") - 1, &arg) == NGX_OK) {
        if (arg.len != sizeof("host") - 1
            || ngx_strncmp(arg.data, "host", arg.len) != 0)
        {
            lshop_error_set(err, "invalid_field", "by",
                            "by must be \"host\" (or left out, for one "
                            "row per show, offer, currency and rate)");
            return NGX_ERROR;
        }

        *by_host = 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_live_shop_report_send(ngx_http_request_t *r, ngx_uint_t format)
{
    int                               by_host;
    char                             *out, name[LSHOP_STREAM_MAX + 1];
    char                              show[LSHOP_ID_MAX + 1];
    size_t                            n;
    int64_t                           folded, now, from, to;
    ngx_int_t                         rc, last;
    ngx_str_t                         ledger, arg, body;
    lshop_error                       err;
    lshop_state                      *st;
    lshop_replay_ops                  ops;
    ngx_live_shop_conf_t             *lscf;
    ngx_http_live_shop_ctx_t         *ctx;
    ngx_http_live_shop_report_ctx_t   rctx;

    static ngx_str_t  csv_type = ngx_string("text/csv; charset=utf-8");
    static ngx_str_t  vtt_type = ngx_string("text/vtt; charset=utf-8");

    ctx = ngx_http_get_module_ctx(r, ngx_http_live_shop_module);
    lscf = ngx_live_shop_get_conf((ngx_cycle_t *) ngx_cycle);

    if (lscf->journal.len == 0) {
        return ngx_http_live_shop_fail(r, NGX_HTTP_CONFLICT, "no_journal", "",
                                       "the report is computed from the "
                                       "journal: set live_shop_journal");
    }

    show[0] = '\0';
    last = -1;
    from = INT64_MIN;
    to = INT64_MAX;
    by_host = 0;

    if (format == NGX_HTTP_LIVE_SHOP_REPORT_COMMISSIONS) {
        if (ngx_http_live_shop_period(r, &from, &to, &by_host, &err)
            != NGX_OK)
        {
            return ngx_http_live_shop_error(r, NGX_HTTP_BAD_REQUEST, &err);
        }

    } else if (format == NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS) {
        /* shows/ID/chapters.vtt: the router checked the id */
        ngx_memcpy(show, ctx->id.data, ctx->id.len);
        show[ctx->id.len] = '\0';

    } else if (ngx_http_arg(r, (u_char *) "show", sizeof("show") - 1, &arg)
               == NGX_OK)
    {
        if (!lshop_id_valid((char *) arg.data, arg.len)) {
            return ngx_http_live_shop_fail(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_field", "show",
                                           "show must be a show id (1-64 "
                                           "of A-Z a-z 0-9 . _ -)");
        }

        ngx_memcpy(show, arg.data, arg.len);
        show[arg.len] = '\0';
    }

    if (format != NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS
        && format != NGX_HTTP_LIVE_SHOP_REPORT_COMMISSIONS
        && ngx_http_arg(r, (u_char *) "shows", sizeof("shows") - 1, &arg)
           == NGX_OK)
    {
        last = ngx_atoi(arg.data, arg.len);

        if (last < 1 || last > LSHOP_REPORT_SHOWS_MAX || show[0]) {
            return ngx_http_live_shop_fail(r, NGX_HTTP_BAD_REQUEST,
                                           "invalid_field", "shows",
                                           "shows must be a whole number "
                                           "from 1 to 50, without show=");
        }
    }

    st = ngx_palloc(r->pool, sizeof(lshop_state));
    rctx.report = lshop_report_new();

    if (st == NULL || rctx.report == NULL) {
        lshop_report_free(rctx.report);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lshop_state_init(st);
    rctx.seq = 0;
    rctx.rc = NGX_OK;

    /* what the files rotated away left in the ledger, then the files */

    folded = -1;

    rc = ngx_live_shop_journal_read(lscf, &ctx->stream, NGX_LIVE_SHOP_LEDGER,
                                    &ledger, r->connection->log);

    if (rc == NGX_OK) {
        if (lshop_ledger_read((char *) ledger.data, ledger.len, rctx.report,
                              NULL, NULL, &folded, &rctx.seq, &err)
            != 0)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "live_shop: the ledger of \"%V\" is damaged: %s",
                          &ctx->stream, err.message);
            rc = NGX_ERROR;
        }

        ngx_free(ledger.data);
    }

    if (rc == NGX_ERROR) {
        lshop_report_free(rctx.report);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&ops, sizeof(lshop_replay_ops));
    ops.arg = &rctx;
    ops.offer = ngx_http_live_shop_report_offer;
    ops.order = ngx_http_live_shop_report_order;
    ops.event = ngx_http_live_shop_report_event;
    ops.audience = ngx_http_live_shop_report_audience;

    rc = ngx_live_shop_journal_replay(lscf, &ctx->stream, folded, st, &ops,
                                      r->connection->log);

    if (rc == NGX_ERROR || rctx.rc != NGX_OK) {
        lshop_report_free(rctx.report);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (show[0] && !lshop_report_has_show(rctx.report, show)) {
        lshop_report_free(rctx.report);
        lshop_error_clear(&err);
        lshop_error_set(&err, "not_found", "show",
                        "no show \"%s\" in the journal of %.*s", show,
                        (int) ctx->stream.len, ctx->stream.data);
        return ngx_http_live_shop_error(r, NGX_HTTP_NOT_FOUND, &err);
    }

    ngx_memcpy(name, ctx->stream.data, ctx->stream.len);
    name[ctx->stream.len] = '\0';

    now = lshop_now_ms();

    if (format == NGX_HTTP_LIVE_SHOP_REPORT_COMMISSIONS) {
        out = lshop_report_commissions_csv(rctx.report, from, to, by_host,
                                           &n);

    } else if (format == NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS) {
        out = lshop_report_show_chapters_vtt(rctx.report, show, now, &n);

    } else if (format == NGX_HTTP_LIVE_SHOP_REPORT_CSV) {
        out = show[0] ? lshop_report_show_csv(rctx.report, show, now, &n)
              : (last > 0) ? lshop_report_shows_csv(rctx.report,
                                                    (size_t) last, now, &n)
              : lshop_report_to_csv(rctx.report, now, &n);

    } else {
        out = show[0] ? lshop_report_show_json(rctx.report, name, show, now,
                                               &n)
              : lshop_report_json(rctx.report, name, now,
                                  last > 0 ? (size_t) last
                                           : LSHOP_REPORT_LAST_SHOWS, &n);
    }

    lshop_report_free(rctx.report);

    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (format == NGX_HTTP_LIVE_SHOP_REPORT_JSON) {
        rc = ngx_http_live_shop_send_json(r, NGX_HTTP_OK, (u_char *) out, n);
        free(out);
        return rc;
    }

    body.data = ngx_pnalloc(r->pool, n);
    if (body.data == NULL) {
        free(out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body.data, out, n);
    body.len = n;
    free(out);

    if (format == NGX_HTTP_LIVE_SHOP_REPORT_CHAPTERS) {
        /* cues grow while the show is on air, as the report's figures */
        if (ngx_http_live_shop_add_header(r, "Cache-Control", "no-store")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_live_shop_send(r, NGX_HTTP_OK, &vtt_type, &body);
    }

    return ngx_http_live_shop_send(r, NGX_HTTP_OK, &csv_type, &body);
}


static int
ngx_http_live_shop_report_offer(void *arg, const lshop_offer *offer,
    int64_t at_ms)
{
    ngx_http_live_shop_report_ctx_t *rctx = arg;

    if (lshop_report_add_offer(rctx->report, offer) != 0) {
        rctx->rc = NGX_ERROR;
        return -1;
    }

    return 0;
}


static int
ngx_http_live_shop_report_event(void *arg, const lshop_event *ev,
    const char *json, size_t len, int restored)
{
    ngx_http_live_shop_report_ctx_t *rctx = arg;

    /* a checkpoint re-lists what a rotated journal told already */
    if (ev->seq <= rctx->seq) {
        return 0;
    }

    rctx->seq = ev->seq;

    if (lshop_report_add_event(rctx->report, ev) != 0) {
        rctx->rc = NGX_ERROR;
        return -1;
    }

    return 0;
}


static int
ngx_http_live_shop_report_order(void *arg, const lshop_order *order,
    lshop_provider provider, int64_t at_ms)
{
    ngx_http_live_shop_report_ctx_t *rctx = arg;

    if (lshop_report_add_order_at(rctx->report, order, at_ms) != 0) {
        rctx->rc = NGX_ERROR;
        return -1;
    }

    return 0;
}


static int
ngx_http_live_shop_report_audience(void *arg, const lshop_audience *a,
    int full, int64_t at_ms)
{
    ngx_http_live_shop_report_ctx_t *rctx = arg;

    if (lshop_report_add_audience(rctx->report, a, full, at_ms) != 0) {
        rctx->rc = NGX_ERROR;
        return -1;
    }

    return 0;
}


/* live_shop_control_rate RATE [burst=N]; as limit_req's rate and burst */

static char *
ngx_http_live_shop_control_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char                *p;
    size_t                 len;
    ngx_int_t              rate, scale, burst;
    ngx_str_t             *value;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->control_rate) {
        return "is duplicate";
    }

    value = cf->args->elts;

    len = value[1].len;
    p = value[1].data + len - 3;
    scale = 1;

    if (len > 3 && ngx_strncmp(p, "r/s", 3) == 0) {
        len -= 3;

    } else if (len > 3 && ngx_strncmp(p, "r/m", 3) == 0) {
        scale = 60;
        len -= 3;

    } else {
        len = 0;
    }

    rate = len ? ngx_atoi(value[1].data, len) : NGX_ERROR;

    if (rate <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate \"%V\" in \"%V\": give calls per "
                           "second or minute, e.g. \"10r/s\"", &value[1],
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    burst = 0;

    if (cf->args->nelts == 3) {
        if (value[2].len <= 6
            || ngx_strncmp(value[2].data, "burst=", 6) != 0
            || (burst = ngx_atoi(value[2].data + 6, value[2].len - 6))
               == NGX_ERROR)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid \"%V\" in \"%V\": give "
                               "\"burst=N\"", &value[2], &cmd->name);
            return NGX_CONF_ERROR;
        }
    }

    lscf->control_rate = rate * 1000 / scale;
    lscf->control_burst = burst;

    return NGX_CONF_OK;
}


/* live_shop_journal_max_size SIZE; */

static char *
ngx_http_live_shop_journal_size(ngx_conf_t *cf, void *post, void *data)
{
    off_t *size = data;

    if (*size < 64 * 1024) {
        return "is too small: at least 64k";
    }

    return NGX_CONF_OK;
}


/*
 * live_shop_locale en | de (or with a region, de-AT): the languages the
 * core has disclosure labels in; another would silently read English.
 */

static char *
ngx_http_live_shop_locale(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t *locale = data;

    u_char  *p;

    p = locale->data;

    if ((locale->len != 2 && locale->len != 5)
        || (ngx_strncmp(p, "en", 2) != 0 && ngx_strncmp(p, "de", 2) != 0)
        || (locale->len == 5 && p[2] != '-' && p[2] != '_'))
    {
        return "must be \"en\" or \"de\" (a region such as \"de-AT\" "
               "may follow): disclosure labels exist in these";
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_live_shop_create_main_conf(ngx_conf_t *cf)
{
    return ngx_live_shop_get_conf(cf->cycle);
}


/* live_shop_secret STRING; */

static char *
ngx_http_live_shop_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t             *value;
    ngx_live_shop_conf_t  *lscf;

    lscf = ngx_live_shop_get_conf(cf->cycle);

    if (lscf->secret.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* HMAC-SHA256 keys shorter than this are guessable */
    if (value[1].len < 16) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" must be at least 16 characters long",
                           &cmd->name);
        return NGX_CONF_ERROR;
    }

    lscf->secret = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_live_shop_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_live_shop_loc_conf_t  *lslcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lslcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    lslcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_live_shop_api_handler;

    /* live_shop_max_body_size is the limit, answered in JSON (SPEC §2) */
    clcf->client_max_body_size = 0;

    return NGX_CONF_OK;
}


static void *
ngx_http_live_shop_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_live_shop_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_live_shop_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->hls_app = { 0, NULL };
     *     conf->player = { 0, NULL };
     */

    conf->api = NGX_CONF_UNSET;
    conf->hls = NGX_CONF_UNSET;
    conf->webhook = NGX_CONF_UNSET;
    conf->max_body = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_live_shop_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_live_shop_loc_conf_t  *prev = parent;
    ngx_http_live_shop_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->hls, prev->hls, 0);
    ngx_conf_merge_str_value(conf->hls_app, prev->hls_app, "live");
    ngx_conf_merge_str_value(conf->player, prev->player, "");

    if (conf->player.len
        && ngx_strncmp(conf->player.data, "http://", 7) != 0
        && ngx_strncmp(conf->player.data, "https://", 8) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"live_shop_player\" \"%V\": the "
                           "player page's absolute http:// or https:// URL",
                           &conf->player);
        return NGX_CONF_ERROR;
    }
    ngx_conf_merge_size_value(conf->max_body, prev->max_body,
                              NGX_CONF_UNSET_SIZE);

    if (conf->hls_app.len == 0 || conf->hls_app.len > LSHOP_STREAM_PART_MAX)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"live_shop_hls_app\" \"%V\"",
                           &conf->hls_app);
        return NGX_CONF_ERROR;
    }

    if ((conf->api == 1 || conf->hls)
        && ngx_live_shop_get_shm(cf->cycle) == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%s\" needs \"live_shop_zone\" in http{}",
                           conf->api == 1 ? "live_shop_api"
                                          : "live_shop_hls");
        return NGX_CONF_ERROR;
    }

    if (conf->webhook != NGX_CONF_UNSET
        && (ngx_live_shop_get_shm(cf->cycle) == NULL
            || ngx_live_shop_get_conf(cf->cycle)->journal.len == 0))
    {
        /* SPEC §9: no 2xx before the order is durably written */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"live_shop_webhook\" needs \"live_shop_zone\" "
                           "and \"live_shop_journal\" in http{}");
        return NGX_CONF_ERROR;
    }

    if (conf->api == 1 && ngx_live_shop_get_conf(cf->cycle)->secret.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"live_shop_api\" needs \"live_shop_secret\" "
                           "in http{}");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_live_shop_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* runs before the static module: rewrites playlists it would serve */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_CONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_live_shop_hls_handler;

    return NGX_OK;
}
