/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.c -- the answer cache: a keyed hash table of wire-format responses
 * with an intrusive LRU list, bounded by bytes.
 *
 * Each entry is one allocation: the fixed fields, then the offsets of every
 * TTL field in the message (found once by a bounded walk at store time),
 * then the key's name, then the message. A lookup is a hash, a compare, one
 * memcpy and a few 32-bit patches; nothing is allocated or re-parsed.
 *
 * Wire format: RFC 1035 sections 4.1 and 4.1.4 (compression), RFC 6891
 * section 6.1 (OPT: owner is the root, only in the additional section, at
 * most one, its TTL field carries the extended rcode and flags), RFC 2181
 * section 8 (TTLs with the top bit set mean zero), RFC 2308 section 5
 * (negative caching), RFC 8767 (serve-stale).
 */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MODULE "cache"
#include "util/log.h"

#include "cache/cache.h"

#define DNS_HDR_LEN 12
#define DNS_TYPE_SOA 6
#define DNS_TYPE_OPT 41
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_NXDOMAIN 3
#define DNS_FLAG_QR 0x80 /* in byte 2 */
#define DNS_FLAG_TC 0x02 /* in byte 2 */
#define DNS_FLAG_RD 0x01 /* in byte 2 */
#define DNS_MSG_MAX 65535u

/* Pointers strictly decrease (see name_check), so loops are impossible;
 * this bound only caps the work one name can cost. */
#define NAME_MAX_HOPS 128

#define TABLE_MIN_BUCKETS 64u

/* What an entry costs beyond its variable bytes: malloc's own header, and
 * its share of the bucket array (the table grows at one entry per bucket,
 * so it holds between one and two pointers per entry). */
#define ENTRY_MALLOC_OVERHEAD 16u
#define ENTRY_TABLE_SHARE (2u * sizeof(void *))

struct cache_entry {
	struct cache_entry *hnext; /* hash chain */
	struct cache_entry *prev;  /* LRU: towards the head (more recent) */
	struct cache_entry *next;  /* LRU: towards the tail */
	uint64_t hash;
	uint64_t stored_ms;
	uint64_t expire_ms;
	size_t charge; /* bytes counted against the budget */
	uint16_t msg_len;
	uint16_t n_ttl;
	uint16_t qtype;
	uint16_t qclass;
	uint8_t qname_len;
	bool do_bit;
	bool ede;        /* an EDE goes with it (cache_store_ede()) */
	uint8_t ede_len; /* its text's length, 0: none */
	uint16_t ede_code;
	/* n_ttl offsets, then qname_len name bytes, then msg_len message
	 * bytes, then the EDE text and a NUL when ede_len > 0; uint16_t
	 * first keeps the offsets aligned. */
	uint16_t ttl_off[];
};

struct cache {
	struct cache_entry **buckets;
	size_t mask; /* bucket count - 1; the count is a power of two */
	struct cache_entry *head, *tail;
	size_t max_bytes, bytes, count;
	uint64_t hits, misses, stale_hits, evictions;
	uint64_t keep_ms;
	uint32_t stale_ttl;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
};

/* What one walk over a response found. */
struct walk {
	size_t n_ttl;      /* TTL fields (every RR but OPT) */
	uint32_t min_ttl;  /* smallest TTL in answer + authority */
	uint32_t soa_min;  /* smallest SOA MINIMUM in authority */
	bool have_rr;      /* answer + authority hold a record */
	bool have_soa;     /* authority holds an SOA */
	unsigned rcode;    /* header rcode with OPT's extended bits */
	uint16_t ancount;
};

static inline uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void
wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* RFC 2181 section 8: a TTL with the top bit set is treated as zero. */
static inline uint32_t
ttl_norm(uint32_t t)
{
	return (t & 0x80000000u) ? 0 : t;
}

static inline uint8_t *
entry_name(struct cache_entry *e)
{
	return (uint8_t *)&e->ttl_off[e->n_ttl];
}

static inline const uint8_t *
entry_name_c(const struct cache_entry *e)
{
	return (const uint8_t *)&e->ttl_off[e->n_ttl];
}

static inline uint8_t *
entry_msg(struct cache_entry *e)
{
	return entry_name(e) + e->qname_len;
}

static inline char *
entry_ede_text(struct cache_entry *e)
{
	return (char *)entry_msg(e) + e->msg_len;
}

/* How much of text an entry keeps: at most CACHE_EDE_TEXT_MAX bytes, not
 * ending inside a UTF-8 character. */
static size_t
ede_text_len(const char *text)
{
	size_t n;

	if (!text)
		return 0;
	n = strnlen(text, CACHE_EDE_TEXT_MAX + 1);
	if (n <= CACHE_EDE_TEXT_MAX)
		return n;
	n = CACHE_EDE_TEXT_MAX;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/*
 * Check the name at *off and move *off past it in the stream. Compression
 * pointers must point into the message body (not the header) and strictly
 * before the start of the name or label run they are met in: real
 * compressors only point at names written earlier, and this rule makes
 * every chain of pointers strictly decreasing, hence finite.
 */
static int
name_check(const uint8_t *m, size_t len, size_t *off)
{
	size_t pos = *off, limit = *off, total = 0, end = 0;
	bool jumped = false;
	unsigned hops = 0;

	for (;;) {
		uint8_t c;

		if (pos >= len)
			return CACHE_ERR_MALFORMED;
		c = m[pos];
		if ((c & 0xC0) == 0xC0) {
			size_t tgt;

			if (len - pos < 2)
				return CACHE_ERR_MALFORMED;
			tgt = (size_t)(c & 0x3F) << 8 | m[pos + 1];
			if (tgt < DNS_HDR_LEN || tgt >= limit ||
			    ++hops > NAME_MAX_HOPS)
				return CACHE_ERR_MALFORMED;
			if (!jumped) {
				end = pos + 2;
				jumped = true;
			}
			limit = tgt;
			pos = tgt;
			continue;
		}
		if (c & 0xC0) /* 0x40 and 0x80: obsolete label types */
			return CACHE_ERR_MALFORMED;
		total += (size_t)c + 1;
		if (total > CACHE_NAME_MAX)
			return CACHE_ERR_MALFORMED;
		if (c == 0) {
			pos++;
			break;
		}
		pos += (size_t)c + 1;
	}
	*off = jumped ? end : pos;
	return 0;
}

/* SOA RDATA: two names, then serial, refresh, retry, expire, minimum. */
static int
soa_minimum(const uint8_t *m, size_t len, size_t rdata, size_t rdlen,
	    uint32_t *minimum)
{
	size_t p = rdata;
	int rc;

	if ((rc = name_check(m, len, &p)) < 0)
		return rc;
	if ((rc = name_check(m, len, &p)) < 0)
		return rc;
	if (p > rdata + rdlen || rdata + rdlen - p != 20)
		return CACHE_ERR_MALFORMED;
	*minimum = rd32(m + p + 16);
	return 0;
}

/*
 * Walk a whole response once. With offs non-NULL, also write the offset of
 * every TTL field (offs must hold w->n_ttl from an earlier walk of the same
 * bytes). Every count is bounded by the data: a record takes at least 11
 * bytes and each step checks what is left.
 */
static int
msg_walk(const uint8_t *m, size_t len, uint16_t *offs, struct walk *w)
{
	uint16_t counts[3];
	size_t off = DNS_HDR_LEN;
	unsigned ext_rcode = 0;
	bool opt_seen = false;
	int rc;

	memset(w, 0, sizeof(*w));
	w->min_ttl = UINT32_MAX;
	w->soa_min = UINT32_MAX;
	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return CACHE_ERR_MALFORMED;
	if (rd16(m + 4) > 1)
		return CACHE_ERR_MALFORMED;
	if (rd16(m + 4) == 1) {
		if ((rc = name_check(m, len, &off)) < 0)
			return rc;
		if (len - off < 4)
			return CACHE_ERR_MALFORMED;
		off += 4;
	}
	counts[0] = w->ancount = rd16(m + 6);
	counts[1] = rd16(m + 8);
	counts[2] = rd16(m + 10);

	for (int sec = 0; sec < 3; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			size_t owner = off, rdata;
			uint16_t type, rdlen;
			uint32_t ttl;

			if ((rc = name_check(m, len, &off)) < 0)
				return rc;
			if (len - off < 10)
				return CACHE_ERR_MALFORMED;
			type = rd16(m + off);
			ttl = ttl_norm(rd32(m + off + 4));
			rdlen = rd16(m + off + 8);
			rdata = off + 10;
			if (len - rdata < rdlen)
				return CACHE_ERR_MALFORMED;
			if (type == DNS_TYPE_OPT) {
				if (sec != 2 || opt_seen || m[owner] != 0)
					return CACHE_ERR_MALFORMED;
				opt_seen = true;
				ext_rcode = m[off + 4];
			} else {
				if (offs)
					offs[w->n_ttl] = (uint16_t)(off + 4);
				w->n_ttl++;
			}
			if (sec < 2) {
				w->have_rr = true;
				if (ttl < w->min_ttl)
					w->min_ttl = ttl;
			}
			if (sec == 1 && type == DNS_TYPE_SOA) {
				uint32_t mn;

				if ((rc = soa_minimum(m, len, rdata, rdlen,
						      &mn)) < 0)
					return rc;
				mn = ttl_norm(mn);
				w->have_soa = true;
				if (mn < w->soa_min)
					w->soa_min = mn;
			}
			off = rdata + rdlen;
		}
	}
	if (off != len)
		return CACHE_ERR_MALFORMED;
	w->rcode = ext_rcode << 4 | (m[3] & 0x0Fu);
	return 0;
}

static uint64_t
key_hash(const struct cache *c, const struct cache_key *k)
{
	unsigned char h[crypto_shorthash_BYTES];
	unsigned char tail[crypto_shorthash_BYTES + 5];
	uint64_t v;

	/* Hash the name where it lies, then the name's hash with the other
	 * key parts: no copy of the name, and the result is still a keyed
	 * function of the whole key. */
	crypto_shorthash(h, k->qname, k->qname_len, c->hkey);
	memcpy(tail, h, sizeof(h));
	tail[8] = (uint8_t)(k->qtype >> 8);
	tail[9] = (uint8_t)k->qtype;
	tail[10] = (uint8_t)(k->qclass >> 8);
	tail[11] = (uint8_t)k->qclass;
	tail[12] = k->do_bit ? 1 : 0;
	crypto_shorthash(h, tail, sizeof(tail), c->hkey);
	memcpy(&v, h, sizeof(v));
	return v;
}

static bool
key_valid(const struct cache_key *k)
{
	return k && k->qname && k->qname_len >= 1 &&
	       k->qname_len <= CACHE_NAME_MAX;
}

static struct cache_entry *
find(const struct cache *c, const struct cache_key *k, uint64_t h)
{
	for (struct cache_entry *e = c->buckets[h & c->mask]; e; e = e->hnext) {
		if (e->hash == h && e->qtype == k->qtype &&
		    e->qclass == k->qclass && e->do_bit == k->do_bit &&
		    e->qname_len == k->qname_len &&
		    memcmp(entry_name_c(e), k->qname, k->qname_len) == 0)
			return e;
	}
	return NULL;
}

static void
lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
lru_push_head(struct cache *c, struct cache_entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head)
		c->head->prev = e;
	else
		c->tail = e;
	c->head = e;
}

static void
entry_drop(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & c->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(c, e);
	c->bytes -= e->charge;
	c->count--;
	free(e);
}

/* Double the bucket array when entries outnumber buckets; on failure keep
 * the old one, which still works, only with longer chains. */
static void
table_grow(struct cache *c)
{
	size_t n = (c->mask + 1) * 2;
	struct cache_entry **nb;

	if (c->count <= c->mask + 1 || n > SIZE_MAX / sizeof(*nb))
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i <= c->mask; i++) {
		struct cache_entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->mask = n - 1;
}

struct cache *
cache_new(size_t max_bytes)
{
	struct cache *c;

	if (max_bytes == 0 || sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->buckets = calloc(TABLE_MIN_BUCKETS, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return NULL;
	}
	c->mask = TABLE_MIN_BUCKETS - 1;
	c->max_bytes = max_bytes;
	c->keep_ms = (uint64_t)CACHE_STALE_KEEP_DEFAULT * 1000;
	c->stale_ttl = CACHE_STALE_TTL_DEFAULT;
	crypto_shorthash_keygen(c->hkey);
	return c;
}

void
cache_free(struct cache *c)
{
	struct cache_entry *e, *next;

	if (!c)
		return;
	for (e = c->head; e; e = next) {
		next = e->next;
		free(e);
	}
	free(c->buckets);
	sodium_memzero(c->hkey, sizeof(c->hkey));
	free(c);
}

void
cache_set_stale(struct cache *c, uint32_t keep_s, uint32_t stale_ttl_s)
{
	if (!c)
		return;
	c->keep_ms = (uint64_t)keep_s * 1000;
	c->stale_ttl = ttl_norm(stale_ttl_s);
}

static void
remove_key(struct cache *c, const struct cache_key *key, uint64_t h)
{
	struct cache_entry *old = find(c, key, h);

	if (old)
		entry_drop(c, old);
}

int
cache_store(struct cache *c, const struct cache_key *key, const uint8_t *msg,
	    size_t len, uint32_t ttl_cap, uint64_t now_ms)
{
	return cache_store_ede(c, key, msg, len, ttl_cap, now_ms, NULL);
}

int
cache_store_ede(struct cache *c, const struct cache_key *key,
		const uint8_t *msg, size_t len, uint32_t ttl_cap,
		uint64_t now_ms, const struct cache_ede *ede)
{
	struct cache_entry *e;
	struct walk w, w2;
	uint32_t life;
	uint64_t h;
	size_t var, charge;
	size_t tlen = ede && ede->set ? ede_text_len(ede->text) : 0;
	int rc;

	if (!c || !key_valid(key) || !msg)
		return CACHE_ERR_INVAL;
	if ((rc = msg_walk(msg, len, NULL, &w)) < 0) {
		log_debug("refusing to cache a malformed response (%zu bytes)",
			  len);
		return rc;
	}
	if (!(msg[2] & DNS_FLAG_QR) || (msg[2] & DNS_FLAG_TC) ||
	    ((msg[2] >> 3) & 0x0F) != 0 ||
	    (w.rcode != DNS_RCODE_NOERROR && w.rcode != DNS_RCODE_NXDOMAIN))
		return CACHE_NOT_STORED;

	h = key_hash(c, key);
	life = w.min_ttl;
	if (w.have_soa && w.soa_min < life)
		life = w.soa_min;
	if (ttl_cap && life > ttl_cap)
		life = ttl_cap;
	if (!w.have_rr ||
	    ((w.rcode == DNS_RCODE_NXDOMAIN || w.ancount == 0) &&
	     !w.have_soa) ||
	    life == 0) {
		remove_key(c, key, h);
		return CACHE_NOT_STORED;
	}

	var = w.n_ttl * sizeof(uint16_t) + key->qname_len + len +
	      (tlen > 0 ? tlen + 1 : 0);
	charge = sizeof(*e) + var + ENTRY_MALLOC_OVERHEAD + ENTRY_TABLE_SHARE;
	if (charge > c->max_bytes) {
		remove_key(c, key, h);
		return CACHE_NOT_STORED;
	}
	e = malloc(sizeof(*e) + var);
	if (!e)
		return CACHE_ERR_NOMEM;
	e->hnext = e->prev = e->next = NULL;
	e->hash = h;
	e->stored_ms = now_ms;
	e->expire_ms = now_ms + (uint64_t)life * 1000;
	e->charge = charge;
	e->msg_len = (uint16_t)len;
	e->n_ttl = (uint16_t)w.n_ttl;
	e->qtype = key->qtype;
	e->qclass = key->qclass;
	e->qname_len = (uint8_t)key->qname_len;
	e->do_bit = key->do_bit;
	e->ede = ede && ede->set;
	e->ede_code = e->ede ? ede->code : 0;
	e->ede_len = (uint8_t)tlen;
	memcpy(entry_name(e), key->qname, key->qname_len);
	memcpy(entry_msg(e), msg, len);
	if (tlen > 0) {
		memcpy(entry_ede_text(e), ede->text, tlen);
		entry_ede_text(e)[tlen] = '\0';
	}
	/* Same bytes, same walk: this cannot fail, but stay defensive. */
	if (msg_walk(entry_msg(e), len, e->ttl_off, &w2) < 0 ||
	    w2.n_ttl != w.n_ttl) {
		free(e);
		return CACHE_ERR_MALFORMED;
	}
	/* Lower each TTL to the lifetime once here, so a lookup only has to
	 * subtract the time spent in the cache. */
	for (unsigned i = 0; i < e->n_ttl; i++) {
		uint8_t *p = entry_msg(e) + e->ttl_off[i];
		uint32_t t = ttl_norm(rd32(p));

		wr32(p, t > life ? life : t);
	}

	remove_key(c, key, h);
	/* Lazy clean-up: entries expired past the keep time are useless even
	 * for serve-stale; drop a couple from the cold end on each store. */
	for (int i = 0; i < 2 && c->tail &&
			now_ms >= c->tail->expire_ms &&
			now_ms - c->tail->expire_ms >= c->keep_ms;
	     i++) {
		entry_drop(c, c->tail);
		c->evictions++;
	}
	while (c->tail && c->bytes + charge > c->max_bytes) {
		entry_drop(c, c->tail);
		c->evictions++;
	}
	e->hnext = c->buckets[h & c->mask];
	c->buckets[h & c->mask] = e;
	lru_push_head(c, e);
	c->bytes += charge;
	c->count++;
	table_grow(c);
	return 0;
}

long
cache_lookup(struct cache *c, const struct cache_key *key, uint16_t id,
	     bool rd, uint64_t now_ms, uint8_t *out, size_t cap,
	     bool allow_stale, uint32_t stale_max_s, bool *is_stale)
{
	return cache_lookup_ede(c, key, id, rd, now_ms, out, cap, allow_stale,
				stale_max_s, is_stale, NULL);
}

long
cache_lookup_ede(struct cache *c, const struct cache_key *key, uint16_t id,
		 bool rd, uint64_t now_ms, uint8_t *out, size_t cap,
		 bool allow_stale, uint32_t stale_max_s, bool *is_stale,
		 struct cache_ede *ede)
{
	struct cache_entry *e;
	uint8_t *msg;
	bool stale = false;
	uint64_t elapsed_s = 0;

	if (is_stale)
		*is_stale = false;
	if (!c || !key || !out)
		return CACHE_ERR_INVAL;
	if (!key_valid(key)) {
		c->misses++;
		return 0;
	}
	e = find(c, key, key_hash(c, key));
	if (!e) {
		c->misses++;
		return 0;
	}
	if (now_ms >= e->expire_ms) {
		uint64_t past = now_ms - e->expire_ms;

		if (allow_stale && past < (uint64_t)stale_max_s * 1000) {
			stale = true;
		} else {
			/* Without allow_stale the entry may still be wanted
			 * stale later, when the source fails; keep it until
			 * the keep time is over. */
			if (allow_stale || past >= c->keep_ms) {
				entry_drop(c, e);
				c->evictions++;
			}
			c->misses++;
			return 0;
		}
	}
	if (cap < e->msg_len)
		return CACHE_ERR_NOSPACE;

	msg = entry_msg(e);
	memcpy(out, msg, e->msg_len);
	out[0] = (uint8_t)(id >> 8);
	out[1] = (uint8_t)id;
	out[2] = (uint8_t)((out[2] & ~DNS_FLAG_RD) | (rd ? DNS_FLAG_RD : 0));
	if (!stale && now_ms > e->stored_ms)
		/* Round up: a record must never claim more time than the
		 * entry has left. */
		elapsed_s = (now_ms - e->stored_ms + 999) / 1000;
	for (unsigned i = 0; i < e->n_ttl; i++) {
		uint8_t *p = out + e->ttl_off[i];
		uint32_t t = rd32(p);

		if (stale)
			t = c->stale_ttl;
		else
			t = t > elapsed_s ? (uint32_t)(t - elapsed_s) : 0;
		wr32(p, t);
	}

	if (c->head != e) {
		lru_unlink(c, e);
		lru_push_head(c, e);
	}
	if (stale)
		c->stale_hits++;
	else
		c->hits++;
	if (is_stale)
		*is_stale = stale;
	if (ede) {
		ede->set = e->ede;
		ede->code = e->ede_code;
		ede->text = e->ede_len > 0 ? entry_ede_text(e) : NULL;
	}
	return (long)e->msg_len;
}

void
cache_remove(struct cache *c, const struct cache_key *key)
{
	if (!c || !key_valid(key))
		return;
	remove_key(c, key, key_hash(c, key));
}

/* Whether wire name n (lower case) is zone z or under it: z is a whole
 * number of labels at the end of n. */
static bool
name_under(const uint8_t *n, size_t nlen, const uint8_t *z, size_t zlen)
{
	size_t off = 0;

	while (off < nlen && nlen - off >= zlen) {
		if (nlen - off == zlen)
			return memcmp(n + off, z, zlen) == 0;
		if (n[off] == 0)
			break;
		off += (size_t)n[off] + 1;
	}
	return false;
}

size_t
cache_remove_under(struct cache *c, const uint8_t *zone, size_t zone_len)
{
	struct cache_entry *e, *next;
	size_t n = 0;

	if (!c || !zone || zone_len == 0 || zone_len > 255)
		return 0;
	for (e = c->head; e; e = next) {
		next = e->next;
		if (name_under(entry_name_c(e), e->qname_len, zone, zone_len)) {
			entry_drop(c, e);
			n++;
		}
	}
	return n;
}

void
cache_get_stats(const struct cache *c, struct cache_stats *st)
{
	if (!st)
		return;
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	st->entries = c->count;
	st->bytes = c->bytes;
	st->hits = c->hits;
	st->misses = c->misses;
	st->stale_hits = c->stale_hits;
	st->evictions = c->evictions;
}

int
cache_key_from_question(const uint8_t *msg, size_t len, uint8_t *buf,
			size_t cap, bool do_bit, struct cache_key *key)
{
	size_t off = DNS_HDR_LEN, n = 0;

	if (!msg || !buf || !key)
		return CACHE_ERR_INVAL;
	if (len < DNS_HDR_LEN || rd16(msg + 4) != 1)
		return CACHE_ERR_MALFORMED;
	for (;;) {
		uint8_t c;

		if (off >= len)
			return CACHE_ERR_MALFORMED;
		c = msg[off];
		/* Compression (and the obsolete label types): a question is
		 * the first name in a message, there is nothing to point at. */
		if (c & 0xC0)
			return CACHE_ERR_MALFORMED;
		if (n + c + 1 > CACHE_NAME_MAX || len - off < (size_t)c + 1)
			return CACHE_ERR_MALFORMED;
		if (n + c + 1 > cap)
			return CACHE_ERR_NOSPACE;
		buf[n++] = c;
		for (size_t i = 1; i <= c; i++) {
			uint8_t ch = msg[off + i];

			buf[n++] = (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch | 0x20)
							    : ch;
		}
		off += (size_t)c + 1;
		if (c == 0)
			break;
	}
	if (len - off < 4)
		return CACHE_ERR_MALFORMED;
	key->qname = buf;
	key->qname_len = n;
	key->qtype = rd16(msg + off);
	key->qclass = rd16(msg + off + 2);
	key->do_bit = do_bit;
	return (int)(off + 4);
}
