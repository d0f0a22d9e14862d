/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pin balance, read exactly: fold the per-CPU vmstat deltas with
 * vm/stat_refresh and read /proc/vmstat from the same process, so that
 * nr_foll_pin_acquired - nr_foll_pin_released is exact (reading it from a
 * second exec drifts by the pins virtio-9p takes for its own I/O).
 */
#ifndef PINBAL_H
#define PINBAL_H

#include <stdio.h>
#include <string.h>

struct pinbal {
	long long acquired;
	long long released;
};

static inline int pinbal_read(struct pinbal *pb)
{
	char name[64];
	long long val;
	FILE *f;

	f = fopen("/proc/sys/vm/stat_refresh", "w");
	if (!f)
		return -1;
	fputs("1\n", f);
	if (fclose(f))
		return -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	pb->acquired = pb->released = -1;
	while (fscanf(f, "%63s %lld", name, &val) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired"))
			pb->acquired = val;
		else if (!strcmp(name, "nr_foll_pin_released"))
			pb->released = val;
	}
	fclose(f);
	return pb->acquired < 0 || pb->released < 0 ? -1 : 0;
}

/* Pins outstanding now minus pins outstanding at @then. */
static inline long long pinbal_delta(const struct pinbal *then)
{
	struct pinbal now;

	if (pinbal_read(&now))
		return -(1LL << 62);
	return (now.acquired - now.released) -
	       (then->acquired - then->released);
}

#endif
