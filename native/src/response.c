/*
 * response.c - response accounting, pure: what the engine's header and
 * write callbacks do with the bytes libcurl hands them (header lines under
 * a cap, content decoding with zlib, the decoded body under a cap). No
 * libcurl, no I/O, no locks, so the fuzzer (native/fuzz/) drives exactly
 * this code. See response.h.
 */
#define _GNU_SOURCE
#include "response.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

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

/* ------------------------------------------------------------------ */
/* Content decoding                                                     */
/* ------------------------------------------------------------------ */

enum coding { CODING_GZIP = 1, CODING_DEFLATE };

enum stage_state {
  STAGE_NEW = 0,   /* no zlib stream yet */
  STAGE_RUNNING,   /* inside a stream (gzip: a member) */
  STAGE_ENDED      /* the stream (gzip: the last member so far) ended */
};

/* One coding to undo: a zlib inflate stream. */
struct stage {
  z_stream z;
  enum coding coding;
  enum stage_state state;
  int has_held;           /* deflate: one byte seen, wrapper unknown */
  unsigned char held;
};

struct engine_decoder {
  int count;                               /* codings to undo */
  struct stage stages[ENGINE_MAX_CODINGS]; /* [0] takes the raw body */
  int wrote;                               /* a raw body byte arrived */
  int failed;                              /* ENGINE_FEED_BAD or _CAP */
  char message[128];
};

static const char *coding_name(enum coding c)
{
  return c == CODING_GZIP ? "gzip" : "deflate";
}

/* Record why decoding failed (printable ASCII only) and fail. */
static engine_feed_result_t decode_bad(engine_decoder_t *d,
                                       const char *fmt, ...)
{
  va_list ap;
  char *p;
  va_start(ap, fmt);
  vsnprintf(d->message, sizeof d->message, fmt, ap);
  va_end(ap);
  for(p = d->message; *p; p++)
    if(*p < 0x20 || *p > 0x7e)
      *p = '?';
  d->failed = 1;
  return ENGINE_FEED_BAD;
}

static int is_blank(char c)
{
  return c == ' ' || c == '\t';
}

/* Add the comma-separated codings in v (vl bytes) to d. */
static engine_feed_result_t add_codings(engine_decoder_t *d, const char *v,
                                        size_t vl, int *total)
{
  size_t i = 0;
  while(i <= vl) {
    size_t start = i;
    size_t end;
    enum coding c;
    while(i < vl && v[i] != ',')
      i++;
    end = i++;
    while(start < end && is_blank(v[start]))
      start++;
    while(end > start && is_blank(v[end - 1]))
      end--;
    if(end == start ||
       (end - start == 8 && strncasecmp(v + start, "identity", 8) == 0))
      continue;
    if((end - start == 4 && strncasecmp(v + start, "gzip", 4) == 0) ||
       (end - start == 6 && strncasecmp(v + start, "x-gzip", 6) == 0))
      c = CODING_GZIP;
    else if(end - start == 7 && strncasecmp(v + start, "deflate", 7) == 0)
      c = CODING_DEFLATE;
    else
      return decode_bad(d, "unsupported content encoding '%.*s'",
                        (int)(end - start > 40 ? 40 : end - start),
                        v + start);
    if(*total < ENGINE_MAX_CODINGS) {
      /* Listed in the order applied: the last one is undone first. */
      memmove(&d->stages[1], &d->stages[0], sizeof d->stages[0] * *total);
      memset(&d->stages[0], 0, sizeof d->stages[0]);
      d->stages[0].coding = c;
    }
    (*total)++;
  }
  return ENGINE_FEED_OK;
}

engine_feed_result_t engine_decoder_new(const engine_headers_t *h,
                                        engine_decoder_t **out)
{
  engine_decoder_t *d;
  const char *p = h->buf;
  const char *end = h->buf ? h->buf + h->len : NULL;
  int total = 0;
  int in_encoding = 0;      /* the previous line was Content-Encoding */
  *out = NULL;
  d = calloc(1, sizeof *d);
  if(!d)
    return ENGINE_FEED_NOMEM;
  while(p && p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    size_t len = eol ? (size_t)(eol - p) : (size_t)(end - p);
    const char *v;
    size_t vl;
    int found = 0;
    if(len && p[len - 1] == '\r')
      len--;
    if(len && is_blank(p[0])) {
      /* A folded continuation line continues the previous header. */
      found = in_encoding;
      v = p;
      vl = len;
    }
    else {
      found = header_is(p, len, "content-encoding", &v, &vl);
      in_encoding = found;
    }
    if(found && add_codings(d, v, vl, &total) != ENGINE_FEED_OK) {
      *out = d;
      return ENGINE_FEED_BAD;
    }
    p = eol ? eol + 1 : end;
  }
  if(total > ENGINE_MAX_CODINGS) {
    *out = d;
    return decode_bad(d, "too many content encodings (%d)", total);
  }
  if(total == 0) {
    free(d);
    return ENGINE_FEED_OK;
  }
  d->count = total;
  *out = d;
  return ENGINE_FEED_OK;
}

/* Is (cmf, flg) a valid zlib header for deflate (RFC 1950 2.2)? */
static int looks_like_zlib(unsigned char cmf, unsigned char flg)
{
  return (cmf & 0x0f) == 8 && (((unsigned)cmf << 8) | flg) % 31 == 0;
}

static engine_feed_result_t stage_feed(engine_decoder_t *d, int i,
                                       const unsigned char *in, size_t n,
                                       engine_body_t *b, size_t cap);

/* Run stage i's inflate over in (n bytes), passing its output on. */
static engine_feed_result_t stage_inflate(engine_decoder_t *d, int i,
                                          const unsigned char *in, size_t n,
                                          engine_body_t *b, size_t cap)
{
  struct stage *st = &d->stages[i];
  z_stream *z = &st->z;
  unsigned char out[ENGINE_DECODE_CHUNK];
  /* zlib counts in uInt: feed huge inputs in slices. */
  while(n > 0) {
    size_t slice = n > (size_t)UINT_MAX ? (size_t)UINT_MAX : n;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)slice;
    in += slice;
    n -= slice;
    for(;;) {
      int rc;
      size_t produced;
      int full;
      if(st->state == STAGE_ENDED) {
        if(z->avail_in == 0)
          break;
        if(st->coding != CODING_GZIP)
          return decode_bad(d, "deflate: data after the end of the stream");
        /* Another gzip member (RFC 1952 2.2). */
        if(inflateReset(z) != Z_OK)
          return decode_bad(d, "gzip: cannot start the next member");
        st->state = STAGE_RUNNING;
      }
      z->next_out = out;
      z->avail_out = sizeof out;
      rc = inflate(z, Z_NO_FLUSH);
      produced = sizeof out - z->avail_out;
      full = z->avail_out == 0;
      if(produced) {
        engine_feed_result_t r = stage_feed(d, i + 1, out, produced, b, cap);
        if(r != ENGINE_FEED_OK)
          return r;
      }
      if(rc == Z_STREAM_END) {
        st->state = STAGE_ENDED;
        continue;
      }
      if(rc == Z_OK || rc == Z_BUF_ERROR) {
        /* Z_BUF_ERROR: no progress possible, i.e. input used up and no
           output pending. */
        if(z->avail_in == 0 && !full)
          break;
        if(rc == Z_BUF_ERROR)
          return decode_bad(d, "%s: no progress", coding_name(st->coding));
        continue;
      }
      if(rc == Z_MEM_ERROR) {
        d->failed = 1;
        return ENGINE_FEED_NOMEM;
      }
      if(rc == Z_NEED_DICT)
        return decode_bad(d, "deflate: the stream needs a preset dictionary");
      return decode_bad(d, "%s: %s", coding_name(st->coding),
                        z->msg ? z->msg : "invalid compressed data");
    }
  }
  return ENGINE_FEED_OK;
}

/* Give n bytes to stage i (or to the body after the last stage). */
static engine_feed_result_t stage_feed(engine_decoder_t *d, int i,
                                       const unsigned char *in, size_t n,
                                       engine_body_t *b, size_t cap)
{
  struct stage *st;
  engine_feed_result_t r;
  if(i == d->count) {
    r = engine_body_append(b, (const char *)in, n, cap);
    if(r != ENGINE_FEED_OK)
      d->failed = 1;
    return r;
  }
  st = &d->stages[i];
  if(st->state == STAGE_NEW) {
    int bits = 16 + MAX_WBITS;  /* gzip only, as node:zlib's Gunzip */
    int rc;
    if(st->coding == CODING_DEFLATE) {
      unsigned char first = st->has_held ? st->held : in[0];
      unsigned char second = st->has_held ? in[0] : (n > 1 ? in[1] : 0);
      if(!st->has_held && n < 2) {
        st->held = in[0];
        st->has_held = 1;
        return ENGINE_FEED_OK;
      }
      bits = looks_like_zlib(first, second) ? MAX_WBITS : -MAX_WBITS;
    }
    rc = inflateInit2(&st->z, bits);
    if(rc != Z_OK) {
      d->failed = 1;
      return ENGINE_FEED_NOMEM;
    }
    st->state = STAGE_RUNNING;
    if(st->has_held) {
      st->has_held = 0;
      r = stage_inflate(d, i, &st->held, 1, b, cap);
      if(r != ENGINE_FEED_OK)
        return r;
    }
  }
  return stage_inflate(d, i, in, n, b, cap);
}

engine_feed_result_t engine_decoder_write(engine_decoder_t *d,
                                          const char *data, size_t n,
                                          engine_body_t *b, size_t cap)
{
  if(d->failed)
    return ENGINE_FEED_BAD;
  if(n == 0)
    return ENGINE_FEED_OK;
  d->wrote = 1;
  return stage_feed(d, 0, (const unsigned char *)data, n, b, cap);
}

engine_feed_result_t engine_decoder_finish(engine_decoder_t *d)
{
  int i;
  if(d->failed)
    return ENGINE_FEED_BAD;
  if(!d->wrote)
    return ENGINE_FEED_OK;
  for(i = 0; i < d->count; i++)
    if(d->stages[i].state != STAGE_ENDED)
      return decode_bad(d, "%s: the compressed data is truncated",
                        coding_name(d->stages[i].coding));
  return ENGINE_FEED_OK;
}

const char *engine_decoder_message(const engine_decoder_t *d)
{
  return d->message;
}

void engine_decoder_free(engine_decoder_t *d)
{
  int i;
  if(!d)
    return;
  for(i = 0; i < d->count; i++)
    if(d->stages[i].state != STAGE_NEW)
      inflateEnd(&d->stages[i].z);
  free(d);
}
