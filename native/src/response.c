/*
 * response.c - response accounting, pure: what the engine's header and
 * write callbacks do with the bytes libcurl hands them (header lines under
 * a cap, the decoded body under a cap). No libcurl, no I/O, no locks, so
 * the fuzzer (native/fuzz/) drives exactly this code. See response.h.
 */
#define _GNU_SOURCE
#include "response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* First allocation for a body: most DID documents fit in 16 KiB. */
#define BODY_INITIAL 16384


/* Is the line a status line ("HTTP/<version> <code>...")? Sets *info to
   whether the code is 1xx. */
static int status_line(const char *line, size_t n, int *info)
{
  size_t i = 5;
  if(n < 5 || memcmp(line, "HTTP/", 5) != 0)
    return 0;
  while(i < n && line[i] != ' ')
    i++;
  while(i < n && line[i] == ' ')
    i++;
  *info = i < n && line[i] == '1';
  return 1;
}

static int blank_line(const char *line, size_t n)
{
  return (n == 2 && line[0] == '\r' && line[1] == '\n') ||
         (n == 1 && line[0] == '\n');
}

engine_feed_result_t engine_headers_feed(engine_headers_t *h,
                                         const char *line, size_t n,
                                         size_t cap)
{
  int info = 0;
  if(h->state == ENGINE_HS_STATUS && status_line(line, n, &info)) {
    /* A new response: forget the lines of the previous (1xx) one. */
    h->len = 0;
    if(h->buf)
      h->buf[0] = '\0';
    h->counted = n;
    h->informational = info;
    h->state = ENGINE_HS_BLOCK;
    return n > cap ? ENGINE_FEED_CAP : ENGINE_FEED_OK;
  }
  if(n > cap || h->counted > cap - n)
    return ENGINE_FEED_CAP;
  h->counted += n;
  if(blank_line(line, n)) {
    if(h->state == ENGINE_HS_BLOCK)
      h->state = h->informational ? ENGINE_HS_STATUS : ENGINE_HS_TRAILERS;
    return ENGINE_FEED_OK;
  }
  if(h->state == ENGINE_HS_STATUS)
    h->state = ENGINE_HS_BLOCK;     /* a header block without status */
  if(h->len + n + 1 > h->alloc) {
    /* counted <= cap and len <= counted, so this stays under 2 * cap. */
    size_t want = h->alloc ? h->alloc : 1024;
    char *grown;
    while(want < h->len + n + 1) {
      if(want > SIZE_MAX / 2)
        return ENGINE_FEED_NOMEM;
      want *= 2;
    }
    grown = realloc(h->buf, want);
    if(!grown)
      return ENGINE_FEED_NOMEM;
    h->buf = grown;
    h->alloc = want;
  }
  memcpy(h->buf + h->len, line, n);
  h->len += n;
  h->buf[h->len] = '\0';
  return ENGINE_FEED_OK;
}

/* Does the header line (without CRLF, len bytes) have this name? Sets
   *value and *value_len to the value, blanks trimmed. */
static int header_is(const char *line, size_t len, const char *name,
                     const char **value, size_t *value_len)
{
  size_t n = strlen(name);
  size_t i;
  const char *v;
  size_t vl;
  if(len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
    return 0;
  v = line + n + 1;
  vl = len - n - 1;
  while(vl && (*v == ' ' || *v == '\t')) {
    v++;
    vl--;
  }
  while(vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
    vl--;
  for(i = 0; i < vl; i++)
    if(v[i] == '\0')
      return 0;
  *value = v;
  *value_len = vl;
  return 1;
}

int engine_headers_declare_oversize(const engine_headers_t *h, size_t cap)
{
  const char *p = h->buf;
  const char *end = h->buf ? h->buf + h->len : NULL;
  int over = 0;
  if(!p)
    return 0;
  while(p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    const char *v;
    size_t vl;
    if(len && p[len - 1] == '\r')
      len--;
    if(header_is(p, len, "transfer-encoding", &v, &vl))
      return 0;
    if(header_is(p, len, "content-encoding", &v, &vl) && vl &&
       !(vl == 8 && strncasecmp(v, "identity", 8) == 0))
      return 0;
    if(header_is(p, len, "content-length", &v, &vl) && vl) {
      /* Leading digits only; a malformed value is libcurl's to refuse. */
      size_t i;
      size_t n = 0;
      for(i = 0; i < vl && v[i] >= '0' && v[i] <= '9'; i++) {
        if(n > (SIZE_MAX - 9) / 10) {
          n = SIZE_MAX;
          break;
        }
        n = n * 10 + (size_t)(v[i] - '0');
      }
      if(i > 0 && n > cap)
        over = 1;
    }
    p = eol ? eol + 1 : end;
  }
  return over;
}

void engine_headers_free(engine_headers_t *h)
{
  free(h->buf);
  memset(h, 0, sizeof *h);
}

engine_feed_result_t engine_body_append(engine_body_t *b, const char *data,
                                        size_t n, size_t cap)
{
  if(n > cap || b->len > cap - n)
    return ENGINE_FEED_CAP;
  if(b->len + n > b->alloc) {
    size_t want = b->alloc ? b->alloc : BODY_INITIAL;
    unsigned char *grown;
    while(want < b->len + n)
      want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
    if(want > cap)
      want = cap;
    grown = realloc(b->buf, want);
    if(!grown)
      return ENGINE_FEED_NOMEM;
    b->buf = grown;
    b->alloc = want;
  }
  if(n)
    memcpy(b->buf + b->len, data, n);
  b->len += n;
  return ENGINE_FEED_OK;
}

void engine_body_free(engine_body_t *b)
{
  free(b->buf);
  memset(b, 0, sizeof *b);
}
