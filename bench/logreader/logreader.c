/*
 * logreader: the bound `make bench` measures the daemons' log capture
 * against. It copies its standard input (the writer's pipe) into a log file
 * with plain read(2)/write(2) of 128 KiB, and rotates it the way Supervisor
 * does: after a write leaves the file at MAXBYTES or more, FILE.N-1 moves to
 * FILE.N, ..., FILE to FILE.1 (each destination removed first, as the
 * reference's removeAndRename does), and a fresh FILE is opened. No
 * buffering beyond one read, no threads, nothing a daemon could not do.
 * Its pipe is grown to 256 KiB first, as our daemon grows a fast stream's
 * (fewer wake-ups on a busy machine; the same CPU per byte).
 *
 * usage: logreader FILE MAXBYTES BACKUPS
 *
 * At EOF it prints the number of bytes copied and exits 0; any failure is
 * printed on stderr with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (128 * 1024)
#define PIPE_SIZE (256 * 1024)

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "logreader: %s %s: %s\n", what, arg, strerror(errno));
	exit(1);
}

static int open_base(const char *base)
{
	int fd = open(base, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open", base);
	return fd;
}

/* remove_and_rename moves src to dst, removing dst first; a missing src
 * is no error. */
static void remove_and_rename(const char *src, const char *dst)
{
	if (unlink(dst) < 0 && errno != ENOENT)
		die("unlink", dst);
	if (rename(src, dst) < 0 && errno != ENOENT)
		die("rename", src);
}

/* rotate closes fd, shifts the backups and returns a fresh base file. */
static int rotate(int fd, const char *base, int backups)
{
	char src[4096], dst[4096];
	if (close(fd) < 0)
		die("close", base);
	if (backups > 0) {
		for (int i = backups - 1; i >= 1; i--) {
			snprintf(src, sizeof src, "%s.%d", base, i);
			snprintf(dst, sizeof dst, "%s.%d", base, i + 1);
			remove_and_rename(src, dst);
		}
		snprintf(dst, sizeof dst, "%s.1", base);
		remove_and_rename(base, dst);
	}
	return open_base(base);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: logreader FILE MAXBYTES BACKUPS\n");
		return 2;
	}
	const char *base = argv[1];
	long long maxbytes = atoll(argv[2]);
	int backups = atoi(argv[3]);
	static char buf[CHUNK];
	long long total = 0, size = 0;
	/* Not fatal: stdin may not be a pipe, or the quota may be spent. */
	(void)fcntl(0, F_SETPIPE_SZ, PIPE_SIZE);
	int fd = open_base(base);
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("read", "stdin");
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				die("write", base);
			}
			off += w;
		}
		total += n;
		size += n;
		if (maxbytes > 0 && size >= maxbytes) {
			fd = rotate(fd, base, backups);
			size = 0;
		}
	}
	if (close(fd) < 0)
		die("close", base);
	printf("%lld\n", total);
	return 0;
}
