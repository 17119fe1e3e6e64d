/*
 * address.c - the SSRF address classifier, pure: no allocation, no I/O,
 * no libcurl. The engine's on_curl_opensocket calls it for every socket;
 * the TypeScript twin (src/transport/address.ts) classifies resolved
 * addresses before a connection is attempted. Both must agree: one case
 * table (test/fixtures/address-classes.txt) runs through this file in the
 * C suite and through both in test/transport/address.test.ts, with a
 * random sample. See address.h.
 */
#define _GNU_SOURCE
#include "address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

const char *engine_address_class_name(engine_address_class_t cls)
{
  switch(cls) {
  case ENGINE_ADDR_PUBLIC: return "public";
  case ENGINE_ADDR_UNSPECIFIED: return "unspecified";
  case ENGINE_ADDR_LOOPBACK: return "loopback";
  case ENGINE_ADDR_PRIVATE: return "private";
  case ENGINE_ADDR_LINK_LOCAL: return "link-local";
  case ENGINE_ADDR_CGNAT: return "cgnat";
  case ENGINE_ADDR_MULTICAST: return "multicast";
  case ENGINE_ADDR_DOCUMENTATION: return "documentation";
  case ENGINE_ADDR_BENCHMARKING: return "benchmarking";
  case ENGINE_ADDR_RESERVED: return "reserved";
  }
  return "reserved";
}

/* Does the address (host order) lie in prefix/len? */
static int v4_in(uint32_t a, uint32_t prefix, unsigned len)
{
  uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
  return (a & mask) == (prefix & mask);
}

static engine_address_class_t classify_v4(uint32_t a)
{
  if(v4_in(a, 0x00000000u, 8))
    return ENGINE_ADDR_UNSPECIFIED;        /* 0.0.0.0/8 this network */
  if(v4_in(a, 0x0a000000u, 8))
    return ENGINE_ADDR_PRIVATE;            /* 10/8 */
  if(v4_in(a, 0x64400000u, 10))
    return ENGINE_ADDR_CGNAT;              /* 100.64/10 */
  if(v4_in(a, 0x7f000000u, 8))
    return ENGINE_ADDR_LOOPBACK;           /* 127/8 */
  if(v4_in(a, 0xa9fe0000u, 16))
    return ENGINE_ADDR_LINK_LOCAL;         /* 169.254/16 */
  if(v4_in(a, 0xac100000u, 12))
    return ENGINE_ADDR_PRIVATE;            /* 172.16/12 */
  if(v4_in(a, 0xc0000000u, 24))
    return ENGINE_ADDR_RESERVED;           /* 192.0.0/24 IETF */
  if(v4_in(a, 0xc0000200u, 24))
    return ENGINE_ADDR_DOCUMENTATION;      /* 192.0.2/24 TEST-NET-1 */
  if(v4_in(a, 0xc0586300u, 24))
    return ENGINE_ADDR_RESERVED;           /* 192.88.99/24 6to4 relay */
  if(v4_in(a, 0xc0a80000u, 16))
    return ENGINE_ADDR_PRIVATE;            /* 192.168/16 */
  if(v4_in(a, 0xc6120000u, 15))
    return ENGINE_ADDR_BENCHMARKING;       /* 198.18/15 */
  if(v4_in(a, 0xc6336400u, 24))
    return ENGINE_ADDR_DOCUMENTATION;      /* 198.51.100/24 TEST-NET-2 */
  if(v4_in(a, 0xcb007100u, 24))
    return ENGINE_ADDR_DOCUMENTATION;      /* 203.0.113/24 TEST-NET-3 */
  if(v4_in(a, 0xe0000000u, 4))
    return ENGINE_ADDR_MULTICAST;          /* 224/4 */
  if(v4_in(a, 0xf0000000u, 4))
    return ENGINE_ADDR_RESERVED;           /* 240/4 incl. broadcast */
  return ENGINE_ADDR_PUBLIC;
}

static uint32_t be32_at(const uint8_t *p)
{
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Do the first len bits of b equal those of prefix (16 bytes)? */
static int v6_in(const uint8_t *b, const uint8_t *prefix, unsigned len)
{
  unsigned full = len / 8;
  unsigned rest = len % 8;
  if(memcmp(b, prefix, full) != 0)
    return 0;
  if(rest) {
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    if((b[full] & mask) != (prefix[full] & mask))
      return 0;
  }
  return 1;
}

static engine_address_class_t classify_v6(const uint8_t *b)
{
  static const uint8_t zero[16] = {0};
  static const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                     0, 0, 0xff, 0xff};
  static const uint8_t nat64[16] = {0x00, 0x64, 0xff, 0x9b};
  static const uint8_t nat64_local[16] = {0x00, 0x64, 0xff, 0x9b,
                                          0x00, 0x01};
  static const uint8_t discard[16] = {0x01, 0x00};
  static const uint8_t doc[16] = {0x20, 0x01, 0x0d, 0xb8};
  static const uint8_t ietf[16] = {0x20, 0x01};
  static const uint8_t six_to_four[16] = {0x20, 0x02};
  static const uint8_t doc2[16] = {0x3f, 0xff};
  static const uint8_t srv6[16] = {0x5f, 0x00};
  static const uint8_t ula[16] = {0xfc};
  static const uint8_t link_local[16] = {0xfe, 0x80};
  static const uint8_t site_local[16] = {0xfe, 0xc0};
  static const uint8_t multicast[16] = {0xff};
  static const uint8_t global[16] = {0x20};

  if(v6_in(b, mapped, 96))
    return classify_v4(be32_at(b + 12));   /* ::ffff:0:0/96 */
  if(v6_in(b, zero, 128))
    return ENGINE_ADDR_UNSPECIFIED;        /* ::/128 */
  if(v6_in(b, zero, 127) && b[15] == 1)
    return ENGINE_ADDR_LOOPBACK;           /* ::1/128 */
  if(v6_in(b, zero, 96))
    return ENGINE_ADDR_RESERVED;           /* ::/96 IPv4-compatible */
  if(v6_in(b, nat64, 96))
    return classify_v4(be32_at(b + 12));   /* 64:ff9b::/96 NAT64 */
  if(v6_in(b, nat64_local, 48))
    return ENGINE_ADDR_RESERVED;           /* 64:ff9b:1::/48 */
  if(v6_in(b, discard, 64))
    return ENGINE_ADDR_RESERVED;           /* 100::/64 discard */
  if(v6_in(b, doc, 32))
    return ENGINE_ADDR_DOCUMENTATION;      /* 2001:db8::/32 */
  if(v6_in(b, ietf, 23))
    return ENGINE_ADDR_RESERVED;           /* 2001::/23 */
  if(v6_in(b, six_to_four, 16))
    return classify_v4(be32_at(b + 2));    /* 2002::/16 6to4 */
  if(v6_in(b, doc2, 20))
    return ENGINE_ADDR_DOCUMENTATION;      /* 3fff::/20 */
  if(v6_in(b, srv6, 16))
    return ENGINE_ADDR_RESERVED;           /* 5f00::/16 SRv6 */
  if(v6_in(b, ula, 7))
    return ENGINE_ADDR_PRIVATE;            /* fc00::/7 ULA */
  if(v6_in(b, link_local, 10))
    return ENGINE_ADDR_LINK_LOCAL;         /* fe80::/10 */
  if(v6_in(b, site_local, 10))
    return ENGINE_ADDR_PRIVATE;            /* fec0::/10 site-local */
  if(v6_in(b, multicast, 8))
    return ENGINE_ADDR_MULTICAST;          /* ff00::/8 */
  if(!v6_in(b, global, 3))
    return ENGINE_ADDR_RESERVED;           /* outside 2000::/3 */
  return ENGINE_ADDR_PUBLIC;
}

engine_address_class_t engine_classify_address(const struct sockaddr *sa)
{
  if(!sa)
    return ENGINE_ADDR_RESERVED;
  if(sa->sa_family == AF_INET) {
    struct sockaddr_in in4;
    memcpy(&in4, sa, sizeof in4);
    return classify_v4(ntohl(in4.sin_addr.s_addr));
  }
  if(sa->sa_family == AF_INET6) {
    struct sockaddr_in6 in6;
    memcpy(&in6, sa, sizeof in6);
    return classify_v6(in6.sin6_addr.s6_addr);
  }
  return ENGINE_ADDR_RESERVED;
}

int engine_classify_literal(const char *ip, engine_address_class_t *out)
{
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  if(!ip || !out)
    return -1;
  memset(&in4, 0, sizeof in4);
  memset(&in6, 0, sizeof in6);
  if(inet_pton(AF_INET, ip, &in4.sin_addr) == 1) {
    in4.sin_family = AF_INET;
    *out = engine_classify_address((const struct sockaddr *)&in4);
    return 0;
  }
  if(inet_pton(AF_INET6, ip, &in6.sin6_addr) == 1) {
    in6.sin6_family = AF_INET6;
    *out = engine_classify_address((const struct sockaddr *)&in6);
    return 0;
  }
  return -1;
}

void engine_format_address(const struct sockaddr *sa, char *buf, size_t len)
{
  const void *src = NULL;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
  buf[0] = '\0';
  if(sa->sa_family == AF_INET) {
    memcpy(&in4, sa, sizeof in4);
    src = &in4.sin_addr;
  }
  else if(sa->sa_family == AF_INET6) {
    memcpy(&in6, sa, sizeof in6);
    src = &in6.sin6_addr;
  }
  if(!src || !inet_ntop(sa->sa_family, src, buf, (socklen_t)len))
    snprintf(buf, len, "(family %d)", (int)sa->sa_family);
}
