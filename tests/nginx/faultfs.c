/*
 * faultfs: a disk that fills up or turns read-only on demand, for the
 * fault tests (LD_PRELOAD into nginx). Root ignores file modes and a
 * test machine may not allow mounts, so the faults are made at the
 * system call boundary instead, exactly as the kernel reports them.
 *
 * LIVESHOP_FAULT_DIR names a directory (the journal's). While the file
 * DIR/.fault exists and holds "enospc" or "erofs", every write to a file
 * under DIR fails with that errno: write, pwrite, writev, fsync and
 * fdatasync on such a file, and open, rename and link that would create
 * or change one. Reading keeps working. Removing .fault ends the fault.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static char fault_dir[PATH_MAX];
static size_t fault_dir_len;

__attribute__((constructor)) static void faultfs_init(void)
{
	const char *d = getenv("LIVESHOP_FAULT_DIR");

	if (d != NULL && realpath(d, fault_dir) != NULL)
		fault_dir_len = strlen(fault_dir);
}

/* The errno of the fault now in force; 0 for none. */
static int fault_now(void)
{
	char path[PATH_MAX + 16], buf[16];
	ssize_t n;
	int fd, e = errno;

	if (fault_dir_len == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/.fault", fault_dir);
	fd = ((int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open"))(
	    path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errno = e;
		return 0;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	errno = e;
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (strncmp(buf, "erofs", 5) == 0)
		return EROFS;
	if (strncmp(buf, "enospc", 6) == 0)
		return ENOSPC;
	return 0;
}

static int under_dir(const char *path)
{
	char abs[PATH_MAX];
	const char *p = path;

	if (path == NULL || fault_dir_len == 0)
		return 0;
	if (path[0] != '/') {
		if (getcwd(abs, sizeof(abs)) == NULL)
			return 0;
		strncat(abs, "/", sizeof(abs) - strlen(abs) - 1);
		strncat(abs, path, sizeof(abs) - strlen(abs) - 1);
		p = abs;
	}
	return strncmp(p, fault_dir, fault_dir_len) == 0 &&
	       (p[fault_dir_len] == '/' || p[fault_dir_len] == '\0') &&
	       strstr(p + fault_dir_len, "/.fault") == NULL;
}

static int fd_under_dir(int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	int e = errno;

	if (fault_dir_len == 0)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	errno = e;
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return under_dir(path);
}

/* -1 with errno set when a write to fd must fail now; else 0. */
static int fd_fault(int fd)
{
	int err;

	if (!fd_under_dir(fd) || (err = fault_now()) == 0)
		return 0;
	errno = err;
	return -1;
}

static int path_fault(const char *path)
{
	int err;

	if (!under_dir(path) || (err = fault_now()) == 0)
		return 0;
	errno = err;
	return -1;
}

#define NEXT(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("write", ssize_t(*)(int, const void *, size_t))(fd, buf,
								     n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("pwrite", ssize_t(*)(int, const void *, size_t, off_t))(
	    fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("pwrite64",
		    ssize_t(*)(int, const void *, size_t, off64_t))(fd, buf, n,
								    off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("writev", ssize_t(*)(int, const struct iovec *, int))(
	    fd, iov, cnt);
}

int fsync(int fd)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("fsync", int (*)(int))(fd);
}

int fdatasync(int fd)
{
	if (fd_fault(fd))
		return -1;
	return NEXT("fdatasync", int (*)(int))(fd);
}

static int opens_for_writing(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) !=
	       0;
}

static mode_t mode_of(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

/* open and open64: the same call under two names */
static int open_as(const char *name, const char *path, int flags,
		   mode_t mode)
{
	if (opens_for_writing(flags) && path_fault(path))
		return -1;
	return NEXT(name, int (*)(const char *, int, ...))(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return open_as("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	return open_as("open64", path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_of(flags, ap);
	va_end(ap);
	if (opens_for_writing(flags) && path[0] == '/' && path_fault(path))
		return -1;
	return NEXT("openat", int (*)(int, const char *, int, ...))(
	    dirfd, path, flags, mode);
}

int rename(const char *from, const char *to)
{
	if (path_fault(to) || path_fault(from))
		return -1;
	return NEXT("rename", int (*)(const char *, const char *))(from, to);
}

int link(const char *from, const char *to)
{
	if (path_fault(to))
		return -1;
	return NEXT("link", int (*)(const char *, const char *))(from, to);
}

int unlink(const char *path)
{
	if (path_fault(path))
		return -1;
	return NEXT("unlink", int (*)(const char *))(path);
}
