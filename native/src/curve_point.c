/*
 * curve_point.c - the curve check of a public key (see curve_point.h).
 *
 * A key in an atproto DID document is a point on secp256k1 or P-256,
 * almost always in compressed form: x and the parity of y. It is on the
 * curve exactly when x is below the field prime p and x^3 + ax + b is a
 * square modulo p (then both square roots exist, one of each parity, so
 * either prefix is valid); an uncompressed point when both coordinates are
 * below p and y^2 = x^3 + ax + b. Both curves have cofactor 1, so a point
 * on the curve is in the group. Deciding "is a square" needs no square root:
 * the Jacobi symbol answers it.
 *
 * The arithmetic is GMP's (libgmp.so.10): mpn_sqr / mpn_mul / mpn_add /
 * mpn_tdiv_qr on fixed-size limb arrays on the stack, then mpz_jacobi over
 * read-only views of them (mpz_roinit_n), so a check allocates nothing on
 * the heap. ~1.7 us on this box, against ~9.8 us for OpenSSL's BIGNUM
 * (BN_kronecker with a BN_CTX) and ~28 us for node:crypto's
 * ECDH.convertKey (docs/native-engine.md, "The curve check").
 *
 * GMP is opened with dlopen() on first use, not linked: libgmp10 is on
 * every Debian and Ubuntu system (coreutils pre-depends on it; Debian's
 * libcurl already brings it into the process through librtmp and GnuTLS),
 * but the prebuild's NEEDED list stays libcurl, zlib and libc, and a
 * system without it only loses this speed-up: curve_point_available()
 * says 0 and the caller (src/document/curve-check.ts) uses node:crypto.
 * The functions are declared here rather than through <gmp.h>, so the
 * prebuild needs no GMP headers; their signatures and mpz_t's layout are
 * libgmp.so.10's ABI (GMP 5.0 and later; mpz_roinit_n since 6.0).
 */
#include "curve_point.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

/* mp_limb_t and mp_size_t on LP64 Linux (x86-64, aarch64): GMP's limb is
   an unsigned long there. On any other data model the check is not
   offered (curve_point_available() is 0). */
typedef unsigned long gmp_limb;
typedef long gmp_size;

/* __mpz_struct: an mpz_t. */
typedef struct gmp_int {
  int alloc;
  int size;
  gmp_limb *limbs;
} gmp_int;

#define LIMBS 4 /* 256 bits: a coordinate and the field prime */

static struct {
  void (*sqr)(gmp_limb *rp, const gmp_limb *sp, gmp_size n);
  gmp_limb (*mul)(gmp_limb *rp, const gmp_limb *up, gmp_size un,
                  const gmp_limb *vp, gmp_size vn);
  gmp_limb (*add)(gmp_limb *rp, const gmp_limb *s1p, gmp_size s1n,
                  const gmp_limb *s2p, gmp_size s2n);
  void (*tdiv_qr)(gmp_limb *qp, gmp_limb *rp, gmp_size qxn,
                  const gmp_limb *np, gmp_size nn, const gmp_limb *dp,
                  gmp_size dn);
  const gmp_int *(*roinit_n)(gmp_int *x, const gmp_limb *xp, gmp_size xs);
  int (*jacobi)(const gmp_int *a, const gmp_int *b);
} gmp;

/* Short Weierstrass parameters (y^2 = x^3 + ax + b mod p), big-endian:
   SEC 2 section 2.4.1 (secp256k1) and FIPS 186-4 D.1.2.3 (P-256). */
static const char *const curve_hex[2][3] = {
  {"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F",
   "0000000000000000000000000000000000000000000000000000000000000000",
   "0000000000000000000000000000000000000000000000000000000000000007"},
  {"FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
   "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
   "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"},
};

struct curve_params {
  unsigned char p_bytes[32]; /* p big-endian, for the "below p" tests */
  gmp_limb p[LIMBS];         /* little-endian limbs, as GMP takes them */
  gmp_limb a[LIMBS];
  gmp_limb b[LIMBS];
};

static struct curve_params curves[2];
static int gmp_ready; /* 1 when libgmp and every function were found */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

/* 32 big-endian bytes as LIMBS little-endian 64-bit limbs. */
static void limbs_from_bytes(gmp_limb *out, const unsigned char *bytes)
{
  int i, k;
  for(i = 0; i < LIMBS; i++) {
    gmp_limb v = 0;
    const unsigned char *word = bytes + 32 - 8 * (i + 1);
    for(k = 0; k < 8; k++)
      v = (v << 8) | word[k];
    out[i] = v;
  }
}

static int hex_digit(char c)
{
  if(c >= '0' && c <= '9')
    return c - '0';
  return c - 'A' + 10; /* the table above is upper case */
}

static void curves_init(void)
{
  int c, i, k;
  void *lib;
  for(c = 0; c < 2; c++) {
    gmp_limb *slot[3] = {curves[c].p, curves[c].a, curves[c].b};
    for(i = 0; i < 3; i++) {
      unsigned char bytes[32];
      for(k = 0; k < 32; k++)
        bytes[k] = (unsigned char)(hex_digit(curve_hex[c][i][2 * k]) << 4 |
                                   hex_digit(curve_hex[c][i][2 * k + 1]));
      if(i == 0)
        memcpy(curves[c].p_bytes, bytes, 32);
      limbs_from_bytes(slot[i], bytes);
    }
  }
  if(sizeof(gmp_limb) != 8 || sizeof(gmp_size) != 8 ||
     sizeof(void *) != 8 || CHAR_BIT != 8)
    return;
  lib = dlopen("libgmp.so.10", RTLD_NOW | RTLD_LOCAL);
  if(!lib)
    return;
  /* Object pointers to function pointers: POSIX guarantees dlsym's
     results convert; memcpy keeps -Wpedantic quiet about it. */
#define GMP_SYMBOL(field, name)                                          \
  do {                                                                   \
    void *sym = dlsym(lib, name);                                        \
    if(!sym)                                                             \
      return;                                                            \
    memcpy(&gmp.field, &sym, sizeof sym);                                \
  } while(0)
  GMP_SYMBOL(sqr, "__gmpn_sqr");
  GMP_SYMBOL(mul, "__gmpn_mul");
  GMP_SYMBOL(add, "__gmpn_add");
  GMP_SYMBOL(tdiv_qr, "__gmpn_tdiv_qr");
  GMP_SYMBOL(roinit_n, "__gmpz_roinit_n");
  GMP_SYMBOL(jacobi, "__gmpz_jacobi");
#undef GMP_SYMBOL
  /* The handle stays open for the life of the process: the functions are
     used until exit. */
  gmp_ready = 1;
}

int curve_point_available(void)
{
  pthread_once(&init_once, curves_init);
  return gmp_ready;
}

/* rem = n mod p, for n of nn limbs (nn >= LIMBS). */
static void reduce(const struct curve_params *cp, gmp_limb *rem,
                   const gmp_limb *n, gmp_size nn)
{
  gmp_limb quotient[3 * LIMBS + 2 - LIMBS + 1]; /* for the longest n */
  gmp.tdiv_qr(quotient, rem, 0, n, nn, cp->p, LIMBS);
}

int curve_point_check(curve_id_t curve, const unsigned char *bytes,
                      size_t len)
{
  const struct curve_params *cp;
  gmp_limb x[LIMBS], rhs[LIMBS];
  gmp_limb x2a[2 * LIMBS + 1];      /* x^2 + a */
  gmp_limb cubic[3 * LIMBS + 2];    /* (x^2 + a) * x + b */
  int compressed;
  if(curve != CURVE_SECP256K1 && curve != CURVE_P256)
    return 0;
  compressed = len == 33 && (bytes[0] == 0x02 || bytes[0] == 0x03);
  if(!compressed && !(len == 65 && bytes[0] == 0x04))
    return 0;
  if(!curve_point_available())
    return -1;
  cp = &curves[curve];
  if(memcmp(bytes + 1, cp->p_bytes, 32) >= 0)
    return 0; /* x >= p */
  limbs_from_bytes(x, bytes + 1);
  /* rhs = ((x^2 + a) * x + b) mod p, with every carry kept */
  gmp.sqr(x2a, x, LIMBS);
  x2a[2 * LIMBS] = gmp.add(x2a, x2a, 2 * LIMBS, cp->a, LIMBS);
  gmp.mul(cubic, x2a, 2 * LIMBS + 1, x, LIMBS);
  cubic[3 * LIMBS + 1] = gmp.add(cubic, cubic, 3 * LIMBS + 1, cp->b, LIMBS);
  reduce(cp, rhs, cubic, 3 * LIMBS + 2);
  if(compressed) {
    gmp_int rhs_view, p_view;
    int symbol = gmp.jacobi(gmp.roinit_n(&rhs_view, rhs, LIMBS),
                            gmp.roinit_n(&p_view, cp->p, LIMBS));
    /* 0: x^3 + ax + b = 0, y = 0 (even); neither curve has such a point,
       being of prime order, but the rule is written out anyway. */
    return symbol == 1 || (symbol == 0 && bytes[0] == 0x02);
  }
  else {
    gmp_limb y[LIMBS], y2[2 * LIMBS], y2_mod[LIMBS];
    if(memcmp(bytes + 33, cp->p_bytes, 32) >= 0)
      return 0; /* y >= p */
    limbs_from_bytes(y, bytes + 33);
    gmp.sqr(y2, y, LIMBS);
    reduce(cp, y2_mod, y2, 2 * LIMBS);
    return memcmp(y2_mod, rhs, sizeof rhs) == 0;
  }
}
