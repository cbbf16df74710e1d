/* Functions of glibc versions after the sysroot's that CPython uses when its configure finds them
 * (os.memfd_create, os.copy_file_range, os.preadv/os.pwritev with flags, close_range for
 * subprocess). Each makes its system call directly, as glibc's own does, so it works wherever the
 * running kernel has the call, whatever the glibc, and fails with ENOSYS where the kernel lacks it
 * (CPython then raises OSError, or falls back, as it does with a glibc that has the function on an
 * older kernel). They are linked from libc_compat.a, which the sysroot's libc.so names: a program
 * gets those it uses, hidden, and no symbol version newer than the sysroot's glibc. */
#define _GNU_SOURCE
#include <assert.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define COMPAT __attribute__((visibility("hidden")))

/* off_t is the 64-bit offset of the *64 functions (below) on the sysroot's architectures. */
static_assert(sizeof(off_t) == 8, "a 64-bit architecture");

/* glibc 2.27 */
COMPAT int memfd_create(const char *name, unsigned int flags) {
    return (int)syscall(__NR_memfd_create, name, flags);
}

/* glibc 2.27 */
COMPAT ssize_t copy_file_range(int in_fd, loff_t *in_offset, int out_fd, loff_t *out_offset,
                               size_t length, unsigned int flags) {
    return syscall(__NR_copy_file_range, in_fd, in_offset, out_fd, out_offset, length, flags);
}

/* glibc 2.26. Without flags, glibc calls preadv/pwritev (readv/writev for offset -1, the current
 * position): so does this. The system call takes the offset in two halves (pos_l, pos_h); on a
 * 64-bit architecture, the kernel reads it whole from the first. */
COMPAT ssize_t preadv2(int fd, const struct iovec *vector, int count, off_t offset, int flags) {
    if (flags == 0)
        return offset == -1 ? readv(fd, vector, count) : preadv(fd, vector, count, offset);
    return syscall(__NR_preadv2, fd, vector, count, (long)offset,
                   (long)((unsigned long long)offset >> 32), flags);
}

COMPAT ssize_t pwritev2(int fd, const struct iovec *vector, int count, off_t offset, int flags) {
    if (flags == 0)
        return offset == -1 ? writev(fd, vector, count) : pwritev(fd, vector, count, offset);
    return syscall(__NR_pwritev2, fd, vector, count, (long)offset,
                   (long)((unsigned long long)offset >> 32), flags);
}

/* Their names under _FILE_OFFSET_BITS=64 (CPython's), to which glibc's headers redirect calls: the
 * same functions on a 64-bit architecture, as in glibc. */
COMPAT ssize_t preadv64v2(int fd, const struct iovec *vector, int count, off_t offset, int flags)
    __attribute__((alias("preadv2")));
COMPAT ssize_t pwritev64v2(int fd, const struct iovec *vector, int count, off_t offset, int flags)
    __attribute__((alias("pwritev2")));

/* glibc 2.34 */
COMPAT int close_range(unsigned int first, unsigned int last, int flags) {
    return (int)syscall(__NR_close_range, first, last, flags);
}
