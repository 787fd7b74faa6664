/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lmdbcheck.c -- check an LMDB data file before LMDB maps it (see
 * lmdbcheck.h). The layout is LMDB 0.9's (libraries/liblmdb/mdb.c):
 *
 *   page header  mp_pgno (pgno_t = size_t) | mp_pad (16) | mp_flags (16) |
 *                mp_lower (16) | mp_upper (16), or mp_pages (32) for an
 *                overflow page; PAGEHDRSZ = sizeof(size_t) + 8
 *   meta page    header | mm_magic (32) | mm_version (32) | mm_address |
 *                mm_mapsize | mm_dbs[2] (FREE_DBI, MAIN_DBI) |
 *                mm_last_pg | mm_txnid; the page size is mm_dbs[0].md_pad
 *   MDB_db       md_pad (32) | md_flags (16) | md_depth (16) |
 *                md_branch_pages | md_leaf_pages | md_overflow_pages |
 *                md_entries | md_root (all size_t)
 *   node         mn_lo, mn_hi (data size, or a branch's child page
 *                number with mn_flags as its high bits) | mn_flags |
 *                mn_ksize | key | data (or an overflow page number
 *                with F_BIGDATA)
 *
 * All in host byte order. Nothing here maps the file: each page is read
 * with pread() into a buffer of one page, so garbage can only make the
 * check fail, never fault.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkarr/lmdbcheck.h"

#define WORD sizeof(size_t)
#define HDR (WORD + 8)
#define META_MAGIC 0xBEEFC0DEu
#define DATA_VERSION 1u
#define P_BRANCH 0x01u
#define P_LEAF 0x02u
#define P_OVERFLOW 0x04u
#define P_META 0x08u
#define P_DIRTY 0x10u
#define F_BIGDATA 0x01u
#define DUP_FLAGS 0x74u /* MDB_DUPSORT, MDB_DUPFIXED, MDB_INTEGERDUP, MDB_REVERSEDUP */
#define KEY_FLAGS 0x0au /* MDB_REVERSEKEY, MDB_INTEGERKEY */
#define NODESZ 8u
#define MAX_DEPTH 32u
#define MIN_PSIZE 512u
#define MAX_PSIZE 65536u

/* offsets inside a meta page */
#define M_MAGIC HDR
#define M_VERSION (HDR + 4)
#define M_DBS (HDR + 8 + 2 * WORD)
#define DB_SIZE (8 + 5 * WORD)
#define M_LAST_PG (M_DBS + 2 * DB_SIZE)
#define M_TXNID (M_LAST_PG + WORD)
#define META_LEN (M_TXNID + WORD)
/* offsets inside an MDB_db */
#define DB_PAD 0
#define DB_FLAGS 4
#define DB_DEPTH 6
#define DB_BRANCH 8
#define DB_LEAF (8 + WORD)
#define DB_OVERFLOW (8 + 2 * WORD)
#define DB_ENTRIES (8 + 3 * WORD)
#define DB_ROOT (8 + 4 * WORD)

struct chk {
	int fd;
	size_t psize;
	uint64_t last_pg;
	uint8_t *seen; /* one bit per page 0..last_pg */
	bool free_db;  /* walking FREE_DBI: values are page lists */
	uint64_t txnid; /* of the meta page in use: free-list keys are below it */
	unsigned depth_want;
	uint64_t entries, branch, leaf, overflow;
	char *why;
	size_t why_len;
};

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t
get_word(const uint8_t *p)
{
	size_t v;
	memcpy(&v, p, sizeof(v));
	return (uint64_t)v;
}

static int
damaged(struct chk *k, const char *fmt, ...)
{
	va_list ap;

	if (k->why != NULL && k->why_len > 0) {
		va_start(ap, fmt);
		vsnprintf(k->why, k->why_len, fmt, ap);
		va_end(ap);
	}
	return PKARR_LMDB_DAMAGED;
}

/* Read len bytes at off, all of them: 0, or DAMAGED (short: the file
 * ends early) or ERROR. */
static int
read_at(struct chk *k, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(k->fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (k->why != NULL && k->why_len > 0)
				snprintf(k->why, k->why_len, "read: %s", strerror(errno));
			return PKARR_LMDB_ERROR;
		}
		if (n == 0)
			return damaged(k, "ends at byte %llu", (unsigned long long)(off + got));
		got += (size_t)n;
	}
	return 0;
}

/* Claim pages pgno..pgno+n-1 for the tree: inside the file, each once. */
static int
mark(struct chk *k, uint64_t pgno, uint64_t n)
{
	if (pgno < 2 || pgno > k->last_pg || n == 0 || n > k->last_pg - pgno + 1)
		return damaged(k, "page %llu (+%llu) outside pages 2..%llu",
		    (unsigned long long)pgno, (unsigned long long)n,
		    (unsigned long long)k->last_pg);
	for (uint64_t p = pgno; p < pgno + n; p++) {
		if (k->seen[p / 8] & (1u << (p % 8)))
			return damaged(k, "page %llu reached twice", (unsigned long long)p);
		k->seen[p / 8] |= (uint8_t)(1u << (p % 8));
	}
	return 0;
}

/* A free-list value: a count, then that many page numbers. */
static int
check_idl(struct chk *k, const uint8_t *v, size_t len)
{
	uint64_t n;

	if (len < WORD || len % WORD != 0)
		return damaged(k, "free list of %zu bytes", len);
	n = get_word(v);
	if (n != len / WORD - 1)
		return damaged(k, "free list count %llu in %zu bytes", (unsigned long long)n, len);
	for (uint64_t i = 1; i <= n; i++) {
		uint64_t pg = get_word(v + i * WORD);
		if (pg < 2 || pg > k->last_pg)
			return damaged(k, "free page %llu outside the file", (unsigned long long)pg);
	}
	return 0;
}

static int
check_overflow(struct chk *k, uint64_t pgno, size_t dsize)
{
	uint8_t hdr[HDR];
	uint32_t pages;
	int rc;

	if (pgno < 2 || pgno > k->last_pg)
		return damaged(k, "overflow page %llu outside the file", (unsigned long long)pgno);
	if ((rc = read_at(k, hdr, HDR, pgno * k->psize)) != 0)
		return rc;
	pages = get32(hdr + WORD + 4);
	if (get_word(hdr) != pgno || (get16(hdr + WORD + 2) & ~P_DIRTY) != P_OVERFLOW)
		return damaged(k, "page %llu is not the overflow page it should be",
		    (unsigned long long)pgno);
	if (pages == 0 || (uint64_t)pages * k->psize - HDR < dsize)
		return damaged(k, "overflow page %llu: %u pages for %zu bytes",
		    (unsigned long long)pgno, pages, dsize);
	if ((rc = mark(k, pgno, pages)) != 0)
		return rc;
	k->overflow += pages;
	if (k->free_db) {
		uint8_t *v = malloc(dsize ? dsize : 1);
		if (v == NULL)
			return PKARR_LMDB_ERROR;
		rc = read_at(k, v, dsize, pgno * k->psize + HDR);
		if (rc == 0)
			rc = check_idl(k, v, dsize);
		free(v);
	}
	return rc;
}

static int walk(struct chk *k, uint64_t pgno, unsigned depth);

/* One node of a page already checked for its header. */
static int
check_node(struct chk *k, const uint8_t *pg, uint16_t off, bool branch, unsigned depth)
{
	const uint8_t *node = pg + off;
	/* LMDB swaps mn_lo and mn_hi on big-endian hosts, so that the two
	 * read as one native 32-bit size there too */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	uint16_t hi = get16(node), lo = get16(node + 2);
#else
	uint16_t lo = get16(node), hi = get16(node + 2);
#endif
	uint16_t flags = get16(node + 4);
	uint16_t ksize = get16(node + 6);
	size_t end = (size_t)off + NODESZ + ksize;

	if (end > k->psize)
		return damaged(k, "a key runs past its page");
	if (branch) {
		uint64_t child = (uint64_t)lo | (uint64_t)hi << 16;
		if (WORD > 4)
			child |= (uint64_t)flags << 32;
		return walk(k, child, depth + 1);
	}
	k->entries++;
	if (flags & ~F_BIGDATA)
		return damaged(k, "node flags 0x%x (sub-databases are not ours)", flags);
	size_t dsize = (size_t)lo | (size_t)hi << 16;
	if (flags & F_BIGDATA) {
		if (end + WORD > k->psize)
			return damaged(k, "an overflow reference runs past its page");
		return check_overflow(k, get_word(pg + end), dsize);
	}
	if (end + dsize > k->psize)
		return damaged(k, "a value runs past its page");
	if (k->free_db) {
		/* the key is the id of the transaction that freed the pages:
		 * LMDB asserts on a record of transaction 0 when it reuses it */
		uint64_t txn = ksize == WORD ? get_word(node + NODESZ) : 0;
		if (txn == 0 || txn > k->txnid)
			return damaged(k, "a free-list record of transaction %llu (key of %u bytes)",
			    (unsigned long long)txn, (unsigned)ksize);
		return check_idl(k, pg + end, dsize);
	}
	return 0;
}

static int
walk(struct chk *k, uint64_t pgno, unsigned depth)
{
	uint8_t *pg;
	uint16_t flags, lower, upper;
	bool branch;
	size_t n;
	int rc;

	if (depth > k->depth_want)
		return damaged(k, "tree deeper than its meta page says (%u)", k->depth_want);
	if ((rc = mark(k, pgno, 1)) != 0)
		return rc;
	pg = malloc(k->psize);
	if (pg == NULL)
		return PKARR_LMDB_ERROR;
	if ((rc = read_at(k, pg, k->psize, pgno * k->psize)) != 0)
		goto out;
	flags = get16(pg + WORD + 2) & ~P_DIRTY;
	lower = get16(pg + WORD + 4);
	upper = get16(pg + WORD + 6);
	rc = PKARR_LMDB_DAMAGED;
	if (get_word(pg) != pgno) {
		damaged(k, "page %llu says it is page %llu", (unsigned long long)pgno,
		    (unsigned long long)get_word(pg));
		goto out;
	}
	branch = flags == P_BRANCH;
	if (!branch && flags != P_LEAF) {
		damaged(k, "page %llu has flags 0x%x", (unsigned long long)pgno, flags);
		goto out;
	}
	/* leaves exactly at the depth the meta page gives, branches above */
	if (branch == (depth == k->depth_want)) {
		damaged(k, "page %llu at the wrong depth", (unsigned long long)pgno);
		goto out;
	}
	if (lower < HDR || lower > upper || upper > k->psize || (lower - HDR) % 2 != 0) {
		damaged(k, "page %llu: bounds %u..%u", (unsigned long long)pgno, lower, upper);
		goto out;
	}
	n = (size_t)(lower - HDR) / 2;
	if (n == 0 && (branch || depth > 1)) {
		damaged(k, "page %llu is empty", (unsigned long long)pgno);
		goto out;
	}
	if (branch)
		k->branch++;
	else
		k->leaf++;
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint16_t off = get16(pg + HDR + 2 * i);
		if (off < upper || (size_t)off + NODESZ > k->psize)
			rc = damaged(k, "page %llu: node at %u", (unsigned long long)pgno, off);
		else
			rc = check_node(k, pg, off, branch, depth);
	}
out:
	free(pg);
	return rc;
}

/* Walk one DB of the meta page and compare with its counts. */
static int
check_db(struct chk *k, const uint8_t *db, bool free_db)
{
	uint64_t root = get_word(db + DB_ROOT), entries = get_word(db + DB_ENTRIES);
	unsigned depth = get16(db + DB_DEPTH);
	int rc;

	k->free_db = free_db;
	k->entries = k->branch = k->leaf = k->overflow = 0;
	if (root == (uint64_t)(size_t)-1) { /* P_INVALID: an empty DB */
		if (entries != 0 || depth != 0)
			return damaged(k, "empty DB with %llu entries", (unsigned long long)entries);
		return 0;
	}
	if (depth == 0 || depth > MAX_DEPTH)
		return damaged(k, "DB depth %u", depth);
	k->depth_want = depth;
	if ((rc = walk(k, root, 1)) != 0)
		return rc;
	if (k->entries != entries || k->branch != get_word(db + DB_BRANCH) ||
	    k->leaf != get_word(db + DB_LEAF) || k->overflow != get_word(db + DB_OVERFLOW))
		return damaged(k, "%s DB counts do not match its pages",
		    free_db ? "free" : "main");
	return 0;
}

/* Read and check meta page i (0 or 1); psize 0: learn it from page 0. */
static int
read_meta(struct chk *k, unsigned i, uint8_t *m)
{
	int rc = read_at(k, m, META_LEN, (uint64_t)i * k->psize);

	if (rc != 0)
		return rc;
	if (get32(m + M_MAGIC) != META_MAGIC)
		return damaged(k, "meta page %u: not an LMDB file", i);
	if (get32(m + M_VERSION) != DATA_VERSION)
		return damaged(k, "meta page %u: version %u", i, get32(m + M_VERSION));
	if ((get16(m + WORD + 2) & ~P_DIRTY) != P_META || get_word(m) != i)
		return damaged(k, "meta page %u: bad header", i);
	return 0;
}

static int
check_fd(struct chk *k, uint64_t size)
{
	uint8_t m0[META_LEN], m1[META_LEN];
	const uint8_t *m;
	uint64_t npages;
	int rc;

	k->psize = 0;
	if (size < 2 * MIN_PSIZE)
		return damaged(k, "%llu bytes: shorter than two pages", (unsigned long long)size);
	if ((rc = read_meta(k, 0, m0)) != 0)
		return rc;
	k->psize = get32(m0 + M_DBS + DB_PAD);
	if (k->psize < MIN_PSIZE || k->psize > MAX_PSIZE || (k->psize & (k->psize - 1)) != 0)
		return damaged(k, "page size %zu", k->psize);
	if ((rc = read_meta(k, 1, m1)) != 0)
		return rc;
	if (get32(m1 + M_DBS + DB_PAD) != k->psize)
		return damaged(k, "the meta pages disagree on the page size");
	/* LMDB uses the meta page with the higher transaction id */
	m = get_word(m1 + M_TXNID) > get_word(m0 + M_TXNID) ? m1 : m0;
	k->txnid = get_word(m + M_TXNID);
	k->last_pg = get_word(m + M_LAST_PG);
	if (get_word(m0 + M_LAST_PG) > k->last_pg)
		k->last_pg = get_word(m0 + M_LAST_PG);
	if (get_word(m1 + M_LAST_PG) > k->last_pg)
		k->last_pg = get_word(m1 + M_LAST_PG);
	npages = size / k->psize;
	if (k->last_pg < 1 || k->last_pg >= npages)
		return damaged(k, "%llu bytes hold %llu pages; the meta page says %llu",
		    (unsigned long long)size, (unsigned long long)npages,
		    (unsigned long long)k->last_pg + 1);
	/* mm_mapsize is not checked: LMDB keeps the map size we set. The DB
	 * flags: no duplicates (sub-pages, sub-databases) in either DB, and
	 * plain keys in ours (the free DB has integer keys) */
	if ((get16(m + M_DBS + DB_FLAGS) & DUP_FLAGS) != 0 ||
	    (get16(m + M_DBS + DB_SIZE + DB_FLAGS) & (DUP_FLAGS | KEY_FLAGS)) != 0)
		return damaged(k, "DB flags 0x%x, 0x%x", get16(m + M_DBS + DB_FLAGS),
		    get16(m + M_DBS + DB_SIZE + DB_FLAGS));
	k->seen = calloc((size_t)(k->last_pg / 8 + 1), 1);
	if (k->seen == NULL)
		return PKARR_LMDB_ERROR;
	rc = check_db(k, m + M_DBS, true);
	if (rc == 0)
		rc = check_db(k, m + M_DBS + DB_SIZE, false);
	free(k->seen);
	k->seen = NULL;
	return rc;
}

int
pkarr_lmdb_check(const char *path, char *why, size_t why_len)
{
	struct chk k;
	struct stat st;
	int rc;

	memset(&k, 0, sizeof(k));
	k.why = why;
	k.why_len = why_len;
	if (why != NULL && why_len > 0)
		why[0] = '\0';
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return PKARR_LMDB_ABSENT;
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "%s", strerror(errno));
		return PKARR_LMDB_ERROR;
	}
	if (!S_ISREG(st.st_mode))
		return damaged(&k, "not a regular file");
	if (st.st_size == 0)
		return PKARR_LMDB_ABSENT;
	k.fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (k.fd < 0) {
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "%s", strerror(errno));
		return PKARR_LMDB_ERROR;
	}
	rc = check_fd(&k, (uint64_t)st.st_size);
	close(k.fd);
	return rc == 0 ? PKARR_LMDB_OK : rc;
}
