/*
 * engine.h - the native HTTP/TLS engine of atresolve, in pure C.
 *
 * One engine is one worker thread that alone calls libcurl. It drives one
 * epoll set with curl_multi_socket_action() over one or more generations
 * (a generation is a multi handle + a share handle + its transfers), so
 * clear_connections/reset never fail an in-flight request: new requests go
 * to a new generation, the old one finishes its transfers and is freed.
 *
 * The worker runs only while there is work: engine_create() starts no
 * thread, the first request does, and a worker with nothing in flight for
 * idle_timeout_ms frees every libcurl handle, its epoll set and eventfd,
 * and exits ("parks"). The next request starts a new one. Counters
 * survive; operations on a parked engine complete at once.
 *
 * Threads:
 *   - the caller's thread (in Node: the JS thread) calls engine_create,
 *     engine_submit, engine_abort, engine_clear, engine_reset, engine_close,
 *     engine_destroy, engine_take_completions, engine_stats, engine_join and
 *     engine_free. These only touch the mutex-protected command queue, the
 *     completion list and the counters, and start the worker; they never
 *     call libcurl.
 *   - the worker thread runs every libcurl call and every libcurl callback.
 *     It calls the notify function when the completion list goes from empty
 *     to non-empty; the notify function must only hand off to another thread
 *     (in Node: napi_call_threadsafe_function). The caller's thread calls
 *     it too, for operations on a parked engine and for a request whose
 *     worker could not start.
 *
 * Process exit: engine_global_init() registers an exit handler after
 * curl_global_init(), so it runs before OpenSSL's own exit-time cleanup.
 * It stops every worker from calling libcurl again and waits for them
 * (bounded); see docs/native-engine.md, "Process exit".
 *
 * Nothing here depends on Node; native/test/ drives this API directly.
 */
#ifndef ATRESOLVE_ENGINE_H
#define ATRESOLVE_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "address.h"
#include "response.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Our error codes. engine_map_error() is the one place that makes them
   from a CURLcode; the TypeScript side maps them to error classes in one
   table (src/transport/curl.ts). */
typedef enum engine_error {
  ENGINE_OK = 0,
  ENGINE_E_DNS,                /* host name did not resolve */
  ENGINE_E_CONNECT,            /* TCP connect failed */
  ENGINE_E_CONNECT_TIMEOUT,    /* connectTimeoutMs passed */
  ENGINE_E_TIMEOUT,            /* the request's total time limit passed */
  ENGINE_E_TLS,                /* handshake or certificate failure */
  ENGINE_E_FORBIDDEN_ADDRESS,  /* the SSRF guard refused every address */
  ENGINE_E_BODY_TOO_LARGE,     /* decoded body exceeded the cap */
  ENGINE_E_HEADERS_TOO_LARGE,  /* response headers exceeded the cap */
  ENGINE_E_NETWORK,            /* reset, closed early, nothing received */
  ENGINE_E_PROTOCOL,           /* invalid HTTP, or a body that does not
                                  decode (unsupported coding, corrupt,
                                  truncated, data after the stream) */
  ENGINE_E_ABORTED,            /* engine_abort() */
  ENGINE_E_DESTROYED,          /* engine_destroy() */
  ENGINE_E_CLOSED,             /* engine_close() was called */
  ENGINE_E_INVALID_URL,        /* libcurl refused the URL */
  ENGINE_E_INVALID_REQUEST,    /* a header or option we cannot send */
  ENGINE_E_INTERNAL            /* out of memory, libcurl misuse, bugs */
} engine_error_t;

/* Upper-snake name of an error code, e.g. "CONNECT_TIMEOUT". */
const char *engine_error_name(engine_error_t error);

/* Facts about a finished transfer that engine_map_error() needs besides
   the CURLcode. */
enum {
  ENGINE_F_BODY_CAP = 1u << 0,     /* on_curl_write hit maxResponseBytes */
  ENGINE_F_HEADER_CAP = 1u << 1,   /* on_curl_header hit maxHeaderBytes */
  ENGINE_F_FORBIDDEN = 1u << 2,    /* on_curl_opensocket refused */
  ENGINE_F_ABORTED = 1u << 3,      /* engine_abort() */
  ENGINE_F_DESTROYED = 1u << 4,    /* engine_destroy() */
  ENGINE_F_CONNECTED = 1u << 5,    /* on_curl_prereq ran: connected */
  ENGINE_F_DEADLINE = 1u << 6,     /* the engine's own deadline passed */
  ENGINE_F_TOTAL_ELAPSED = 1u << 7,/* elapsed >= the total time limit */
  ENGINE_F_BAD_ENCODING = 1u << 8, /* the body did not decode, or its
                                      coding is not supported */
  ENGINE_F_IN_HEADERS = 1u << 9,   /* connected, and the final response's
                                      header block had not ended */
  ENGINE_F_HTTP2 = 1u << 10,       /* the connection negotiated HTTP/2 */
  ENGINE_F_H2_CALLBACK = 1u << 11  /* nghttp2 reported that libcurl's
                                      own callback failed (-902) */
};

/* Map a libcurl result (an int holding a CURLcode) and the ENGINE_F_*
   flags of a transfer to an engine_error_t. The one such mapping. */
engine_error_t engine_map_error(int curl_code, unsigned flags);

/* Engine-wide settings, copied by engine_create(). */
typedef struct engine_config {
  /* Transfers admitted at once (the caller's admission keeps to it);
     with max_idle_connections it sizes libcurl's backstop limits,
     CURLMOPT_MAX_TOTAL_CONNECTIONS and CURLMOPT_MAXCONNECTS. */
  long max_connections;
  long max_idle_connections;     /* 0 = no reuse (CURLOPT_FORBID_REUSE) */
  long idle_timeout_ms;          /* CURLOPT_MAXAGE_CONN + parking */
  long max_lifetime_ms;          /* CURLOPT_MAXLIFETIME_CONN/rotation */
  long dns_cache_ttl_ms;         /* CURLOPT_DNS_CACHE_TIMEOUT */
  int allow_http;                /* allow http: besides https: */
  int allow_private_network;     /* disables the SSRF guard */
  /* PEM certificates to trust besides the system roots, or NULL; copied.
     The caller reads its CA file once; the engine never opens it. */
  const char *ca_pem;
} engine_config_t;

typedef enum engine_method {
  ENGINE_GET = 0,
  ENGINE_HEAD,
  ENGINE_POST
} engine_method_t;

/*
 * One request. Built by the caller with malloc'd fields; engine_submit()
 * takes ownership on success (the worker frees it when the transfer ends),
 * the caller keeps it on failure and frees it with engine_request_free().
 */
typedef struct engine_request {
  uint64_t id;                 /* caller's id, echoed in the completion */
  char *url;                   /* NUL-terminated */
  engine_method_t method;
  char *headers;               /* "Name: value\0Name: value\0", or NULL */
  size_t headers_len;          /* bytes in headers incl. every NUL */
  unsigned char *body;         /* POST body or NULL */
  size_t body_len;
  char *connect_to;            /* "::ip:port" / "::[v6]:port" or NULL */
  /* The URL host's addresses, in the order to try: IP literals (no
     brackets), each NUL-terminated, packed; NULL for none. libcurl then
     resolves nothing for this host (CURLOPT_RESOLVE, or CURLOPT_CONNECT_TO
     to the first address on libcurl < 7.75). */
  char *addresses;
  size_t addresses_len;        /* bytes in addresses incl. every NUL */
  int forbid_reuse;            /* close the connection after this exchange */
  long timeout_ms;             /* total for this hop, > 0 */
  long connect_timeout_ms;     /* > 0 */
  size_t max_response_bytes;   /* decoded body cap */
  size_t max_header_bytes;     /* header cap of the final response */
} engine_request_t;

/* Free a request and its fields (NULL is fine). */
void engine_request_free(engine_request_t *req);

typedef enum engine_completion_kind {
  ENGINE_DONE_TRANSFER = 0,    /* a request finished */
  ENGINE_DONE_OP               /* clear/reset/close/destroy finished */
} engine_completion_kind_t;

/*
 * A finished request or operation. Made on the worker thread, handed to
 * the caller's thread by engine_take_completions() and freed there with
 * engine_completion_free(); the caller may steal body/headers (set the
 * pointers to NULL) before freeing.
 */
typedef struct engine_completion {
  struct engine_completion *next;
  engine_completion_kind_t kind;
  uint64_t id;
  engine_error_t error;
  int curl_code;               /* CURLcode, 0 when not from libcurl */
  char message[256];           /* curl's error text, or ours */
  long status;                 /* HTTP status of the final response */
  char *headers;               /* raw "name: value\r\n" lines, NUL-ended */
  size_t headers_len;
  unsigned char *body;         /* decoded body (malloc'd), may be NULL */
  size_t body_len;
  int64_t connect_us;          /* CURLINFO_CONNECT_TIME_T, 0 if reused */
  int64_t tls_us;              /* CURLINFO_APPCONNECT_TIME_T */
  int64_t first_byte_us;       /* CURLINFO_STARTTRANSFER_TIME_T */
  int64_t total_us;            /* CURLINFO_TOTAL_TIME_T */
  int reused;                  /* ran on a pooled connection */
  char address[64];            /* refused address, for FORBIDDEN_ADDRESS */
  engine_address_class_t address_class;
} engine_completion_t;

void engine_completion_free(engine_completion_t *done);

/* Counters and gauges, read under the engine mutex. */
typedef struct engine_stats {
  uint64_t in_flight;          /* submitted, completion not yet posted */
  uint64_t queued;             /* in flight without a connection yet */
  uint64_t open_connections;   /* sockets open right now */
  uint64_t new_connections;    /* sum of CURLINFO_NUM_CONNECTS */
  uint64_t reused_connections; /* transfers that made no connection */
  uint64_t bytes_in;           /* decoded body bytes */
  uint64_t generations;        /* generations alive right now */
  uint64_t pooled_handles;     /* idle easy handles kept for reuse */
  uint64_t worker_running;     /* 1 while a worker thread exists, else 0 */
  uint64_t parks;              /* times the worker parked */
} engine_stats_t;

typedef struct engine engine_t;

/* Called on the worker thread when completions become available. */
typedef void (*engine_notify_fn)(void *arg);

/* Once per process before the first engine (thread-safe, idempotent):
   curl_global_init(), the runtime version checks, the exit handler. */
int engine_global_init(void);

/*
 * Create an engine (no thread yet: the first request starts it). Returns
 * ENGINE_OK and sets *out, or an error with *out untouched. Fails with
 * ENGINE_E_INTERNAL when libcurl is older than engine_curl_minimum().
 */
engine_error_t engine_create(const engine_config_t *config,
                             engine_notify_fn notify, void *notify_arg,
                             engine_t **out);

/* Queue a request, starting the worker if it is parked. ENGINE_E_CLOSED
   after close/destroy. The caller bounds how many are in flight. When the worker cannot start (threads or descriptors
   exhausted), the request is accepted and completes with
   ENGINE_E_INTERNAL and a message saying why. */
engine_error_t engine_submit(engine_t *engine, engine_request_t *req);

/* Cancel one request; it completes with ENGINE_E_ABORTED (no-op when it
   already completed). */
engine_error_t engine_abort(engine_t *engine, uint64_t request_id);

/* Operations. Each completes with an ENGINE_DONE_OP completion carrying
   op_id: clear when the old generation is freed; reset when the old
   generation and its share handle are freed; close when every in-flight
   request has completed and the worker is about to exit; destroy after
   every in-flight request failed with ENGINE_E_DESTROYED. After close or
   destroy the caller must engine_join() and engine_free(). */
engine_error_t engine_clear(engine_t *engine, uint64_t op_id);
engine_error_t engine_reset(engine_t *engine, uint64_t op_id);
engine_error_t engine_close(engine_t *engine, uint64_t op_id);
engine_error_t engine_destroy(engine_t *engine, uint64_t op_id);

/* Take every completion posted so far (a list in posting order). */
engine_completion_t *engine_take_completions(engine_t *engine);

/* Counters and gauges. open_connections is checked against the kernel
   here (every socket the engine opened is still that socket), so it is
   exact even when libcurl closed a socket without its close callback. */
void engine_stats(engine_t *engine, engine_stats_t *out);

/* Wait for the worker to exit (after close/destroy). Idempotent. */
void engine_join(engine_t *engine);

/* Free the engine: joins the worker (destroying it first when it was
   neither closed nor destroyed), frees untaken completions. */
void engine_free(engine_t *engine);

/* libcurl's version string, e.g. "7.88.1". */
const char *engine_curl_version(void);

/* The oldest libcurl the engine runs on, e.g. "7.74.0". */
const char *engine_curl_minimum(void);

/* Whether libcurl version_num (0xXXYYZZ) is at least the minimum. Pure. */
int engine_curl_version_supported(unsigned version_num);

/* Whether the libcurl this process runs on is supported. */
int engine_curl_supported(void);

/* The TLS library libcurl runs on, e.g. "OpenSSL/3.0.15", or "none". */
const char *engine_curl_ssl_version(void);

#ifdef __cplusplus
}
#endif

#endif /* ATRESOLVE_ENGINE_H */
