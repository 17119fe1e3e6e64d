/*
 * address.h - the SSRF address classifier (address.c), pure C.
 */
#ifndef ATRESOLVE_ADDRESS_H
#define ATRESOLVE_ADDRESS_H

#include <stddef.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

/* SSRF classes. Names are shared with the TypeScript twin, see
   engine_address_class_name() and docs/native-engine.md. */
typedef enum engine_address_class {
  ENGINE_ADDR_PUBLIC = 0,
  ENGINE_ADDR_UNSPECIFIED,
  ENGINE_ADDR_LOOPBACK,
  ENGINE_ADDR_PRIVATE,
  ENGINE_ADDR_LINK_LOCAL,
  ENGINE_ADDR_CGNAT,
  ENGINE_ADDR_MULTICAST,
  ENGINE_ADDR_DOCUMENTATION,
  ENGINE_ADDR_BENCHMARKING,
  ENGINE_ADDR_RESERVED
} engine_address_class_t;

/* Classify a socket address (AF_INET or AF_INET6; any other family is
   "reserved"). Pure: no allocation, no I/O, callable from any thread. */
engine_address_class_t engine_classify_address(const struct sockaddr *sa);

/* "public", "loopback", ... for a class. */
const char *engine_address_class_name(engine_address_class_t cls);

/* Classify an IP literal (no brackets). Returns -1 when it is not one. */
int engine_classify_literal(const char *ip, engine_address_class_t *out);

/* Write the address of an AF_INET/AF_INET6 socket address as text into
   buf (len bytes), or "(family N)" for any other family. */
void engine_format_address(const struct sockaddr *sa, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* ATRESOLVE_ADDRESS_H */
