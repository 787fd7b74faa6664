/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_lmdb_check.c -- pkarr_lmdb_check() (src/pkarr/lmdbcheck.c) on
 * hostile file contents.
 *
 * The input is the whole data file. Beyond memory safety in the checker
 * itself, the property that matters: a file the checker passes can be
 * opened by LMDB, read with a cursor from first to last record, and
 * written to (a put and a delete, which walk the free list), without
 * faulting (SIGBUS, SIGSEGV) or an endless loop. Seed the corpus with
 * real files: the pkarr-packets.mdb that tests/unit/test_pkarr_cache
 * and the e2e tests write (copy one out of a --cache-dir).
 */
#include "config.h"

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "pkarr/lmdbcheck.h"

static char path[64];

static int
write_file(const uint8_t *data, size_t size)
{
	int fd;
	size_t off = 0;

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz_lmdb_check.%ld", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* What the cache does with a file that passed: read all, write some. */
static void
use_file(void)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, v;
	uint8_t key[32] = {1}, val[200] = {2};
	int op = MDB_FIRST, n = 0;

	if (mdb_env_create(&env) != 0)
		return;
	mdb_env_set_mapsize(env, 64u << 20);
	if (mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK | MDB_NOSYNC, 0600) != 0)
		goto out;
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
		goto out;
	if (mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_cursor_open(txn, dbi, &cur) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	while (n++ < 100000 && mdb_cursor_get(cur, &k, &v, op) == 0) {
		volatile uint8_t sink = 0;
		op = MDB_NEXT;
		if (k.mv_size)
			sink ^= ((const uint8_t *)k.mv_data)[k.mv_size - 1];
		if (v.mv_size)
			sink ^= ((const uint8_t *)v.mv_data)[v.mv_size - 1];
		(void)sink;
	}
	mdb_cursor_close(cur);
	k.mv_data = key;
	k.mv_size = sizeof(key);
	v.mv_data = val;
	v.mv_size = sizeof(val);
	if (mdb_put(txn, dbi, &k, &v, 0) == 0)
		(void)mdb_del(txn, dbi, &k, NULL);
	(void)mdb_txn_commit(txn);
out:
	mdb_env_close(env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[160];

	if (write_file(data, size) < 0)
		return 0;
	if (pkarr_lmdb_check(path, why, sizeof(why)) == PKARR_LMDB_OK)
		use_file();
	unlink(path);
	return 0;
}
