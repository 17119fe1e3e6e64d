/*
 * binding.c - N-API glue between JavaScript and engine.c.
 *
 * Shape (after classic-level): the engine handle is an external with a
 * finalizer; a napi_ref to it is strong while requests or operations are
 * outstanding; an env cleanup hook destroys the engine when the
 * environment (main thread or worker_threads) goes away, and the
 * finalizer removes that hook. Completions come back through ONE
 * napi_threadsafe_function, which is ref'd only while something is
 * outstanding, so an idle engine never keeps the event loop alive.
 *
 * Every function here runs on the JS thread of the env that created the
 * transport, except on_engine_notify (engine worker thread; also the JS
 * thread, for operations on a parked engine and a request whose worker
 * could not start).
 */
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* IP literals accepted per request; the engine uses the first 16. */
#define ADDRESSES_MAX_ARG 64

/*
 * One transport's native state. Created by transport_create on the JS
 * thread; lives until both the external's finalizer and the thread-safe
 * function's finalizer have run (refs counts them down), then freed on
 * the JS thread. engine is NULL once torn down; tsfn is NULL once
 * released. Only tsfn is read by the engine's worker thread (through
 * on_engine_notify), and only while the engine runs.
 */
typedef struct transport {
  napi_env env;
  engine_t *engine;
  napi_threadsafe_function tsfn;
  napi_ref self;               /* to the external; strong if outstanding */
  uint32_t outstanding;        /* requests + operations not completed */
  int hook_added;
  int refs;
  uint64_t exit_ids[2];        /* ids of close and destroy, 0 = none */
  engine_stats_t final_stats;  /* counters kept after teardown */
} transport_t;

#define CHECK_NAPI(call)                                               \
  do {                                                                 \
    if((call) != napi_ok)                                              \
      goto fail;                                                       \
  } while(0)

static napi_value throw_error(napi_env env, const char *message)
{
  napi_throw_error(env, "ERR_ATRESOLVE_NATIVE", message);
  return NULL;
}

static void transport_release(transport_t *t)
{
  if(--t->refs == 0)
    free(t);
}

/* Called by the engine (worker or JS thread) when completions are ready. */
static void on_engine_notify(void *arg)
{
  transport_t *t = arg;
  /* Fails only when the function is closing, which happens after the
     worker was joined: then nothing is lost. */
  (void)napi_call_threadsafe_function(t->tsfn, NULL,
                                      napi_tsfn_nonblocking);
}

static void outstanding_inc(napi_env env, transport_t *t)
{
  if(t->outstanding++ == 0) {
    uint32_t count;
    (void)napi_reference_ref(env, t->self, &count);
    if(t->tsfn)
      (void)napi_ref_threadsafe_function(env, t->tsfn);
  }
}

static void outstanding_dec(napi_env env, transport_t *t)
{
  if(t->outstanding == 0)
    return;
  if(--t->outstanding == 0) {
    uint32_t count;
    (void)napi_reference_unref(env, t->self, &count);
    if(t->tsfn)
      (void)napi_unref_threadsafe_function(env, t->tsfn);
  }
}

static void on_env_cleanup(void *arg);

/* Join and free the engine, release the thread-safe function, drop the
   cleanup hook and the strong reference. Idempotent. */
static void transport_teardown(napi_env env, transport_t *t)
{
  if(t->engine) {
    engine_stats(t->engine, &t->final_stats);
    engine_free(t->engine);    /* destroys first unless already exited */
    t->engine = NULL;
  }
  /* Counters survive; gauges are zero once everything is freed. */
  t->final_stats.in_flight = 0;
  t->final_stats.queued = 0;
  t->final_stats.open_connections = 0;
  t->final_stats.generations = 0;
  t->final_stats.pooled_handles = 0;
  t->final_stats.worker_running = 0;
  if(t->hook_added) {
    (void)napi_remove_env_cleanup_hook(env, on_env_cleanup, t);
    t->hook_added = 0;
  }
  if(t->tsfn) {
    napi_threadsafe_function tsfn = t->tsfn;
    t->tsfn = NULL;
    (void)napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  if(t->outstanding > 0) {
    uint32_t count;
    t->outstanding = 0;
    (void)napi_reference_unref(env, t->self, &count);
  }
}

/* Called by Node when the environment shuts down (process exit, worker
   terminated) before the transport was closed and collected. */
static void on_env_cleanup(void *arg)
{
  transport_t *t = arg;
  t->hook_added = 0;           /* Node removes it after calling it */
  transport_teardown(t->env, t);
}

/* Called by the GC (or at env teardown) for the external. */
static void on_external_finalize(napi_env env, void *data, void *hint)
{
  transport_t *t = data;
  (void)hint;
  transport_teardown(env, t);
  if(t->self) {
    (void)napi_delete_reference(env, t->self);
    t->self = NULL;
  }
  transport_release(t);
}

/* Called by Node once the thread-safe function is released and idle. */
static void on_tsfn_finalize(napi_env env, void *data, void *hint)
{
  (void)env;
  (void)hint;
  transport_release(data);
}

static napi_status set_str(napi_env env, napi_value obj, const char *key,
                           const char *value)
{
  napi_value v;
  napi_status s = napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v);
  return s == napi_ok ? napi_set_named_property(env, obj, key, v) : s;
}

static napi_status set_num(napi_env env, napi_value obj, const char *key,
                           double value)
{
  napi_value v;
  napi_status s = napi_create_double(env, value, &v);
  return s == napi_ok ? napi_set_named_property(env, obj, key, v) : s;
}

/* Build the JS result object of one completion. */
static napi_status completion_to_js(napi_env env, engine_completion_t *d,
                                    napi_value *out)
{
  napi_value obj;
  napi_value v;
  napi_status s;
#define TRY(call) do { s = (call); if(s != napi_ok) return s; } while(0)
  TRY(napi_create_object(env, &obj));
  TRY(set_str(env, obj, "kind",
              d->kind == ENGINE_DONE_OP ? "op" : "transfer"));
  TRY(set_str(env, obj, "error", engine_error_name(d->error)));
  if(d->error != ENGINE_OK) {
    TRY(set_str(env, obj, "message", d->message));
    TRY(set_num(env, obj, "curlCode", d->curl_code));
    if(d->address[0]) {
      TRY(set_str(env, obj, "address", d->address));
      TRY(set_str(env, obj, "addressClass",
                  engine_address_class_name(d->address_class)));
    }
  }
  if(d->kind == ENGINE_DONE_TRANSFER && d->error == ENGINE_OK) {
    TRY(set_num(env, obj, "status", (double)d->status));
    TRY(napi_create_string_latin1(env, d->headers ? d->headers : "",
                                  d->headers_len, &v));
    TRY(napi_set_named_property(env, obj, "headers", v));
    TRY(napi_create_buffer_copy(env, d->body_len,
                                d->body ? (void *)d->body : (void *)"",
                                NULL, &v));
    TRY(napi_set_named_property(env, obj, "body", v));
    TRY(set_num(env, obj, "connectUs", (double)d->connect_us));
    TRY(set_num(env, obj, "tlsUs", (double)d->tls_us));
    TRY(set_num(env, obj, "firstByteUs", (double)d->first_byte_us));
    TRY(set_num(env, obj, "totalUs", (double)d->total_us));
    TRY(napi_get_boolean(env, d->reused, &v));
    TRY(napi_set_named_property(env, obj, "reused", v));
  }
#undef TRY
  *out = obj;
  return napi_ok;
}

/* Called by Node on the JS thread for each napi_call_threadsafe_function:
   drains every completion and calls the JS callback (id, result) for
   each. env is NULL while the function is being torn down. */
static void on_tsfn_call(napi_env env, napi_value js_cb, void *context,
                         void *data)
{
  transport_t *t = context;
  engine_completion_t *d;
  napi_value undefined;
  napi_value exception = NULL;
  int exited = 0;
  (void)data;
  if(!env || !t->engine)
    return;
  d = engine_take_completions(t->engine);
  if(napi_get_undefined(env, &undefined) != napi_ok)
    undefined = NULL;
  while(d) {
    engine_completion_t *next = d->next;
    napi_value argv[2];
    napi_value result;
    napi_status s;
    if(d->kind == ENGINE_DONE_OP &&
       (d->id == t->exit_ids[0] || d->id == t->exit_ids[1]) && d->id)
      exited = 1;
    s = napi_create_double(env, (double)d->id, &argv[0]);
    if(s == napi_ok)
      s = completion_to_js(env, d, &argv[1]);
    if(s == napi_ok)
      s = napi_call_function(env, undefined, js_cb, 2, argv, &result);
    if(s == napi_pending_exception) {
      napi_value e;
      if(napi_get_and_clear_last_exception(env, &e) == napi_ok &&
         !exception)
        exception = e;
    }
    engine_completion_free(d);
    outstanding_dec(env, t);
    d = next;
  }
  if(exited)
    transport_teardown(env, t);
  if(exception)
    (void)napi_throw(env, exception);
}

/* ------------------------------------------------------------------ */
/* Argument helpers                                                     */
/* ------------------------------------------------------------------ */

static transport_t *get_transport(napi_env env, napi_value v)
{
  void *data = NULL;
  if(napi_get_value_external(env, v, &data) != napi_ok || !data) {
    throw_error(env, "expected a transport handle");
    return NULL;
  }
  return data;
}

/* A malloc'd copy of a JS string, or NULL (exception pending). */
static char *get_string(napi_env env, napi_value v, size_t *len_out)
{
  size_t len;
  char *buf;
  if(napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    throw_error(env, "expected a string");
    return NULL;
  }
  buf = malloc(len + 1);
  if(!buf) {
    throw_error(env, "out of memory");
    return NULL;
  }
  if(napi_get_value_string_utf8(env, v, buf, len + 1, &len) != napi_ok) {
    free(buf);
    throw_error(env, "expected a string");
    return NULL;
  }
  if(len_out)
    *len_out = len;
  return buf;
}

static int is_nullish(napi_env env, napi_value v)
{
  napi_valuetype type;
  return napi_typeof(env, v, &type) != napi_ok || type == napi_undefined ||
         type == napi_null;
}

static int get_prop_int64(napi_env env, napi_value obj, const char *key,
                          int64_t *out)
{
  napi_value v;
  return napi_get_named_property(env, obj, key, &v) == napi_ok &&
         napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1;
}

static int get_prop_bool_value(napi_env env, napi_value v, int *out)
{
  bool b;
  if(napi_get_value_bool(env, v, &b) != napi_ok)
    return -1;
  *out = b;
  return 0;
}

static int get_prop_bool(napi_env env, napi_value obj, const char *key,
                         int *out)
{
  napi_value v;
  if(napi_get_named_property(env, obj, key, &v) != napi_ok)
    return -1;
  return get_prop_bool_value(env, v, out);
}

static napi_value error_or_undefined(napi_env env, engine_error_t error)
{
  napi_value v;
  if(error == ENGINE_OK) {
    if(napi_get_undefined(env, &v) != napi_ok)
      return NULL;
    return v;
  }
  if(napi_create_string_utf8(env, engine_error_name(error),
                             NAPI_AUTO_LENGTH, &v) != napi_ok)
    return NULL;
  return v;
}

/* ------------------------------------------------------------------ */
/* Exports                                                              */
/* ------------------------------------------------------------------ */

/* create(options, onComplete) -> handle */
static napi_value transport_create(napi_env env, napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  napi_value name;
  napi_value external;
  napi_value ca;
  engine_config_t config;
  int64_t n;
  char *ca_pem = NULL;
  transport_t *t;
  engine_error_t err;

  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 2)
    return throw_error(env, "create(options, onComplete) expected");
  memset(&config, 0, sizeof config);
#define INT_OPT(key, field)                                            \
  if(get_prop_int64(env, argv[0], key, &n) != 0 || n < 0)              \
    return throw_error(env, "invalid option " key);                    \
  config.field = (long)n;
  INT_OPT("maxConnections", max_connections)
  INT_OPT("maxConnectionsPerHost", max_connections_per_host)
  INT_OPT("maxIdleConnections", max_idle_connections)
  INT_OPT("idleTimeoutMs", idle_timeout_ms)
  INT_OPT("maxConnectionLifetimeMs", max_lifetime_ms)
  INT_OPT("dnsCacheTtlMs", dns_cache_ttl_ms)
  INT_OPT("maxQueuedRequests", max_queued)
#undef INT_OPT
  if(get_prop_bool(env, argv[0], "allowHttp", &config.allow_http) != 0 ||
     get_prop_bool(env, argv[0], "allowPrivateNetwork",
                   &config.allow_private_network) != 0)
    return throw_error(env, "invalid boolean option");
  if(napi_get_named_property(env, argv[0], "caPem", &ca) != napi_ok)
    return throw_error(env, "invalid option caPem");
  if(!is_nullish(env, ca)) {
    size_t len;
    ca_pem = get_string(env, ca, &len);
    if(!ca_pem)
      return NULL;
    if(strlen(ca_pem) != len) {
      free(ca_pem);
      return throw_error(env, "invalid option caPem: contains NUL");
    }
  }
  config.ca_pem = ca_pem;

  t = calloc(1, sizeof *t);
  if(!t) {
    free(ca_pem);
    return throw_error(env, "out of memory");
  }
  t->env = env;
  if(napi_create_string_utf8(env, "atresolve:curl", NAPI_AUTO_LENGTH,
                             &name) != napi_ok ||
     napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, t,
                                     on_tsfn_finalize, t, on_tsfn_call,
                                     &t->tsfn) != napi_ok) {
    free(ca_pem);
    free(t);
    return throw_error(env, "could not create the completion function");
  }
  t->refs = 2;                 /* the external + the tsfn finalizers */
  if(napi_unref_threadsafe_function(env, t->tsfn) != napi_ok)
    goto fail_tsfn;
  err = engine_create(&config, on_engine_notify, t, &t->engine);
  free(ca_pem);
  ca_pem = NULL;
  if(err != ENGINE_OK)
    goto fail_tsfn;
  if(napi_create_external(env, t, on_external_finalize, NULL,
                          &external) != napi_ok) {
    engine_free(t->engine);
    t->engine = NULL;
    goto fail_tsfn;
  }
  /* From here the finalizer owns one count of t. */
  if(napi_create_reference(env, external, 0, &t->self) != napi_ok ||
     napi_add_env_cleanup_hook(env, on_env_cleanup, t) != napi_ok) {
    transport_teardown(env, t);
    return throw_error(env, "could not register the transport");
  }
  t->hook_added = 1;
  return external;
fail_tsfn:
  free(ca_pem);
  {
    napi_threadsafe_function tsfn = t->tsfn;
    t->tsfn = NULL;
    t->refs = 1;               /* only the tsfn finalizer will run */
    (void)napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  return throw_error(env, "could not create the native engine (out of "
                          "memory, or libcurl is too old)");
}

/* Pack a JS array of IP literals into req->addresses ("a\0b\0"). Returns
   0, 1 when an item is not an IP literal (or too many), or -1 when a
   N-API call failed. */
static int get_addresses(napi_env env, napi_value list,
                         engine_request_t *req)
{
  uint32_t count;
  uint32_t i;
  size_t total = 0;
  if(napi_get_array_length(env, list, &count) != napi_ok)
    return -1;
  if(count == 0)
    return 0;
  if(count > ADDRESSES_MAX_ARG)
    return 1;
  req->addresses = malloc((size_t)count * 64);
  if(!req->addresses)
    return -1;
  for(i = 0; i < count; i++) {
    napi_value item;
    char buf[64];
    size_t len;
    engine_address_class_t cls;
    if(napi_get_element(env, list, i, &item) != napi_ok ||
       napi_get_value_string_utf8(env, item, buf, sizeof buf, &len) !=
       napi_ok)
      return 1;
    if(len >= sizeof buf - 1 || strlen(buf) != len ||
       engine_classify_literal(buf, &cls) != 0)
      return 1;
    memcpy(req->addresses + total, buf, len + 1);
    total += len + 1;
  }
  req->addresses_len = total;
  return 0;
}

/* request(handle, id, url, method, headers[], body|null, connectTo|null,
           timeoutMs, connectTimeoutMs, maxResponseBytes, maxHeaderBytes,
           addresses[]|null, forbidReuse)
   -> undefined | error name ("QUEUE_FULL", "CLOSED", ...) */
static napi_value transport_request(napi_env env, napi_callback_info info)
{
  size_t argc = 13;
  napi_value argv[13];
  transport_t *t;
  engine_request_t *req;
  int64_t n;
  uint32_t count = 0;
  uint32_t i;
  size_t total = 0;
  engine_error_t err;

  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 13)
    return throw_error(env, "request: 13 arguments expected");
  t = get_transport(env, argv[0]);
  if(!t)
    return NULL;
  if(!t->engine)
    return error_or_undefined(env, ENGINE_E_CLOSED);
  req = calloc(1, sizeof *req);
  if(!req)
    return throw_error(env, "out of memory");
  CHECK_NAPI(napi_get_value_int64(env, argv[1], &n));
  req->id = (uint64_t)n;
  req->url = get_string(env, argv[2], NULL);
  if(!req->url)
    goto fail_pending;
  CHECK_NAPI(napi_get_value_int64(env, argv[3], &n));
  req->method = n == 1 ? ENGINE_HEAD : n == 2 ? ENGINE_POST : ENGINE_GET;

  CHECK_NAPI(napi_get_array_length(env, argv[4], &count));
  for(i = 0; i < count; i++) {
    napi_value item;
    size_t len;
    char *line;
    char *grown;
    CHECK_NAPI(napi_get_element(env, argv[4], i, &item));
    line = get_string(env, item, &len);
    if(!line)
      goto fail_pending;
    if(strpbrk(line, "\r\n") || strlen(line) != len) {
      free(line);
      engine_request_free(req);
      return error_or_undefined(env, ENGINE_E_INVALID_REQUEST);
    }
    grown = realloc(req->headers, total + len + 1);
    if(!grown) {
      free(line);
      goto fail;
    }
    req->headers = grown;
    memcpy(req->headers + total, line, len + 1);
    total += len + 1;
    free(line);
  }
  req->headers_len = total;

  if(!is_nullish(env, argv[5])) {
    void *data;
    size_t len;
    CHECK_NAPI(napi_get_buffer_info(env, argv[5], &data, &len));
    req->body = malloc(len ? len : 1);
    if(!req->body)
      goto fail;
    memcpy(req->body, data, len);
    req->body_len = len;
  }
  if(!is_nullish(env, argv[6])) {
    req->connect_to = get_string(env, argv[6], NULL);
    if(!req->connect_to)
      goto fail_pending;
  }
  CHECK_NAPI(napi_get_value_int64(env, argv[7], &n));
  req->timeout_ms = (long)n;
  CHECK_NAPI(napi_get_value_int64(env, argv[8], &n));
  req->connect_timeout_ms = (long)n;
  CHECK_NAPI(napi_get_value_int64(env, argv[9], &n));
  req->max_response_bytes = n < 0 ? 0 : (size_t)n;
  CHECK_NAPI(napi_get_value_int64(env, argv[10], &n));
  req->max_header_bytes = n < 0 ? 0 : (size_t)n;
  if(!is_nullish(env, argv[11])) {
    int bad = get_addresses(env, argv[11], req);
    if(bad < 0)
      goto fail;
    if(bad > 0) {
      engine_request_free(req);
      return error_or_undefined(env, ENGINE_E_INVALID_REQUEST);
    }
  }
  if(get_prop_bool_value(env, argv[12], &req->forbid_reuse) != 0)
    goto fail;

  err = engine_submit(t->engine, req);
  if(err != ENGINE_OK) {
    engine_request_free(req);
    return error_or_undefined(env, err);
  }
  outstanding_inc(env, t);
  return error_or_undefined(env, ENGINE_OK);
fail:
  engine_request_free(req);
  return throw_error(env, "request: invalid arguments");
fail_pending:
  engine_request_free(req);
  return NULL;
}

/* abort(handle, id) */
static napi_value transport_abort(napi_env env, napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  transport_t *t;
  int64_t id;
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 2)
    return throw_error(env, "abort(handle, id) expected");
  t = get_transport(env, argv[0]);
  if(!t)
    return NULL;
  if(napi_get_value_int64(env, argv[1], &id) != napi_ok)
    return throw_error(env, "abort: id must be a number");
  if(t->engine)
    (void)engine_abort(t->engine, (uint64_t)id);
  return error_or_undefined(env, ENGINE_OK);
}

enum op_kind { OP_CLEAR, OP_RESET, OP_CLOSE, OP_DESTROY };

static napi_value run_op(napi_env env, napi_callback_info info,
                         enum op_kind kind)
{
  size_t argc = 2;
  napi_value argv[2];
  transport_t *t;
  int64_t id;
  engine_error_t err;
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 2)
    return throw_error(env, "(handle, id) expected");
  t = get_transport(env, argv[0]);
  if(!t)
    return NULL;
  if(napi_get_value_int64(env, argv[1], &id) != napi_ok || id <= 0)
    return throw_error(env, "id must be a positive number");
  if(!t->engine)
    return error_or_undefined(env, ENGINE_E_CLOSED);
  switch(kind) {
  case OP_CLEAR:
    err = engine_clear(t->engine, (uint64_t)id);
    break;
  case OP_RESET:
    err = engine_reset(t->engine, (uint64_t)id);
    break;
  case OP_CLOSE:
    err = engine_close(t->engine, (uint64_t)id);
    if(err == ENGINE_OK)
      t->exit_ids[0] = (uint64_t)id;
    break;
  default:
    err = engine_destroy(t->engine, (uint64_t)id);
    if(err == ENGINE_OK)
      t->exit_ids[1] = (uint64_t)id;
    break;
  }
  if(err == ENGINE_OK)
    outstanding_inc(env, t);
  return error_or_undefined(env, err);
}

static napi_value transport_clear(napi_env env, napi_callback_info info)
{
  return run_op(env, info, OP_CLEAR);
}

static napi_value transport_reset(napi_env env, napi_callback_info info)
{
  return run_op(env, info, OP_RESET);
}

static napi_value transport_close(napi_env env, napi_callback_info info)
{
  return run_op(env, info, OP_CLOSE);
}

static napi_value transport_destroy(napi_env env, napi_callback_info info)
{
  return run_op(env, info, OP_DESTROY);
}

/* stats(handle) -> counters (all zero once torn down) */
static napi_value transport_stats(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1];
  napi_value obj;
  transport_t *t;
  engine_stats_t s;
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 1)
    return throw_error(env, "stats(handle) expected");
  t = get_transport(env, argv[0]);
  if(!t)
    return NULL;
  if(t->engine)
    engine_stats(t->engine, &s);
  else
    s = t->final_stats;
  CHECK_NAPI(napi_create_object(env, &obj));
  CHECK_NAPI(set_num(env, obj, "inFlight", (double)s.in_flight));
  CHECK_NAPI(set_num(env, obj, "queued", (double)s.queued));
  CHECK_NAPI(set_num(env, obj, "openConnections",
                     (double)s.open_connections));
  CHECK_NAPI(set_num(env, obj, "newConnections", (double)s.new_connections));
  CHECK_NAPI(set_num(env, obj, "reusedConnections",
                     (double)s.reused_connections));
  CHECK_NAPI(set_num(env, obj, "bytesIn", (double)s.bytes_in));
  CHECK_NAPI(set_num(env, obj, "generations", (double)s.generations));
  CHECK_NAPI(set_num(env, obj, "pooledHandles", (double)s.pooled_handles));
  CHECK_NAPI(set_num(env, obj, "workerRunning", (double)s.worker_running));
  CHECK_NAPI(set_num(env, obj, "parks", (double)s.parks));
  CHECK_NAPI(set_num(env, obj, "outstanding", (double)t->outstanding));
  return obj;
fail:
  return throw_error(env, "stats: out of memory");
}

/* classifyAddress(ip) -> class name, or null when not an IP literal */
static napi_value transport_classify_address(napi_env env,
                                             napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1];
  napi_value v;
  char buf[64];
  size_t len;
  engine_address_class_t cls;
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 1 ||
     napi_get_value_string_utf8(env, argv[0], buf, sizeof buf, &len) !=
     napi_ok)
    return throw_error(env, "classifyAddress(ip: string) expected");
  if(len >= sizeof buf - 1 || engine_classify_literal(buf, &cls) != 0) {
    if(napi_get_null(env, &v) != napi_ok)
      return NULL;
    return v;
  }
  if(napi_create_string_utf8(env, engine_address_class_name(cls),
                             NAPI_AUTO_LENGTH, &v) != napi_ok)
    return NULL;
  return v;
}

/* decodeBody(contentEncoding, body, chunkSize, cap) -> { outcome, body,
   message }: the engine's content decoder alone (response.c), fed body in
   chunkSize pieces under a Content-Encoding header (latin1; null for
   none). outcome is "OK", "BODY_TOO_LARGE", "BAD_ENCODING" or "NOMEM";
   body is the decoded body on "OK", else null. For the test that holds it
   to the undici transport's BodyDecoder. */
static napi_value transport_decode_body(napi_env env,
                                        napi_callback_info info)
{
  size_t argc = 4;
  napi_value argv[4];
  napi_value obj = NULL;
  napi_value v;
  napi_valuetype type;
  engine_headers_t h;
  engine_body_t b;
  engine_decoder_t *d = NULL;
  engine_feed_result_t r = ENGINE_FEED_OK;
  const char *outcome;
  char *line = NULL;
  void *data = NULL;
  size_t n = 0;
  size_t len = 0;
  size_t off;
  uint32_t chunk = 0;
  double cap = 0;
  memset(&h, 0, sizeof h);
  memset(&b, 0, sizeof b);
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 4 || napi_typeof(env, argv[0], &type) != napi_ok ||
     napi_get_buffer_info(env, argv[1], &data, &n) != napi_ok ||
     napi_get_value_uint32(env, argv[2], &chunk) != napi_ok || chunk == 0 ||
     napi_get_value_double(env, argv[3], &cap) != napi_ok || cap < 0 ||
     (type != napi_null && type != napi_string))
    return throw_error(env, "decodeBody(contentEncoding: string | null, "
                            "body: Buffer, chunkSize: number, cap: number) "
                            "expected");
  if(type == napi_string) {
    static const char name[] = "Content-Encoding: ";
    if(napi_get_value_string_latin1(env, argv[0], NULL, 0, &len) !=
       napi_ok)
      return throw_error(env, "contentEncoding: string expected");
    line = malloc(sizeof name + len + 2);
    if(!line)
      return throw_error(env, "decodeBody: out of memory");
    memcpy(line, name, sizeof name - 1);
    if(napi_get_value_string_latin1(env, argv[0], line + sizeof name - 1,
                                    len + 1, &len) != napi_ok) {
      free(line);
      return throw_error(env, "contentEncoding: string expected");
    }
    memcpy(line + sizeof name - 1 + len, "\r\n", 2);
    len += sizeof name - 1 + 2;
  }
  /* The header cap is not what this is about. */
  engine_headers_feed(&h, "HTTP/1.1 200 OK\r\n", 17, SIZE_MAX / 4);
  if(line)
    engine_headers_feed(&h, line, len, SIZE_MAX / 4);
  engine_headers_feed(&h, "\r\n", 2, SIZE_MAX / 4);
  free(line);
  r = engine_decoder_new(&h, &d);
  for(off = 0; r == ENGINE_FEED_OK && off < n; off += chunk) {
    size_t piece = n - off < chunk ? n - off : chunk;
    if(d)
      r = engine_decoder_write(d, (const char *)data + off, piece, &b,
                               (size_t)cap);
    else
      r = engine_body_append(&b, (const char *)data + off, piece,
                             (size_t)cap);
  }
  if(r == ENGINE_FEED_OK && d)
    r = engine_decoder_finish(d);
  outcome = r == ENGINE_FEED_OK ? "OK" :
            r == ENGINE_FEED_CAP ? "BODY_TOO_LARGE" :
            r == ENGINE_FEED_BAD ? "BAD_ENCODING" : "NOMEM";
  CHECK_NAPI(napi_create_object(env, &obj));
  CHECK_NAPI(set_str(env, obj, "outcome", outcome));
  CHECK_NAPI(set_str(env, obj, "message",
                     d ? engine_decoder_message(d) : ""));
  if(r == ENGINE_FEED_OK)
    CHECK_NAPI(napi_create_buffer_copy(env, b.len,
                                       b.buf ? (void *)b.buf : (void *)"",
                                       NULL, &v));
  else
    CHECK_NAPI(napi_get_null(env, &v));
  CHECK_NAPI(napi_set_named_property(env, obj, "body", v));
  engine_decoder_free(d);
  engine_body_free(&b);
  engine_headers_free(&h);
  return obj;
fail:
  engine_decoder_free(d);
  engine_body_free(&b);
  engine_headers_free(&h);
  return throw_error(env, "decodeBody: out of memory");
}

NAPI_MODULE_INIT()
{
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
    {"create", transport_create},
    {"request", transport_request},
    {"abort", transport_abort},
    {"clear", transport_clear},
    {"reset", transport_reset},
    {"close", transport_close},
    {"destroy", transport_destroy},
    {"stats", transport_stats},
    {"classifyAddress", transport_classify_address},
    {"decodeBody", transport_decode_body},
  };
  size_t i;
  napi_value v;
  if(engine_global_init() != 0) {
    throw_error(env, "could not initialise libcurl (curl_global_init) or "
                     "the engine's exit handler");
    return NULL;
  }
  for(i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    if(napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn,
                            NULL, &v) != napi_ok ||
       napi_set_named_property(env, exports, fns[i].name, v) != napi_ok)
      return NULL;
  }
  if(napi_create_string_utf8(env, engine_curl_version(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlVersion", v) != napi_ok ||
     napi_create_string_utf8(env, engine_curl_minimum(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlMinimumVersion", v) !=
     napi_ok ||
     napi_get_boolean(env, engine_curl_supported(), &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlSupported", v) != napi_ok)
    return NULL;
  if(napi_create_string_utf8(env, engine_curl_ssl_version(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlSslVersion", v) != napi_ok)
    return NULL;
  return exports;
}
