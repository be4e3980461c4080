/*
 * powercut: an LD_PRELOAD library that keeps, beside a daemon's data directory, the state
 * that would be left on the disk after a power cut (what the daemon had made durable),
 * so that the tests can cut the power of one daemon without device-mapper.
 *
 *   POWERCUT_DIR=D      the watched directory (the daemon's namespace or block store)
 *   POWERCUT_SHADOW=S   the durable state of D: a copy of D made while the daemon was
 *                       stopped (cp -a, never hard links), outside D
 *
 * The model ("the disk"): file data becomes durable only by fsync or fdatasync on a file
 * under D (its whole content is copied into S then; the path comes from /proc/self/fd/N),
 * by write, pwrite or writev through a descriptor opened with O_SYNC or O_DSYNC, or by
 * sync or syncfs (every file under D is copied). Metadata is journalled: creating a file
 * (open with O_CREAT, creat, fopen "w"/"a"), O_TRUNC, truncate, ftruncate, rename,
 * renameat, renameat2, unlink, unlinkat, remove, mkdir, mkdirat, rmdir, link, linkat,
 * symlink and symlinkat are mirrored in S as soon as they succeed. So a file created and
 * never synced is empty in S, a rename of a file S never saw gives an empty file (a
 * file renamed into D from outside too), and sync_file_range, fsync of a directory,
 * msync and close change nothing. Descriptors made by dup, dup2 or fcntl do not carry the
 * O_SYNC mark of their original (writes through them are not durable: a stricter model,
 * so a test can fail for it but never pass wrongly). With either variable unset the
 * library does nothing.
 *
 * A power cut is then: kill -9 the daemon, replace D by S (tests/power/lib.sh). A kill in
 * the middle of a copy leaves each byte of the file either in its last durable state or
 * in one the daemon had written: what a disk may keep of unsynced data too.
 *
 * Which libc entry points matter was checked on the binaries: libleveldb 1.23 (Debian)
 * imports open, write, fdatasync, rename, unlink, mkdir, rmdir and close (reads go through
 * pread and mmap); dfs-namenode and dfs-datanode, built with _FILE_OFFSET_BITS=64, import
 * open64, pwrite64, fsync, fdatasync, rename, unlink, rmdir, mkdir and fopen64 (remove,
 * and nftw's callbacks, come back through unlink and rmdir). The fortified (__open_2),
 * *at and 64-bit variants are covered as well.
 *
 * Thread safety: every change to S is made under one mutex (held over the real call of a
 * metadata change too, so S sees changes in the order D did); fork holds it (atfork) so
 * that a child never inherits it locked. The library calls only the real functions
 * (dlsym RTLD_NEXT), never its own wrappers, and allocates no memory.
 *
 * Sanitizers: the library is built without them. Under an AddressSanitizer build the
 * tests preload libasan first ("LD_PRELOAD=libasan.so.N libpowercut.so"), so that ASan's
 * runtime comes first as it requires and its interceptors (write, pwrite, fopen...) call
 * on into these wrappers, which call on into libc.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* the fortified entry points have no prototype unless _FORTIFY_SOURCE is on */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

#define FD_MARKS 65536

static struct {
	int (*open)(const char *, int, ...);
	int (*open64)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
	int (*openat64)(int, const char *, int, ...);
	int (*open_2)(const char *, int);
	int (*open64_2)(const char *, int);
	int (*openat_2)(int, const char *, int);
	int (*openat64_2)(int, const char *, int);
	int (*creat)(const char *, mode_t);
	int (*creat64)(const char *, mode_t);
	FILE *(*fopen)(const char *, const char *);
	FILE *(*fopen64)(const char *, const char *);
	int (*close)(int);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*pwrite)(int, const void *, size_t, off_t);
	ssize_t (*pwrite64)(int, const void *, size_t, off64_t);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*pwritev)(int, const struct iovec *, int, off_t);
	int (*fsync)(int);
	int (*fdatasync)(int);
	void (*sync)(void);
	int (*syncfs)(int);
	int (*rename)(const char *, const char *);
	int (*renameat)(int, const char *, int, const char *);
	int (*renameat2)(int, const char *, int, const char *, unsigned);
	int (*unlink)(const char *);
	int (*unlinkat)(int, const char *, int);
	int (*remove)(const char *);
	int (*mkdir)(const char *, mode_t);
	int (*mkdirat)(int, const char *, mode_t);
	int (*rmdir)(const char *);
	int (*link)(const char *, const char *);
	int (*linkat)(int, const char *, int, const char *, int);
	int (*symlink)(const char *, const char *);
	int (*symlinkat)(const char *, int, const char *);
	int (*truncate)(const char *, off_t);
	int (*truncate64)(const char *, off64_t);
	int (*ftruncate)(int, off_t);
	int (*ftruncate64)(int, off64_t);
	ssize_t (*pwritev64)(int, const struct iovec *, int, off64_t);
} R;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bool active;
static char watch[PATH_MAX], shadow[PATH_MAX];
static size_t watch_len;
static atomic_uchar sync_fd[FD_MARKS]; /* 1: opened O_SYNC/O_DSYNC under the watched dir */

/* A change the shadow could not follow: said in the daemon's log (the test then fails on
 * a lost change rather than passing on a wrong model). */
static void sh_fail(const char *what, const char *path)
{
	dprintf(2, "powercut: pid %d: cannot %s '%s' in the shadow: %m\n", (int)getpid(), what,
		path);
}

static void lock(void) { pthread_mutex_lock(&mu); }
static void unlock(void) { pthread_mutex_unlock(&mu); }

#define RESOLVE(field, name) (*(void **)&R.field = dlsym(RTLD_NEXT, name))

static void init(void)
{
	RESOLVE(open, "open");
	RESOLVE(open64, "open64");
	RESOLVE(openat, "openat");
	RESOLVE(openat64, "openat64");
	RESOLVE(open_2, "__open_2");
	RESOLVE(open64_2, "__open64_2");
	RESOLVE(openat_2, "__openat_2");
	RESOLVE(openat64_2, "__openat64_2");
	RESOLVE(creat, "creat");
	RESOLVE(creat64, "creat64");
	RESOLVE(fopen, "fopen");
	RESOLVE(fopen64, "fopen64");
	RESOLVE(close, "close");
	RESOLVE(write, "write");
	RESOLVE(pwrite, "pwrite");
	RESOLVE(pwrite64, "pwrite64");
	RESOLVE(writev, "writev");
	RESOLVE(pwritev, "pwritev");
	RESOLVE(fsync, "fsync");
	RESOLVE(fdatasync, "fdatasync");
	RESOLVE(sync, "sync");
	RESOLVE(syncfs, "syncfs");
	RESOLVE(rename, "rename");
	RESOLVE(renameat, "renameat");
	RESOLVE(renameat2, "renameat2");
	RESOLVE(unlink, "unlink");
	RESOLVE(unlinkat, "unlinkat");
	RESOLVE(remove, "remove");
	RESOLVE(mkdir, "mkdir");
	RESOLVE(mkdirat, "mkdirat");
	RESOLVE(rmdir, "rmdir");
	RESOLVE(link, "link");
	RESOLVE(linkat, "linkat");
	RESOLVE(symlink, "symlink");
	RESOLVE(symlinkat, "symlinkat");
	RESOLVE(truncate, "truncate");
	RESOLVE(truncate64, "truncate64");
	RESOLVE(ftruncate, "ftruncate");
	RESOLVE(ftruncate64, "ftruncate64");
	RESOLVE(pwritev64, "pwritev64");
	const char *d = getenv("POWERCUT_DIR"), *s = getenv("POWERCUT_SHADOW");
	if (!d || !s || !*d || !*s)
		return;
	if (!realpath(d, watch) || !realpath(s, shadow)) {
		dprintf(2, "powercut: POWERCUT_DIR=%s or POWERCUT_SHADOW=%s is not a directory; "
			   "doing nothing\n", d, s);
		return;
	}
	watch_len = strlen(watch);
	bool inside = !strncmp(shadow, watch, watch_len);
	if (inside && (shadow[watch_len] == '/' || !shadow[watch_len])) {
		dprintf(2, "powercut: the shadow %s is inside %s; doing nothing\n", shadow, watch);
		return;
	}
	if (pthread_atfork(lock, unlock, unlock)) {
		dprintf(2, "powercut: cannot register fork handlers; doing nothing\n");
		return;
	}
	active = true;
	dprintf(2, "powercut: pid %d: durable state of %s kept in %s\n", (int)getpid(), watch,
		shadow);
}

static void setup(void) { pthread_once(&once, init); }

__attribute__((constructor)) static void powercut_load(void) { setup(); }

/* ---- paths ---- */

/* The path of open descriptor fd (false for sockets, pipes, deleted files). */
static bool fd_path(int fd, char out[PATH_MAX])
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, PATH_MAX - 1);
	if (n <= 0 || out[0] != '/')
		return false;
	out[n] = 0;
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	return !((size_t)n > dl && !strcmp(out + n - dl, deleted));
}

/* The absolute path of (dirfd, path), symbolic links resolved in all but the last
 * component; false when it cannot be made (a missing parent: the call fails anyway). */
static bool abs_path(int dirfd, const char *path, char out[PATH_MAX])
{
	char full[2 * PATH_MAX + 2], base[PATH_MAX];
	if (path[0] == '/') {
		snprintf(full, sizeof full, "%s", path);
	} else {
		if (dirfd == AT_FDCWD ? !getcwd(base, sizeof base) : !fd_path(dirfd, base))
			return false;
		snprintf(full, sizeof full, "%s/%s", base, path);
	}
	size_t len = strlen(full);
	while (len > 1 && full[len - 1] == '/')
		full[--len] = 0;
	char *slash = strrchr(full, '/');
	const char *name = slash + 1;
	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return realpath(full, out) != NULL;
	char parent[PATH_MAX];
	if (slash == full) {
		snprintf(parent, sizeof parent, "/");
	} else {
		*slash = 0;
		if (!realpath(full, parent))
			return false;
	}
	return snprintf(out, PATH_MAX, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name) <
	       PATH_MAX;
}

/* Where abs lives in the shadow; false when abs is not under the watched directory. */
static bool shadow_of(const char *abs, char out[PATH_MAX])
{
	if (strncmp(abs, watch, watch_len) || (abs[watch_len] && abs[watch_len] != '/'))
		return false;
	return snprintf(out, PATH_MAX, "%s%s", shadow, abs + watch_len) < PATH_MAX;
}

/* Both in one: the shadow path of (dirfd, path), or false. */
static bool shadow_at(int dirfd, const char *path, char out[PATH_MAX])
{
	char abs[PATH_MAX];
	return active && path && abs_path(dirfd, path, abs) && shadow_of(abs, out);
}

/* ---- the shadow (lock held) ---- */

/* Makes the directories above shadow path sp that are missing. */
static void make_parents(const char *sp)
{
	char p[PATH_MAX];
	size_t sl = strlen(shadow);
	if (strlen(sp) <= sl + 1)
		return;
	snprintf(p, sizeof p, "%s", sp);
	for (char *s = p + sl + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		if (R.mkdir(p, 0700) && errno != EEXIST) {
			sh_fail("make directory", p);
			return;
		}
		*s = '/';
	}
}

/* A file exists at shadow path sp (empty if it did not); truncated with trunc. */
static void sh_file(const char *sp, mode_t mode, bool trunc)
{
	struct stat st;
	if (!trunc && lstat(sp, &st) == 0)
		return;
	make_parents(sp);
	int fd = R.open(sp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (trunc ? O_TRUNC : 0),
			mode & 07777);
	if (fd < 0)
		sh_fail("create", sp);
	else
		R.close(fd);
}

static int rm_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	if (type == FTW_DP ? R.rmdir(p) : R.unlink(p))
		sh_fail("remove", p);
	return 0;
}

/* Removes shadow path sp, whatever it is. */
static void sh_remove(const char *sp)
{
	struct stat st;
	if (lstat(sp, &st))
		return;
	bool dir = S_ISDIR(st.st_mode);
	if (dir ? nftw(sp, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 : R.unlink(sp) != 0)
		sh_fail("remove", sp);
}

/* The content of open file src (descriptor fd, or path when fd < 0) becomes durable:
 * copied over shadow path sp, in place (hard links in the shadow stay linked). */
static void sh_copy(int fd, const char *src, const char *sp)
{
	char self[64];
	if (fd >= 0) {
		/* a new read-only descriptor of the same file: fd may be write-only */
		snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
		src = self;
	}
	int in = R.open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		sh_fail("read the file for", sp);
		return;
	}
	struct stat st;
	if (fstat(in, &st) || !S_ISREG(st.st_mode)) {
		R.close(in);
		return;
	}
	make_parents(sp);
	int out = R.open(sp, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 07777);
	if (out < 0) {
		sh_fail("write", sp);
		R.close(in);
		return;
	}
	off_t off = 0;
	bool plain = false;
	while (off < st.st_size) {
		ssize_t n;
		if (!plain) {
			off64_t ri = off, wo = off;
			n = copy_file_range(in, &ri, out, &wo, (size_t)(st.st_size - off), 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
				      errno == EOPNOTSUPP)) {
				plain = true;
				continue;
			}
		} else {
			char b[65536];
			n = pread(in, b, sizeof b, off);
			if (n > 0 && R.pwrite(out, b, (size_t)n, off) != n)
				n = -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			sh_fail("copy into", sp);
		if (n <= 0)
			break; /* the file shrank under us, or an error: what was copied stays */
		off += n;
	}
	if (R.ftruncate64(out, off))
		sh_fail("set the size of", sp);
	R.close(out);
	R.close(in);
}

/* fsync, fdatasync, an O_SYNC write: the file behind fd becomes durable if it is
 * watched. */
static void durable_fd(int fd)
{
	char p[PATH_MAX], sp[PATH_MAX];
	if (!active)
		return;
	lock(); /* the path is looked up under the lock: no rename can come between */
	if (fd_path(fd, p) && shadow_of(p, sp))
		sh_copy(fd, NULL, sp);
	unlock();
}

static int copy_one(const char *p, const struct stat *st, int type, struct FTW *f)
{
	(void)f;
	char sp[PATH_MAX];
	if (!shadow_of(p, sp))
		return 0;
	if (type == FTW_D) {
		make_parents(sp);
		if (R.mkdir(sp, st->st_mode & 07777) && errno != EEXIST)
			sh_fail("make directory", sp);
	} else if (type == FTW_F) {
		sh_copy(-1, p, sp);
	}
	return 0;
}

/* sync, syncfs: everything under the watched directory becomes durable. */
static void durable_all(void)
{
	if (!active)
		return;
	lock();
	nftw(watch, copy_one, 16, FTW_PHYS);
	unlock();
}

/* A successful open of fd (flags as given): a created or truncated file is a journalled
 * change; an O_SYNC/O_DSYNC descriptor is marked. held: the caller holds the lock. */
static void opened(int fd, int flags, bool held)
{
	if (fd < 0 || !active)
		return;
	if (fd < FD_MARKS)
		atomic_store(&sync_fd[fd], 0);
	if (!(flags & (O_CREAT | O_TRUNC | O_DSYNC)))
		return;
	char p[PATH_MAX], sp[PATH_MAX];
	struct stat st;
	if (!fd_path(fd, p) || !shadow_of(p, sp) || fstat(fd, &st) || !S_ISREG(st.st_mode))
		return;
	if ((flags & O_DSYNC) && fd < FD_MARKS)
		atomic_store(&sync_fd[fd], 1);
	if (flags & (O_CREAT | O_TRUNC)) {
		if (!held)
			lock();
		sh_file(sp, st.st_mode, flags & O_TRUNC);
		if (!held)
			unlock();
	}
}

/* Does an open of (dirfd, path) with flags change the watched directory? Then the real
 * open and its mirror are made under the lock (a rename cannot come between). */
static bool open_changes(int dirfd, const char *path, int flags)
{
	char sp[PATH_MAX];
	return (flags & (O_CREAT | O_TRUNC)) && shadow_at(dirfd, path, sp);
}

/* After a write through fd that returned n: durable at once if fd is an O_SYNC/O_DSYNC
 * one (checked again: a descriptor closed inside libc, by fclose, is not unmarked).
 * Returns n. */
static ssize_t written(int fd, ssize_t n)
{
	if (n < 0 || fd < 0 || fd >= FD_MARKS || !atomic_load(&sync_fd[fd]))
		return n;
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_DSYNC))
		durable_fd(fd);
	return n;
}

/* After an fsync or fdatasync of fd that returned r: the file is durable if it succeeded.
 * Returns r. */
static int synced(int fd, int r)
{
	if (!r)
		durable_fd(fd);
	return r;
}

static int fopen_flags(const char *mode)
{
	int f = 0;
	if (mode[0] == 'w')
		f = O_CREAT | O_TRUNC | O_WRONLY;
	else if (mode[0] == 'a')
		f = O_CREAT | O_WRONLY;
	return f;
}

/* ---- the wrappers ---- */

#define MODE_ARG(flags, mode)                                                                    \
	mode_t mode = 0;                                                                         \
	if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {                         \
		va_list ap;                                                                      \
		va_start(ap, flags);                                                             \
		mode = (mode_t)va_arg(ap, int);                                                  \
		va_end(ap);                                                                      \
	}

/* An open-like call (open, creat, fopen and their variants): made under the lock when it
 * creates or truncates a watched file, then mirrored by opened(); fd_of gives the
 * descriptor of what call returned (for fopen, fileno when it is not NULL). */
#define OPENING(type, dirfd, path, flags, call, fd_of)                                           \
	do {                                                                                     \
		setup();                                                                         \
		bool held_ = open_changes(dirfd, path, flags);                                   \
		if (held_)                                                                       \
			lock();                                                                  \
		type r_ = call;                                                                  \
		int e_ = errno;                                                                  \
		int fd_ = fd_of;                                                                 \
		if (fd_ >= 0)                                                                    \
			opened(fd_, flags, held_);                                               \
		if (held_)                                                                       \
			unlock();                                                                \
		errno = e_;                                                                      \
		return r_;                                                                       \
	} while (0)

#define OPENING_FD(dirfd, path, flags, call) OPENING(int, dirfd, path, flags, call, r_)
#define CREAT_FLAGS (O_CREAT | O_TRUNC | O_WRONLY)

int open(const char *path, int flags, ...)
{
	MODE_ARG(flags, mode);
	OPENING_FD(AT_FDCWD, path, flags, R.open(path, flags, mode));
}

int open64(const char *path, int flags, ...)
{
	MODE_ARG(flags, mode);
	OPENING_FD(AT_FDCWD, path, flags, R.open64(path, flags, mode));
}

int openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags, mode);
	OPENING_FD(dirfd, path, flags, R.openat(dirfd, path, flags, mode));
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags, mode);
	OPENING_FD(dirfd, path, flags, R.openat64(dirfd, path, flags, mode));
}

int __open_2(const char *path, int flags)
{
	OPENING_FD(AT_FDCWD, path, flags, R.open_2(path, flags));
}

int __open64_2(const char *path, int flags)
{
	OPENING_FD(AT_FDCWD, path, flags, R.open64_2(path, flags));
}

int __openat_2(int dirfd, const char *path, int flags)
{
	OPENING_FD(dirfd, path, flags, R.openat_2(dirfd, path, flags));
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	OPENING_FD(dirfd, path, flags, R.openat64_2(dirfd, path, flags));
}

int creat(const char *path, mode_t mode)
{
	OPENING_FD(AT_FDCWD, path, CREAT_FLAGS, R.creat(path, mode));
}

int creat64(const char *path, mode_t mode)
{
	OPENING_FD(AT_FDCWD, path, CREAT_FLAGS, R.creat64(path, mode));
}

FILE *fopen(const char *path, const char *mode)
{
	int flags = fopen_flags(mode);
	OPENING(FILE *, AT_FDCWD, path, flags, R.fopen(path, mode), r_ ? fileno(r_) : -1);
}

FILE *fopen64(const char *path, const char *mode)
{
	int flags = fopen_flags(mode);
	OPENING(FILE *, AT_FDCWD, path, flags, R.fopen64(path, mode), r_ ? fileno(r_) : -1);
}

int close(int fd)
{
	setup();
	if (fd >= 0 && fd < FD_MARKS)
		atomic_store(&sync_fd[fd], 0);
	return R.close(fd);
}

ssize_t write(int fd, const void *b, size_t n)
{
	setup();
	return written(fd, R.write(fd, b, n));
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
	setup();
	return written(fd, R.pwrite(fd, b, n, off));
}

ssize_t pwrite64(int fd, const void *b, size_t n, off64_t off)
{
	setup();
	return written(fd, R.pwrite64(fd, b, n, off));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	setup();
	return written(fd, R.writev(fd, iov, cnt));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	setup();
	return written(fd, R.pwritev(fd, iov, cnt, off));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	setup();
	return written(fd, R.pwritev64(fd, iov, cnt, off));
}

int fsync(int fd)
{
	setup();
	return synced(fd, R.fsync(fd));
}

int fdatasync(int fd)
{
	setup();
	return synced(fd, R.fdatasync(fd));
}

void sync(void)
{
	setup();
	R.sync();
	durable_all();
}

int syncfs(int fd)
{
	setup();
	int r = R.syncfs(fd);
	if (!r)
		durable_all();
	return r;
}

/* The real rename, renameat or renameat2 (by kind 0, 1, 2). */
static int real_rename(int kind, int ofd, const char *from, int nfd, const char *to,
		       unsigned flags)
{
	if (kind == 0)
		return R.rename(from, to);
	if (kind == 1)
		return R.renameat(ofd, from, nfd, to);
	return R.renameat2(ofd, from, nfd, to, flags);
}

/* After a rename: the name at real path ra (shadow path to, NULL when outside the watched
 * directory) holds what the shadow had at from (NULL: outside, or never seen); what it
 * never saw gives an empty file (or directory). */
static void sh_move(const char *from, const char *to, const char *ra)
{
	struct stat st;
	if (from && to) {
		make_parents(to);
		if (!R.rename(from, to))
			return;
		sh_remove(to); /* a directory in the way, or a file where a directory goes */
		if (!R.rename(from, to))
			return;
		sh_fail("rename into", to);
	}
	if (from)
		sh_remove(from); /* moved out of the watched directory */
	if (!to)
		return;
	sh_remove(to);
	if (lstat(ra, &st) == 0 && S_ISDIR(st.st_mode)) {
		make_parents(to);
		if (R.mkdir(to, st.st_mode & 07777))
			sh_fail("make directory", to);
	} else {
		sh_file(to, 0600, true);
	}
}

/* A rename (or exchange) on the disk, mirrored in the shadow under the lock. */
static int do_rename(int kind, int ofd, const char *from, int nfd, const char *to,
		     unsigned flags)
{
	char fa[PATH_MAX], ta[PATH_MAX], fs[PATH_MAX], ts[PATH_MAX];
	bool watched = active && from && to && abs_path(ofd, from, fa) && abs_path(nfd, to, ta);
	bool fw = watched && shadow_of(fa, fs), tw = watched && shadow_of(ta, ts);
	if (!fw && !tw)
		return real_rename(kind, ofd, from, nfd, to, flags);
	lock();
	int r = real_rename(kind, ofd, from, nfd, to, flags);
	int saved = errno;
	struct stat st;
	bool fk = fw && lstat(fs, &st) == 0, tk = tw && lstat(ts, &st) == 0;
	const char *f = fw ? fs : NULL, *t = tw ? ts : NULL;
	if (r) {
		/* failed: nothing changed */
	} else if (!(flags & RENAME_EXCHANGE)) {
		sh_move(fk ? f : NULL, t, ta);
	} else if (fk && tk) {
		if (R.renameat2(AT_FDCWD, fs, AT_FDCWD, ts, RENAME_EXCHANGE))
			sh_fail("exchange with", ts);
	} else if (fk) {
		sh_move(f, t, ta);
		sh_move(NULL, f, fa);
	} else if (tk) {
		sh_move(t, f, fa);
		sh_move(NULL, t, ta);
	} else {
		sh_move(NULL, f, fa);
		sh_move(NULL, t, ta);
	}
	unlock();
	errno = saved;
	return r;
}

int rename(const char *from, const char *to)
{
	setup();
	return do_rename(0, AT_FDCWD, from, AT_FDCWD, to, 0);
}

int renameat(int ofd, const char *from, int nfd, const char *to)
{
	setup();
	return do_rename(1, ofd, from, nfd, to, 0);
}

int renameat2(int ofd, const char *from, int nfd, const char *to, unsigned flags)
{
	setup();
	return do_rename(2, ofd, from, nfd, to, flags);
}

/* A change of one name under the watched directory (made under the lock): when call
 * succeeds, on_success mirrors it at the name's shadow path sp_ (the path is resolved
 * first: after the call a removed directory cannot be). */
#define CHANGING(dirfd, path, call, on_success)                                                  \
	do {                                                                                     \
		setup();                                                                         \
		char sp_[PATH_MAX];                                                              \
		if (!shadow_at(dirfd, path, sp_))                                                \
			return call;                                                             \
		lock();                                                                          \
		int r_ = call;                                                                   \
		int e_ = errno;                                                                  \
		if (!r_) {                                                                       \
			on_success;                                                              \
		}                                                                                \
		unlock();                                                                        \
		errno = e_;                                                                      \
		return r_;                                                                       \
	} while (0)

/* unlink, rmdir and friends: the name goes from the shadow once it went from the disk */
#define REMOVING(dirfd, path, call) CHANGING(dirfd, path, call, sh_remove(sp_))

int unlink(const char *path) { REMOVING(AT_FDCWD, path, R.unlink(path)); }
int rmdir(const char *path) { REMOVING(AT_FDCWD, path, R.rmdir(path)); }
int remove(const char *path) { REMOVING(AT_FDCWD, path, R.remove(path)); }
int unlinkat(int dirfd, const char *path, int flags)
{
	REMOVING(dirfd, path, R.unlinkat(dirfd, path, flags));
}

/* mkdir, link, symlink: made in the shadow once made on the disk */
#define MAKING(dirfd, path, call, mirror)                                                        \
	CHANGING(dirfd, path, call, make_parents(sp_);                                           \
		 if ((mirror) && errno != EEXIST) sh_fail("mirror " #call " as", sp_))

int mkdir(const char *path, mode_t mode)
{
	MAKING(AT_FDCWD, path, R.mkdir(path, mode), R.mkdir(sp_, mode));
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
	MAKING(dirfd, path, R.mkdirat(dirfd, path, mode), R.mkdir(sp_, mode));
}

int symlink(const char *target, const char *path)
{
	MAKING(AT_FDCWD, path, R.symlink(target, path), R.symlink(target, sp_));
}

int symlinkat(const char *target, int dirfd, const char *path)
{
	MAKING(dirfd, path, R.symlinkat(target, dirfd, path), R.symlink(target, sp_));
}

/* A new name for old (at odirfd): the shadow's file gets it too, or an empty file does.
 * 0 (an empty file's failure is reported by sh_file), or -1 with errno. */
static int sh_link(int odirfd, const char *old, const char *sp)
{
	char os[PATH_MAX];
	struct stat st;
	if (shadow_at(odirfd, old, os) && lstat(os, &st) == 0)
		return R.link(os, sp);
	sh_file(sp, 0600, true);
	return 0;
}

int link(const char *old, const char *path)
{
	MAKING(AT_FDCWD, path, R.link(old, path), sh_link(AT_FDCWD, old, sp_));
}

int linkat(int odirfd, const char *old, int dirfd, const char *path, int flags)
{
	MAKING(dirfd, path, R.linkat(odirfd, old, dirfd, path, flags), sh_link(odirfd, old, sp_));
}

/* The real truncate, truncate64, ftruncate or ftruncate64 (by kind 0..3). */
static int real_truncate(int kind, const char *path, int fd, off64_t len)
{
	switch (kind) {
	case 0: return R.truncate(path, (off_t)len);
	case 1: return R.truncate64(path, len);
	case 2: return R.ftruncate(fd, (off_t)len);
	default: return R.ftruncate64(fd, len);
	}
}

/* A size change is journalled: the shadow's copy gets the new size (zeros past what
 * was durable). path for kinds 0 and 1, fd for 2 and 3. */
static int do_truncate(int kind, const char *path, int fd, off64_t len)
{
	char p[PATH_MAX], sp[PATH_MAX], real[PATH_MAX];
	/* a truncate follows links: the file is where the whole path leads */
	bool watched = active && (kind < 2 ? realpath(path, real) && abs_path(AT_FDCWD, real, p)
					   : fd_path(fd, p)) &&
		       shadow_of(p, sp);
	if (!watched)
		return real_truncate(kind, path, fd, len);
	lock();
	int r = real_truncate(kind, path, fd, len);
	int e = errno;
	if (!r) {
		sh_file(sp, 0600, false);
		if (R.truncate64(sp, len))
			sh_fail("truncate", sp);
	}
	unlock();
	errno = e;
	return r;
}

int truncate(const char *path, off_t len)
{
	setup();
	return do_truncate(0, path, -1, len);
}

int truncate64(const char *path, off64_t len)
{
	setup();
	return do_truncate(1, path, -1, len);
}

int ftruncate(int fd, off_t len)
{
	setup();
	return do_truncate(2, NULL, fd, len);
}

int ftruncate64(int fd, off64_t len)
{
	setup();
	return do_truncate(3, NULL, fd, len);
}
