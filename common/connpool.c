/* connpool: idle connections kept by address (see connpool.h). Any thread. */
#include "connpool.h"
#include "net.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void connpool_init(struct connpool *p)
{
	memset(p, 0, sizeof *p);
	pthread_mutex_init(&p->lock, NULL);
}

int connpool_take(struct connpool *p, const char *addr)
{
	int fd = -1;
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < CONNPOOL_SLOTS; i++)
		if (p->v[i].used && !strcmp(p->v[i].addr, addr)) {
			fd = p->v[i].fd;
			p->v[i].used = false;
			break;
		}
	pthread_mutex_unlock(&p->lock);
	return fd;
}

void connpool_put(struct connpool *p, const char *addr, int fd)
{
	pthread_mutex_lock(&p->lock);
	int k = -1;
	for (int i = 0; i < CONNPOOL_SLOTS && k < 0; i++)
		if (!p->v[i].used)
			k = i;
	if (k < 0) {
		k = (int)(p->next++ % CONNPOOL_SLOTS);
		net_close(p->v[k].fd);
	}
	p->v[k].used = true;
	p->v[k].fd = fd;
	snprintf(p->v[k].addr, sizeof p->v[k].addr, "%s", addr);
	pthread_mutex_unlock(&p->lock);
}

void connpool_close_all(struct connpool *p)
{
	pthread_mutex_lock(&p->lock);
	for (int i = 0; i < CONNPOOL_SLOTS; i++)
		if (p->v[i].used) {
			net_close(p->v[i].fd);
			p->v[i].used = false;
		}
	pthread_mutex_unlock(&p->lock);
}
