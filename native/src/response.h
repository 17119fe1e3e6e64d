/*
 * response.h - response accounting (response.c), pure C.
 */
#ifndef ATRESOLVE_RESPONSE_H
#define ATRESOLVE_RESPONSE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Response handling, pure (no libcurl, no I/O, no locks): what the
 * engine's header and write callbacks do with the bytes libcurl hands
 * them. Split out so the fuzzer (native/fuzz/) drives the same code.
 * Each struct lives in one transfer, on the worker thread.
 */

/* The header lines of the final response, under a byte cap. */
typedef struct engine_headers {
  char *buf;          /* "name: value\r\n" lines, NUL-ended, or NULL */
  size_t len;         /* bytes in buf before the NUL */
  size_t alloc;       /* bytes allocated for buf */
  size_t counted;     /* bytes of the current response's header block */
  int state;          /* ENGINE_HS_*, see engine_headers_feed() */
  int informational;  /* the current block is a 1xx response's */
} engine_headers_t;

enum {
  ENGINE_HS_STATUS = 0, /* expecting a status line: start, or after 1xx */
  ENGINE_HS_BLOCK,      /* inside a header block */
  ENGINE_HS_TRAILERS    /* after the final response's header block */
};

typedef enum engine_feed_result {
  ENGINE_FEED_OK = 0,
  ENGINE_FEED_CAP,      /* over the cap: stop the transfer */
  ENGINE_FEED_NOMEM     /* allocation failed: stop the transfer */
} engine_feed_result_t;

/*
 * Feed one header line (as libcurl's CURLOPT_HEADERFUNCTION delivers it,
 * CRLF included). A status line ("HTTP/...") starts a new response only
 * where one may come: first, or after the blank line ending a 1xx block;
 * anywhere else a line starting with "HTTP/" is an ordinary header line
 * and counts. Every byte of the current response's header block counts
 * toward cap (status line and blank line included); trailers after the
 * final block count on top. Status and blank lines are not stored.
 */
engine_feed_result_t engine_headers_feed(engine_headers_t *h,
                                         const char *line, size_t n,
                                         size_t cap);

/* Free the buffer and zero the struct. */
void engine_headers_free(engine_headers_t *h);

/* Do the stored header lines declare an unencoded body longer than cap: a
   Content-Length over cap, with no Transfer-Encoding and no
   Content-Encoding other than identity? (Then the body cap must fail the
   transfer at once instead of after cap bytes; the undici transport does
   the same. A decoded body's size is only known while decoding.) */
int engine_headers_declare_oversize(const engine_headers_t *h, size_t cap);

/* A decoded response body, under a byte cap. */
typedef struct engine_body {
  unsigned char *buf; /* or NULL while empty */
  size_t len;
  size_t alloc;       /* never more than the cap */
} engine_body_t;

/* Append n bytes; ENGINE_FEED_CAP when len would exceed cap (nothing is
   appended then). */
engine_feed_result_t engine_body_append(engine_body_t *b, const char *data,
                                        size_t n, size_t cap);

/* Free the buffer and zero the struct. */
void engine_body_free(engine_body_t *b);

#ifdef __cplusplus
}
#endif

#endif /* ATRESOLVE_RESPONSE_H */
