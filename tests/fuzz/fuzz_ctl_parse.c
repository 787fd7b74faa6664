/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_ctl_parse.c -- libFuzzer target for the control channel's request
 * parser (src/control/ctl.c), which reads whatever a local client writes
 * to the control socket.
 *
 * Not built by make: see tests/fuzz/README.md, e.g.
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -I<dir with an empty config.h> -Isrc tests/fuzz/fuzz_ctl_parse.c \
 *     src/control/ctl.c src/pkarr/zbase32.c -lldns -o fuzz_ctl_parse
 *   ./fuzz_ctl_parse -max_len=1024 -max_total_time=180
 *
 * Besides memory safety it checks: the result is 0 or -1; on -1 the error
 * text is a terminated line within its buffer; on 0 the command is one of
 * the enum, a verbosity lies in 0..3, a name is a well-formed wire name
 * in lower case within 255 bytes, and the same line with or without the
 * protocol word parses alike.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_name(const struct ctl_request *r)
{
	size_t i = 0;

	if (r->name_len == 0 || r->name_len > 255)
		abort();
	while (i < r->name_len) {
		size_t l = r->name[i];
		if (l == 0) {
			if (i + 1 != r->name_len)
				abort();
			return;
		}
		if (l > 63 || i + 1 + l >= r->name_len)
			abort();
		for (size_t j = 1; j <= l; j++)
			if (r->name[i + j] >= 'A' && r->name[i + j] <= 'Z')
				abort();
		i += l + 1;
	}
	abort(); /* no root label */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request a, b;
	char err[160], line[CTL_MAX_LINE + 32];
	int rc = ctl_parse((const char *)data, size, false, &a, err, sizeof(err));

	if (rc != 0 && rc != -1)
		abort();
	if (rc < 0) {
		if (memchr(err, '\0', sizeof(err)) == NULL || strchr(err, '\n'))
			abort();
		return 0;
	}
	if ((unsigned)a.cmd > CTL_DHT_NODES || a.verbosity < 0 || a.verbosity > 3)
		abort();
	if (a.cmd == CTL_FLUSH || a.cmd == CTL_FLUSH_ZONE)
		check_name(&a);
	/* the same request as the daemon gets it */
	if (size + sizeof(CTL_MAGIC) + 1 < sizeof(line)) {
		int n = snprintf(line, sizeof(line), "%s ", CTL_MAGIC);
		memcpy(line + n, data, size);
		rc = ctl_parse(line, (size_t)n + size, true, &b, err, sizeof(err));
		if (size + (size_t)n <= CTL_MAX_LINE &&
		    (rc != 0 || memcmp(&a, &b, sizeof(a)) != 0))
			abort();
	}
	return 0;
}
