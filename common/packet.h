/*
 * packet: the data-transfer frames DT_PACKET and DT_ACK (layouts in proto.h), shared by
 * the client library and the datanode. Blocking sends; decoding is bounded. Any thread.
 */
#ifndef DFS_PACKET_H
#define DFS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#define PACKET_MAX_CRCS (PROTO_MAX_PACKET / PROTO_CHUNK_SIZE)

struct packet {
	uint64_t seq, offset;
	uint32_t len;
	uint8_t flags;
	uint32_t ncrcs;
	uint32_t crcs[PACKET_MAX_CRCS];
	const uint8_t *data; /* borrowed from the decoded payload */
};

/* Decodes a DT_PACKET payload; -EPROTO when malformed (crc count must match len). */
int packet_decode(const void *payload, size_t n, struct packet *p);
/* Sends one DT_PACKET frame with data from memory. */
int packet_send(int fd, uint64_t reqid, uint64_t seq, uint64_t offset, uint8_t flags,
		const void *data, uint32_t len, const uint32_t *crcs);
/* Sends one DT_PACKET frame whose data comes from file `in` at in_off (sendfile). */
int packet_send_file(int fd, uint64_t reqid, uint64_t seq, uint64_t offset, uint8_t flags,
		     int in, int64_t in_off, uint32_t len, const uint32_t *crcs);
/* Sends / decodes a DT_ACK. */
int packet_send_ack(int fd, uint64_t reqid, uint64_t seq, int32_t status, uint32_t failed);
int packet_decode_ack(const void *payload, size_t n, uint64_t *seq, int32_t *status,
		      uint32_t *failed);

#endif
