/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dht_store.c -- bounded BEP 44 item store and BEP 5 peer store.
 *
 * Linear scans: the bounds (about a thousand items, a few thousand peers)
 * keep them cheaper than the signature check each put already costs.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "dht/dht_store.h"

int
dht_store_init(struct dht_store *s, size_t max_items, size_t max_bytes)
{
	memset(s, 0, sizeof(*s));
	s->max_items = max_items ? max_items : 1;
	s->max_bytes = max_bytes;
	s->items = calloc(s->max_items, sizeof(*s->items));
	s->peers = calloc(DHT_STORE_MAX_PEERS, sizeof(*s->peers));
	if (s->items == NULL || s->peers == NULL) {
		free(s->items);
		free(s->peers);
		return -1;
	}
	return 0;
}

void
dht_store_free(struct dht_store *s)
{
	for (size_t i = 0; i < s->n_items; i++)
		free(s->items[i].v);
	free(s->items);
	free(s->peers);
	memset(s, 0, sizeof(*s));
}

static void
item_remove(struct dht_store *s, size_t i)
{
	s->bytes -= s->items[i].v_len;
	free(s->items[i].v);
	s->items[i] = s->items[s->n_items - 1];
	s->n_items--;
}

static struct dht_store_item *
find(const struct dht_store *s, const uint8_t target[20], uint64_t now_ms)
{
	for (size_t i = 0; i < s->n_items; i++) {
		struct dht_store_item *it = &s->items[i];
		if (memcmp(it->target, target, 20) == 0)
			return now_ms - it->stored_ms < DHT_STORE_ITEM_MS ? it : NULL;
	}
	return NULL;
}

const struct dht_store_item *
dht_store_get(const struct dht_store *s, const uint8_t target[20], uint64_t now_ms)
{
	return find(s, target, now_ms);
}

/* Make room for `need` more bytes and one more item by evicting the
 * items stored longest ago. */
static int
make_room(struct dht_store *s, size_t need)
{
	if (need > s->max_bytes)
		return -1;
	while (s->n_items >= s->max_items || s->bytes + need > s->max_bytes) {
		size_t oldest = SIZE_MAX;
		for (size_t i = 0; i < s->n_items; i++) {
			if (oldest == SIZE_MAX || s->items[i].stored_ms < s->items[oldest].stored_ms)
				oldest = i;
		}
		if (oldest == SIZE_MAX)
			return -1;
		item_remove(s, oldest);
	}
	return 0;
}

static int
value_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t n = an < bn ? an : bn;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return an < bn ? -1 : an > bn;
}

int
dht_store_put(struct dht_store *s, const struct dht_store_item *it,
	bool has_cas, int64_t cas, uint64_t now_ms)
{
	struct dht_store_item *old = NULL;
	uint8_t *copy;

	for (size_t i = 0; i < s->n_items; i++) {
		if (memcmp(s->items[i].target, it->target, 20) == 0) {
			if (now_ms - s->items[i].stored_ms >= DHT_STORE_ITEM_MS)
				item_remove(s, i);
			else
				old = &s->items[i];
			break;
		}
	}
	if (old && old->is_mutable && it->is_mutable) {
		if (has_cas && cas != old->seq)
			return -KRPC_E_CAS;
		if (it->seq < old->seq)
			return -KRPC_E_SEQ;
		if (it->seq == old->seq &&
		    value_cmp(it->v, it->v_len, old->v, old->v_len) <= 0) {
			/* Same or smaller value at the same seq: keep ours but
			 * count the put as a refresh of its lifetime. */
			if (it->v_len == old->v_len && memcmp(it->v, old->v, it->v_len) == 0)
				old->stored_ms = now_ms;
			return 0;
		}
	} else if (old && !it->is_mutable) {
		old->stored_ms = now_ms;
		return 0;
	}
	copy = malloc(it->v_len ? it->v_len : 1);
	if (copy == NULL)
		return -KRPC_E_SERVER;
	memcpy(copy, it->v, it->v_len);
	if (old)
		item_remove(s, (size_t)(old - s->items));
	if (make_room(s, it->v_len) < 0) {
		free(copy);
		return -KRPC_E_SERVER;
	}
	old = &s->items[s->n_items++];
	*old = *it;
	old->v = copy;
	old->stored_ms = now_ms;
	s->bytes += it->v_len;
	return 0;
}

void
dht_store_expire(struct dht_store *s, uint64_t now_ms)
{
	for (size_t i = 0; i < s->n_items;) {
		if (now_ms - s->items[i].stored_ms >= DHT_STORE_ITEM_MS)
			item_remove(s, i);
		else
			i++;
	}
	for (size_t i = 0; i < s->n_peers;) {
		if (now_ms - s->peers[i].stored_ms >= DHT_STORE_PEER_MS)
			s->peers[i] = s->peers[--s->n_peers];
		else
			i++;
	}
}

void
dht_store_add_peer(struct dht_store *s, const uint8_t info_hash[20],
	const uint8_t *compact, size_t len, uint64_t now_ms)
{
	struct dht_store_peer *p = NULL;

	if (len != 6 && len != 18)
		return;
	for (size_t i = 0; i < s->n_peers; i++) {
		if (memcmp(s->peers[i].info_hash, info_hash, 20) == 0 &&
		    s->peers[i].len == len && memcmp(s->peers[i].compact, compact, len) == 0) {
			p = &s->peers[i];
			break;
		}
	}
	if (p == NULL && s->n_peers < DHT_STORE_MAX_PEERS)
		p = &s->peers[s->n_peers++];
	if (p == NULL) {
		/* Full: replace the oldest announcement. */
		p = &s->peers[0];
		for (size_t i = 1; i < s->n_peers; i++)
			if (s->peers[i].stored_ms < p->stored_ms)
				p = &s->peers[i];
	}
	memcpy(p->info_hash, info_hash, 20);
	memcpy(p->compact, compact, len);
	p->len = (uint8_t)len;
	p->stored_ms = now_ms;
}

size_t
dht_store_get_peers(const struct dht_store *s, const uint8_t info_hash[20],
	size_t len, struct krpc_str *out, size_t max, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_peers && n < max; i++) {
		const struct dht_store_peer *p = &s->peers[i];
		if (p->len != len || memcmp(p->info_hash, info_hash, 20) != 0 ||
		    now_ms - p->stored_ms >= DHT_STORE_PEER_MS)
			continue;
		out[n].p = p->compact;
		out[n].n = p->len;
		n++;
	}
	return n;
}
