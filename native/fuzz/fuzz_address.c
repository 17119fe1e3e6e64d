/*
 * fuzz_address.c - libFuzzer target for the SSRF guard's address
 * classifier: engine_classify_address() on raw IPv4/IPv6 socket addresses
 * and engine_classify_literal() on arbitrary strings.
 *
 * Input: a selector byte, then either 4 or 16 address bytes, or a string.
 * Checked: every result is a known class with a name; an IPv4-mapped
 * (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:aabb:ccdd::)
 * IPv6 address is classed as its embedded IPv4 address, so no IPv6
 * spelling of a private IPv4 address is "public"; a literal is classed as
 * the address inet_pton makes of it. A violation aborts.
 */
#include "address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

static engine_address_class_t v4(const uint8_t *a)
{
  struct sockaddr_in in4;
  memset(&in4, 0, sizeof in4);
  in4.sin_family = AF_INET;
  memcpy(&in4.sin_addr, a, 4);
  return engine_classify_address((const struct sockaddr *)&in4);
}

static engine_address_class_t v6(const uint8_t *a)
{
  struct sockaddr_in6 in6;
  memset(&in6, 0, sizeof in6);
  in6.sin6_family = AF_INET6;
  memcpy(&in6.sin6_addr, a, 16);
  return engine_classify_address((const struct sockaddr *)&in6);
}

static void check_class(engine_address_class_t cls)
{
  REQUIRE(cls >= ENGINE_ADDR_PUBLIC && cls <= ENGINE_ADDR_RESERVED);
  REQUIRE(engine_address_class_name(cls) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  uint8_t a6[16];
  if(size < 1)
    return 0;
  switch(data[0] % 3) {
  case 0: {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    engine_address_class_t cls;
    if(size < 5)
      return 0;
    cls = v4(data + 1);
    check_class(cls);
    memcpy(a6, mapped, 12);
    memcpy(a6 + 12, data + 1, 4);
    REQUIRE(v6(a6) == cls);
    memcpy(a6, nat64, 12);
    memcpy(a6 + 12, data + 1, 4);
    REQUIRE(v6(a6) == cls);
    memset(a6, 0, sizeof a6);
    a6[0] = 0x20;
    a6[1] = 0x02;
    memcpy(a6 + 2, data + 1, 4);
    if(size >= 15)
      memcpy(a6 + 6, data + 5, 10); /* any interface id */
    REQUIRE(v6(a6) == cls);
    break;
  }
  case 1: {
    engine_address_class_t cls;
    if(size < 17)
      return 0;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                       0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    memcpy(a6, data + 1, 16);
    cls = v6(a6);
    check_class(cls);
    /* An embedded IPv4 address decides; otherwise anything outside
       2000::/3 is never public. */
    if(memcmp(a6, mapped, 12) == 0 || memcmp(a6, nat64, 12) == 0)
      REQUIRE(cls == v4(a6 + 12));
    else if((a6[0] & 0xe0) != 0x20)
      REQUIRE(cls != ENGINE_ADDR_PUBLIC);
    break;
  }
  default: {
    char text[64];
    size_t n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
    engine_address_class_t cls;
    struct in_addr in4;
    struct in6_addr in6;
    memcpy(text, data + 1, n);
    text[n] = '\0';
    if(engine_classify_literal(text, &cls) != 0) {
      REQUIRE(inet_pton(AF_INET, text, &in4) != 1);
      REQUIRE(inet_pton(AF_INET6, text, &in6) != 1);
      break;
    }
    check_class(cls);
    if(inet_pton(AF_INET, text, &in4) == 1)
      REQUIRE(cls == v4((const uint8_t *)&in4));
    else if(inet_pton(AF_INET6, text, &in6) == 1)
      REQUIRE(cls == v6((const uint8_t *)&in6));
    else
      REQUIRE(0);
    break;
  }
  }
  /* A NULL or non-IP socket address is "reserved", never public. */
  REQUIRE(engine_classify_address(NULL) == ENGINE_ADDR_RESERVED);
  return 0;
}
