/*
 * curve_point.h - whether SEC1 bytes are a point on secp256k1 or P-256
 * (curve_point.c), pure C over GMP's functions, opened at run time.
 */
#ifndef ATRESOLVE_CURVE_POINT_H
#define ATRESOLVE_CURVE_POINT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The two curves atproto signs with. Numbers shared with the TypeScript
   caller (src/document/curve-check.ts). */
typedef enum curve_id {
  CURVE_SECP256K1 = 0,
  CURVE_P256 = 1
} curve_id_t;

/* 1 when `bytes` is a point on `curve` in SEC1 form: compressed (33 bytes,
   0x02/0x03, then x) or uncompressed (65 bytes, 0x04, x, y); 0 when it is
   not (another length or form, a coordinate not below the field prime, x
   with no y on the curve, y not matching x); -1 when it cannot be checked
   here (curve_point_available() is 0). Allocates nothing. Callable from any
   thread; no state is written after the first call. */
int curve_point_check(curve_id_t curve, const unsigned char *bytes,
                      size_t len);

/* 1 when the check is available: libgmp.so.10 opened and its functions
   found (on the first call, from any thread); 0 otherwise, for good. */
int curve_point_available(void);

#ifdef __cplusplus
}
#endif

#endif
