/*
 * engine.c - one worker thread driving libcurl's multi interface over
 * epoll, with generations for clear/reset. See engine.h for the API and
 * docs/native-engine.md for the design (threads, ownership, lifecycle,
 * parking, process exit, libcurl versions).
 *
 * Only the worker thread calls libcurl (except curl_global_init and
 * curl_version_info, once). Public engine_* functions called from other
 * threads only touch the command queue, the completion list, the stats and
 * the socket table, all under engine->mu, and start the worker.
 */
#define _GNU_SOURCE
/* CURLOPT_PROTOCOLS is deprecated in the headers we build with (7.85+)
   but is the only way on older runtimes. */
#define CURL_DISABLE_DEPRECATION
#include "engine.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* epoll data of the engine's eventfd and of the process-wide exit eventfd;
   sockets use (generation id << 32) | fd, and an fd is below 2^31. */
#define WAKE_TAG UINT64_MAX
#define EXIT_TAG (UINT64_MAX - 1)
#define MAX_EVENTS 64
/* Idle easy handles kept for reuse: min(max_connections, POOL_MAX). Each
   holds ~20 KB (mostly its 16 KB receive buffer); 64 covers a relay's
   steady concurrency without keeping a burst's worth of handles. */
#define POOL_MAX 64
/* How long the OpenSSL CA store parsed from the CA bundle is cached in a
   multi handle (CURLOPT_CA_CACHE_TIMEOUT, seconds). A day: the store only
   changes when the system's CA bundle is updated. */
#define CA_CACHE_SECONDS 86400L
/* Size of "/proc/self/fd/<int>" plus its terminator. */
#define FD_PATH_MAX 32
/* How long the exit handler waits for running workers to stop calling
   libcurl. A worker is back in epoll_wait within milliseconds unless
   libcurl blocks (its threaded resolver joins a lookup thread when a
   transfer is cut short); then the handler ends the process itself. */
#define EXIT_WAIT_MS 1000
/* Addresses per request kept in the CURLOPT_RESOLVE entry; more would
   only be tried after this many failed. */
#define ADDRESSES_MAX 16

/* The oldest libcurl the engine supports: Debian 11's, tested in CI
   (npm run test:old-libcurl). Older runtimes lack CURLOPT_MAXAGE_CONN
   (7.65) and have not been tested. */
#define CURL_MINIMUM_NUM 0x074a00
#define CURL_MINIMUM_STR "7.74.0"

/* What the libcurl this process runs on can do, read once by
   engine_global_init() from curl_version_info(). Each field names the
   version that added the option; below it the engine uses the older way
   (docs/native-engine.md, "libcurl versions"). Read-only after init. */
static struct curl_caps {
  unsigned version_num;
  int resolve_expire;          /* 7.75: "+host:port:addrs" entries */
  int prereq;                  /* 7.80: CURLOPT_PREREQFUNCTION */
  int max_lifetime;            /* 7.80: CURLOPT_MAXLIFETIME_CONN */
  int cainfo_info;             /* 7.84: CURLINFO_CAINFO */
  int protocols_str;           /* 7.85: CURLOPT_PROTOCOLS_STR */
  int ca_cache;                /* 7.87: CURLOPT_CA_CACHE_TIMEOUT */
  int http2;                   /* 7.88: HTTP/2 by ALPN (older: 1.1 only) */
} caps;

/* ------------------------------------------------------------------ */
/* Data structures                                                      */
/* ------------------------------------------------------------------ */

/* An operation (clear/reset/close/destroy) waiting for state to be freed.
   Made on the caller's thread with its completion preallocated (so
   completing it never fails), owned by the worker from the command until
   the state it waits for is gone. */
struct pending_op {
  struct pending_op *next;
  engine_completion_t *done;
};

/* A share handle (DNS cache + TLS session cache) and how many generations
   use it. Worker thread only; lives until the last generation using it is
   freed, then its reset operations complete. */
struct shared {
  CURLSH *sh;
  int refs;
  struct pending_op *ops;      /* reset ops waiting for this share */
};

/* A generation: one multi handle (connection pool) + a share. Worker
   thread only; lives from its creation (engine start, clear, reset, idle
   clear) until it is no longer current and has no transfers, then
   curl_multi_cleanup() closes its connections and its clear operations
   complete. */
struct generation {
  struct generation *next;
  struct engine *engine;
  uint32_t id;
  CURLM *multi;
  struct shared *shared;
  size_t transfers;
  /* The most transfers in flight in the current one-second bucket and the
     one before it, and when the current bucket began (recent_peak()). */
  size_t peak_current;
  size_t peak_previous;
  int64_t peak_bucket_at;
  int64_t timer_at;            /* monotonic ms for socket_action, -1 */
  int64_t born_at;             /* monotonic ms of its creation */
  struct pending_op *ops;      /* clear ops waiting for this generation */
};

/* One request in flight. Worker thread only; lives from the submit
   command until its completion is posted. libcurl callbacks find it via
   CURLOPT_PRIVATE / their clientp. */
struct transfer {
  struct transfer *prev;       /* engine->transfers: every transfer */
  struct transfer *next;
  int active;                  /* added to a multi handle */
  engine_error_t fail_error;   /* set when it could not be started */
  struct engine *engine;
  struct generation *gen;
  CURL *easy;
  engine_request_t *req;
  engine_completion_t *done;   /* preallocated */
  struct curl_slist *headers;
  struct curl_slist *connect_to;
  struct curl_slist *resolve;  /* CURLOPT_RESOLVE entry for addresses */
  int64_t started_at;
  int64_t deadline_at;
  unsigned flags;
  engine_body_t body;          /* decoded body, under the body cap */
  engine_headers_t hdrs;       /* final response's headers, under the cap */
  engine_decoder_t *decoder;   /* Content-Encoding to undo, or NULL */
  char errbuf[CURL_ERROR_SIZE];
  char address[64];
  engine_address_class_t address_class;
};

enum command_kind {
  CMD_SUBMIT,
  CMD_ABORT,
  CMD_CLEAR,
  CMD_RESET,
  CMD_CLOSE,
  CMD_DESTROY
};

/* A command from the caller's thread. Allocated there, owned by the queue
   (under engine->mu) until the worker takes it, freed by the worker. */
struct command {
  struct command *next;
  enum command_kind kind;
  uint64_t id;
  engine_request_t *req;       /* CMD_SUBMIT */
  engine_completion_t *done;   /* preallocated, all but CMD_ABORT */
};

/* A socket the engine opened (on_curl_opensocket), with the identity it
   had then, so a socket libcurl closed without calling
   on_curl_closesocket is noticed (sockets_reconcile). */
struct open_socket {
  int fd;
  dev_t dev;
  ino_t ino;
};

/* Whether a worker thread exists. Under mu. */
enum worker_state {
  WORKER_PARKED = 0,           /* no thread, no libcurl state, no fds */
  WORKER_RUNNING,              /* a thread runs worker_main */
  WORKER_DONE                  /* after close/destroy: never again */
};

/* The engine. Created and freed on the caller's thread. Fields under "mu"
   are shared; fields under "worker" are only touched by the worker thread
   of the current run (from its start until it parks or exits). */
struct engine {
  engine_config_t config;
  char *ca_pem;
  engine_notify_fn notify;
  void *notify_arg;
  pthread_mutex_t mu;

  /* mu */
  struct command *cmd_head;
  struct command *cmd_tail;
  engine_completion_t *done_head;
  engine_completion_t *done_tail;
  engine_stats_t stats;
  int accepting;               /* 0 once close/destroy was requested */
  int destroy_requested;
  int exited;                  /* no worker will ever post again */
  enum worker_state state;
  int epfd;                    /* epoll set and eventfd of the running */
  int evfd;                    /* worker, -1 while parked */
  pthread_t thread;
  int joinable;                /* thread is the final run, not joined */
  struct open_socket *sockets; /* every socket opened and not closed */
  size_t socket_count;
  size_t socket_cap;

  /* worker */
  /* Trust, set by ca_setup() when a run starts: the CURLOPT_CAINFO path
     (the memfd bundle, or NULL for the build's default) and whether
     CURLOPT_CAPATH is cleared. */
  const char *ca_info;
  int clear_capath;
  int ca_fd;                   /* memfd of the CA bundle, or -1 */
  char ca_fd_path[FD_PATH_MAX];
  struct generation *gens;
  struct generation *current;  /* NULL until a request needs one */
  struct transfer *transfers;
  size_t transfer_count;
  CURL **pool;
  size_t pool_len;
  size_t pool_cap;
  struct pending_op *exit_ops; /* close/destroy ops, completed at exit */
  int closing;
  int destroying;
  uint32_t next_gen_id;
  int64_t idle_since;          /* -1 while transfers are in flight */
  int64_t next_deadline;       /* earliest transfer deadline or -1 */
};

/* Process-wide exit state (see on_process_exit). g_mu guards
   g_running (workers that may still call libcurl) and g_cond. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond;
static pthread_cond_t g_halted_cond = PTHREAD_COND_INITIALIZER;
static unsigned g_running;
static atomic_int g_exiting;
static int g_exit_fd = -1;     /* eventfd in every worker's epoll set */

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long ms_to_seconds_ceil(long ms)
{
  return ms <= 0 ? 0 : (ms + 999) / 1000;
}

static void signal_eventfd(int fd)
{
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(fd, &one, sizeof one);
  } while(n < 0 && errno == EINTR);
  /* EAGAIN means the counter is saturated: the reader is woken anyway. */
}

/* Wake the running worker. Under mu: the eventfd only exists while a
   worker runs, and parking closes it under mu. */
static void wake_locked(struct engine *e)
{
  if(e->state == WORKER_RUNNING && e->evfd >= 0)
    signal_eventfd(e->evfd);
}

/* ------------------------------------------------------------------ */
/* Process exit                                                         */
/* ------------------------------------------------------------------ */

/* Called by a worker at each point where it is about to call libcurl:
   once the process is exiting it never does again. It reports itself
   stopped and blocks for good, holding no engine lock (the exit handler
   is waiting for it; the process ends around it). */
static void halt_if_exiting(void)
{
  if(!atomic_load(&g_exiting))
    return;
  pthread_mutex_lock(&g_mu);
  g_running--;
  pthread_cond_broadcast(&g_cond);
  for(;;)
    pthread_cond_wait(&g_halted_cond, &g_mu);
}

/* Count a worker thread as running, at its start; when the process is
   already exiting it never starts (blocks for good instead). */
static void worker_enter(void)
{
  pthread_mutex_lock(&g_mu);
  if(atomic_load(&g_exiting)) {
    for(;;)
      pthread_cond_wait(&g_halted_cond, &g_mu);
  }
  g_running++;
  pthread_mutex_unlock(&g_mu);
}

/* A worker thread stops calling libcurl for good (it parked or exited). */
static void worker_leave(void)
{
  pthread_mutex_lock(&g_mu);
  g_running--;
  pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_mu);
}

/* Called by exit() (process.exit() in Node runs no N-API cleanup hook),
   after every exit handler registered later and before those registered
   earlier: engine_global_init() registers it after curl_global_init(), so
   it runs before OpenSSL's OPENSSL_cleanup(). That cleanup frees OpenSSL's
   global state; a worker still inside OpenSSL (a handshake, loading the CA
   bundle) then crashed the process. Every worker is woken (the exit
   eventfd is in every epoll set) and stops at its next call into libcurl;
   this waits until none can call libcurl any more. If one is stuck inside
   libcurl past EXIT_WAIT_MS, the process ends here with the status it
   asked for, skipping the remaining exit handlers (stdio is flushed). */
static void on_process_exit(int status, void *arg)
{
  struct timespec until;
  int stuck = 0;
  (void)arg;
  atomic_store(&g_exiting, 1);
  if(g_exit_fd >= 0)
    signal_eventfd(g_exit_fd);
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += EXIT_WAIT_MS / 1000;
  until.tv_nsec += (long)(EXIT_WAIT_MS % 1000) * 1000000L;
  if(until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&g_mu);
  while(g_running > 0) {
    if(pthread_cond_timedwait(&g_cond, &g_mu, &until) == ETIMEDOUT) {
      stuck = g_running > 0;
      break;
    }
  }
  pthread_mutex_unlock(&g_mu);
  if(stuck) {
    fflush(NULL);
    _exit(status);
  }
}

/* fork(): g_mu is held across it, so the child gets it unlocked and
   consistent. In the child only the forking thread exists: no worker
   there can call libcurl. */
static void on_fork_prepare(void)
{
  pthread_mutex_lock(&g_mu);
}

static void on_fork_parent(void)
{
  pthread_mutex_unlock(&g_mu);
}

static void on_fork_child(void)
{
  g_running = 0;
  pthread_mutex_unlock(&g_mu);
}

#ifndef __GLIBC__
/* atexit() gives no status: a stuck worker is waited for, not cut off. */
static void on_process_exit_atexit(void)
{
  on_process_exit(EXIT_SUCCESS, NULL);
}
#endif

/* ------------------------------------------------------------------ */
/* Socket accounting                                                    */
/* ------------------------------------------------------------------ */

/* Forget the socket at index i. Under mu. */
static void sockets_remove_at(struct engine *e, size_t i)
{
  e->sockets[i] = e->sockets[--e->socket_count];
  e->stats.open_connections = e->socket_count;
}

/* Record a socket just opened. Under mu. An entry with the same fd is a
   socket libcurl closed without on_curl_closesocket (the kernel reused
   its number). Returns 0, or -1 when out of memory. */
static int sockets_add(struct engine *e, int fd)
{
  struct stat st;
  size_t i;
  if(fstat(fd, &st) != 0)
    return -1;
  for(i = 0; i < e->socket_count; i++) {
    if(e->sockets[i].fd == fd) {
      sockets_remove_at(e, i);
      break;
    }
  }
  if(e->socket_count == e->socket_cap) {
    size_t cap = e->socket_cap ? e->socket_cap * 2 : 16;
    struct open_socket *grown = realloc(e->sockets, cap * sizeof *grown);
    if(!grown)
      return -1;
    e->sockets = grown;
    e->socket_cap = cap;
  }
  e->sockets[e->socket_count].fd = fd;
  e->sockets[e->socket_count].dev = st.st_dev;
  e->sockets[e->socket_count].ino = st.st_ino;
  e->socket_count++;
  e->stats.open_connections = e->socket_count;
  return 0;
}

/* Forget a socket closed through on_curl_closesocket. Under mu. */
static void sockets_remove(struct engine *e, int fd)
{
  size_t i;
  for(i = 0; i < e->socket_count; i++) {
    if(e->sockets[i].fd == fd) {
      sockets_remove_at(e, i);
      return;
    }
  }
}

/* Drop every socket that is no longer open as the socket it was: libcurl
   7.88 closes a socket that never finished connecting (a happy-eyeballs
   attempt dropped when its transfer is removed or times out; lib/
   cf-socket.c cf_socket_close(), "not active") with a plain close(),
   bypassing CURLOPT_CLOSESOCKETFUNCTION. Under mu. */
static void sockets_reconcile(struct engine *e)
{
  size_t i = 0;
  while(i < e->socket_count) {
    struct stat st;
    struct open_socket *s = &e->sockets[i];
    if(fstat(s->fd, &st) != 0 || st.st_dev != s->dev ||
       st.st_ino != s->ino)
      sockets_remove_at(e, i);
    else
      i++;
  }
}

static void set_message(engine_completion_t *d, const char *text)
{
  snprintf(d->message, sizeof d->message, "%s", text);
}

/* Append completions (a list) and notify on empty -> non-empty. */
static void post_list(struct engine *e, engine_completion_t *head,
                      engine_completion_t *tail)
{
  int was_empty;
  if(!head)
    return;
  pthread_mutex_lock(&e->mu);
  was_empty = e->done_head == NULL;
  if(e->done_tail)
    e->done_tail->next = head;
  else
    e->done_head = head;
  e->done_tail = tail;
  pthread_mutex_unlock(&e->mu);
  if(was_empty && e->notify)
    e->notify(e->notify_arg);
}

static void post(struct engine *e, engine_completion_t *d)
{
  d->next = NULL;
  post_list(e, d, d);
}

static void complete_ops(struct engine *e, struct pending_op *op)
{
  while(op) {
    struct pending_op *next = op->next;
    op->done->kind = ENGINE_DONE_OP;
    post(e, op->done);
    free(op);
    op = next;
  }
}

/* ------------------------------------------------------------------ */
/* Names and error mapping (pure)                                       */
/* ------------------------------------------------------------------ */

const char *engine_error_name(engine_error_t error)
{
  switch(error) {
  case ENGINE_OK: return "OK";
  case ENGINE_E_DNS: return "DNS";
  case ENGINE_E_CONNECT: return "CONNECT";
  case ENGINE_E_CONNECT_TIMEOUT: return "CONNECT_TIMEOUT";
  case ENGINE_E_TIMEOUT: return "TIMEOUT";
  case ENGINE_E_TLS: return "TLS";
  case ENGINE_E_FORBIDDEN_ADDRESS: return "FORBIDDEN_ADDRESS";
  case ENGINE_E_BODY_TOO_LARGE: return "BODY_TOO_LARGE";
  case ENGINE_E_HEADERS_TOO_LARGE: return "HEADERS_TOO_LARGE";
  case ENGINE_E_NETWORK: return "NETWORK";
  case ENGINE_E_PROTOCOL: return "PROTOCOL";
  case ENGINE_E_ABORTED: return "ABORTED";
  case ENGINE_E_DESTROYED: return "DESTROYED";
  case ENGINE_E_CLOSED: return "CLOSED";
  case ENGINE_E_INVALID_URL: return "INVALID_URL";
  case ENGINE_E_INVALID_REQUEST: return "INVALID_REQUEST";
  case ENGINE_E_INTERNAL: return "INTERNAL";
  }
  return "INTERNAL";
}

engine_error_t engine_map_error(int curl_code, unsigned flags)
{
  CURLcode code = (CURLcode)curl_code;
  /* Our own reasons first: they explain the CURLcode they caused. */
  if(flags & ENGINE_F_DESTROYED)
    return ENGINE_E_DESTROYED;
  if(flags & ENGINE_F_ABORTED)
    return ENGINE_E_ABORTED;
  if(flags & ENGINE_F_DEADLINE)
    return ENGINE_E_TIMEOUT;
  /* Set when the body ended (CURLE_OK) with a truncated stream, too. */
  if(flags & ENGINE_F_BAD_ENCODING)
    return ENGINE_E_PROTOCOL;
  if(code == CURLE_OK)
    return ENGINE_OK;
  if(flags & ENGINE_F_HEADER_CAP)
    return ENGINE_E_HEADERS_TOO_LARGE;
  if(flags & ENGINE_F_BODY_CAP)
    return ENGINE_E_BODY_TOO_LARGE;
  /* libcurl's own header limits fire before on_curl_header sees the
     bytes; maxHeaderBytes is at most CURL_MAX_HTTP_HEADER, so the
     response was over our cap too. A header line over
     CURL_MAX_HTTP_HEADER (100 KiB) fails with OUT_OF_MEMORY. Over HTTP/2,
     a header block over 128 KiB fails libcurl's nghttp2 header callback
     (RECV_ERROR, nghttp2 error -902), and nghttp2 closes the connection
     on a header field over 64 KiB (HPACK-encoded), which libcurl reports
     as an empty reply (GOT_NOTHING), as it would a corrupt header block. */
  if((flags & ENGINE_F_IN_HEADERS) &&
     (code == CURLE_OUT_OF_MEMORY ||
      (code == CURLE_RECV_ERROR && (flags & ENGINE_F_H2_CALLBACK)) ||
      (code == CURLE_GOT_NOTHING && (flags & ENGINE_F_HTTP2))))
    return ENGINE_E_HEADERS_TOO_LARGE;
  if((flags & ENGINE_F_FORBIDDEN) && code == CURLE_COULDNT_CONNECT)
    return ENGINE_E_FORBIDDEN_ADDRESS;
  switch(code) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return ENGINE_E_DNS;
  case CURLE_COULDNT_CONNECT:
    return ENGINE_E_CONNECT;
  case CURLE_OPERATION_TIMEDOUT:
    /* Before a connection exists and before the total limit passed, only
       the connect limit can have fired. */
    if(!(flags & ENGINE_F_CONNECTED) && !(flags & ENGINE_F_TOTAL_ELAPSED))
      return ENGINE_E_CONNECT_TIMEOUT;
    return ENGINE_E_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    return ENGINE_E_TLS;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_PARTIAL_FILE:
  case CURLE_HTTP2_STREAM:
    return ENGINE_E_NETWORK;
  case CURLE_WEIRD_SERVER_REPLY:
  case CURLE_BAD_CONTENT_ENCODING:
  case CURLE_HTTP2:
  case CURLE_HTTP3:
  case CURLE_UNSUPPORTED_PROTOCOL:
    return ENGINE_E_PROTOCOL;
  case CURLE_URL_MALFORMAT:
    return ENGINE_E_INVALID_URL;
  default:
    return ENGINE_E_INTERNAL;
  }
}

/* ------------------------------------------------------------------ */
/* Requests and completions                                             */
/* ------------------------------------------------------------------ */

void engine_request_free(engine_request_t *req)
{
  if(!req)
    return;
  free(req->url);
  free(req->headers);
  free(req->body);
  free(req->connect_to);
  free(req->addresses);
  free(req);
}

void engine_completion_free(engine_completion_t *done)
{
  if(!done)
    return;
  free(done->headers);
  free(done->body);
  free(done);
}

/* ------------------------------------------------------------------ */
/* libcurl callbacks (worker thread)                                    */
/* ------------------------------------------------------------------ */

/* Called by libcurl (curl_multi_socket_action) when a socket's wanted
   events change; mirrors them into the epoll set. */
static int on_curl_socket(CURL *easy, curl_socket_t s, int what,
                          void *userp, void *socketp)
{
  struct generation *g = userp;
  struct epoll_event ev;
  int op;
  (void)easy;
  if(what == CURL_POLL_REMOVE) {
    /* ENOENT/EBADF: already gone (closed sockets leave epoll). libcurl
       forgets the socket's assigned pointer with it. */
    (void)epoll_ctl(g->engine->epfd, EPOLL_CTL_DEL, s, NULL);
    return 0;
  }
  memset(&ev, 0, sizeof ev);
  if(what & CURL_POLL_IN)
    ev.events |= EPOLLIN;
  if(what & CURL_POLL_OUT)
    ev.events |= EPOLLOUT;
  ev.data.u64 = ((uint64_t)g->id << 32) | (uint32_t)s;
  /* socketp (curl_multi_assign) marks a socket already in the epoll set:
     one epoll_ctl per change, never a MOD that fails before an ADD. */
  op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if(epoll_ctl(g->engine->epfd, op, s, &ev) != 0) {
    op = errno == EEXIST ? EPOLL_CTL_MOD : errno == ENOENT ? EPOLL_CTL_ADD : -1;
    if(op < 0 || epoll_ctl(g->engine->epfd, op, s, &ev) != 0)
      return -1;
  }
  if(!socketp)
    (void)curl_multi_assign(g->multi, s, g);
  return 0;
}

/* Called by libcurl when the multi handle wants a timeout callback. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct generation *g = userp;
  (void)multi;
  g->timer_at = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  return 0;
}

/* OpenSSL's SSL_get0_alpn_selected from the libssl libcurl runs on (found
   through libcurl's own dependencies, once), or NULL. libcurl 7.88 tells
   the HTTP version (CURLINFO_HTTP_VERSION) only after a status line, and
   over HTTP/2 a response refused for its headers never gets one. */
typedef void (*alpn_selected_fn)(const void *ssl, const unsigned char **data,
                                 unsigned int *len);
static alpn_selected_fn alpn_selected;

/* Did the TLS connection of easy negotiate HTTP/2 (ALPN "h2")? */
static int negotiated_h2(CURL *easy)
{
  struct curl_tlssessioninfo *tls = NULL;
  const unsigned char *proto = NULL;
  unsigned int len = 0;
  if(!alpn_selected ||
     curl_easy_getinfo(easy, CURLINFO_TLS_SSL_PTR, &tls) != CURLE_OK ||
     !tls || tls->backend != CURLSSLBACKEND_OPENSSL || !tls->internals)
    return 0;
  alpn_selected(tls->internals, &proto, &len);
  return proto && len == 2 && memcmp(proto, "h2", 2) == 0;
}

/* A transfer got its connection: it stops counting as queued, and notes
   whether the connection speaks HTTP/2. */
static void mark_connected(struct transfer *t)
{
  if(!(t->flags & ENGINE_F_CONNECTED) && negotiated_h2(t->easy))
    t->flags |= ENGINE_F_HTTP2;
  if(!(t->flags & ENGINE_F_CONNECTED)) {
    t->flags |= ENGINE_F_CONNECTED;
    pthread_mutex_lock(&t->engine->mu);
    t->engine->stats.queued--;
    pthread_mutex_unlock(&t->engine->mu);
  }
}

/* Called by libcurl (7.80+) once a connection is ready, before the
   request is sent. */
static int on_curl_prereq(void *clientp, char *primary_ip, char *local_ip,
                          int primary_port, int local_port)
{
  (void)primary_ip;
  (void)local_ip;
  (void)primary_port;
  (void)local_port;
  mark_connected(clientp);
  return CURL_PREREQFUNC_OK;
}

/* Called by libcurl before 7.80 (no CURLOPT_PREREQFUNCTION) at the end of
   every step of a transfer that has a connection, connecting or not. The
   connection is ready once its TLS handshake (https:) or TCP connect
   (http:) has a time; libcurl sets both at once for a reused connection.
   The step that completes the handshake ends before the request is sent. */
static int on_curl_progress(void *clientp, curl_off_t dltotal,
                            curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
  struct transfer *t = clientp;
  curl_off_t ready_us = 0;
  CURLINFO info;
  (void)dltotal;
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  if(t->flags & ENGINE_F_CONNECTED)
    return 0;
  info = strncmp(t->req->url, "https:", 6) == 0 ? CURLINFO_APPCONNECT_TIME_T
                                                 : CURLINFO_CONNECT_TIME_T;
  if(curl_easy_getinfo(t->easy, info, &ready_us) == CURLE_OK &&
     ready_us > 0)
    mark_connected(t);
  return 0;
}

/* Called by libcurl to create every socket: the SSRF guard and the open
   socket table. */
static curl_socket_t on_curl_opensocket(void *clientp,
                                        curlsocktype purpose,
                                        struct curl_sockaddr *address)
{
  struct transfer *t = clientp;
  struct engine *e = t->engine;
  struct sockaddr_storage ss;
  size_t len = address->addrlen;
  int fd;
  int recorded;
  if(purpose != CURLSOCKTYPE_IPCXN)
    return CURL_SOCKET_BAD;
  memset(&ss, 0, sizeof ss);
  if(len > sizeof ss)
    len = sizeof ss;
  memcpy(&ss, &address->addr, len);
  if(!e->config.allow_private_network) {
    engine_address_class_t cls =
      engine_classify_address((const struct sockaddr *)&ss);
    if(cls != ENGINE_ADDR_PUBLIC) {
      t->flags |= ENGINE_F_FORBIDDEN;
      t->address_class = cls;
      engine_format_address((const struct sockaddr *)&ss, t->address,
                            sizeof t->address);
      return CURL_SOCKET_BAD;
    }
  }
  fd = socket(address->family, address->socktype | SOCK_CLOEXEC,
              address->protocol);
  if(fd < 0)
    return CURL_SOCKET_BAD;
  pthread_mutex_lock(&e->mu);
  recorded = sockets_add(e, fd);
  pthread_mutex_unlock(&e->mu);
  if(recorded != 0) {
    close(fd);
    return CURL_SOCKET_BAD;
  }
  return fd;
}

/* Called by libcurl to close sockets it opened through on_curl_opensocket
   (most of them: see sockets_reconcile for the exception). */
static int on_curl_closesocket(void *clientp, curl_socket_t fd)
{
  struct engine *e = clientp;
  pthread_mutex_lock(&e->mu);
  sockets_remove(e, fd);
  pthread_mutex_unlock(&e->mu);
  return close(fd);
}

/* Called by libcurl with the body bytes as they came (libcurl does not
   decode: CURLOPT_ACCEPT_ENCODING is unset); decodes them and enforces
   the body cap on the decoded bytes. */
static size_t on_curl_write(char *ptr, size_t size, size_t nmemb,
                            void *userp)
{
  struct transfer *t = userp;
  size_t n = size * nmemb;
  size_t cap = t->req->max_response_bytes;
  engine_feed_result_t r;
  if(n == 0)
    return 0;
  if(t->decoder)
    r = engine_decoder_write(t->decoder, ptr, n, &t->body, cap);
  else
    r = engine_body_append(&t->body, ptr, n, cap);
  if(r == ENGINE_FEED_CAP)
    t->flags |= ENGINE_F_BODY_CAP;
  else if(r == ENGINE_FEED_BAD)
    t->flags |= ENGINE_F_BAD_ENCODING;
  return r == ENGINE_FEED_OK ? n : 0;
}

/* Called by libcurl with each response header line (and trailer line);
   keeps the final response's lines under the header cap. */
static size_t on_curl_header(char *buf, size_t size, size_t nitems,
                             void *userp)
{
  struct transfer *t = userp;
  size_t n = size * nitems;
  int before = t->hdrs.state;
  engine_feed_result_t r;
  r = engine_headers_feed(&t->hdrs, buf, n, t->req->max_header_bytes);
  if(r == ENGINE_FEED_CAP)
    t->flags |= ENGINE_F_HEADER_CAP;
  if(r != ENGINE_FEED_OK)
    return 0;
  if(before != ENGINE_HS_BLOCK || t->hdrs.state != ENGINE_HS_TRAILERS ||
     t->req->method == ENGINE_HEAD)
    return n;
  /* The final response's headers just ended: refuse a declared body over
     the cap now rather than read cap bytes of it first, and a coding we
     cannot decode before any body byte. */
  if(engine_headers_declare_oversize(&t->hdrs,
                                     t->req->max_response_bytes)) {
    t->flags |= ENGINE_F_BODY_CAP;
    return 0;
  }
  r = engine_decoder_new(&t->hdrs, &t->decoder);
  if(r == ENGINE_FEED_BAD)
    t->flags |= ENGINE_F_BAD_ENCODING;
  return r == ENGINE_FEED_OK ? n : 0;
}

/* ------------------------------------------------------------------ */
/* Shares, generations, easy-handle pool (worker thread)                */
/* ------------------------------------------------------------------ */

static struct shared *shared_new(void)
{
  struct shared *s = calloc(1, sizeof *s);
  if(!s)
    return NULL;
  s->sh = curl_share_init();
  if(!s->sh)
    goto fail;
  /* One thread uses every handle, so no lock callbacks are needed. */
  if(curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
     CURLSHE_OK)
    goto fail;
  if(curl_share_setopt(s->sh, CURLSHOPT_SHARE,
                       CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
    goto fail;
  return s;
fail:
  if(s->sh)
    curl_share_cleanup(s->sh);
  free(s);
  return NULL;
}

static void shared_release(struct engine *e, struct shared *s)
{
  if(--s->refs > 0)
    return;
  /* Every easy handle was detached (CURLOPT_SHARE NULL) when its transfer
     ended, so the share is not in use. */
  (void)curl_share_cleanup(s->sh);
  complete_ops(e, s->ops);
  free(s);
}

/* Idle connections a generation may keep: at least 1 (with
   max_idle_connections 0 every transfer forbids reuse anyway). */
static long idle_budget(const struct engine *e)
{
  return e->config.max_idle_connections > 0 ?
         e->config.max_idle_connections : 1;
}

#define PEAK_BUCKET_MS 1000

/* The most transfers in flight over the last one to two seconds (the
   current one-second bucket and the one before), counting the present. */
static size_t recent_peak(struct generation *g)
{
  int64_t now = now_ms();
  int64_t elapsed = now - g->peak_bucket_at;
  if(elapsed >= PEAK_BUCKET_MS) {
    int adjacent = elapsed < 2 * PEAK_BUCKET_MS;
    g->peak_previous = adjacent ? g->peak_current : 0;
    g->peak_current = 0;
    g->peak_bucket_at = adjacent ? g->peak_bucket_at + PEAK_BUCKET_MS : now;
  }
  if(g->transfers > g->peak_current)
    g->peak_current = g->transfers;
  return g->peak_current > g->peak_previous ? g->peak_current
                                            : g->peak_previous;
}

/* Keep CURLMOPT_MAXCONNECTS at the most transfers in flight over the last
   1-2 s plus the idle budget. libcurl 7.88 counts connections in use toward
   it and, when a finished transfer returns its connection to a cache over
   the limit, closes the oldest idle one: a static limit below the transfers
   in flight closed a hot connection after every transfer. Following the
   transfers themselves closed, in every dip of a burst, the idle
   connections the next rise opened again (under a 2x overload, 50-580 new
   PLC connections a second in bench:overload); following their recent
   peak keeps them for the burst. Admission keeps transfers at most
   max_connections, so the limit stays within max_connections + the idle
   budget (CURLMOPT_MAX_TOTAL_CONNECTIONS). */
static void idle_limit(struct generation *g)
{
  (void)curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS,
                          (long)recent_peak(g) + idle_budget(g->engine));
}

static struct generation *generation_new(struct engine *e,
                                         struct shared *s)
{
  struct generation *g = calloc(1, sizeof *g);
  long maxconnects;
  if(!g)
    return NULL;
  g->engine = e;
  g->timer_at = -1;
  g->born_at = now_ms();
  g->multi = curl_multi_init();
  if(!g->multi)
    goto fail;
  /* Admission (src/transport/admission.ts) keeps at most max_connections
     transfers here, and libcurl counts connections in use in both limits
     below. CURLMOPT_MAX_TOTAL_CONNECTIONS is a backstop sized for every
     transfer plus the idle connections, so libcurl never has to close an
     idle connection to open a new one (which, under load, closed the hot
     hosts' keep-alive connections for one-off hosts) nor make a transfer
     wait. CURLMOPT_MAXCONNECTS follows the transfers (idle_limit()). */
  maxconnects = e->config.max_connections + idle_budget(e);
  if(curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket)
     || curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g)
     || curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer)
     || curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g)
     || curl_multi_setopt(g->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                          maxconnects)
     || curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, idle_budget(e))
     || curl_multi_setopt(g->multi, CURLMOPT_PIPELINING,
                          (long)CURLPIPE_MULTIPLEX))
    goto fail;
  g->id = ++e->next_gen_id;
  g->shared = s;
  s->refs++;
  g->next = e->gens;
  e->gens = g;
  pthread_mutex_lock(&e->mu);
  e->stats.generations++;
  pthread_mutex_unlock(&e->mu);
  return g;
fail:
  if(g->multi)
    curl_multi_cleanup(g->multi);
  free(g);
  return NULL;
}

/* Free a generation with no transfers: closes its connections. */
static void generation_free(struct engine *e, struct generation *g)
{
  struct generation **p;
  for(p = &e->gens; *p; p = &(*p)->next) {
    if(*p == g) {
      *p = g->next;
      break;
    }
  }
  (void)curl_multi_cleanup(g->multi);
  pthread_mutex_lock(&e->mu);
  e->stats.generations--;
  pthread_mutex_unlock(&e->mu);
  complete_ops(e, g->ops);
  shared_release(e, g->shared);
  free(g);
}

static struct generation *find_generation(struct engine *e, uint32_t id)
{
  struct generation *g;
  for(g = e->gens; g; g = g->next)
    if(g->id == id)
      return g;
  return NULL;
}

/* Free every generation that is not current and has no transfers. */
static void reap_generations(struct engine *e)
{
  struct generation *g = e->gens;
  while(g) {
    struct generation *next = g->next;
    if(g != e->current && g->transfers == 0)
      generation_free(e, g);
    g = next;
  }
}

static void pool_clear(struct engine *e)
{
  while(e->pool_len > 0)
    curl_easy_cleanup(e->pool[--e->pool_len]);
  pthread_mutex_lock(&e->mu);
  e->stats.pooled_handles = 0;
  pthread_mutex_unlock(&e->mu);
}

static CURL *pool_take(struct engine *e)
{
  if(e->pool_len > 0) {
    pthread_mutex_lock(&e->mu);
    e->stats.pooled_handles--;
    pthread_mutex_unlock(&e->mu);
    return e->pool[--e->pool_len];
  }
  return curl_easy_init();
}

static void pool_give(struct engine *e, CURL *easy)
{
  /* Detach from the share first so the share can be cleaned up. */
  if(curl_easy_setopt(easy, CURLOPT_SHARE, NULL) != CURLE_OK ||
     e->pool_len >= e->pool_cap || e->destroying) {
    curl_easy_cleanup(easy);
    return;
  }
  curl_easy_reset(easy);
  e->pool[e->pool_len++] = easy;
  pthread_mutex_lock(&e->mu);
  e->stats.pooled_handles++;
  pthread_mutex_unlock(&e->mu);
}

/* The current generation, made (with a new share) when there is none:
   at the first request of a run. NULL when out of memory. */
static struct generation *current_generation(struct engine *e)
{
  struct shared *s;
  if(e->current)
    return e->current;
  s = shared_new();
  if(!s)
    return NULL;
  e->current = generation_new(e, s);
  if(!e->current) {
    curl_share_cleanup(s->sh);
    free(s);
  }
  return e->current;
}

/* Make a new current generation: with the current share (clear) or a new
   one (reset). The old one is freed once it has no transfers, then op
   completes. With no current generation there is nothing to clear: op
   completes now. Returns 0, or -1 when out of memory. */
static int swap_generation(struct engine *e, int new_share,
                           struct pending_op *op)
{
  struct shared *s;
  struct generation *g;
  if(!e->current) {
    if(op) {
      op->done->kind = ENGINE_DONE_OP;
      post(e, op->done);
      free(op);
    }
    if(new_share)
      pool_clear(e);
    return 0;
  }
  s = e->current->shared;
  if(new_share) {
    s = shared_new();
    if(!s)
      return -1;
  }
  g = generation_new(e, s);
  if(!g) {
    if(new_share) {
      curl_share_cleanup(s->sh);
      free(s);
    }
    return -1;
  }
  if(op) {
    if(new_share) {
      op->next = e->current->shared->ops;
      e->current->shared->ops = op;
    }
    else {
      op->next = e->current->ops;
      e->current->ops = op;
    }
  }
  e->current = g;
  if(new_share)
    pool_clear(e);
  return 0;
}

/* ------------------------------------------------------------------ */
/* Transfers (worker thread)                                            */
/* ------------------------------------------------------------------ */

#define SETOPT(opt, value)                                             \
  do {                                                                 \
    if(curl_easy_setopt(easy, opt, value) != CURLE_OK) {               \
      snprintf(t->errbuf, sizeof t->errbuf,                            \
               "libcurl %s refused " #opt, engine_curl_version());     \
      return -1;                                                       \
    }                                                                  \
  } while(0)

/* Route the URL's host to the request's addresses, so libcurl resolves
   nothing: one CURLOPT_RESOLVE entry "+host:port:a,[b]" (7.75+: an entry
   that expires with CURLOPT_DNS_CACHE_TIMEOUT; libcurl tries the
   addresses in order, IPv6 and IPv4 interleaved by happy eyeballs), or on
   older libcurl a CURLOPT_CONNECT_TO to the first address (a permanent
   resolve entry per host would never be freed). An explicit connect_to
   wins; a URL host that is already an IP literal needs nothing. Returns 0,
   or -1 on failure. */
static int route_addresses(struct transfer *t)
{
  engine_request_t *req = t->req;
  CURLU *u = curl_url();
  char *host = NULL;
  char *port = NULL;
  char *entry = NULL;
  engine_address_class_t cls;
  size_t cap;
  size_t len;
  size_t at;
  size_t n;
  int result = -1;
  if(!u)
    return -1;
  if(curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK ||
     curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
     curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
     CURLUE_OK)
    goto done;
  if(host[0] == '[' || engine_classify_literal(host, &cls) == 0) {
    result = 0;
    goto done;
  }
  /* "+host:port:" then "[addr]," per address, then ":port" (CONNECT_TO). */
  cap = strlen(host) + 2 * strlen(port) + req->addresses_len +
        3 * ADDRESSES_MAX + 8;
  entry = malloc(cap);
  if(!entry)
    goto done;
  len = (size_t)snprintf(entry, cap, "%s%s:%s:",
                         caps.resolve_expire ? "+" : "", host, port);
  for(n = 0, at = 0; at < req->addresses_len && n < ADDRESSES_MAX; n++) {
    const char *a = req->addresses + at;
    int v6 = strchr(a, ':') != NULL;
    len += (size_t)snprintf(entry + len, cap - len, "%s%s%s%s",
                            n ? "," : "", v6 ? "[" : "", a, v6 ? "]" : "");
    at += strlen(a) + 1;
    if(!caps.resolve_expire) {
      /* CURLOPT_CONNECT_TO "host:port:addr:port" takes one address. */
      snprintf(entry + len, cap - len, ":%s", port);
      n++;
      break;
    }
  }
  if(n == 0) {
    result = 0;
    goto done;
  }
  if(caps.resolve_expire) {
    t->resolve = curl_slist_append(NULL, entry);
    result = t->resolve ? 0 : -1;
  }
  else {
    t->connect_to = curl_slist_append(NULL, entry);
    result = t->connect_to ? 0 : -1;
  }
done:
  free(entry);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return result;
}

/* Set every option of one transfer. Returns 0, or -1 on failure. */
static int configure(struct engine *e, struct transfer *t)
{
  CURL *easy = t->easy;
  engine_request_t *req = t->req;
  const engine_config_t *c = &e->config;
  long dns_seconds = ms_to_seconds_ceil(c->dns_cache_ttl_ms);
  size_t off;

  for(off = 0; req->headers && off < req->headers_len;) {
    const char *line = req->headers + off;
    struct curl_slist *next;
    size_t len = strnlen(line, req->headers_len - off);
    if(off + len >= req->headers_len)
      return -1;                  /* not NUL-terminated */
    next = curl_slist_append(t->headers, line);
    if(!next)
      return -1;
    t->headers = next;
    off += len + 1;
  }
  if(req->method == ENGINE_POST) {
    struct curl_slist *next = curl_slist_append(t->headers, "Expect:");
    if(!next)
      return -1;
    t->headers = next;
  }
  if(req->connect_to) {
    t->connect_to = curl_slist_append(NULL, req->connect_to);
    if(!t->connect_to)
      return -1;
  }
  else if(req->addresses && route_addresses(t) != 0) {
    return -1;
  }
  if(t->resolve) {
    /* The entry must outlive any wait in libcurl's per-host queue, which
       ends with the request's time limit. */
    long hop_seconds = ms_to_seconds_ceil(req->timeout_ms);
    if(dns_seconds < hop_seconds)
      dns_seconds = hop_seconds;
  }

  SETOPT(CURLOPT_PRIVATE, t);
  SETOPT(CURLOPT_URL, req->url);
  if(caps.protocols_str) {
    const char *protocols = c->allow_http ? "http,https" : "https";
    SETOPT(CURLOPT_PROTOCOLS_STR, protocols);
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  }
  else {
    long protocols = CURLPROTO_HTTPS | (c->allow_http ? CURLPROTO_HTTP : 0);
    SETOPT(CURLOPT_PROTOCOLS, protocols);
    SETOPT(CURLOPT_REDIR_PROTOCOLS, protocols);
  }
  SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
  if(!caps.http2)
    SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  SETOPT(CURLOPT_NOSIGNAL, 1L);
  SETOPT(CURLOPT_PROXY, "");  /* never take a proxy from the environment */
  SETOPT(CURLOPT_TIMEOUT_MS, req->timeout_ms);
  SETOPT(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  SETOPT(CURLOPT_ERRORBUFFER, t->errbuf);
  if(t->headers)
    SETOPT(CURLOPT_HTTPHEADER, t->headers);
  if(t->connect_to)
    SETOPT(CURLOPT_CONNECT_TO, t->connect_to);
  if(t->resolve)
    SETOPT(CURLOPT_RESOLVE, t->resolve);
  if(req->method == ENGINE_HEAD) {
    SETOPT(CURLOPT_NOBODY, 1L);
  }
  else if(req->method == ENGINE_POST) {
    SETOPT(CURLOPT_POST, 1L);
    SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SETOPT(CURLOPT_POSTFIELDS, req->body ? (char *)req->body : "");
  }
  if(e->ca_info)
    SETOPT(CURLOPT_CAINFO, e->ca_info);
  if(e->clear_capath)
    SETOPT(CURLOPT_CAPATH, NULL);
  if(caps.ca_cache)
    SETOPT(CURLOPT_CA_CACHE_TIMEOUT, CA_CACHE_SECONDS);
  SETOPT(CURLOPT_MAXAGE_CONN, ms_to_seconds_ceil(c->idle_timeout_ms));
  if(caps.max_lifetime)
    SETOPT(CURLOPT_MAXLIFETIME_CONN,
           ms_to_seconds_ceil(c->max_lifetime_ms));
  SETOPT(CURLOPT_DNS_CACHE_TIMEOUT, dns_seconds);
  if(c->max_idle_connections == 0 || req->forbid_reuse)
    SETOPT(CURLOPT_FORBID_REUSE, 1L);
  SETOPT(CURLOPT_SHARE, t->gen->shared->sh);
  if(caps.prereq) {
    SETOPT(CURLOPT_PREREQFUNCTION, on_curl_prereq);
    SETOPT(CURLOPT_PREREQDATA, t);
  }
  else {
    SETOPT(CURLOPT_XFERINFOFUNCTION, on_curl_progress);
    SETOPT(CURLOPT_XFERINFODATA, t);
    SETOPT(CURLOPT_NOPROGRESS, 0L);
  }
  SETOPT(CURLOPT_OPENSOCKETFUNCTION, on_curl_opensocket);
  SETOPT(CURLOPT_OPENSOCKETDATA, t);
  SETOPT(CURLOPT_CLOSESOCKETFUNCTION, on_curl_closesocket);
  SETOPT(CURLOPT_CLOSESOCKETDATA, e);
  SETOPT(CURLOPT_WRITEFUNCTION, on_curl_write);
  SETOPT(CURLOPT_WRITEDATA, t);
  SETOPT(CURLOPT_HEADERFUNCTION, on_curl_header);
  SETOPT(CURLOPT_HEADERDATA, t);
  return 0;
}

#undef SETOPT

static void transfer_unlink(struct engine *e, struct transfer *t)
{
  if(t->prev)
    t->prev->next = t->next;
  else
    e->transfers = t->next;
  if(t->next)
    t->next->prev = t->prev;
  t->prev = t->next = NULL;
  e->transfer_count--;
  if(e->transfer_count == 0)
    e->idle_since = now_ms();
}

/* The flags a transfer ends with: its own, and what only its end shows
   (the whole time limit spent, a cut inside the head, a body whose coding
   did not end, libcurl's HTTP/2 callback failure). */
static unsigned finish_flags(struct transfer *t, CURLcode code)
{
  unsigned flags = t->flags;
  if(now_ms() - t->started_at >= t->req->timeout_ms)
    flags |= ENGINE_F_TOTAL_ELAPSED;
  if((flags & ENGINE_F_CONNECTED) && t->hdrs.state != ENGINE_HS_TRAILERS)
    flags |= ENGINE_F_IN_HEADERS;
  /* The body ended: every coding's stream must be complete. */
  if(code == CURLE_OK && t->decoder && !t->fail_error &&
     engine_decoder_finish(t->decoder) != ENGINE_FEED_OK)
    flags |= ENGINE_F_BAD_ENCODING;
  /* libcurl's HTTP/2 receive failed in its own nghttp2 callback
     (NGHTTP2_ERR_CALLBACK_FAILURE); the text is the same in 7.74-7.88. */
  if(strstr(t->errbuf, "nghttp2_session_mem_recv() returned -902"))
    flags |= ENGINE_F_H2_CALLBACK;
  return flags;
}

/* Copy the status and timings libcurl kept for the transfer into the
   completion. Returns the number of new connections it made (0 when it
   reused one, or never had an easy handle). */
static curl_off_t read_transfer_info(struct transfer *t,
                                     engine_completion_t *d)
{
  long status = 0;
  long connects = 0;
  curl_off_t v = 0;
  if(!t->easy)
    return 0;
  if(curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) ==
     CURLE_OK)
    d->status = status;
  if(curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects) !=
     CURLE_OK)
    connects = 0;
  d->reused = connects == 0;
  if(!d->reused &&
     curl_easy_getinfo(t->easy, CURLINFO_CONNECT_TIME_T, &v) == CURLE_OK)
    d->connect_us = v;
  if(!d->reused &&
     curl_easy_getinfo(t->easy, CURLINFO_APPCONNECT_TIME_T, &v) ==
     CURLE_OK)
    d->tls_us = v;
  if(curl_easy_getinfo(t->easy, CURLINFO_STARTTRANSFER_TIME_T, &v) ==
     CURLE_OK)
    d->first_byte_us = v;
  if(curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &v) == CURLE_OK)
    d->total_us = v;
  return connects;
}

/* A successful transfer: the completion takes its body and headers. */
static void hand_over_response(struct transfer *t, engine_completion_t *d)
{
  d->body = t->body.buf;
  d->body_len = t->body.len;
  d->headers = t->hdrs.buf;
  d->headers_len = t->hdrs.len;
  t->body.buf = NULL;
  t->hdrs.buf = NULL;
}

/* A failed transfer: the completion's message (and, for a refused
   address, the address and its class). */
static void describe_failure(struct transfer *t, engine_completion_t *d,
                             CURLcode code, unsigned flags)
{
  switch(d->error) {
  case ENGINE_E_PROTOCOL:
    if((flags & ENGINE_F_BAD_ENCODING) && t->decoder) {
      snprintf(d->message, sizeof d->message,
               "cannot decode the response body: %s",
               engine_decoder_message(t->decoder));
      return;
    }
    set_message(d, t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    break;
  case ENGINE_E_BODY_TOO_LARGE:
    snprintf(d->message, sizeof d->message,
             "response body exceeds %zu bytes after decoding",
             t->req->max_response_bytes);
    break;
  case ENGINE_E_HEADERS_TOO_LARGE:
    snprintf(d->message, sizeof d->message,
             "response headers exceed %zu bytes",
             t->req->max_header_bytes);
    break;
  case ENGINE_E_FORBIDDEN_ADDRESS:
    snprintf(d->message, sizeof d->message,
             "refused to connect to %s address %s",
             engine_address_class_name(t->address_class), t->address);
    break;
  case ENGINE_E_ABORTED:
    set_message(d, "request aborted");
    break;
  case ENGINE_E_DESTROYED:
    set_message(d, "transport was destroyed");
    break;
  case ENGINE_E_TIMEOUT:
    if(flags & ENGINE_F_DEADLINE) {
      snprintf(d->message, sizeof d->message,
               "no response within %ld ms", t->req->timeout_ms);
      break;
    }
    /* FALLTHROUGH */
  default:
    set_message(d, t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
    break;
  }
  if(t->flags & ENGINE_F_FORBIDDEN) {
    memcpy(d->address, t->address, sizeof d->address);
    d->address_class = t->address_class;
  }
}

/* Free the transfer and what it still owns; its easy handle goes back to
   the pool. */
static void transfer_free(struct engine *e, struct transfer *t)
{
  if(t->easy)
    pool_give(e, t->easy);
  curl_slist_free_all(t->headers);
  curl_slist_free_all(t->connect_to);
  curl_slist_free_all(t->resolve);
  engine_request_free(t->req);
  engine_body_free(&t->body);
  engine_headers_free(&t->hdrs);
  engine_decoder_free(t->decoder);
  free(t);
}

/* Count a finished transfer in the engine's stats. */
static void count_finished(struct engine *e, const engine_completion_t *d,
                           int connected, curl_off_t num_connects)
{
  pthread_mutex_lock(&e->mu);
  e->stats.in_flight--;
  if(!connected)
    e->stats.queued--;
  e->stats.new_connections += (uint64_t)num_connects;
  if(d->error == ENGINE_OK && num_connects == 0)
    e->stats.reused_connections++;
  if(d->error == ENGINE_OK)
    e->stats.bytes_in += d->body_len;
  pthread_mutex_unlock(&e->mu);
}

/* Fill the completion, post it and free the transfer. The transfer must
   already be out of its multi handle (or never have been added). */
static void transfer_finish(struct engine *e, struct transfer *t,
                            CURLcode code)
{
  engine_completion_t *d = t->done;
  unsigned flags = finish_flags(t, code);
  int connected = (t->flags & ENGINE_F_CONNECTED) != 0;
  curl_off_t num_connects;

  d->kind = ENGINE_DONE_TRANSFER;
  d->id = t->req->id;
  d->curl_code = (int)code;
  d->error = t->fail_error ? t->fail_error
                           : engine_map_error((int)code, flags);
  num_connects = read_transfer_info(t, d);
  /* libcurl 7.88 refuses a status below 100 (WEIRD_SERVER_REPLY); 7.74
     passes "HTTP/1.1 000" on as status 0. */
  if(d->error == ENGINE_OK && d->status < 100) {
    snprintf(t->errbuf, sizeof t->errbuf,
             "the server sent an invalid HTTP status (%03ld)", d->status);
    d->error = ENGINE_E_PROTOCOL;
  }
  if(d->error == ENGINE_OK)
    hand_over_response(t, d);
  else
    describe_failure(t, d, code, flags);
  transfer_free(e, t);
  count_finished(e, d, connected, num_connects);
  post(e, d);
}

static void transfer_cancel(struct engine *e, struct transfer *t,
                            unsigned flag)
{
  t->flags |= flag;
  if(t->active) {
    if(curl_multi_remove_handle(t->gen->multi, t->easy) != CURLM_OK) {
      /* Cannot happen for a handle we added; never reuse it then. */
      curl_easy_cleanup(t->easy);
      t->easy = NULL;
    }
    t->gen->transfers--;
    idle_limit(t->gen);
    t->active = 0;
  }
  transfer_unlink(e, t);
  transfer_finish(e, t, CURLE_OK);
}

/* Fail a request that never got a transfer. */
static void fail_request(struct engine *e, engine_request_t *req,
                         engine_completion_t *d, engine_error_t error,
                         const char *message)
{
  d->kind = ENGINE_DONE_TRANSFER;
  d->id = req->id;
  d->error = error;
  set_message(d, message);
  engine_request_free(req);
  pthread_mutex_lock(&e->mu);
  e->stats.in_flight--;
  e->stats.queued--;
  pthread_mutex_unlock(&e->mu);
  post(e, d);
}

/* Hand a transfer to libcurl in the current generation. Returns 0, or
   an error with t->errbuf set (the caller finishes the transfer). */
static engine_error_t transfer_activate(struct engine *e,
                                        struct transfer *t)
{
  t->gen = current_generation(e);
  if(!t->gen) {
    snprintf(t->errbuf, sizeof t->errbuf,
             "could not create a connection pool");
    return ENGINE_E_INTERNAL;
  }
  t->easy = pool_take(e);
  if(!t->easy) {
    snprintf(t->errbuf, sizeof t->errbuf, "out of memory");
    return ENGINE_E_INTERNAL;
  }
  if(configure(e, t) != 0) {
    if(!t->errbuf[0])
      snprintf(t->errbuf, sizeof t->errbuf,
               "libcurl refused the request's options");
    goto fail;
  }
  if(curl_multi_add_handle(t->gen->multi, t->easy) != CURLM_OK) {
    snprintf(t->errbuf, sizeof t->errbuf, "curl_multi_add_handle failed");
    curl_easy_cleanup(t->easy);
    t->easy = NULL;
    return ENGINE_E_INTERNAL;
  }
  t->gen->transfers++;
  idle_limit(t->gen);
  t->active = 1;
  return ENGINE_OK;
fail:
  curl_easy_cleanup(t->easy);
  t->easy = NULL;
  return ENGINE_E_INVALID_REQUEST;
}

static void activate_or_fail(struct engine *e, struct transfer *t)
{
  engine_error_t err = transfer_activate(e, t);
  if(err == ENGINE_OK)
    return;
  t->fail_error = err;
  transfer_unlink(e, t);
  transfer_finish(e, t, CURLE_OK);
}

static void transfer_start(struct engine *e, engine_request_t *req,
                           engine_completion_t *done)
{
  struct transfer *t;
  if(e->destroying) {
    fail_request(e, req, done, ENGINE_E_DESTROYED,
                 "transport was destroyed");
    return;
  }
  t = calloc(1, sizeof *t);
  if(!t) {
    fail_request(e, req, done, ENGINE_E_INTERNAL, "out of memory");
    return;
  }
  t->engine = e;
  t->req = req;
  t->done = done;
  t->started_at = now_ms();
  t->deadline_at = t->started_at + req->timeout_ms + 1;
  t->next = e->transfers;
  if(t->next)
    t->next->prev = t;
  e->transfers = t;
  e->transfer_count++;
  e->idle_since = -1;
  if(e->next_deadline < 0 || t->deadline_at < e->next_deadline)
    e->next_deadline = t->deadline_at;
  activate_or_fail(e, t);
}

/* Collect finished transfers of every generation. */
static void collect_done(struct engine *e)
{
  struct generation *g;
  for(g = e->gens; g; g = g->next) {
    CURLMsg *msg;
    int left;
    while((msg = curl_multi_info_read(g->multi, &left))) {
      struct transfer *t;
      char *priv = NULL;
      CURL *easy = msg->easy_handle;
      CURLcode result = msg->data.result;
      if(msg->msg != CURLMSG_DONE)
        continue;
      if(curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv) != CURLE_OK ||
         !priv)
        continue;
      t = (struct transfer *)(void *)priv;
      if(curl_multi_remove_handle(g->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        t->easy = NULL;
      }
      g->transfers--;
      idle_limit(g);
      t->active = 0;
      transfer_unlink(e, t);
      transfer_finish(e, t, result);
    }
  }
}

/* Enforce deadlines libcurl does not (it never times out a transfer that
   waits in its pending queue for a connection slot). */
static void check_deadlines(struct engine *e, int64_t now)
{
  struct transfer *t;
  int64_t next = -1;
  if(e->next_deadline < 0 || now < e->next_deadline)
    return;
  t = e->transfers;
  while(t) {
    struct transfer *after = t->next;
    if(t->deadline_at <= now)
      transfer_cancel(e, t, ENGINE_F_DEADLINE);
    else if(next < 0 || t->deadline_at < next)
      next = t->deadline_at;
    t = after;
  }
  e->next_deadline = next;
}

static void run_timers(struct engine *e, int64_t now)
{
  struct generation *g;
  for(g = e->gens; g; g = g->next) {
    int running;
    if(g->timer_at < 0 || g->timer_at > now)
      continue;
    g->timer_at = -1;
    (void)curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0,
                                   &running);
  }
}

static void socket_event(struct engine *e, const struct epoll_event *ev)
{
  struct generation *g = find_generation(e, (uint32_t)(ev->data.u64 >> 32));
  int fd = (int)(uint32_t)ev->data.u64;
  int mask = 0;
  int running;
  if(!g)
    return;
  if(ev->events & EPOLLIN)
    mask |= CURL_CSELECT_IN;
  if(ev->events & EPOLLOUT)
    mask |= CURL_CSELECT_OUT;
  if(ev->events & (EPOLLERR | EPOLLHUP))
    mask |= CURL_CSELECT_ERR;
  (void)curl_multi_socket_action(g->multi, fd, mask, &running);
}

/* ------------------------------------------------------------------ */
/* Commands (worker thread)                                             */
/* ------------------------------------------------------------------ */

static void op_done_now(struct engine *e, engine_completion_t *d,
                        engine_error_t error, const char *message)
{
  d->kind = ENGINE_DONE_OP;
  d->error = error;
  if(message)
    set_message(d, message);
  post(e, d);
}

static struct pending_op *op_new(engine_completion_t *d)
{
  struct pending_op *op = calloc(1, sizeof *op);
  if(op)
    op->done = d;
  return op;
}

static void run_command(struct engine *e, struct command *c)
{
  struct pending_op *op;
  struct transfer *t;
  switch(c->kind) {
  case CMD_SUBMIT:
    transfer_start(e, c->req, c->done);
    break;
  case CMD_ABORT:
    for(t = e->transfers; t; t = t->next) {
      if(t->req->id == c->id) {
        transfer_cancel(e, t, ENGINE_F_ABORTED);
        break;
      }
    }
    break;
  case CMD_CLEAR:
  case CMD_RESET:
    if(e->closing) {
      op_done_now(e, c->done, ENGINE_OK, NULL);
      break;
    }
    op = op_new(c->done);
    if(!op || swap_generation(e, c->kind == CMD_RESET, op) != 0) {
      free(op);
      op_done_now(e, c->done, ENGINE_E_INTERNAL,
                  "could not create a new connection pool");
    }
    break;
  case CMD_DESTROY:
    e->destroying = 1;
    while(e->transfers)
      transfer_cancel(e, e->transfers, ENGINE_F_DESTROYED);
    pool_clear(e);
    /* FALLTHROUGH */
  case CMD_CLOSE:
    e->closing = 1;
    op = op_new(c->done);
    if(!op) {
      /* Completing early is the only option left; the worker still
         exits after the last transfer. */
      op_done_now(e, c->done, ENGINE_OK, NULL);
      break;
    }
    op->next = e->exit_ops;
    e->exit_ops = op;
    break;
  }
  free(c);
}

static void run_commands(struct engine *e)
{
  struct command *c;
  uint64_t count;
  ssize_t n;
  do {
    n = read(e->evfd, &count, sizeof count);
  } while(n < 0 && errno == EINTR);
  pthread_mutex_lock(&e->mu);
  c = e->cmd_head;
  e->cmd_head = e->cmd_tail = NULL;
  pthread_mutex_unlock(&e->mu);
  while(c) {
    struct command *next = c->next;
    run_command(e, c);
    c = next;
  }
}

/* ------------------------------------------------------------------ */
/* Worker thread                                                        */
/* ------------------------------------------------------------------ */

/* When the worker must wake up by itself: libcurl's timers, the earliest
   deadline, the moment to park, the next rotation. -1 = never. */
static int next_timeout(struct engine *e, int64_t now)
{
  int64_t at = -1;
  struct generation *g;
  for(g = e->gens; g; g = g->next)
    if(g->timer_at >= 0 && (at < 0 || g->timer_at < at))
      at = g->timer_at;
  if(e->next_deadline >= 0 && (at < 0 || e->next_deadline < at))
    at = e->next_deadline;
  if(e->transfer_count == 0 && e->idle_since >= 0) {
    int64_t park_at = e->idle_since + e->config.idle_timeout_ms;
    if(at < 0 || park_at < at)
      at = park_at;
  }
  if(!caps.max_lifetime && e->current) {
    int64_t rotate_at = e->current->born_at + e->config.max_lifetime_ms;
    if(at < 0 || rotate_at < at)
      at = rotate_at;
  }
  if(at < 0)
    return -1;
  if(at <= now)
    return 0;
  return at - now > 60000 ? 60000 : (int)(at - now);
}

/* Without CURLOPT_MAXLIFETIME_CONN (libcurl < 7.80), no connection may
   serve new requests past max_lifetime_ms either: the current generation
   is replaced when it is that old, so its connections close once their
   transfers end. */
static void rotate_check(struct engine *e, int64_t now)
{
  if(caps.max_lifetime || e->closing || !e->current ||
     now - e->current->born_at < e->config.max_lifetime_ms)
    return;
  (void)swap_generation(e, 0, NULL);
}

/* Append len bytes to fd. 0 on success. */
static int write_all(int fd, const char *data, size_t len)
{
  size_t off = 0;
  while(off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if(w < 0) {
      if(errno == EINTR)
        continue;
      return -1;
    }
    off += (size_t)w;
  }
  return 0;
}

/* Append the file at `path` to `fd`. 0 on success. */
static int append_file(int fd, const char *path)
{
  char buf[16384];
  int result = -1;
  FILE *in = fopen(path, "rb");
  if(!in)
    return -1;
  for(;;) {
    size_t n = fread(buf, 1, sizeof buf, in);
    if(write_all(fd, buf, n) != 0)
      goto done;
    if(n < sizeof buf) {
      if(ferror(in))
        goto done;
      break;
    }
  }
  /* PEM files need not end in a newline; keep the next one apart. */
  if(write_all(fd, "\n", 1) != 0)
    goto done;
  result = 0;
done:
  fclose(in);
  return result;
}

/* The system's CA bundle file: libcurl's built-in default (CURLINFO_CAINFO,
   7.84+), else the first readable file among the distributions' usual
   places (the list Go's crypto/x509 uses on Linux). NULL when none. */
static char *system_ca_file(void)
{
  static const char *const known[] = {
    "/etc/ssl/certs/ca-certificates.crt",     /* Debian, Ubuntu, Alpine */
    "/etc/pki/tls/certs/ca-bundle.crt",       /* Fedora, RHEL 6 */
    "/etc/ssl/ca-bundle.pem",                 /* openSUSE */
    "/etc/pki/tls/cacert.pem",                /* OpenELEC */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* RHEL 7+ */
    "/etc/ssl/cert.pem",                      /* Alpine, Arch */
  };
  size_t i;
  if(caps.cainfo_info) {
    char *def = NULL;
    char *found = NULL;
    CURL *probe = curl_easy_init();
    if(!probe)
      return NULL;
    if(curl_easy_getinfo(probe, CURLINFO_CAINFO, &def) == CURLE_OK &&
       def && access(def, R_OK) == 0)
      found = strdup(def);
    curl_easy_cleanup(probe);
    return found;
  }
  for(i = 0; i < sizeof known / sizeof known[0]; i++)
    if(access(known[i], R_OK) == 0)
      return strdup(known[i]);
  return NULL;
}

/* Decide how TLS peers are verified (worker thread, at the start of each
   run).

   libcurl (7.87+, OpenSSL) parses the CA bundle into an X509 store and
   caches it in the multi handle (CURLOPT_CA_CACHE_TIMEOUT), but only when
   CURLOPT_CAPATH is unset and the CAs come from a file. Distribution
   builds set both defaults (Debian: CAINFO /etc/ssl/certs/
   ca-certificates.crt, CAPATH /etc/ssl/certs), so every new TLS connection
   would parse the whole bundle again: with one-off did:web hosts, that was
   most of the worker's time per handshake.

   - No ca_pem: when the system bundle file is known, clear CAPATH (the
     bundle holds the same roots) so the store is cached.
   - ca_pem: trust it in addition to the system roots through one bundle,
     system bundle + ca_pem, in an anonymous memory file (memfd) named by
     /proc/self/fd/N, and clear CAPATH, so it is cached too.
   - Otherwise (no system bundle known): CAINFO = a memfd with ca_pem
     alone and libcurl's default CAPATH, uncached. */
static void ca_setup(struct engine *e)
{
  char *system_file = system_ca_file();
  int fd;
  e->ca_info = NULL;
  e->clear_capath = 0;
  e->ca_fd = -1;
  if(!e->ca_pem) {
    e->clear_capath = system_file != NULL;
    free(system_file);
    return;
  }
  fd = memfd_create("atresolve-ca", MFD_CLOEXEC);
  if(fd >= 0 && (!system_file || append_file(fd, system_file) == 0) &&
     write_all(fd, e->ca_pem, strlen(e->ca_pem)) == 0 &&
     write_all(fd, "\n", 1) == 0) {
    snprintf(e->ca_fd_path, sizeof e->ca_fd_path, "/proc/self/fd/%d", fd);
    e->ca_fd = fd;
    e->ca_info = e->ca_fd_path;
    e->clear_capath = system_file != NULL;
  }
  else if(fd >= 0) {
    close(fd);
  }
  free(system_file);
}

static void ca_release(struct engine *e)
{
  if(e->ca_fd >= 0)
    close(e->ca_fd);
  e->ca_fd = -1;
  e->ca_info = NULL;
}

/* Free every libcurl handle of this run (nothing is in flight). */
static void worker_free_curl(struct engine *e)
{
  e->current = NULL;
  reap_generations(e);       /* every generation: none has transfers */
  pool_clear(e);
  ca_release(e);
}

/* Fail the commands left when a run ends for good: submits fail with
   error, operations complete. */
static void fail_commands(struct engine *e, struct command *left,
                          engine_error_t error, const char *message)
{
  while(left) {
    struct command *next = left->next;
    if(left->kind == CMD_SUBMIT) {
      fail_request(e, left->req, left->done, error, message);
    }
    else if(left->done) {
      left->done->kind = ENGINE_DONE_OP;
      post(e, left->done);
    }
    free(left);
    left = next;
  }
}

/* The end of the final run (after close/destroy). */
static void worker_exit(struct engine *e)
{
  struct command *left;
  engine_completion_t *head = NULL;
  engine_completion_t *tail = NULL;
  struct pending_op *op;

  halt_if_exiting();
  worker_free_curl(e);
  pthread_mutex_lock(&e->mu);
  e->accepting = 0;
  e->exited = 1;
  e->state = WORKER_DONE;
  e->stats.worker_running = 0;
  close(e->epfd);
  close(e->evfd);
  e->epfd = e->evfd = -1;
  left = e->cmd_head;
  e->cmd_head = e->cmd_tail = NULL;
  pthread_mutex_unlock(&e->mu);
  /* Commands that raced with the exit: only aborts (nothing to abort) and
     operations (nothing left to clear) can be here. */
  fail_commands(e, left, ENGINE_E_CLOSED, "transport is closed");
  /* The close/destroy completions go last, in one batch: after them the
     worker never posts again. */
  op = e->exit_ops;
  e->exit_ops = NULL;
  while(op) {
    struct pending_op *next = op->next;
    op->done->kind = ENGINE_DONE_OP;
    op->done->next = NULL;
    if(tail)
      tail->next = op->done;
    else
      head = op->done;
    tail = op->done;
    free(op);
    op = next;
  }
  post_list(e, head, tail);
}

/* Park when nothing was in flight for idle_timeout_ms: free every libcurl
   handle (closing idle connections), the epoll set and the eventfd, and
   end the thread. Returns 1 when parked (the caller returns at once and
   touches nothing of e), 0 when a command arrived meanwhile. */
static int worker_park(struct engine *e)
{
  halt_if_exiting();
  worker_free_curl(e);
  pthread_mutex_lock(&e->mu);
  sockets_reconcile(e);
  if(e->cmd_head) {
    pthread_mutex_unlock(&e->mu);
    ca_setup(e);
    e->idle_since = now_ms();
    return 0;
  }
  close(e->epfd);
  close(e->evfd);
  e->epfd = e->evfd = -1;
  e->state = WORKER_PARKED;
  e->stats.worker_running = 0;
  e->stats.parks++;
  /* Nobody joins a parked run: its stack is freed when it ends. */
  e->joinable = 0;
  (void)pthread_detach(pthread_self());
  worker_leave();
  pthread_mutex_unlock(&e->mu);
  return 1;
}

static void *worker_main(void *arg)
{
  struct engine *e = arg;
  struct epoll_event events[MAX_EVENTS];

  worker_enter();
  ca_setup(e);
  e->idle_since = now_ms();
  for(;;) {
    int64_t now = now_ms();
    int n = epoll_wait(e->epfd, events, MAX_EVENTS, next_timeout(e, now));
    int i;
    int woken = 0;
    if(n < 0) {
      if(errno != EINTR) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
      }
      n = 0;
    }
    halt_if_exiting();
    for(i = 0; i < n; i++) {
      if(events[i].data.u64 == WAKE_TAG)
        woken = 1;
      else if(events[i].data.u64 != EXIT_TAG)
        socket_event(e, &events[i]);
      halt_if_exiting();
    }
    if(woken)
      run_commands(e);
    halt_if_exiting();
    now = now_ms();
    run_timers(e, now);
    halt_if_exiting();
    collect_done(e);
    halt_if_exiting();
    check_deadlines(e, now);
    halt_if_exiting();
    rotate_check(e, now);
    reap_generations(e);
    if(e->closing && e->transfer_count == 0)
      break;
    if(e->transfer_count == 0 && e->idle_since >= 0 &&
       now - e->idle_since >= e->config.idle_timeout_ms && worker_park(e))
      return NULL;
  }
  worker_exit(e);
  worker_leave();
  return NULL;
}

/* Start a worker for e (caller's thread, under mu, state PARKED): a new
   epoll set with the engine's eventfd and the process exit eventfd, and a
   thread that takes no signals. Returns 0, or an errno value. */
static int worker_start_locked(struct engine *e)
{
  struct epoll_event ev;
  sigset_t all, old;
  int err;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if(e->epfd < 0)
    return errno;
  e->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if(e->evfd < 0) {
    err = errno;
    goto fail;
  }
  memset(&ev, 0, sizeof ev);
  ev.events = EPOLLIN;
  ev.data.u64 = WAKE_TAG;
  if(epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->evfd, &ev) != 0) {
    err = errno;
    goto fail;
  }
  ev.data.u64 = EXIT_TAG;
  if(epoll_ctl(e->epfd, EPOLL_CTL_ADD, g_exit_fd, &ev) != 0) {
    err = errno;
    goto fail;
  }
  /* The worker takes no signals: they belong to the host process. */
  sigfillset(&all);
  if(pthread_sigmask(SIG_SETMASK, &all, &old) != 0) {
    err = EINVAL;
    goto fail;
  }
  err = pthread_create(&e->thread, NULL, worker_main, e);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if(err != 0)
    goto fail;
  e->state = WORKER_RUNNING;
  e->joinable = 1;
  e->stats.worker_running = 1;
  return 0;
fail:
  close(e->epfd);
  if(e->evfd >= 0)
    close(e->evfd);
  e->epfd = e->evfd = -1;
  return err;
}

/* ------------------------------------------------------------------ */
/* Public API (caller's thread)                                         */
/* ------------------------------------------------------------------ */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_result = -1;

static void global_init_once(void)
{
  const curl_version_info_data *info;
  pthread_condattr_t attr;
  void *curl_lib;
  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return;
  /* dlsym on libcurl's handle searches libcurl and then its dependencies:
     the libssl it was linked with, not another OpenSSL in the process
     (Node exports its own). */
  curl_lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD);
  if(curl_lib) {
    void *sym = dlsym(curl_lib, "SSL_get0_alpn_selected");
    memcpy(&alpn_selected, &sym, sizeof alpn_selected);
    dlclose(curl_lib);
  }
  info = curl_version_info(CURLVERSION_NOW);
  caps.version_num = info ? info->version_num : 0;
  caps.resolve_expire = caps.version_num >= 0x074b00;
  caps.prereq = caps.version_num >= 0x075000;
  caps.max_lifetime = caps.version_num >= 0x075000;
  caps.cainfo_info = caps.version_num >= 0x075400;
  caps.protocols_str = caps.version_num >= 0x075500;
  caps.ca_cache = caps.version_num >= 0x075700;
  /* Before 7.88 an oversized HTTP/2 header block and a framing error are
     the same CURLE_HTTP2; HTTP/1.1 keeps every cap exact there. */
  caps.http2 = caps.version_num >= 0x075800;
  if(pthread_condattr_init(&attr) != 0 ||
     pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
     pthread_cond_init(&g_cond, &attr) != 0)
    return;
  pthread_condattr_destroy(&attr);
  g_exit_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if(g_exit_fd < 0 || pthread_atfork(on_fork_prepare, on_fork_parent,
                                     on_fork_child) != 0)
    return;
  /* After curl_global_init(), which initialised OpenSSL and so registered
     OPENSSL_cleanup() with atexit(): exit handlers run in reverse order,
     so this one runs first. */
#ifdef __GLIBC__
  if(on_exit(on_process_exit, NULL) != 0)
    return;
#else
  if(atexit(on_process_exit_atexit) != 0)
    return;
#endif
  global_result = 0;
}

int engine_global_init(void)
{
  if(pthread_once(&global_once, global_init_once) != 0)
    return -1;
  return global_result;
}

const char *engine_curl_version(void)
{
  const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
  return info && info->version ? info->version : "unknown";
}

const char *engine_curl_minimum(void)
{
  return CURL_MINIMUM_STR;
}

int engine_curl_version_supported(unsigned version_num)
{
  return version_num >= CURL_MINIMUM_NUM;
}

int engine_curl_supported(void)
{
  return engine_global_init() == 0 &&
         engine_curl_version_supported(caps.version_num);
}

const char *engine_curl_ssl_version(void)
{
  const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
  return info && info->ssl_version ? info->ssl_version : "none";
}

engine_error_t engine_create(const engine_config_t *config,
                             engine_notify_fn notify, void *notify_arg,
                             engine_t **out)
{
  struct engine *e;
  if(!config || !out || config->max_connections < 1)
    return ENGINE_E_INVALID_REQUEST;
  if(!engine_curl_supported())
    return ENGINE_E_INTERNAL;
  e = calloc(1, sizeof *e);
  if(!e)
    return ENGINE_E_INTERNAL;
  e->config = *config;
  e->epfd = -1;
  e->evfd = -1;
  e->ca_fd = -1;
  e->notify = notify;
  e->notify_arg = notify_arg;
  e->accepting = 1;
  e->state = WORKER_PARKED;
  e->idle_since = now_ms();
  e->next_deadline = -1;
  e->pool_cap = config->max_connections < POOL_MAX ?
                (size_t)config->max_connections : POOL_MAX;
  if(config->ca_pem) {
    e->ca_pem = strdup(config->ca_pem);
    if(!e->ca_pem)
      goto fail;
  }
  e->config.ca_pem = e->ca_pem;
  e->pool = calloc(e->pool_cap, sizeof *e->pool);
  if(!e->pool)
    goto fail;
  if(pthread_mutex_init(&e->mu, NULL) != 0)
    goto fail;
  *out = e;
  return ENGINE_OK;
fail:
  free(e->pool);
  free(e->ca_pem);
  free(e);
  return ENGINE_E_INTERNAL;
}

/* Complete a command on the caller's thread while the worker is parked:
   there is nothing to clear, reset, abort or wait for. Close and destroy
   end the engine (no worker will run again). */
static void complete_parked(struct engine *e, struct command *c)
{
  if(c->done) {
    c->done->kind = ENGINE_DONE_OP;
    post(e, c->done);
  }
  free(c);
}

/* Queue a command, starting the worker when a request needs it. For
   CMD_SUBMIT also checks the outstanding limit. */
static engine_error_t push(struct engine *e, struct command *c)
{
  engine_error_t result = ENGINE_OK;
  int start_error = 0;
  int parked = 0;
  pthread_mutex_lock(&e->mu);
  if(e->exited || e->state == WORKER_DONE ||
     (!e->accepting && c->kind != CMD_ABORT && c->kind != CMD_DESTROY) ||
     (c->kind == CMD_DESTROY && e->destroy_requested)) {
    result = ENGINE_E_CLOSED;
  }
  else {
    if(c->kind == CMD_SUBMIT) {
      e->stats.in_flight++;
      e->stats.queued++;
    }
    if(c->kind == CMD_CLOSE || c->kind == CMD_DESTROY)
      e->accepting = 0;
    if(c->kind == CMD_DESTROY)
      e->destroy_requested = 1;
    if(e->state == WORKER_PARKED && c->kind == CMD_SUBMIT)
      start_error = worker_start_locked(e);
    if(e->state == WORKER_PARKED && !start_error) {
      parked = 1;
      if(c->kind == CMD_CLOSE || c->kind == CMD_DESTROY) {
        e->state = WORKER_DONE;
        e->exited = 1;
      }
    }
    else if(!start_error) {
      /* The worker reads its eventfd before it takes the whole list, so
         a command joining a non-empty list is taken with the one that
         woke it: one wake (a syscall on the caller's thread) per batch. */
      int was_empty = e->cmd_head == NULL;
      if(e->cmd_tail)
        e->cmd_tail->next = c;
      else
        e->cmd_head = c;
      e->cmd_tail = c;
      if(was_empty)
        wake_locked(e);
    }
  }
  pthread_mutex_unlock(&e->mu);
  if(start_error) {
    char message[200];
    snprintf(message, sizeof message,
             "could not start the engine's worker thread: %s",
             strerror(start_error));
    fail_request(e, c->req, c->done, ENGINE_E_INTERNAL, message);
    free(c);
  }
  else if(parked) {
    complete_parked(e, c);
  }
  return result;
}

static engine_error_t push_new(struct engine *e, enum command_kind kind,
                               uint64_t id, engine_request_t *req)
{
  engine_error_t result;
  struct command *c = calloc(1, sizeof *c);
  if(!c)
    return ENGINE_E_INTERNAL;
  c->kind = kind;
  c->id = id;
  c->req = req;
  if(kind != CMD_ABORT) {
    c->done = calloc(1, sizeof *c->done);
    if(!c->done) {
      free(c);
      return ENGINE_E_INTERNAL;
    }
    c->done->id = id;
  }
  result = push(e, c);
  if(result != ENGINE_OK) {
    free(c->done);
    free(c);
  }
  return result;
}

engine_error_t engine_submit(engine_t *e, engine_request_t *req)
{
  if(!e || !req || !req->url || req->timeout_ms <= 0 ||
     req->connect_timeout_ms <= 0)
    return ENGINE_E_INVALID_REQUEST;
  return push_new(e, CMD_SUBMIT, req->id, req);
}

engine_error_t engine_abort(engine_t *e, uint64_t request_id)
{
  return push_new(e, CMD_ABORT, request_id, NULL);
}

engine_error_t engine_clear(engine_t *e, uint64_t op_id)
{
  return push_new(e, CMD_CLEAR, op_id, NULL);
}

engine_error_t engine_reset(engine_t *e, uint64_t op_id)
{
  return push_new(e, CMD_RESET, op_id, NULL);
}

engine_error_t engine_close(engine_t *e, uint64_t op_id)
{
  return push_new(e, CMD_CLOSE, op_id, NULL);
}

engine_error_t engine_destroy(engine_t *e, uint64_t op_id)
{
  return push_new(e, CMD_DESTROY, op_id, NULL);
}

engine_completion_t *engine_take_completions(engine_t *e)
{
  engine_completion_t *head;
  pthread_mutex_lock(&e->mu);
  head = e->done_head;
  e->done_head = e->done_tail = NULL;
  pthread_mutex_unlock(&e->mu);
  return head;
}

void engine_stats(engine_t *e, engine_stats_t *out)
{
  pthread_mutex_lock(&e->mu);
  sockets_reconcile(e);
  *out = e->stats;
  pthread_mutex_unlock(&e->mu);
}

void engine_join(engine_t *e)
{
  pthread_t thread;
  int joinable;
  if(!e)
    return;
  /* Once close or destroy is queued, the run ends for good instead of
     parking (a parked run detached itself and cleared joinable). */
  pthread_mutex_lock(&e->mu);
  joinable = e->joinable && !e->accepting;
  if(joinable)
    e->joinable = 0;
  thread = e->thread;
  pthread_mutex_unlock(&e->mu);
  /* A halted worker (the process is exiting) never ends. */
  if(joinable && !atomic_load(&g_exiting))
    pthread_join(thread, NULL);
}

void engine_free(engine_t *e)
{
  engine_completion_t *d;
  struct command *c;
  if(!e)
    return;
  /* Neither closed nor destroyed yet: destroy (completes at once when
     parked). */
  (void)engine_destroy(e, 0);
  engine_join(e);
  d = engine_take_completions(e);
  while(d) {
    engine_completion_t *next = d->next;
    engine_completion_free(d);
    d = next;
  }
  for(c = e->cmd_head; c;) {
    struct command *next = c->next;
    engine_request_free(c->req);
    free(c->done);
    free(c);
    c = next;
  }
  pthread_mutex_destroy(&e->mu);
  free(e->sockets);
  free(e->pool);
  free(e->ca_pem);
  free(e);
}
