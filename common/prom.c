/* prom: the Prometheus text format writer. See prom.h. */
#include "prom.h"

#include <inttypes.h>

void prom_head(struct buf *b, const char *name, const char *type, const char *help)
{
	if (help)
		buf_printf(b, "# HELP %s %s\n", name, help);
	buf_printf(b, "# TYPE %s %s\n", name, type);
}

void prom_u64(struct buf *b, const char *name, const char *type, const char *help,
	      uint64_t v)
{
	prom_head(b, name, type, help);
	buf_printf(b, "%s %" PRIu64 "\n", name, v);
}
