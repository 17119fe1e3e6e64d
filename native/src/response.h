/*
 * response.h - response accounting and content decoding (response.c),
 * pure C.
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
 * them, including content decoding (zlib). Split out so the fuzzer
 * (native/fuzz/) drives the same code. Each struct lives in one transfer,
 * on the worker thread.
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
  ENGINE_FEED_NOMEM,    /* allocation failed: stop the transfer */
  ENGINE_FEED_BAD       /* the body cannot be decoded: stop the transfer */
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

/*
 * Content decoding. The engine does not let libcurl decode
 * (CURLOPT_ACCEPT_ENCODING stays unset): libcurl 7.74-7.88 accepts a
 * truncated gzip/deflate stream as complete and fails a valid multi-member
 * gzip body. The transports advertise "Accept-Encoding: gzip, deflate" and
 * decode exactly this, with the same rules as the undici transport's
 * BodyDecoder (src/transport/body-decoder.ts):
 *
 * - Content-Encoding lines of the final response, in order, comma lists;
 *   tokens trimmed of spaces and tabs, case-insensitive; "identity" and
 *   empty tokens ignored; "gzip"/"x-gzip" and "deflate" decoded, in reverse
 *   order of listing; anything else, or more than ENGINE_MAX_CODINGS, is
 *   refused (ENGINE_FEED_BAD) before any body byte.
 * - gzip: one or more members (RFC 1952), each checked (CRC, length);
 *   bytes after a member must start another member.
 * - deflate: zlib-wrapped (RFC 1950) when the stream's first two bytes are
 *   a valid zlib header, else raw deflate (a common server bug browsers
 *   accept); nothing may follow the end of the stream.
 * - An empty body is an empty body. Otherwise, every coding's stream must
 *   be complete when the body ends: a truncated stream is refused.
 * - Decoded bytes go to an engine_body_t under its cap as they leave
 *   zlib, at most ENGINE_DECODE_CHUNK at a time, so a decompression bomb
 *   stops at the cap.
 */
#define ENGINE_MAX_CODINGS 3
#define ENGINE_DECODE_CHUNK 16384

typedef struct engine_decoder engine_decoder_t;

/* Make the decoder the final response's headers (h) call for. Returns
   ENGINE_FEED_OK with *out NULL when the body is not encoded;
   ENGINE_FEED_OK with a decoder; ENGINE_FEED_BAD for a coding that is not
   supported or too many codings (*out is set too, for its message; free
   it); ENGINE_FEED_NOMEM with *out NULL. */
engine_feed_result_t engine_decoder_new(const engine_headers_t *h,
                                        engine_decoder_t **out);

/* Decode n raw body bytes, appending decoded bytes to b under cap.
   ENGINE_FEED_CAP when the decoded body would exceed cap, ENGINE_FEED_BAD
   for data that does not decode; after either, every call fails. */
engine_feed_result_t engine_decoder_write(engine_decoder_t *d,
                                          const char *data, size_t n,
                                          engine_body_t *b, size_t cap);

/* The raw body ended: ENGINE_FEED_OK when it was empty or every coding's
   stream is complete, else ENGINE_FEED_BAD (truncated). */
engine_feed_result_t engine_decoder_finish(engine_decoder_t *d);

/* Why the decoder last returned ENGINE_FEED_BAD (printable ASCII), or "". */
const char *engine_decoder_message(const engine_decoder_t *d);

/* Free the decoder (NULL is fine). */
void engine_decoder_free(engine_decoder_t *d);

#ifdef __cplusplus
}
#endif

#endif /* ATRESOLVE_RESPONSE_H */
