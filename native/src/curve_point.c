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
 * the Jacobi symbol (BN_kronecker) answers it, ~8 us on this box against
 * ~28 us for node:crypto's ECDH.convertKey, which builds the curve's group
 * and decompresses the point on every call (docs/native-engine.md, "The
 * curve check").
 *
 * The BIGNUM functions come from whichever libcrypto the process has: the
 * addon is loaded with RTLD_DEEPBIND, so from the OpenSSL libcurl was built
 * against (1.1 or 3; these functions have had the same signatures since
 * OpenSSL 1.0), else from the one the node binary exports. They are
 * declared here rather than through <openssl/bn.h> so that the prebuild
 * needs no OpenSSL headers and no libcrypto of its own: the addon does
 * not link libcrypto, it uses the one already in the process.
 */
#include "curve_point.h"

#include <pthread.h>

typedef struct bignum_st BIGNUM;
typedef struct bignum_ctx BN_CTX;

BIGNUM *BN_new(void);
void BN_free(BIGNUM *a);
int BN_hex2bn(BIGNUM **a, const char *str);
BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret);
int BN_cmp(const BIGNUM *a, const BIGNUM *b);
BN_CTX *BN_CTX_new(void);
void BN_CTX_free(BN_CTX *c);
void BN_CTX_start(BN_CTX *ctx);
BIGNUM *BN_CTX_get(BN_CTX *ctx);
void BN_CTX_end(BN_CTX *ctx);
int BN_mod_sqr(BIGNUM *r, const BIGNUM *a, const BIGNUM *m, BN_CTX *ctx);
int BN_mod_mul(BIGNUM *r, const BIGNUM *a, const BIGNUM *b, const BIGNUM *m,
               BN_CTX *ctx);
int BN_mod_add(BIGNUM *r, const BIGNUM *a, const BIGNUM *b, const BIGNUM *m,
               BN_CTX *ctx);
int BN_kronecker(const BIGNUM *a, const BIGNUM *b, BN_CTX *ctx);

/* Short Weierstrass parameters (y^2 = x^3 + ax + b mod p): SEC 2
   section 2.4.1 (secp256k1) and FIPS 186-4 D.1.2.3 (P-256). */
static const char *const curve_hex[2][3] = {
  {"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", "0",
   "7"},
  {"FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF",
   "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC",
   "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"},
};

struct curve_params {
  BIGNUM *p;
  BIGNUM *a;
  BIGNUM *b;
};

static struct curve_params curves[2];
static int curves_ready; /* 1 when every parameter parsed */
static pthread_once_t curves_once = PTHREAD_ONCE_INIT;

static void curves_init(void)
{
  int c, i;
  for(c = 0; c < 2; c++) {
    BIGNUM **slot[3] = {&curves[c].p, &curves[c].a, &curves[c].b};
    for(i = 0; i < 3; i++)
      if(BN_hex2bn(slot[i], curve_hex[c][i]) == 0)
        return;
  }
  curves_ready = 1;
}

int curve_point_check(curve_id_t curve, const unsigned char *bytes,
                      size_t len)
{
  const struct curve_params *cp;
  BN_CTX *ctx;
  BIGNUM *x, *y, *rhs, *t;
  int compressed, result = -1;
  if(curve != CURVE_SECP256K1 && curve != CURVE_P256)
    return 0;
  compressed = len == 33 && (bytes[0] == 0x02 || bytes[0] == 0x03);
  if(!compressed && !(len == 65 && bytes[0] == 0x04))
    return 0;
  pthread_once(&curves_once, curves_init);
  if(!curves_ready)
    return -1;
  cp = &curves[curve];
  ctx = BN_CTX_new();
  if(!ctx)
    return -1;
  BN_CTX_start(ctx);
  x = BN_CTX_get(ctx);
  y = BN_CTX_get(ctx);
  rhs = BN_CTX_get(ctx);
  t = BN_CTX_get(ctx); /* NULL when any of the four failed */
  if(!t || !BN_bin2bn(bytes + 1, 32, x))
    goto done;
  if(BN_cmp(x, cp->p) >= 0) {
    result = 0;
    goto done;
  }
  /* rhs = (x^2 + a) * x + b  mod p */
  if(!BN_mod_sqr(t, x, cp->p, ctx) || !BN_mod_add(t, t, cp->a, cp->p, ctx) ||
     !BN_mod_mul(rhs, t, x, cp->p, ctx) ||
     !BN_mod_add(rhs, rhs, cp->b, cp->p, ctx))
    goto done;
  if(compressed) {
    int symbol = BN_kronecker(rhs, cp->p, ctx);
    if(symbol == -2)
      goto done;
    /* 0: x^3 + ax + b = 0, y = 0 (even); neither curve has such a point,
       being of prime order, but the rule is written out anyway. */
    result = symbol == 1 || (symbol == 0 && bytes[0] == 0x02);
  }
  else {
    if(!BN_bin2bn(bytes + 33, 32, y))
      goto done;
    if(BN_cmp(y, cp->p) >= 0) {
      result = 0;
      goto done;
    }
    if(!BN_mod_sqr(t, y, cp->p, ctx))
      goto done;
    result = BN_cmp(t, rhs) == 0;
  }
done:
  BN_CTX_end(ctx);
  BN_CTX_free(ctx);
  return result;
}
