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

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "curve_point.h"
#include "engine.h"

/* IP literals accepted per request; the engine uses the first 16. */
#define ADDRESSES_MAX_ARG 64

/*
 * The per-request numbers. JavaScript writes them into the Float64Array
 * it gave create() ("params") before each request(), by the names of
 * requestLayout (exported), so no object and no positional argument list
 * crosses the boundary for them. This enum and its names are the one
 * table; src/transport/native-addon.ts reads the names at load.
 */
enum request_param {
  P_ID,
  P_METHOD,                    /* 0 GET, 1 HEAD, 2 POST */
  P_TIMEOUT_MS,
  P_CONNECT_TIMEOUT_MS,
  P_MAX_RESPONSE_BYTES,
  P_MAX_HEADER_BYTES,
  P_FORBID_REUSE,              /* 0 or 1 */
  P_COUNT
};
static const char *const request_param_names[P_COUNT] = {
  "id", "method", "timeoutMs", "connectTimeoutMs", "maxResponseBytes",
  "maxHeaderBytes", "forbidReuse"
};

/*
 * The numbers of one completion. The binding writes them into the
 * Float64Array given to create() ("results") right before calling
 * onComplete(headers, body, message, address) for that completion, by
 * the names of completionLayout (exported).
 */
enum completion_field {
  R_ID,
  R_KIND,                      /* 0 transfer, 1 operation */
  R_ERROR,                     /* engine_error_t: index into errorNames */
  R_STATUS,
  R_CURL_CODE,
  R_CONNECT_US,
  R_TLS_US,
  R_FIRST_BYTE_US,
  R_TOTAL_US,
  R_REUSED,                    /* 0 or 1 */
  R_ADDRESS_CLASS,             /* index into addressClassNames */
  R_COUNT
};
static const char *const completion_field_names[R_COUNT] = {
  "id", "kind", "error", "status", "curlCode", "connectUs", "tlsUs",
  "firstByteUs", "totalUs", "reused", "addressClass"
};

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
  /* The params and results Float64Arrays (held by strong references
     while the transport lives; their backing stores never move). */
  double *params;
  double *results;
  napi_ref params_ref;
  napi_ref results_ref;
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
  if(t->params_ref) {
    (void)napi_delete_reference(env, t->params_ref);
    t->params_ref = NULL;
  }
  if(t->results_ref) {
    (void)napi_delete_reference(env, t->results_ref);
    t->results_ref = NULL;
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

/* Write one completion's numbers into the results array and make its
   onComplete arguments: headers, body (a transfer that succeeded),
   message (a failure), address (a refused address); undefined otherwise. */
static napi_status completion_to_js(napi_env env, transport_t *t,
                                    engine_completion_t *d,
                                    napi_value undefined, napi_value *argv)
{
  double *r = t->results;
  napi_status s;
  int ok = d->kind == ENGINE_DONE_TRANSFER && d->error == ENGINE_OK;
#define TRY(call) do { s = (call); if(s != napi_ok) return s; } while(0)
  r[R_ID] = (double)d->id;
  r[R_KIND] = d->kind == ENGINE_DONE_OP ? 1 : 0;
  r[R_ERROR] = (double)d->error;
  r[R_STATUS] = (double)d->status;
  r[R_CURL_CODE] = (double)d->curl_code;
  r[R_CONNECT_US] = (double)d->connect_us;
  r[R_TLS_US] = (double)d->tls_us;
  r[R_FIRST_BYTE_US] = (double)d->first_byte_us;
  r[R_TOTAL_US] = (double)d->total_us;
  r[R_REUSED] = d->reused ? 1 : 0;
  r[R_ADDRESS_CLASS] = (double)d->address_class;
  argv[0] = argv[1] = argv[2] = argv[3] = undefined;
  if(ok) {
    TRY(napi_create_string_latin1(env, d->headers ? d->headers : "",
                                  d->headers_len, &argv[0]));
    TRY(napi_create_buffer_copy(env, d->body_len,
                                d->body ? (void *)d->body : (void *)"",
                                NULL, &argv[1]));
  }
  else if(d->error != ENGINE_OK) {
    TRY(napi_create_string_utf8(env, d->message, NAPI_AUTO_LENGTH,
                                &argv[2]));
    if(d->address[0])
      TRY(napi_create_string_utf8(env, d->address, NAPI_AUTO_LENGTH,
                                  &argv[3]));
  }
#undef TRY
  return napi_ok;
}

/* Called by Node on the JS thread for each napi_call_threadsafe_function:
   drains every completion and calls the JS callback for each, with its
   numbers in the results array (see completion_to_js). env is NULL while
   the function is being torn down. */
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
    napi_value argv[4];
    napi_value result;
    napi_status s;
    if(d->kind == ENGINE_DONE_OP &&
       (d->id == t->exit_ids[0] || d->id == t->exit_ids[1]) && d->id)
      exited = 1;
    s = completion_to_js(env, t, d, undefined, argv);
    if(s == napi_ok)
      s = napi_call_function(env, undefined, js_cb, 4, argv, &result);
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

/* The data of a Float64Array of at least min elements, or NULL. */
static double *float64_array(napi_env env, napi_value v, size_t min)
{
  bool is_typed;
  napi_typedarray_type type;
  size_t length;
  void *data;
  if(napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
     napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) !=
     napi_ok || type != napi_float64_array || length < min)
    return NULL;
  return data;
}

/* create(options, onComplete, params, results) -> handle; params and
   results are Float64Arrays of requestLayout's and completionLayout's
   sizes, kept for the transport's life. */
static napi_value transport_create(napi_env env, napi_callback_info info)
{
  size_t argc = 4;
  napi_value argv[4];
  napi_value name;
  napi_value external;
  napi_value ca;
  engine_config_t config;
  int64_t n;
  char *ca_pem = NULL;
  transport_t *t;
  engine_error_t err;

  double *params;
  double *results;

  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 4)
    return throw_error(env, "create(options, onComplete, params, results) "
                            "expected");
  params = float64_array(env, argv[2], P_COUNT);
  results = float64_array(env, argv[3], R_COUNT);
  if(!params || !results)
    return throw_error(env, "create: params and results must be "
                            "Float64Arrays of the layouts' sizes");
  memset(&config, 0, sizeof config);
#define INT_OPT(key, field)                                            \
  if(get_prop_int64(env, argv[0], key, &n) != 0 || n < 0)              \
    return throw_error(env, "invalid option " key);                    \
  config.field = (long)n;
  INT_OPT("maxConnections", max_connections)
  INT_OPT("maxIdleConnections", max_idle_connections)
  INT_OPT("idleTimeoutMs", idle_timeout_ms)
  INT_OPT("maxConnectionLifetimeMs", max_lifetime_ms)
  INT_OPT("dnsCacheTtlMs", dns_cache_ttl_ms)
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
  t->params = params;
  t->results = results;
  if(napi_create_reference(env, argv[2], 1, &t->params_ref) != napi_ok ||
     napi_create_reference(env, argv[3], 1, &t->results_ref) != napi_ok) {
    if(t->params_ref)
      (void)napi_delete_reference(env, t->params_ref);
    free(ca_pem);
    free(t);
    return throw_error(env, "could not keep the parameter arrays");
  }
  if(napi_create_string_utf8(env, "atresolve:curl", NAPI_AUTO_LENGTH,
                             &name) != napi_ok ||
     napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, t,
                                     on_tsfn_finalize, t, on_tsfn_call,
                                     &t->tsfn) != napi_ok) {
    (void)napi_delete_reference(env, t->params_ref);
    (void)napi_delete_reference(env, t->results_ref);
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
  (void)napi_delete_reference(env, t->params_ref);
  (void)napi_delete_reference(env, t->results_ref);
  t->params_ref = t->results_ref = NULL;
  {
    napi_threadsafe_function tsfn = t->tsfn;
    t->tsfn = NULL;
    t->refs = 1;               /* only the tsfn finalizer will run */
    (void)napi_release_threadsafe_function(tsfn, napi_tsfn_release);
  }
  return throw_error(env, "could not create the native engine (out of "
                          "memory, or libcurl is too old)");
}

/* Check a list of NUL-terminated entries (`n` bytes, the last one
   NUL): every entry non-empty and free of CR and LF. Returns the number
   of entries, or -1. */
static long check_entries(const char *list, size_t n)
{
  size_t off = 0;
  long count = 0;
  if(n == 0 || list[n - 1] != '\0')
    return -1;
  while(off < n) {
    size_t len = strlen(list + off);
    if(len == 0 || strpbrk(list + off, "\r\n"))
      return -1;
    off += len + 1;
    count++;
  }
  return count;
}

/* Take a JS string of NUL-separated entries ("a\0b\0"): a malloc'd copy
   in *out, its length in *len. 0, or 1 when it is not such a list (too
   many, or an empty or CR/LF entry), or -1 (exception pending). */
static int get_entries(napi_env env, napi_value v, long max, char **out,
                       size_t *len)
{
  long count;
  *out = get_string(env, v, len);
  if(!*out)
    return -1;
  count = check_entries(*out, *len);
  if(count < 0 || count > max) {
    free(*out);
    *out = NULL;
    return 1;
  }
  return 0;
}

/* request(handle, url, headers, body, connectTo, addresses) ->
   undefined | error name ("CLOSED", "INVALID_REQUEST", ...). The numbers
   are in the params array (request_param). headers: "Name: value\0…"
   entries, or null; body: a Buffer or null; connectTo: "::ip:port" or
   null; addresses: IP literals as "a\0b\0" entries (tried in order;
   libcurl then resolves nothing), or null. */
static napi_value transport_request(napi_env env, napi_callback_info info)
{
  size_t argc = 6;
  napi_value argv[6];
  transport_t *t;
  engine_request_t *req;
  const double *p;
  engine_error_t err;
  int bad;

  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 6)
    return throw_error(env, "request: 6 arguments expected");
  t = get_transport(env, argv[0]);
  if(!t)
    return NULL;
  if(!t->engine)
    return error_or_undefined(env, ENGINE_E_CLOSED);
  p = t->params;
  req = calloc(1, sizeof *req);
  if(!req)
    return throw_error(env, "out of memory");
  req->id = (uint64_t)p[P_ID];
  req->method = p[P_METHOD] == 1 ? ENGINE_HEAD :
                p[P_METHOD] == 2 ? ENGINE_POST : ENGINE_GET;
  req->timeout_ms = (long)p[P_TIMEOUT_MS];
  req->connect_timeout_ms = (long)p[P_CONNECT_TIMEOUT_MS];
  req->max_response_bytes = p[P_MAX_RESPONSE_BYTES] < 0 ? 0 :
                            (size_t)p[P_MAX_RESPONSE_BYTES];
  req->max_header_bytes = p[P_MAX_HEADER_BYTES] < 0 ? 0 :
                          (size_t)p[P_MAX_HEADER_BYTES];
  req->forbid_reuse = p[P_FORBID_REUSE] != 0;
  req->url = get_string(env, argv[1], NULL);
  if(!req->url)
    goto fail_pending;
  if(!is_nullish(env, argv[2])) {
    bad = get_entries(env, argv[2], LONG_MAX, &req->headers,
                      &req->headers_len);
    if(bad)
      goto refuse;
  }
  if(!is_nullish(env, argv[3])) {
    void *data;
    size_t len;
    if(napi_get_buffer_info(env, argv[3], &data, &len) != napi_ok)
      goto fail;
    req->body = malloc(len ? len : 1);
    if(!req->body)
      goto fail;
    memcpy(req->body, data, len);
    req->body_len = len;
  }
  if(!is_nullish(env, argv[4])) {
    req->connect_to = get_string(env, argv[4], NULL);
    if(!req->connect_to)
      goto fail_pending;
  }
  if(!is_nullish(env, argv[5])) {
    size_t off;
    bad = get_entries(env, argv[5], ADDRESSES_MAX_ARG, &req->addresses,
                      &req->addresses_len);
    if(bad)
      goto refuse;
    for(off = 0; off < req->addresses_len;) {
      engine_address_class_t cls;
      const char *ip = req->addresses + off;
      if(strlen(ip) >= 64 || engine_classify_literal(ip, &cls) != 0) {
        bad = 1;
        goto refuse;
      }
      off += strlen(ip) + 1;
    }
  }

  err = engine_submit(t->engine, req);
  if(err != ENGINE_OK) {
    engine_request_free(req);
    return error_or_undefined(env, err);
  }
  outstanding_inc(env, t);
  return error_or_undefined(env, ENGINE_OK);
refuse:
  engine_request_free(req);
  if(bad < 0)
    return NULL;
  return error_or_undefined(env, ENGINE_E_INVALID_REQUEST);
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

/* isPointOnCurve(curve, bytes) -> boolean: curve_point_check() for curve 0
   (secp256k1) or 1 (P-256) over a Uint8Array; throws when the check is not
   available here (exports.isPointOnCurveAvailable is false: no
   libgmp.so.10). */
static napi_value transport_is_point_on_curve(napi_env env,
                                              napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  napi_value v;
  uint32_t curve = 0;
  napi_typedarray_type kind;
  size_t len = 0;
  void *data = NULL;
  int on;
  bool is_typed = false;
  if(napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok ||
     argc < 2 || napi_get_value_uint32(env, argv[0], &curve) != napi_ok ||
     curve > CURVE_P256 ||
     napi_is_typedarray(env, argv[1], &is_typed) != napi_ok || !is_typed ||
     napi_get_typedarray_info(env, argv[1], &kind, &len, &data, NULL,
                              NULL) != napi_ok ||
     kind != napi_uint8_array)
    return throw_error(env, "isPointOnCurve(curve: 0 | 1, bytes: Uint8Array) "
                            "expected");
  on = curve_point_check((curve_id_t)curve, data, len);
  if(on < 0)
    return throw_error(env, "isPointOnCurve: not available (libgmp.so.10 "
                            "could not be opened)");
  if(napi_get_boolean(env, on == 1, &v) != napi_ok)
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

/* exports[key] = { name: index, … } for a layout's names. */
static napi_status set_layout(napi_env env, napi_value exports,
                              const char *key, const char *const *names,
                              size_t count)
{
  napi_value obj;
  napi_status s;
  size_t i;
  s = napi_create_object(env, &obj);
  for(i = 0; s == napi_ok && i < count; i++)
    s = set_num(env, obj, names[i], (double)i);
  return s == napi_ok ? napi_set_named_property(env, exports, key, obj) : s;
}

static const char *name_of_error(size_t i)
{
  return engine_error_name((engine_error_t)i);
}

static const char *name_of_address_class(size_t i)
{
  return engine_address_class_name((engine_address_class_t)i);
}

/* exports[key] = [name(0), name(1), …]. */
static napi_status set_names(napi_env env, napi_value exports,
                             const char *key, size_t count,
                             const char *(*name)(size_t))
{
  napi_value list;
  napi_value v;
  napi_status s;
  size_t i;
  s = napi_create_array_with_length(env, count, &list);
  for(i = 0; s == napi_ok && i < count; i++) {
    s = napi_create_string_utf8(env, name(i), NAPI_AUTO_LENGTH, &v);
    if(s == napi_ok)
      s = napi_set_element(env, list, (uint32_t)i, v);
  }
  return s == napi_ok ? napi_set_named_property(env, exports, key, list) : s;
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
    {"isPointOnCurve", transport_is_point_on_curve},
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
  if(set_layout(env, exports, "requestLayout", request_param_names,
                 P_COUNT) != napi_ok ||
     set_layout(env, exports, "completionLayout", completion_field_names,
                R_COUNT) != napi_ok ||
     set_names(env, exports, "errorNames", ENGINE_E_INTERNAL + 1,
               name_of_error) != napi_ok ||
     set_names(env, exports, "addressClassNames", ENGINE_ADDR_RESERVED + 1,
               name_of_address_class) != napi_ok)
    return NULL;
  if(napi_create_string_utf8(env, engine_curl_version(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlVersion", v) != napi_ok ||
     napi_create_string_utf8(env, engine_curl_minimum(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlMinimumVersion", v) !=
     napi_ok ||
     napi_get_boolean(env, engine_curl_supported(), &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlSupported", v) != napi_ok ||
     napi_get_boolean(env, curve_point_available(), &v) != napi_ok ||
     napi_set_named_property(env, exports, "isPointOnCurveAvailable", v) !=
     napi_ok)
    return NULL;
  if(napi_create_string_utf8(env, engine_curl_ssl_version(), NAPI_AUTO_LENGTH,
                             &v) != napi_ok ||
     napi_set_named_property(env, exports, "curlSslVersion", v) != napi_ok)
    return NULL;
  return exports;
}
