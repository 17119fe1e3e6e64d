/*
 * engine_test.c - drives native/src/engine.c directly (no N-API) against
 * the local servers started by run.mjs. Environment: TEST_PORT (HTTPS),
 * TEST_CA (CA PEM), TEST_BLACKHOLE (accepts, never answers), TEST_CLOSED
 * (refuses), TEST_ADDRESS_CASES (the SSRF case table). Prints one line
 * per test and "N passed, N failed".
 */
#define _GNU_SOURCE
#include "curve_point.h"
#include "engine.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static int port;
static int blackhole_port;
static int closed_port;
static const char *ca_file;
static char *ca_pem;           /* contents of ca_file */
/* "/delay/N" path for requests that must still be in flight while another
   request on a new generation completes. The first TLS connection of a
   generation parses the CA bundle (test CA + system roots): instant
   natively, about a second under valgrind, so TEST_SLOW scales it. */
static const char *in_flight_delay = "/delay/300";
static int failures;
static int test_failed;

#define CHECK(cond)                                                    \
  do {                                                                 \
    if(!(cond)) {                                                      \
      fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      test_failed = 1;                                                 \
    }                                                                  \
  } while(0)

#define CHECK_ERR(done, expected)                                      \
  do {                                                                 \
    if(!(done) || (done)->error != (expected)) {                       \
      fprintf(stderr, "  FAIL %s:%d: expected %s, got %s (%s)\n",      \
              __FILE__, __LINE__, engine_error_name(expected),         \
              (done) ? engine_error_name((done)->error) : "nothing",   \
              (done) ? (done)->message : "");                          \
      test_failed = 1;                                                 \
    }                                                                  \
  } while(0)

/* Collects completions. The notify callback runs on the worker thread;
   everything else on the test's thread. Lives for one test. */
struct harness {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int notified;
  engine_t *engine;
  engine_completion_t *got;
};

/* Called by the engine's worker thread when completions are ready. */
static void on_notify(void *arg)
{
  struct harness *h = arg;
  pthread_mutex_lock(&h->mu);
  h->notified = 1;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
}

static int64_t mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* The whole file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long size;
  if(!f)
    return NULL;
  if(fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
     fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
    if(fread(buf, 1, (size_t)size, f) != (size_t)size) {
      free(buf);
      buf = NULL;
    }
    else {
      buf[size] = '\0';
    }
  }
  fclose(f);
  return buf;
}

static void config_defaults(engine_config_t *c)
{
  memset(c, 0, sizeof *c);
  c->max_connections = 8;
  c->max_idle_connections = 8;
  c->idle_timeout_ms = 30000;
  c->max_lifetime_ms = 300000;
  c->dns_cache_ttl_ms = 60000;
  c->allow_private_network = 1;
  c->ca_pem = ca_pem;
}

static void harness_start(struct harness *h, const engine_config_t *c)
{
  memset(h, 0, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  pthread_cond_init(&h->cv, NULL);
  if(engine_create(c, on_notify, h, &h->engine) != ENGINE_OK) {
    fprintf(stderr, "engine_create failed\n");
    exit(2);
  }
}

static void harness_collect(struct harness *h)
{
  engine_completion_t *d = engine_take_completions(h->engine);
  while(d) {
    engine_completion_t *next = d->next;
    engine_completion_t **tail = &h->got;
    while(*tail)
      tail = &(*tail)->next;
    d->next = NULL;
    *tail = d;
    d = next;
  }
}

/* Wait for the completion with this id (of this kind); NULL on timeout. */
static engine_completion_t *wait_done(struct harness *h, uint64_t id,
                                      engine_completion_kind_t kind,
                                      long timeout_ms)
{
  int64_t until = mono_ms() + timeout_ms;
  for(;;) {
    engine_completion_t **p;
    harness_collect(h);
    for(p = &h->got; *p; p = &(*p)->next) {
      if((*p)->id == id && (*p)->kind == kind) {
        engine_completion_t *d = *p;
        *p = d->next;
        d->next = NULL;
        return d;
      }
    }
    pthread_mutex_lock(&h->mu);
    if(!h->notified) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 20 * 1000000L;
      if(ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    h->notified = 0;
    pthread_mutex_unlock(&h->mu);
    if(mono_ms() > until)
      return NULL;
  }
}

static engine_completion_t *wait_req(struct harness *h, uint64_t id)
{
  return wait_done(h, id, ENGINE_DONE_TRANSFER, 30000);
}

static engine_completion_t *wait_op(struct harness *h, uint64_t id)
{
  return wait_done(h, id, ENGINE_DONE_OP, 30000);
}

/* Is a completion for this id already here (without waiting)? */
static int arrived(struct harness *h, uint64_t id,
                   engine_completion_kind_t kind)
{
  engine_completion_t *d;
  harness_collect(h);
  for(d = h->got; d; d = d->next)
    if(d->id == id && d->kind == kind)
      return 1;
  return 0;
}

static void harness_stop(struct harness *h, int close_first)
{
  if(close_first) {
    engine_completion_t *d;
    CHECK(engine_close(h->engine, 999999) == ENGINE_OK);
    d = wait_op(h, 999999);
    CHECK(d != NULL);
    engine_completion_free(d);
    engine_join(h->engine);
  }
  engine_free(h->engine);
  while(h->got) {
    engine_completion_t *next = h->got->next;
    engine_completion_free(h->got);
    h->got = next;
  }
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
}

static engine_request_t *mkreq(uint64_t id, const char *host, int to_port,
                               const char *path)
{
  engine_request_t *r = calloc(1, sizeof *r);
  char buf[512];
  if(!r)
    exit(2);
  r->id = id;
  snprintf(buf, sizeof buf, "https://%s:%d%s", host, to_port, path);
  r->url = strdup(buf);
  if(strstr(host, ".web.test")) {
    snprintf(buf, sizeof buf, "::127.0.0.1:%d", to_port);
    r->connect_to = strdup(buf);
  }
  r->method = ENGINE_GET;
  r->timeout_ms = 10000;
  r->connect_timeout_ms = 5000;
  r->max_response_bytes = 1 << 20;
  r->max_header_bytes = 16384;
  return r;
}

static engine_request_t *get(uint64_t id, const char *path)
{
  return mkreq(id, "localhost", port, path);
}

static engine_completion_t *fetch(struct harness *h, engine_request_t *r)
{
  uint64_t id = r->id;
  if(engine_submit(h->engine, r) != ENGINE_OK) {
    engine_request_free(r);
    return NULL;
  }
  return wait_req(h, id);
}

static uint64_t stat_open(struct harness *h)
{
  engine_stats_t s;
  engine_stats(h->engine, &s);
  return s.open_connections;
}

/* ------------------------------------------------------------------ */

/* The class named name, or -1 for "not-an-address" (text that is no IP
   literal) and for a name that is no class. */
static int class_named(const char *name)
{
  int cls;
  for(cls = ENGINE_ADDR_PUBLIC; cls <= ENGINE_ADDR_RESERVED; cls++)
    if(!strcmp(engine_address_class_name((engine_address_class_t)cls), name))
      return cls;
  return -1;
}

/* The shared case table (test/fixtures/address-classes.txt, which the
   TypeScript classifier's test reads too): every row through
   engine_classify_literal. */
static void test_classifier(void)
{
  const char *path = getenv("TEST_ADDRESS_CASES");
  FILE *f = path ? fopen(path, "r") : NULL;
  char line[256];
  int rows = 0;
  engine_address_class_t cls;
  if(!f) {
    fprintf(stderr, "  FAIL cannot read TEST_ADDRESS_CASES (%s)\n",
            path ? path : "unset");
    test_failed = 1;
    return;
  }
  while(fgets(line, sizeof line, f)) {
    char ip[128];
    char name[32];
    int want;
    int rc;
    if(sscanf(line, " %127s %31s", ip, name) != 2 || ip[0] == '#')
      continue;
    want = class_named(name);
    if(want < 0 && strcmp(name, "not-an-address") != 0) {
      fprintf(stderr, "  FAIL unknown class %s for %s\n", name, ip);
      test_failed = 1;
      continue;
    }
    rows++;
    rc = engine_classify_literal(ip, &cls);
    if(want < 0 ? rc != -1 : (rc != 0 || (int)cls != want)) {
      fprintf(stderr, "  FAIL classify %s: got %s, want %s\n", ip,
              rc ? "not-an-address" : engine_address_class_name(cls), name);
      test_failed = 1;
    }
  }
  fclose(f);
  CHECK(rows >= 100); /* the table was found and read whole */
  CHECK(engine_classify_literal("not an ip", &cls) == -1);
  CHECK(engine_classify_literal("[::1]", &cls) == -1);
  CHECK(strcmp(engine_address_class_name(ENGINE_ADDR_LINK_LOCAL),
               "link-local") == 0);
  {
    struct sockaddr sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_family = AF_UNIX;
    CHECK(engine_classify_address(&sa) == ENGINE_ADDR_RESERVED);
  }
}

static void test_map_error(void)
{
  CHECK(engine_map_error(CURLE_OK, 0) == ENGINE_OK);
  CHECK(engine_map_error(CURLE_OK, ENGINE_F_ABORTED) == ENGINE_E_ABORTED);
  CHECK(engine_map_error(CURLE_OK, ENGINE_F_DESTROYED | ENGINE_F_ABORTED)
        == ENGINE_E_DESTROYED);
  CHECK(engine_map_error(CURLE_COULDNT_RESOLVE_HOST, 0) == ENGINE_E_DNS);
  CHECK(engine_map_error(CURLE_COULDNT_CONNECT, 0) == ENGINE_E_CONNECT);
  CHECK(engine_map_error(CURLE_COULDNT_CONNECT, ENGINE_F_FORBIDDEN) ==
        ENGINE_E_FORBIDDEN_ADDRESS);
  CHECK(engine_map_error(CURLE_OPERATION_TIMEDOUT, 0) ==
        ENGINE_E_CONNECT_TIMEOUT);
  CHECK(engine_map_error(CURLE_OPERATION_TIMEDOUT, ENGINE_F_CONNECTED) ==
        ENGINE_E_TIMEOUT);
  CHECK(engine_map_error(CURLE_OPERATION_TIMEDOUT,
                         ENGINE_F_TOTAL_ELAPSED) == ENGINE_E_TIMEOUT);
  CHECK(engine_map_error(CURLE_OK, ENGINE_F_DEADLINE) == ENGINE_E_TIMEOUT);
  CHECK(engine_map_error(CURLE_WRITE_ERROR, ENGINE_F_BODY_CAP) ==
        ENGINE_E_BODY_TOO_LARGE);
  CHECK(engine_map_error(CURLE_WRITE_ERROR, ENGINE_F_HEADER_CAP) ==
        ENGINE_E_HEADERS_TOO_LARGE);
  CHECK(engine_map_error(CURLE_WRITE_ERROR, 0) == ENGINE_E_INTERNAL);
  CHECK(engine_map_error(CURLE_PEER_FAILED_VERIFICATION, 0) ==
        ENGINE_E_TLS);
  CHECK(engine_map_error(CURLE_SSL_CONNECT_ERROR, 0) == ENGINE_E_TLS);
  CHECK(engine_map_error(CURLE_RECV_ERROR, 0) == ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_PARTIAL_FILE, 0) == ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_GOT_NOTHING, 0) == ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_WEIRD_SERVER_REPLY, 0) ==
        ENGINE_E_PROTOCOL);
  CHECK(engine_map_error(CURLE_BAD_CONTENT_ENCODING, 0) ==
        ENGINE_E_PROTOCOL);
  CHECK(engine_map_error(CURLE_URL_MALFORMAT, 0) == ENGINE_E_INVALID_URL);
  CHECK(engine_map_error(CURLE_OUT_OF_MEMORY, 0) == ENGINE_E_INTERNAL);
  /* A body that does not decode, also when libcurl saw no error. */
  CHECK(engine_map_error(CURLE_OK, ENGINE_F_BAD_ENCODING) ==
        ENGINE_E_PROTOCOL);
  CHECK(engine_map_error(CURLE_WRITE_ERROR, ENGINE_F_BAD_ENCODING) ==
        ENGINE_E_PROTOCOL);
  CHECK(engine_map_error(CURLE_OK, ENGINE_F_BAD_ENCODING |
                         ENGINE_F_ABORTED) == ENGINE_E_ABORTED);
  /* libcurl's own header limits, while the headers were coming. */
  CHECK(engine_map_error(CURLE_OUT_OF_MEMORY, ENGINE_F_IN_HEADERS) ==
        ENGINE_E_HEADERS_TOO_LARGE);
  CHECK(engine_map_error(CURLE_RECV_ERROR,
                         ENGINE_F_IN_HEADERS | ENGINE_F_H2_CALLBACK) ==
        ENGINE_E_HEADERS_TOO_LARGE);
  CHECK(engine_map_error(CURLE_RECV_ERROR, ENGINE_F_IN_HEADERS) ==
        ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_RECV_ERROR, ENGINE_F_H2_CALLBACK) ==
        ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_GOT_NOTHING,
                         ENGINE_F_IN_HEADERS | ENGINE_F_HTTP2) ==
        ENGINE_E_HEADERS_TOO_LARGE);
  CHECK(engine_map_error(CURLE_GOT_NOTHING, ENGINE_F_IN_HEADERS) ==
        ENGINE_E_NETWORK);
  CHECK(engine_map_error(CURLE_HTTP2_STREAM,
                         ENGINE_F_IN_HEADERS | ENGINE_F_HTTP2) ==
        ENGINE_E_NETWORK);
  CHECK(strcmp(engine_error_name(ENGINE_E_CONNECT_TIMEOUT),
               "CONNECT_TIMEOUT") == 0);
}

/* Feed a NUL-terminated line. */
static engine_feed_result_t feed(engine_headers_t *h, const char *line,
                                 size_t cap)
{
  return engine_headers_feed(h, line, strlen(line), cap);
}

static void test_response_handling(void)
{
  engine_headers_t h;
  engine_body_t b;
  char big[200];
  int i;

  /* Status and blank lines are counted, not stored. */
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 64) == ENGINE_FEED_OK);
  CHECK(feed(&h, "a: 1\r\n", 64) == ENGINE_FEED_OK);
  CHECK(feed(&h, "\r\n", 64) == ENGINE_FEED_OK);
  CHECK(h.buf && strcmp(h.buf, "a: 1\r\n") == 0 && h.len == 6);
  CHECK(h.counted == 17 + 6 + 2 && h.state == ENGINE_HS_TRAILERS);
  engine_headers_free(&h);
  CHECK(h.buf == NULL && h.len == 0 && h.state == ENGINE_HS_STATUS);

  /* A 1xx block is forgotten when the final response starts. */
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 103 Early Hints\r\n", 64) == ENGINE_FEED_OK);
  CHECK(feed(&h, "link: </a>\r\n", 64) == ENGINE_FEED_OK);
  CHECK(feed(&h, "\r\n", 64) == ENGINE_FEED_OK);
  CHECK(h.state == ENGINE_HS_STATUS);
  CHECK(feed(&h, "HTTP/2 200 \r\n", 64) == ENGINE_FEED_OK);
  CHECK(feed(&h, "b: 2\r\n", 64) == ENGINE_FEED_OK);
  CHECK(strcmp(h.buf, "b: 2\r\n") == 0);
  engine_headers_free(&h);

  /* Exactly the cap is fine, one byte more is not. */
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 23) == ENGINE_FEED_OK);
  CHECK(feed(&h, "a: 1\r\n", 23) == ENGINE_FEED_OK);
  CHECK(feed(&h, "\n", 23) == ENGINE_FEED_CAP);
  engine_headers_free(&h);
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 16) == ENGINE_FEED_CAP);
  engine_headers_free(&h);

  /* A header line that merely starts with "HTTP/" inside a block, or a
     second status line after a final response, does not restart the
     count: the cap cannot be bypassed by repeating it. */
  memset(&h, 0, sizeof h);
  memset(big, 'p', sizeof big);
  big[sizeof big - 3] = '\r';
  big[sizeof big - 2] = '\n';
  big[sizeof big - 1] = '\0';
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 1000) == ENGINE_FEED_OK);
  for(i = 0; i < 4; i++) {
    CHECK(feed(&h, big, 1000) == ENGINE_FEED_OK);
    CHECK(feed(&h, "HTTP/1.1: 200 OK\r\n", 1000) == ENGINE_FEED_OK);
  }
  CHECK(feed(&h, big, 1000) == ENGINE_FEED_CAP);
  engine_headers_free(&h);
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 40) == ENGINE_FEED_OK);
  CHECK(feed(&h, "\r\n", 40) == ENGINE_FEED_OK);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 40) == ENGINE_FEED_OK);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 40) == ENGINE_FEED_CAP);
  engine_headers_free(&h);

  /* A declared unencoded body over the cap is known at the headers. */
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(feed(&h, "Content-Length:  101 \r\n", 4096) == ENGINE_FEED_OK);
  CHECK(engine_headers_declare_oversize(&h, 100));
  CHECK(!engine_headers_declare_oversize(&h, 101));
  CHECK(feed(&h, "content-encoding: gzip\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(!engine_headers_declare_oversize(&h, 100));
  engine_headers_free(&h);
  memset(&h, 0, sizeof h);
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(feed(&h, "CONTENT-ENCODING: Identity\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(feed(&h, "content-length: 99999999999999999999999999\r\n", 4096) ==
        ENGINE_FEED_OK);
  CHECK(engine_headers_declare_oversize(&h, 100));
  CHECK(feed(&h, "Transfer-Encoding: chunked\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(!engine_headers_declare_oversize(&h, 100));
  engine_headers_free(&h);
  memset(&h, 0, sizeof h);
  CHECK(!engine_headers_declare_oversize(&h, 0));
  CHECK(feed(&h, "HTTP/1.1 200 OK\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(feed(&h, "content-length-x: 500\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(feed(&h, "content-length: abc\r\n", 4096) == ENGINE_FEED_OK);
  CHECK(!engine_headers_declare_oversize(&h, 100));
  engine_headers_free(&h);

  /* Body: appends up to the cap, allocation never above it. */
  memset(&b, 0, sizeof b);
  CHECK(engine_body_append(&b, "abc", 3, 5) == ENGINE_FEED_OK);
  CHECK(engine_body_append(&b, "de", 2, 5) == ENGINE_FEED_OK);
  CHECK(engine_body_append(&b, "f", 1, 5) == ENGINE_FEED_CAP);
  CHECK(b.len == 5 && b.alloc <= 5 && memcmp(b.buf, "abcde", 5) == 0);
  CHECK(engine_body_append(&b, "", 0, 5) == ENGINE_FEED_OK);
  engine_body_free(&b);
  CHECK(b.buf == NULL && b.len == 0);
  memset(&b, 0, sizeof b);
  CHECK(engine_body_append(&b, big, sizeof big, 10) == ENGINE_FEED_CAP);
  CHECK(b.buf == NULL);
  engine_body_free(&b);
}

/* Compress n bytes with zlib: window_bits 15 (zlib), -15 (raw deflate)
   or 31 (gzip). Returns the size, or 0 when out is too small. */
static size_t zpack(int window_bits, const void *in, size_t n,
                    unsigned char *out, size_t cap)
{
  z_stream z;
  size_t size = 0;
  memset(&z, 0, sizeof z);
  if(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
     Z_OK)
    return 0;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if(deflate(&z, Z_FINISH) == Z_STREAM_END)
    size = cap - z.avail_out;
  deflateEnd(&z);
  return size;
}

/* Decode wire (n bytes) as a response with these header lines would be,
   written chunk bytes at a time; the decoded body goes to b. Returns the
   first failure, or the finish result. */
static engine_feed_result_t decode(const char *lines, const void *wire,
                                   size_t n, size_t chunk, size_t cap,
                                   engine_body_t *b, char *why,
                                   size_t why_len)
{
  engine_headers_t h;
  engine_decoder_t *d = NULL;
  engine_feed_result_t r;
  const char *p = lines;
  size_t off;
  memset(&h, 0, sizeof h);
  memset(b, 0, sizeof *b);
  why[0] = '\0';
  engine_headers_feed(&h, "HTTP/1.1 200 OK\r\n", 17, 16384);
  while(*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    engine_headers_feed(&h, p, len, 16384);
    p += len;
  }
  engine_headers_feed(&h, "\r\n", 2, 16384);
  r = engine_decoder_new(&h, &d);
  for(off = 0; r == ENGINE_FEED_OK && off < n; off += chunk) {
    size_t len = n - off < chunk ? n - off : chunk;
    if(d)
      r = engine_decoder_write(d, (const char *)wire + off, len, b, cap);
    else
      r = engine_body_append(b, (const char *)wire + off, len, cap);
  }
  if(r == ENGINE_FEED_OK && d)
    r = engine_decoder_finish(d);
  if(d)
    snprintf(why, why_len, "%s", engine_decoder_message(d));
  engine_decoder_free(d);
  engine_headers_free(&h);
  return r;
}

static void test_decoding(void)
{
  static const char text[] = "did:plc:ewvi7nxzyoun6zhxrhs64oiz "
                             "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
  const size_t tn = sizeof text - 1;
  static unsigned char gz[256], gz2[256], zl[256], raw[256], wire[1024];
  static unsigned char inner[512], big[70000];
  size_t gzn, gz2n, zln, rawn, n, i, chunk;
  engine_body_t b;
  char why[128];
  engine_feed_result_t r;

  gzn = zpack(31, text, tn, gz, sizeof gz);
  gz2n = zpack(31, "more", 4, gz2, sizeof gz2);
  zln = zpack(15, text, tn, zl, sizeof zl);
  rawn = zpack(-15, text, tn, raw, sizeof raw);
  CHECK(gzn && gz2n && zln && rawn);
  if(!gzn || !gz2n || !zln || !rawn || gzn > sizeof gz || gz2n > sizeof gz2
     || zln > sizeof zl || rawn > sizeof raw)
    return;

#define DECODES_TO(lines, data, dlen, want, wantn)                         \
  do {                                                                     \
    for(chunk = 1; chunk <= (dlen) + 1; chunk += chunk < 4 ? 1 : 7) {      \
      r = decode(lines, data, dlen, chunk, 1 << 20, &b, why, sizeof why);  \
      CHECK(r == ENGINE_FEED_OK);                                          \
      CHECK(b.len == (wantn) &&                                            \
            (!(wantn) || memcmp(b.buf, want, wantn) == 0));                \
      engine_body_free(&b);                                                \
    }                                                                      \
  } while(0)
#define REFUSED(lines, data, dlen)                                         \
  do {                                                                     \
    for(chunk = 1; chunk <= (dlen) + 1; chunk += chunk < 4 ? 1 : 7) {      \
      r = decode(lines, data, dlen, chunk, 1 << 20, &b, why, sizeof why);  \
      CHECK(r == ENGINE_FEED_BAD && why[0]);                               \
      engine_body_free(&b);                                                \
    }                                                                      \
  } while(0)

  /* Not encoded: no decoder at all. */
  DECODES_TO("", text, tn, text, tn);
  DECODES_TO("Content-Encoding: identity\r\n", text, tn, text, tn);
  DECODES_TO("Content-Encoding: ,identity, \r\n", text, tn, text, tn);

  /* gzip, x-gzip, any case, blanks; zlib-wrapped and raw deflate. */
  DECODES_TO("Content-Encoding: gzip\r\n", gz, gzn, text, tn);
  DECODES_TO("content-encoding:\t X-GZip \t\r\n", gz, gzn, text, tn);
  DECODES_TO("Content-Encoding: deflate\r\n", zl, zln, text, tn);
  DECODES_TO("Content-Encoding: deflate\r\n", raw, rawn, text, tn);

  /* Multi-member gzip (RFC 1952 2.2) is one body. */
  memcpy(wire, gz, gzn);
  memcpy(wire + gzn, gz2, gz2n);
  memcpy(inner, text, tn);
  memcpy(inner + tn, "more", 4);
  DECODES_TO("Content-Encoding: gzip\r\n", wire, gzn + gz2n, inner, tn + 4);

  /* Anything after the stream that is not another gzip member. */
  memcpy(wire, gz, gzn);
  memcpy(wire + gzn, "junk", 4);
  REFUSED("Content-Encoding: gzip\r\n", wire, gzn + 4);
  memset(wire + gzn, 0, 4);      /* zero padding is trailing data too */
  REFUSED("Content-Encoding: gzip\r\n", wire, gzn + 4);
  memcpy(wire, zl, zln);
  wire[zln] = 'x';
  REFUSED("Content-Encoding: deflate\r\n", wire, zln + 1);
  memcpy(wire, raw, rawn);
  wire[rawn] = 0;
  REFUSED("Content-Encoding: deflate\r\n", wire, rawn + 1);
  memcpy(wire + zln, zl, zln);   /* deflate has no second member */
  memcpy(wire, zl, zln);
  REFUSED("Content-Encoding: deflate\r\n", wire, 2 * zln);

  /* Every truncation is refused, never a shorter body (the truncated DID
     of issue 11). An empty body is an empty body. */
  for(i = 1; i < gzn; i++)
    REFUSED("Content-Encoding: gzip\r\n", gz, i);
  for(i = 1; i < zln; i++)
    REFUSED("Content-Encoding: deflate\r\n", zl, i);
  for(i = 1; i < rawn; i++)
    REFUSED("Content-Encoding: deflate\r\n", raw, i);
  r = decode("Content-Encoding: gzip\r\n", gz, 0, 1, 100, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_OK && b.len == 0);
  engine_body_free(&b);
  /* A second member cut short. */
  memcpy(wire, gz, gzn);
  memcpy(wire + gzn, gz2, 5);
  REFUSED("Content-Encoding: gzip\r\n", wire, gzn + 5);

  /* Chains, undone last first; one Content-Encoding line or several. */
  n = zpack(31, zl, zln, inner, sizeof inner);
  DECODES_TO("Content-Encoding: deflate, gzip\r\n", inner, n, text, tn);
  DECODES_TO("Content-Encoding: deflate\r\nContent-Encoding: gzip\r\n",
             inner, n, text, tn);
  DECODES_TO("Content-Encoding: deflate,\r\n gzip\r\n", inner, n, text, tn);
  REFUSED("Content-Encoding: gzip, deflate\r\n", inner, n);
  /* An inner stream that got no input at all is truncated. */
  n = zpack(31, "", 0, inner, sizeof inner);
  REFUSED("Content-Encoding: gzip, gzip\r\n", inner, n);

  /* Refused at the headers: unsupported codings, more than three. */
  r = decode("Content-Encoding: br\r\n", text, tn, 4, 100, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_BAD && strstr(why, "'br'") && b.len == 0);
  engine_body_free(&b);
  r = decode("Content-Encoding: gzip, zstd\r\n", gz, gzn, 4, 100, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_BAD && strstr(why, "zstd"));
  engine_body_free(&b);
  r = decode("Content-Encoding: gzip, gzip, gzip, gzip\r\n", gz, gzn, 4,
             100, &b, why, sizeof why);
  CHECK(r == ENGINE_FEED_BAD && strstr(why, "too many"));
  engine_body_free(&b);
  r = decode("Content-Encoding: gz\x01ip\r\n", gz, gzn, 4, 100, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_BAD && strchr(why, '?') && !strchr(why, '\x01'));
  engine_body_free(&b);

  /* The cap applies to decoded bytes: exactly the cap, then one less. */
  r = decode("Content-Encoding: gzip\r\n", gz, gzn, 7, tn, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_OK && b.len == tn);
  engine_body_free(&b);
  r = decode("Content-Encoding: gzip\r\n", gz, gzn, 7, tn - 1, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_CAP && b.len <= tn - 1 && b.alloc <= tn - 1);
  engine_body_free(&b);

  /* A bomb stops at the cap: 64 KiB of zeros in a few hundred bytes. */
  memset(big, 0, sizeof big);
  n = zpack(31, big, sizeof big, inner, sizeof inner);
  CHECK(n > 0 && n < sizeof inner);
  r = decode("Content-Encoding: gzip\r\n", inner, n, n, 1000, &b, why,
             sizeof why);
  CHECK(r == ENGINE_FEED_CAP && b.len <= 1000 && b.alloc <= 1000);
  engine_body_free(&b);
  r = decode("Content-Encoding: gzip\r\n", inner, n, 3, sizeof big, &b,
             why, sizeof why);
  CHECK(r == ENGINE_FEED_OK && b.len == sizeof big);
  engine_body_free(&b);
#undef DECODES_TO
#undef REFUSED
}

static void test_basic(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  engine_stats_t s;
  static const char body[] = "hello engine";
  config_defaults(&c);
  harness_start(&h, &c);

  d = fetch(&h, get(1, "/bytes/100"));
  CHECK_ERR(d, ENGINE_OK);
  if(d) {
    CHECK(d->status == 200);
    CHECK(d->body_len == 100);
    CHECK(d->headers && strstr(d->headers, "x-test: yes\r\n"));
    CHECK(!d->reused);
    CHECK(d->total_us > 0 && d->connect_us > 0 && d->tls_us > 0);
  }
  engine_completion_free(d);

  d = fetch(&h, get(2, "/status/204"));
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->status == 204 && d->reused && d->connect_us == 0);
  engine_completion_free(d);

  r = get(3, "/echo");
  r->method = ENGINE_POST;
  r->body = malloc(sizeof body - 1);
  memcpy(r->body, body, sizeof body - 1);
  r->body_len = sizeof body - 1;
  r->headers = malloc(19);
  memcpy(r->headers, "X-One: 1\0X-Two: 2\0", 19);
  r->headers_len = 19;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == sizeof body - 1 &&
        memcmp(d->body, body, d->body_len) == 0);
  CHECK(d && d->headers && strstr(d->headers, "x-method: POST"));
  engine_completion_free(d);

  r = get(4, "/bytes/100");
  r->method = ENGINE_HEAD;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->status == 200 && d->body_len == 0);
  engine_completion_free(d);

  d = fetch(&h, get(5, "/gzip/5000"));
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == 5000 && d->body[4999] == 'a');
  engine_completion_free(d);

  engine_stats(h.engine, &s);
  CHECK(s.new_connections == 1);
  CHECK(s.reused_connections == 4);
  CHECK(s.bytes_in == 100 + 12 + 5000);
  CHECK(s.in_flight == 0 && s.queued == 0);
  CHECK(s.open_connections == 1);
  harness_stop(&h, 1);
}

static void test_concurrency(void)
{
  enum { N = 80, HOSTS = 12 };
  struct harness h;
  engine_config_t c;
  engine_stats_t s;
  uint64_t max_open = 0;
  uint64_t max_inflight = 0;
  int i;
  int ok = 0;
  /* The caller's admission normally keeps max_connections transfers in
     the engine; here 80 arrive at once and libcurl's backstop limit
     (max_connections + max_idle_connections sockets) holds them. */
  config_defaults(&c);
  c.max_connections = 4;
  c.max_idle_connections = 4;
  harness_start(&h, &c);
  for(i = 0; i < N; i++) {
    char host[64];
    snprintf(host, sizeof host, "h%d.web.test", i % HOSTS);
    CHECK(engine_submit(h.engine, mkreq((uint64_t)i + 1, host, port,
                                        "/delay/5")) == ENGINE_OK);
  }
  for(i = 0; i < N; i++) {
    engine_completion_t *d = wait_req(&h, (uint64_t)i + 1);
    CHECK_ERR(d, ENGINE_OK);
    if(d && d->error == ENGINE_OK && d->status == 200)
      ok++;
    engine_completion_free(d);
    engine_stats(h.engine, &s);
    if(s.open_connections > max_open)
      max_open = s.open_connections;
    if(s.in_flight > max_inflight)
      max_inflight = s.in_flight;
  }
  CHECK(ok == N);
  CHECK(max_open <= 8);
  CHECK(max_inflight <= N);
  engine_stats(h.engine, &s);
  CHECK(s.in_flight == 0 && s.queued == 0);
  CHECK(s.open_connections <= 8);
  CHECK(s.new_connections >= HOSTS);
  harness_stop(&h, 1);
}

static void test_timeouts(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  config_defaults(&c);
  c.max_connections = 1;
  c.max_idle_connections = 1;
  harness_start(&h, &c);

  /* TCP connects, TLS never starts: the connect limit covers TLS. */
  r = mkreq(1, "localhost", blackhole_port, "/");
  r->connect_timeout_ms = 300;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_CONNECT_TIMEOUT);
  engine_completion_free(d);

  r = get(2, "/never");
  r->timeout_ms = 300;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_TIMEOUT);
  engine_completion_free(d);

  /* With libcurl's backstop limit reached (max_connections 1 + one idle
     slot: two connections, both busy), the third transfer waits in
     libcurl's pending queue, where only the engine's own deadline can end
     it. */
  r = get(3, "/never");
  r->timeout_ms = 1500;
  CHECK(engine_submit(h.engine, r) == ENGINE_OK);
  r = get(5, "/never");
  r->timeout_ms = 1500;
  CHECK(engine_submit(h.engine, r) == ENGINE_OK);
  r = get(4, "/status/200");
  r->timeout_ms = 300;
  CHECK(engine_submit(h.engine, r) == ENGINE_OK);
  d = wait_req(&h, 4);
  CHECK_ERR(d, ENGINE_E_TIMEOUT);
  CHECK(!arrived(&h, 3, ENGINE_DONE_TRANSFER));
  engine_completion_free(d);
  d = wait_req(&h, 3);
  CHECK_ERR(d, ENGINE_E_TIMEOUT);
  engine_completion_free(d);
  d = wait_req(&h, 5);
  CHECK_ERR(d, ENGINE_E_TIMEOUT);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

static void test_errors(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  config_defaults(&c);
  harness_start(&h, &c);

  d = fetch(&h, mkreq(1, "localhost", closed_port, "/"));
  CHECK_ERR(d, ENGINE_E_CONNECT);
  CHECK(d && d->curl_code == CURLE_COULDNT_CONNECT && d->message[0]);
  engine_completion_free(d);

  d = fetch(&h, get(2, "/reset"));
  CHECK_ERR(d, ENGINE_E_NETWORK);
  CHECK(d && d->body == NULL);
  engine_completion_free(d);

  r = get(3, "/");
  free(r->url);
  r->url = strdup("https://exa mple.test/");
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_INVALID_URL);
  engine_completion_free(d);

  r = get(4, "/");
  free(r->url);
  r->url = strdup("http://localhost/");
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_PROTOCOL);   /* http not allowed */
  engine_completion_free(d);
  harness_stop(&h, 1);

  /* Without the test CA the server's certificate is not trusted. */
  config_defaults(&c);
  c.ca_pem = NULL;
  harness_start(&h, &c);
  d = fetch(&h, get(5, "/status/200"));
  CHECK_ERR(d, ENGINE_E_TLS);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

static void test_size_caps(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  config_defaults(&c);
  harness_start(&h, &c);

  r = get(1, "/bytes/1000");
  r->max_response_bytes = 1000;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == 1000);
  engine_completion_free(d);

  r = get(2, "/bytes/1001");
  r->max_response_bytes = 1000;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_BODY_TOO_LARGE);
  CHECK(d && d->body == NULL);
  engine_completion_free(d);

  r = get(3, "/chunked/100000");
  r->max_response_bytes = 50000;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_BODY_TOO_LARGE);
  engine_completion_free(d);

  r = get(4, "/bomb");
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_BODY_TOO_LARGE);
  engine_completion_free(d);

  r = get(5, "/bytes/1");
  r->max_response_bytes = 0;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_BODY_TOO_LARGE);
  engine_completion_free(d);

  r = get(6, "/big-headers/4000");
  r->max_header_bytes = 1024;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_HEADERS_TOO_LARGE);
  engine_completion_free(d);

  r = get(7, "/big-headers/500");
  r->max_header_bytes = 1024;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);

  /* A line over libcurl's own limit (CURL_MAX_HTTP_HEADER, 100 KiB) is
     over any cap: not an internal "out of memory". */
  r = get(8, "/big-headers/110000");
  r->max_header_bytes = 102400;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_HEADERS_TOO_LARGE);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

/* The engine decodes bodies itself (libcurl does not): what libcurl 7.88
   got wrong, over the wire. */
static void test_decoding_wire(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  config_defaults(&c);
  harness_start(&h, &c);

  d = fetch(&h, get(1, "/gzip-members/3000"));
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == 3000 && d->body[2999] == 'a');
  engine_completion_free(d);

  d = fetch(&h, get(2, "/gzip-junk"));
  CHECK_ERR(d, ENGINE_E_PROTOCOL);
  CHECK(d && d->body == NULL &&
        strstr(d->message, "cannot decode the response body: gzip"));
  engine_completion_free(d);

  d = fetch(&h, get(3, "/gzip-truncated/4"));
  CHECK_ERR(d, ENGINE_E_PROTOCOL);
  CHECK(d && d->body == NULL && strstr(d->message, "truncated"));
  engine_completion_free(d);

  d = fetch(&h, get(4, "/br"));
  CHECK_ERR(d, ENGINE_E_PROTOCOL);
  CHECK(d && strstr(d->message, "unsupported content encoding 'br'"));
  engine_completion_free(d);

  /* No body, nothing to decode. */
  r = get(5, "/gzip-truncated/4");
  r->method = ENGINE_HEAD;
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == 0);
  engine_completion_free(d);

  /* The connection survives a refused body. */
  d = fetch(&h, get(6, "/gzip/100"));
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->body_len == 100);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

static void test_ssrf(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  config_defaults(&c);
  c.allow_private_network = 0;
  harness_start(&h, &c);

  d = fetch(&h, mkreq(1, "127.0.0.1", port, "/status/200"));
  CHECK_ERR(d, ENGINE_E_FORBIDDEN_ADDRESS);
  CHECK(d && strcmp(d->address, "127.0.0.1") == 0);
  CHECK(d && d->address_class == ENGINE_ADDR_LOOPBACK);
  engine_completion_free(d);

  r = mkreq(2, "h1.web.test", port, "/status/200");
  free(r->connect_to);
  r->connect_to = strdup("::[::1]:443");
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_FORBIDDEN_ADDRESS);
  CHECK(d && strcmp(d->address, "::1") == 0);
  engine_completion_free(d);

  r = mkreq(3, "h1.web.test", port, "/status/200");
  free(r->connect_to);
  r->connect_to = strdup("::169.254.169.254:443");
  d = fetch(&h, r);
  CHECK_ERR(d, ENGINE_E_FORBIDDEN_ADDRESS);
  CHECK(d && d->address_class == ENGINE_ADDR_LINK_LOCAL);
  engine_completion_free(d);
  CHECK(stat_open(&h) == 0);
  harness_stop(&h, 1);
}

/* clear/reset never fail in-flight requests and complete when the old
   generation is gone. */
static void test_generations(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_stats_t s;
  int round;
  config_defaults(&c);
  harness_start(&h, &c);

  d = fetch(&h, get(1, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(stat_open(&h) == 1);
  CHECK(engine_clear(h.engine, 100) == ENGINE_OK);
  d = wait_op(&h, 100);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(stat_open(&h) == 0);

  /* In flight across a clear: the request finishes, then the op. */
  CHECK(engine_submit(h.engine, get(2, in_flight_delay)) == ENGINE_OK);
  sleep_ms(50);
  CHECK(engine_clear(h.engine, 101) == ENGINE_OK);
  d = fetch(&h, get(3, "/status/200"));   /* runs on the new pool */
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && !d->reused);
  engine_completion_free(d);
  CHECK(!arrived(&h, 101, ENGINE_DONE_OP));
  d = wait_req(&h, 2);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  d = wait_op(&h, 101);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  engine_stats(h.engine, &s);
  CHECK(s.generations == 1);
  CHECK(s.open_connections == 1);

  /* Reset: same, with a new share. */
  CHECK(engine_submit(h.engine, get(4, in_flight_delay)) == ENGINE_OK);
  sleep_ms(50);
  CHECK(engine_reset(h.engine, 102) == ENGINE_OK);
  d = wait_req(&h, 4);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  d = wait_op(&h, 102);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  engine_stats(h.engine, &s);
  CHECK(s.generations == 1);
  CHECK(s.open_connections == 0);

  /* Recycle-style: resets while requests keep flowing. */
  for(round = 0; round < 4; round++) {
    uint64_t base = 1000 + (uint64_t)round * 10;
    int i;
    for(i = 0; i < 4; i++)
      CHECK(engine_submit(h.engine, get(base + (uint64_t)i, "/delay/20"))
            == ENGINE_OK);
    CHECK(engine_reset(h.engine, 200 + (uint64_t)round) == ENGINE_OK);
    for(i = 0; i < 4; i++) {
      d = wait_req(&h, base + (uint64_t)i);
      CHECK_ERR(d, ENGINE_OK);
      engine_completion_free(d);
    }
  }
  for(round = 0; round < 4; round++) {
    d = wait_op(&h, 200 + (uint64_t)round);
    CHECK_ERR(d, ENGINE_OK);
    engine_completion_free(d);
  }
  engine_stats(h.engine, &s);
  CHECK(s.generations == 1 && s.open_connections == 0);
  harness_stop(&h, 1);
}

static void test_lifecycle(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_request_t *r;
  int i;
  config_defaults(&c);

  /* close waits for in-flight requests. */
  harness_start(&h, &c);
  CHECK(engine_submit(h.engine, get(1, "/delay/200")) == ENGINE_OK);
  CHECK(engine_close(h.engine, 50) == ENGINE_OK);
  r = get(2, "/status/200");
  CHECK(engine_submit(h.engine, r) == ENGINE_E_CLOSED);
  engine_request_free(r);
  CHECK(engine_clear(h.engine, 51) == ENGINE_E_CLOSED);
  d = wait_req(&h, 1);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  d = wait_op(&h, 50);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  engine_join(h.engine);
  CHECK(stat_open(&h) == 0);
  CHECK(engine_destroy(h.engine, 52) == ENGINE_E_CLOSED);
  harness_stop(&h, 0);

  /* destroy fails in-flight requests. */
  harness_start(&h, &c);
  for(i = 1; i <= 3; i++)
    CHECK(engine_submit(h.engine, get((uint64_t)i, "/never")) == ENGINE_OK);
  sleep_ms(100);
  CHECK(engine_destroy(h.engine, 60) == ENGINE_OK);
  for(i = 1; i <= 3; i++) {
    d = wait_req(&h, (uint64_t)i);
    CHECK_ERR(d, ENGINE_E_DESTROYED);
    engine_completion_free(d);
  }
  d = wait_op(&h, 60);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  engine_join(h.engine);
  CHECK(stat_open(&h) == 0);
  harness_stop(&h, 0);

  /* abort one request; the engine keeps serving. */
  harness_start(&h, &c);
  CHECK(engine_submit(h.engine, get(1, "/never")) == ENGINE_OK);
  sleep_ms(50);
  CHECK(engine_abort(h.engine, 1) == ENGINE_OK);
  CHECK(engine_abort(h.engine, 12345) == ENGINE_OK);   /* unknown: no-op */
  d = wait_req(&h, 1);
  CHECK_ERR(d, ENGINE_E_ABORTED);
  engine_completion_free(d);
  d = fetch(&h, get(2, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  harness_stop(&h, 1);

  /* the engine refuses nothing for load (admission is the caller's); free
     without close destroys, joins and frees everything in flight. */
  c.max_connections = 1;
  harness_start(&h, &c);
  for(i = 1; i <= 3; i++)
    CHECK(engine_submit(h.engine, get((uint64_t)i, "/never")) == ENGINE_OK);
  harness_stop(&h, 0);
}

/* A quiet engine closes idle sockets after idle_timeout_ms. */
static void test_idle_clear(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  int64_t until;
  config_defaults(&c);
  c.idle_timeout_ms = 1000;
  harness_start(&h, &c);
  d = fetch(&h, get(1, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(stat_open(&h) == 1);
  until = mono_ms() + 5000;
  while(stat_open(&h) > 0 && mono_ms() < until)
    sleep_ms(50);
  CHECK(stat_open(&h) == 0);
  d = fetch(&h, get(2, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

/* A request for a .web.test name (which never resolves) carrying its
   addresses: "a\0b\0" packed. */
static engine_request_t *with_addresses(uint64_t id, const char *path,
                                        const char *packed, size_t len)
{
  engine_request_t *r = mkreq(id, "addr.web.test", port, path);
  free(r->connect_to);
  r->connect_to = NULL;
  r->addresses = malloc(len);
  if(!r->addresses)
    exit(2);
  memcpy(r->addresses, packed, len);
  r->addresses_len = len;
  return r;
}

/* Per-request addresses stand in for DNS; the SSRF guard still checks
   every socket; forbid_reuse closes the connection after the exchange. */
static void test_addresses(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_stats_t s;
  int expiring = curl_version_info(CURLVERSION_NOW)->version_num >= 0x074b00;
  config_defaults(&c);
  harness_start(&h, &c);

  d = fetch(&h, with_addresses(1, "/status/200", "127.0.0.1", 10));
  CHECK_ERR(d, ENGINE_OK);
  CHECK(d && d->status == 200);
  engine_completion_free(d);

  /* The first address refuses; libcurl 7.75+ goes on to the next one
     (older runtimes only get the first, through CONNECT_TO). */
  d = fetch(&h, with_addresses(2, "/status/200", "127.0.0.2\0" "127.0.0.1",
                               20));
  CHECK_ERR(d, expiring ? ENGINE_OK : ENGINE_E_CONNECT);
  engine_completion_free(d);

  /* forbid_reuse: the connection closes after the exchange. */
  CHECK(engine_clear(h.engine, 100) == ENGINE_OK);
  engine_completion_free(wait_op(&h, 100));
  engine_stats(h.engine, &s);
  {
    uint64_t before = s.new_connections;
    engine_request_t *r = with_addresses(3, "/status/200", "127.0.0.1", 10);
    r->forbid_reuse = 1;
    d = fetch(&h, r);
    CHECK_ERR(d, ENGINE_OK);
    engine_completion_free(d);
    CHECK(stat_open(&h) == 0);
    r = with_addresses(4, "/status/200", "127.0.0.1", 10);
    r->forbid_reuse = 1;
    d = fetch(&h, r);
    CHECK_ERR(d, ENGINE_OK);
    CHECK(d && !d->reused);
    engine_completion_free(d);
    engine_stats(h.engine, &s);
    CHECK(s.new_connections == before + 2);
    CHECK(stat_open(&h) == 0);
  }
  harness_stop(&h, 1);

  /* Without allow_private_network a loopback address given this way is
     refused at the socket, as one from DNS would be. */
  config_defaults(&c);
  c.allow_private_network = 0;
  harness_start(&h, &c);
  d = fetch(&h, with_addresses(5, "/status/200", "127.0.0.1", 10));
  CHECK_ERR(d, ENGINE_E_FORBIDDEN_ADDRESS);
  CHECK(d && strcmp(d->address, "127.0.0.1") == 0);
  engine_completion_free(d);
  harness_stop(&h, 1);
}

static uint64_t stat_running(struct harness *h)
{
  engine_stats_t s;
  engine_stats(h->engine, &s);
  return s.worker_running;
}

/* Wait (polling) until the worker parked, at most timeout_ms. */
static int wait_parked(struct harness *h, long timeout_ms)
{
  int64_t until = mono_ms() + timeout_ms;
  while(stat_running(h) && mono_ms() < until)
    sleep_ms(20);
  return stat_running(h) == 0;
}

/* No thread until the first request; a quiet engine parks (no thread, no
   sockets) and the next request or operation works transparently. */
static void test_parking(void)
{
  struct harness h;
  engine_config_t c;
  engine_completion_t *d;
  engine_stats_t s;
  long wait = getenv("TEST_SLOW") ? 30000 : 10000;
  config_defaults(&c);
  c.idle_timeout_ms = 1000;
  harness_start(&h, &c);
  CHECK(stat_running(&h) == 0);          /* created parked */
  d = fetch(&h, get(1, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(stat_running(&h) == 1);
  CHECK(stat_open(&h) == 1);
  CHECK(wait_parked(&h, wait));
  engine_stats(h.engine, &s);
  CHECK(s.parks == 1 && s.open_connections == 0 && s.generations == 0 &&
        s.pooled_handles == 0 && s.new_connections == 1);
  /* Operations on a parked engine complete without starting it. */
  CHECK(engine_clear(h.engine, 10) == ENGINE_OK);
  d = wait_op(&h, 10);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(engine_reset(h.engine, 11) == ENGINE_OK);
  d = wait_op(&h, 11);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  CHECK(engine_abort(h.engine, 12) == ENGINE_OK);
  CHECK(stat_running(&h) == 0);
  /* A request starts it again; counters survived. */
  d = fetch(&h, get(2, "/status/200"));
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  engine_stats(h.engine, &s);
  CHECK(s.new_connections == 2 && s.worker_running == 1);
  CHECK(wait_parked(&h, wait));
  /* close on a parked engine: done at once, nothing to join. */
  harness_stop(&h, 1);

  /* destroy on a parked engine, then free. */
  harness_start(&h, &c);
  d = fetch(&h, get(3, "/status/200"));
  engine_completion_free(d);
  CHECK(wait_parked(&h, wait));
  CHECK(engine_destroy(h.engine, 20) == ENGINE_OK);
  d = wait_op(&h, 20);
  CHECK_ERR(d, ENGINE_OK);
  engine_completion_free(d);
  d = NULL;
  {
    engine_request_t *r = get(4, "/status/200");
    CHECK(engine_submit(h.engine, r) == ENGINE_E_CLOSED);
    engine_request_free(r);
  }
  harness_stop(&h, 0);

  /* Never used: no thread at all, freed as is. */
  harness_start(&h, &c);
  CHECK(stat_running(&h) == 0);
  harness_stop(&h, 0);
}

/* exit() while workers are inside libcurl and OpenSSL (handshakes, CA
   bundle loads, requests hanging on a silent server) ends the process
   with the status it asked for: the engine's exit handler runs before
   OpenSSL's cleanup and stops every worker first. */
static void test_exit(void)
{
  int runs = getenv("TEST_SLOW") ? 3 : 10;
  int i;
  for(i = 0; i < runs; i++) {
    pid_t pid;
    int status = 0;
    fflush(NULL);
    pid = fork();
    if(pid < 0) {
      CHECK(pid >= 0);
      return;
    }
    if(pid == 0) {
      struct harness h[2];
      engine_config_t c;
      uint64_t id = 1;
      int k;
      config_defaults(&c);
      c.max_idle_connections = 0;       /* a handshake per request */
      for(k = 0; k < 2; k++) {
        int n;
        harness_start(&h[k], &c);
        for(n = 0; n < 8; n++)
          (void)engine_submit(h[k].engine, get(id++, "/status/200"));
        for(n = 0; n < 8; n++) {
          engine_request_t *r = mkreq(id++, "localhost", blackhole_port,
                                      "/");
          (void)engine_submit(h[k].engine, r);
        }
        (void)engine_reset(h[k].engine, id++);
      }
      sleep_ms(5 + (i * 7) % 40);
      exit(3 + i % 2);
    }
    while(waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3 + i % 2);
    if(!WIFEXITED(status))
      fprintf(stderr, "  run %d: killed by signal %d\n", i,
              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  }
}

/* The version policy is one comparison. */
static void test_version_policy(void)
{
  CHECK(engine_curl_version_supported(0x074a00));      /* 7.74.0 */
  CHECK(engine_curl_version_supported(0x075801));      /* 7.88.1 */
  CHECK(!engine_curl_version_supported(0x074400));     /* 7.68.0 */
  CHECK(strcmp(engine_curl_minimum(), "7.74.0") == 0);
  CHECK(engine_curl_supported());
}

/* Hex to bytes; returns the number of bytes written. */
static size_t unhex(const char *hex, unsigned char *out, size_t cap)
{
  size_t n = 0;
  while(hex[0] && hex[1] && n < cap) {
    unsigned int byte;
    if(sscanf(hex, "%2x", &byte) != 1)
      break;
    out[n++] = (unsigned char)byte;
    hex += 2;
  }
  return n;
}

static void test_curve_point(void)
{
  /* The generators, compressed and uncompressed (SEC 2, FIPS 186-4). */
  static const char *const points[2][2] = {
    {"0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798",
     "0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798"
     "483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8"},
    {"036B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
     "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
     "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"},
  };
  static const char *const primes[2] = {
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
    "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
  };
  unsigned char b[65];
  size_t n;
  int c, i, valid = 0;
  uint32_t seed = 12345;
  /* libgmp.so.10 is on every Debian/Ubuntu system (coreutils) */
  CHECK(curve_point_available() == 1);
  for(c = 0; c < 2; c++) {
    curve_id_t curve = (curve_id_t)c;
    n = unhex(points[c][0], b, sizeof b);
    CHECK(n == 33 && curve_point_check(curve, b, n) == 1);
    b[0] ^= 1; /* the other root of the same x: on the curve too */
    CHECK(curve_point_check(curve, b, n) == 1);
    n = unhex(points[c][1], b, sizeof b);
    CHECK(n == 65 && curve_point_check(curve, b, n) == 1);
    b[64] ^= 1; /* y no longer matches x */
    CHECK(curve_point_check(curve, b, n) == 0);
    b[64] ^= 1;
    CHECK(curve_point_check(curve, b, 64) == 0); /* short */
    b[0] = 0x06; /* hybrid form: not accepted */
    CHECK(curve_point_check(curve, b, 65) == 0);
    /* the other curve's generator is not on this curve */
    n = unhex(points[1 - c][1], b, sizeof b);
    CHECK(curve_point_check(curve, b, n) == 0);
    /* x = p, in both forms, and an uncompressed y = p */
    b[0] = 0x02;
    unhex(primes[c], b + 1, 32);
    CHECK(curve_point_check(curve, b, 33) == 0);
    n = unhex(points[c][1], b, sizeof b);
    unhex(primes[c], b + 33, 32);
    CHECK(curve_point_check(curve, b, 65) == 0);
    CHECK(curve_point_check(curve, b, 0) == 0);
  }
  CHECK(curve_point_check((curve_id_t)7, b, 33) == 0);
  /* About half of all x have a y: 2,000 pseudo-random x on secp256k1. */
  for(i = 0; i < 2000; i++) {
    int k;
    b[0] = 0x02;
    for(k = 1; k < 33; k++) {
      seed = seed * 1103515245u + 12345u;
      b[k] = (unsigned char)(seed >> 16);
    }
    c = curve_point_check(CURVE_SECP256K1, b, 33);
    CHECK(c == 0 || c == 1);
    valid += c == 1;
  }
  CHECK(valid > 800 && valid < 1200);
}

int main(void)
{
  static const struct {
    const char *name;
    void (*fn)(void);
  } tests[] = {
    {"address classifier table", test_classifier},
    {"curve check of public keys", test_curve_point},
    {"CURLcode mapping", test_map_error},
    {"response handling: header and body caps", test_response_handling},
    {"content decoding: gzip, deflate, chains, truncation, caps",
     test_decoding},
    {"GET/HEAD/POST, headers, gzip, reuse, stats", test_basic},
    {"concurrency under max_connections", test_concurrency},
    {"timeouts: connect, total, pending queue", test_timeouts},
    {"errors: refused, reset, bad URL, scheme, TLS", test_errors},
    {"size caps: body with/without length, bomb, headers",
     test_size_caps},
    {"content decoding over the wire", test_decoding_wire},
    {"SSRF refusals", test_ssrf},
    {"generations: clear, reset, recycle", test_generations},
    {"lifecycle: close, destroy, abort, queue full, free",
     test_lifecycle},
    {"idle connections closed when quiet", test_idle_clear},
    {"per-request addresses and forbid_reuse", test_addresses},
    {"parking: no thread when quiet, restart on demand", test_parking},
    {"exit() under load exits with its status", test_exit},
    {"libcurl version policy", test_version_policy},
  };
  const char *p = getenv("TEST_PORT");
  const char *b = getenv("TEST_BLACKHOLE");
  const char *cl = getenv("TEST_CLOSED");
  const char *only = getenv("TEST_ONLY");
  size_t i;
  int passed = 0;
  ca_file = getenv("TEST_CA");
  if(getenv("TEST_SLOW"))
    in_flight_delay = "/delay/4000";
  if(!p || !b || !cl || !ca_file) {
    fprintf(stderr, "set TEST_PORT, TEST_CA, TEST_BLACKHOLE, "
                    "TEST_CLOSED (run.mjs does)\n");
    return 2;
  }
  ca_pem = read_file(ca_file);
  if(!ca_pem) {
    fprintf(stderr, "cannot read %s\n", ca_file);
    return 2;
  }
  port = atoi(p);
  blackhole_port = atoi(b);
  closed_port = atoi(cl);
  if(engine_global_init() != 0)
    return 2;
  for(i = 0; i < sizeof tests / sizeof tests[0]; i++) {
    int64_t start = mono_ms();
    if(only && !strstr(tests[i].name, only))
      continue;
    test_failed = 0;
    tests[i].fn();
    printf("%s %s (%lld ms)\n", test_failed ? "FAIL" : "ok  ",
           tests[i].name, (long long)(mono_ms() - start));
    fflush(stdout);
    if(test_failed)
      failures++;
    else
      passed++;
  }
  curl_global_cleanup();
  free(ca_pem);
  printf("%d passed, %d failed\n", passed, failures);
  return failures ? 1 : 0;
}
