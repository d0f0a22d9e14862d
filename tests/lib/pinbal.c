// SPDX-License-Identifier: GPL-2.0
/*
 * pinbal save FILE   record outstanding FOLL_PIN pins
 * pinbal check FILE  exit 1 (and say so) if they differ from FILE's
 *
 * For suites we did not write (pyverbs, mm selftests); our own test
 * programs use pinbal.h in-process.
 */
#include <stdlib.h>
#include "pinbal.h"

int main(int argc, char **argv)
{
	struct pinbal pb;
	long long d;
	FILE *f;

	if (argc != 3)
		return 2;
	if (!strcmp(argv[1], "save")) {
		if (pinbal_read(&pb))
			return perror("pinbal"), 2;
		f = fopen(argv[2], "w");
		if (!f)
			return perror(argv[2]), 2;
		fprintf(f, "%lld %lld\n", pb.acquired, pb.released);
		return fclose(f) ? 2 : 0;
	}
	f = fopen(argv[2], "r");
	if (!f || fscanf(f, "%lld %lld", &pb.acquired, &pb.released) != 2)
		return perror(argv[2]), 2;
	fclose(f);
	d = pinbal_delta(&pb);
	printf("pin balance: %+lld\n", d);
	return d ? 1 : 0;
}
