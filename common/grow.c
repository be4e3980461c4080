/* grow: capacity arithmetic for ALLOC_GROW (see grow.h). Any thread. */
#include "grow.h"

#include <stdint.h>

size_t grow_capacity(size_t cap, size_t need, size_t elem, size_t cap_size)
{
	size_t max = SIZE_MAX / (elem ? elem : 1);
	if (cap_size < sizeof(size_t)) {
		size_t type_max = ((size_t)1 << (8 * cap_size - 1)) - 1;
		if (type_max < max)
			max = type_max;
	}
	if (need > max)
		return 0;
	size_t n = cap < 4 ? 4 : cap;
	while (n < need)
		n = n > max / 2 ? max : n * 2;
	return n;
}
