/* crc: CRC32C through ISA-L. Any thread. */
#include "crc.h"

#include <isa-l/crc.h>

uint32_t crc32c(const void *p, size_t n)
{
	/* ISA-L's iSCSI CRC is CRC32C without the final inversion: ~crc32_iscsi(p, n, ~0);
	 * its length is an int, so longer buffers go through in pieces. */
	const unsigned char *c = p;
	uint32_t state = 0xffffffffu;
	while (n) {
		size_t piece = n > (1u << 30) ? (1u << 30) : n;
		state = crc32_iscsi((unsigned char *)c, (int)piece, state);
		c += piece;
		n -= piece;
	}
	return ~state;
}

uint32_t crc32c_chunks(const void *p, size_t n, size_t chunk_size, uint32_t *out)
{
	const unsigned char *c = p;
	uint32_t i = 0;
	for (size_t off = 0; off < n; off += chunk_size, i++) {
		size_t len = n - off < chunk_size ? n - off : chunk_size;
		out[i] = crc32c(c + off, len);
	}
	return i;
}

long crc32c_verify(const void *p, size_t n, size_t chunk_size, const uint32_t *crcs)
{
	const unsigned char *c = p;
	long i = 0;
	for (size_t off = 0; off < n; off += chunk_size, i++) {
		size_t len = n - off < chunk_size ? n - off : chunk_size;
		if (crc32c(c + off, len) != crcs[i])
			return i;
	}
	return -1;
}

uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n)
{
	return ~crc32_iscsi((unsigned char *)p, (int)n, ~crc);
}
