/* crypt.h as glibc 2.17 declares it, for CPython's _crypt (before 3.13) against the sysroot's
 * libcrypt.so.1 stub (zig's glibc headers have none). struct crypt_data is glibc's, larger than
 * libxcrypt's, so a program that zeroes it as CPython does works with either library. */
#ifndef _CRYPT_H
#define _CRYPT_H 1

#include <features.h>

__BEGIN_DECLS

extern char *crypt (const char *__key, const char *__salt) __THROW __nonnull ((1, 2));

#ifdef __USE_GNU
struct crypt_data
  {
    char keysched[16 * 8];
    char sb0[32768];
    char sb1[32768];
    char sb2[32768];
    char sb3[32768];
    /* end-of-aligment-critical-data */
    char crypt_3_buf[14];
    char current_salt[2];
    long int current_saltbits;
    int  direction, initialized;
  };

extern char *crypt_r (const char *__key, const char *__salt,
                      struct crypt_data * __restrict __data) __THROW __nonnull ((1, 2, 3));
#endif

__END_DECLS

#endif	/* crypt.h */
