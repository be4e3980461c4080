/*
 * crc: CRC32C (Castagnoli) checksums of block chunks, computed with ISA-L's
 * hardware-accelerated crc32_iscsi (several GB/s per core, see README).
 */
#ifndef DFS_CRC_H
#define DFS_CRC_H

#include <stddef.h>
#include <stdint.h>

/* The standard CRC32C of p[0..n). */
uint32_t crc32c(const void *p, size_t n);
/* The CRC32C of (the data whose CRC32C is crc, then p[0..n)): a checksum over a stream
 * in pieces of any size (start with 0, the CRC32C of nothing). */
uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n);
/* CRC32C of each chunk_size chunk of p[0..n) (the last may be short) into out; returns
 * the number of chunks. */
uint32_t crc32c_chunks(const void *p, size_t n, size_t chunk_size, uint32_t *out);
/* Verifies p[0..n) against crcs; returns the index of the first bad chunk, or -1. */
long crc32c_verify(const void *p, size_t n, size_t chunk_size, const uint32_t *crcs);

#endif
