/* split: the line-boundary rule for tasks. See split.h. */
#include "split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int split_run(uint64_t start, uint64_t len, uint64_t fsize, const struct split_opts *o,
	      split_read_fn rd, void *rarg, split_sink_fn sink, void *sarg,
	      uint64_t *bytes_read)
{
	size_t cap = o->buf_size ? o->buf_size : (1u << 20);
	size_t align = o->align ? o->align : 1;
	char *buf = malloc(cap + 1); /* + the NUL after each piece */
	if (!buf)
		return -ENOMEM;
	uint64_t end = start + len; /* the split's end: its last line may run past it */
	uint64_t pos = start;       /* file offset of the next read */
	size_t have = 0;            /* bytes kept at buf's front (owned, not yet handed) */
	bool skipping = start > 0, done = start >= fsize;
	int rc = 0;
	*bytes_read = 0;
	while (!done) {
		if (have == cap) { /* a line longer than the buffer */
			char *nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t want = cap - have;
		if (want > fsize - pos)
			want = (size_t)(fsize - pos);
		uint64_t stop = pos + want;
		if (want > align && stop < fsize && stop % align)
			want -= (size_t)(stop % align); /* keep the next read aligned */
		ssize_t n = rd(rarg, pos, buf + have, want);
		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break; /* end of file: what is kept is the unterminated last line */
		*bytes_read += (uint64_t)n;
		char *region = buf + have;
		uint64_t roff = pos; /* file offset of region[0] */
		size_t rlen = (size_t)n;
		pos += (uint64_t)n;
		if (skipping) {
			char *nl = memchr(region, '\n', rlen);
			if (!nl) {
				if (pos >= fsize)
					break;
				continue; /* still inside the line the previous split owns */
			}
			size_t skip = (size_t)(nl - region) + 1;
			roff += skip;
			rlen -= skip;
			memmove(region, region + skip, rlen);
			skipping = false;
			if (roff > end)
				break; /* that line ran past our end: we own nothing */
		}
		/* our last line ends at the first '\n' at or after `end` */
		if (roff + rlen > end) {
			size_t from = roff >= end ? 0 : (size_t)(end - roff);
			char *nl = memchr(region + from, '\n', rlen - from);
			if (nl) {
				rlen = (size_t)(nl - region) + 1;
				done = true;
			}
		}
		have += rlen;
		if (done || pos >= fsize)
			break;
		size_t give = have;
		if (o->whole_lines) {
			char *nl = memrchr(buf, '\n', have);
			give = nl ? (size_t)(nl - buf) + 1 : 0;
		}
		if (give) {
			char saved = buf[give];
			buf[give] = 0;
			rc = sink(sarg, buf, give);
			buf[give] = saved;
			if (rc)
				break;
			memmove(buf, buf + give, have - give);
			have -= give;
		}
	}
	if (!rc && have && !skipping) {
		buf[have] = 0;
		rc = sink(sarg, buf, have);
	}
	free(buf);
	return rc;
}
