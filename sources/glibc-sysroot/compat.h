/* The declarations of compat.c's functions, as glibc declares them, each section put into its
 * header (named after "section:") inside the include guard, by build.sh. The constants are
 * defined only where Linux's header has not defined them, with the same text. */
/* section: sys/mman.h */
/* cpython-fips: glibc 2.27's memfd_create, from the sysroot's libc_compat.a. */
#ifdef __USE_GNU
# ifndef MFD_CLOEXEC
#  define MFD_CLOEXEC 0x0001U
#  define MFD_ALLOW_SEALING 0x0002U
#  define MFD_HUGETLB 0x0004U
# endif
__BEGIN_DECLS
extern int memfd_create (const char *__name, unsigned int __flags) __THROW;
__END_DECLS
#endif
/* section: unistd.h */
/* cpython-fips: glibc 2.27's copy_file_range and 2.34's close_range, from the sysroot's
   libc_compat.a. */
#ifdef __USE_GNU
__BEGIN_DECLS
extern ssize_t copy_file_range (int __infd, __loff_t *__pinoff, int __outfd,
                                __loff_t *__poutoff, size_t __length, unsigned int __flags);
extern int close_range (unsigned int __fd, unsigned int __max_fd, int __flags) __THROW;
__END_DECLS
#endif
/* section: sys/uio.h */
/* cpython-fips: glibc 2.26's preadv2 and pwritev2, from the sysroot's libc_compat.a. */
#ifdef __USE_GNU
# ifndef RWF_HIPRI
#  define RWF_HIPRI 0x00000001
#  define RWF_DSYNC 0x00000002
#  define RWF_SYNC 0x00000004
#  define RWF_NOWAIT 0x00000008
#  define RWF_APPEND 0x00000010
# endif
__BEGIN_DECLS
extern ssize_t preadv2 (int __fd, const struct iovec *__iovec, int __count, __off_t __offset,
                        int __flags) __wur;
extern ssize_t pwritev2 (int __fd, const struct iovec *__iodev, int __count, __off_t __offset,
                         int __flags) __wur;
__END_DECLS
#endif
