/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lmdbcheck.h -- check an LMDB data file before LMDB maps it.
 *
 * LMDB trusts its file: it maps it and follows page numbers from the meta
 * page and the B-tree nodes. A file cut short (a crash on a full disk, a
 * copy interrupted) or with garbage in its pages makes it touch memory
 * past the end of the file, and the process dies with SIGBUS, at open or
 * at the first write, and again at every restart. This reads the file
 * with bounded pread()s instead, the way LMDB 0.9 lays it out (mdb.c:
 * two meta pages, magic 0xBEEFC0DE, data version 1, the page size in the
 * free DB's md_pad, mm_last_pg, mm_txnid), and walks both B-trees of the
 * newest meta page: every page it reaches must lie inside the file and
 * at or below mm_last_pg, carry its own number, and have sane node
 * offsets; no page is reached twice; the entry counts match; the DB
 * flags are those of a plain key/value DB (this is a checker for the
 * packet cache's file, not for any LMDB file). A file
 * that passes can be opened and read by LMDB without touching a page
 * outside the file.
 *
 * It only reads; the caller decides what to do with a damaged file. The
 * file's layout depends on the word size (pgno_t is a size_t): a file
 * written by a machine of another word size is reported as damaged, as
 * LMDB itself would refuse it.
 */
#ifndef PKDNS_PKARR_LMDBCHECK_H
#define PKDNS_PKARR_LMDBCHECK_H

#include <stddef.h>

/** What pkarr_lmdb_check() found. */
enum pkarr_lmdb_state {
	PKARR_LMDB_ABSENT = 0,  /**< no file, or an empty one: LMDB makes it */
	PKARR_LMDB_OK = 1,      /**< the file checks out */
	PKARR_LMDB_DAMAGED = 2, /**< not a sound LMDB file: move it aside */
	PKARR_LMDB_ERROR = -1,  /**< cannot look (errno set): not the file's fault */
};

/**
 * Check an LMDB data file (MDB_NOSUBDIR layout) without mapping it.
 * Reads at most every page of the file once.
 * @param path the data file
 * @param why receives a short reason for DAMAGED or ERROR (may be NULL)
 * @param why_len size of why
 * @return a pkarr_lmdb_state
 */
int pkarr_lmdb_check(const char *path, char *why, size_t why_len);

#endif
