/*
 * fuzz_response.c - libFuzzer target for the engine's response handling:
 * engine_headers_feed(), engine_headers_declare_oversize(),
 * engine_body_append() and the content decoder (engine_decoder_*), the
 * pure functions that on_curl_header and on_curl_write call with what a
 * (hostile) server sent.
 *
 * Input: two bytes of header cap, two bytes of body cap, then a response
 * as a server would send it: header lines up to a blank line (fed one line
 * at a time, as libcurl's header callback delivers them; a 1xx block is
 * followed by another block), then the body, fed in chunks whose sizes come
 * from the body bytes themselves. When the headers name a Content-Encoding,
 * the body goes through the decoder twice, in those chunks and in one
 * write, and both must end the same way. Every invariant the engine relies
 * on is checked; a violation aborts (a crash for the fuzzer).
 */
#include "response.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                 \
  do {                                                                \
    if(!(cond)) {                                                     \
      fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,        \
              __FILE__, __LINE__);                                    \
      abort();                                                        \
    }                                                                 \
  } while(0)

static void check_message(const engine_decoder_t *d)
{
  const char *m = engine_decoder_message(d);
  REQUIRE(m[0] != '\0');
  for(; *m; m++)
    REQUIRE(*m >= 0x20 && *m <= 0x7e);
}

/* Decode body (n bytes) with d in chunks sized by the bytes themselves;
   the decoded body goes to b. */
static engine_feed_result_t decode_chunked(engine_decoder_t *d,
                                           const uint8_t *body, size_t n,
                                           engine_body_t *b, size_t cap)
{
  engine_feed_result_t r = ENGINE_FEED_OK;
  size_t i = 0;
  while(i < n && r == ENGINE_FEED_OK) {
    size_t c = 1 + (size_t)body[i] % 97;
    if(c > n - i)
      c = n - i;
    r = engine_decoder_write(d, (const char *)body + i, c, b, cap);
    REQUIRE(b->len <= cap);
    REQUIRE(b->alloc <= cap);
    i += c;
  }
  if(r != ENGINE_FEED_OK) {
    /* A failed decoder stays failed. */
    REQUIRE(engine_decoder_write(d, "x", 1, b, cap) == ENGINE_FEED_BAD);
    REQUIRE(engine_decoder_finish(d) == ENGINE_FEED_BAD);
    return r;
  }
  return engine_decoder_finish(d);
}

/* The body under the headers' Content-Encoding (d, from
   engine_decoder_new), chunked and whole: the same outcome and bytes. */
static void fuzz_decoding(const engine_headers_t *h, engine_decoder_t *d,
                          const uint8_t *body, size_t n, size_t cap)
{
  engine_decoder_t *whole = NULL;
  engine_body_t b1;
  engine_body_t b2;
  engine_feed_result_t r1;
  engine_feed_result_t r2;
  memset(&b1, 0, sizeof b1);
  memset(&b2, 0, sizeof b2);
  r1 = decode_chunked(d, body, n, &b1, cap);
  if(engine_decoder_new(h, &whole) == ENGINE_FEED_OK && whole) {
    r2 = engine_decoder_write(whole, (const char *)body, n, &b2, cap);
    if(r2 == ENGINE_FEED_OK)
      r2 = engine_decoder_finish(whole);
    REQUIRE(b2.len <= cap && b2.alloc <= cap);
    if(r1 != ENGINE_FEED_NOMEM && r2 != ENGINE_FEED_NOMEM) {
      REQUIRE(r1 == r2);
      if(r1 == ENGINE_FEED_OK)
        REQUIRE(b1.len == b2.len &&
                (b1.len == 0 || memcmp(b1.buf, b2.buf, b1.len) == 0));
    }
    engine_decoder_free(whole);
  }
  if(r1 == ENGINE_FEED_BAD)
    check_message(d);
  engine_body_free(&b1);
  engine_body_free(&b2);
}

static void check_headers(const engine_headers_t *h, size_t cap)
{
  REQUIRE(h->counted <= cap);
  REQUIRE(h->len <= h->counted);
  REQUIRE(h->state >= ENGINE_HS_STATUS && h->state <= ENGINE_HS_TRAILERS);
  if(h->buf) {
    REQUIRE(h->len < h->alloc);
    REQUIRE(h->buf[h->len] == '\0');
    /* Growth doubles from 1 KiB and is bounded by the cap. */
    REQUIRE(h->alloc <= 1024 || h->alloc <= 2 * (cap + 1));
  }
  else {
    REQUIRE(h->len == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  engine_headers_t h;
  engine_body_t b;
  size_t header_cap;
  size_t body_cap;
  size_t i = 4;
  size_t shadow_len = 0;
  unsigned char *shadow;
  int stopped = 0;

  if(size < 4)
    return 0;
  header_cap = 256 + (((size_t)data[0] << 8) | data[1]);
  body_cap = ((size_t)data[2] << 8) | data[3];
  memset(&h, 0, sizeof h);
  memset(&b, 0, sizeof b);

  /* Headers: one line at a time (up to and including '\n'). */
  while(i < size && !stopped) {
    const uint8_t *nl = memchr(data + i, '\n', size - i);
    size_t n = nl ? (size_t)(nl - (data + i)) + 1 : size - i;
    int before = h.state;
    engine_feed_result_t r =
      engine_headers_feed(&h, (const char *)data + i, n, header_cap);
    i += n;
    REQUIRE(r == ENGINE_FEED_OK || r == ENGINE_FEED_CAP);
    if(r != ENGINE_FEED_OK) {
      stopped = 1; /* the engine fails the transfer here */
      break;
    }
    check_headers(&h, header_cap);
    if(before == ENGINE_HS_BLOCK && h.state == ENGINE_HS_TRAILERS) {
      int over = engine_headers_declare_oversize(&h, body_cap);
      /* Deterministic, and monotone in the cap. */
      REQUIRE(over == engine_headers_declare_oversize(&h, body_cap));
      if(!over)
        REQUIRE(!engine_headers_declare_oversize(&h, body_cap + 1000));
      break;
    }
  }

  /* An encoded body goes through the decoder. */
  if(!stopped && h.state == ENGINE_HS_TRAILERS) {
    engine_decoder_t *d = NULL;
    engine_feed_result_t r = engine_decoder_new(&h, &d);
    REQUIRE(r == ENGINE_FEED_OK || r == ENGINE_FEED_BAD ||
            r == ENGINE_FEED_NOMEM);
    if(r == ENGINE_FEED_BAD) {
      REQUIRE(d != NULL);
      check_message(d);
      stopped = 1;
    }
    else if(d) {
      fuzz_decoding(&h, d, data + i, size - i, body_cap);
      stopped = 1;
    }
    engine_decoder_free(d);
  }

  /* Body: chunk sizes taken from the bytes themselves. */
  shadow = malloc(body_cap ? body_cap : 1);
  if(!shadow) {
    engine_headers_free(&h);
    return 0;
  }
  while(i < size && !stopped) {
    size_t n = 1 + (size_t)data[i] % 97;
    engine_feed_result_t r;
    if(n > size - i)
      n = size - i;
    r = engine_body_append(&b, (const char *)data + i, n, body_cap);
    REQUIRE(r == ENGINE_FEED_OK || r == ENGINE_FEED_CAP);
    if(r == ENGINE_FEED_CAP) {
      REQUIRE(shadow_len + n > body_cap);
      REQUIRE(b.len == shadow_len); /* nothing appended */
      break;
    }
    memcpy(shadow + shadow_len, data + i, n);
    shadow_len += n;
    i += n;
    REQUIRE(b.len == shadow_len);
    REQUIRE(b.len <= body_cap);
    REQUIRE(b.alloc <= body_cap);
    REQUIRE(memcmp(b.buf, shadow, shadow_len) == 0);
  }

  free(shadow);
  engine_body_free(&b);
  REQUIRE(b.buf == NULL && b.len == 0);
  engine_headers_free(&h);
  REQUIRE(h.buf == NULL && h.len == 0);
  return 0;
}
