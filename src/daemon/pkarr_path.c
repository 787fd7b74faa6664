/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pkarr_path.c -- names under public-key TLDs: packet cache, one DHT
 * look-up per key however many clients ask, answers built from the
 * packet's records, CNAME chains into other keys and into ICANN names,
 * republishing, and the daemon's DHT node (bootstrap, testnet, saved
 * routing table).
 *
 * A question becomes a task. A task asks the packet cache for its key;
 * on a miss it waits on the key's look-up (struct pk_lookup), which every
 * task for that key shares. The first verified packet answers every
 * waiting task at once; the look-up goes on in the background, so a newer
 * seq found later replaces the cached packet. A task whose CNAME chain
 * leaves the packet continues under the new key, or through libunbound.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "pkarr"
#include "cache/cache.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "dht/dht.h"
#include "dht/dht_event.h"
#include "dns/server.h"
#include "icann/icann.h"
#include "pkarr/answer.h"
#include "pkarr/cache.h"
#include "pkarr/packet.h"
#include "pkarr/relay.h"
#include "pkarr/relay_client.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/ratelimit.h"
#include "util/time.h"

#define MAX_LOOKUPS 512          /* concurrent DHT look-ups */
#define MAX_CHASE 8              /* hops out of a packet (keys, ICANN) */
#define MAX_RECENT 1000          /* keys republished because clients asked */
#define NODES_FILE "dht-nodes"
#define LOOKUP_LIMITED (-2)
/* Resolvers kept for NS delegations: a libunbound context each, about
 * 1.3 MB (its port tables, buffers and caches, however small the caches
 * are set), so not many. */
#define MAX_DELEG 16
/* When every delegation resolver has clients waiting, the least recently
 * used one is taken over if it was last used this long ago: its clients
 * get their stale answer or SERVFAIL early (unbound's jostle-timeout), and
 * a new delegation is never refused for a full table of slow ones. */
#define DELEG_JOSTLE_MS 200
#define MAX_DELEG_NS 8
#define NODES_SAVE_S 600
#define DNS_PORT 53              /* glue addresses carry no port */
#define DHT_DEFAULT_PORT 6881    /* a bootstrap address given without one */
/* idle verification of packets loaded from --cache-dir: this many per
 * step, a step every VERIFY_STEP_US */
#define VERIFY_BATCH 200
#define VERIFY_STEP_US 10000
/* queries one delegation's libunbound context may have in flight */
#define DELEG_MAX_INFLIGHT 256
/* room left in a name for a key label after a suffix (tld,
 * search-domain): the 52-character label and its length byte, and the
 * root label */
#define KEY_LABEL_ROOM (1 + PKARR_Z32_KEY_LEN + 1)
/* the longest a negative answer for a key with no packet is cached */
#define NEG_TTL_MAX 300
/* largest routing-table file read back: both families' tables full */
#define NODES_BUF (128 * 1024)

struct pk_lookup;

/* A zone that a packet delegates with NS records, and a libunbound stub
 * resolver that asks its name servers (the glue addresses). */
struct deleg {
	char zone[LDNS_MAX_DOMAINLEN + 2];
	struct sockaddr_storage addrs[MAX_DELEG_NS];
	size_t n_addrs;
	struct icann *ic;
	unsigned busy;                /* tasks waiting on it */
	uint64_t last_used;
	struct deleg *rnext;          /* retired, to be freed */
};

/* A task's query on the ICANN path (d->icann), charged to the asking
 * client's icann-max-per-client until libunbound calls back, like the
 * daemon's own resolutions: a task that lets go only detaches, since
 * cancelling frees nothing inside libunbound. */
struct pk_icann {
	struct pkarr_path *pp;
	struct pk_task *t;            /* NULL once the task let go */
	icann_cb cb;
	struct client_budget *owner;
	LIST_ENTRY(pk_icann) link;
};

struct pk_task {
	struct pkarr_path *pp;
	struct pkdns_req req;         /* the held query, its deadline and chain */
	ldns_rdf *qname;              /* the question's name, lower case */
	ldns_rdf *suffix;             /* labels after the key (tld), or NULL */
	ldns_rdf *name;               /* the name being resolved now */
	uint8_t pk[32];               /* its key */
	int hops;
	bool ns_key_asked;            /* looked up a name server's key once */
	struct pk_lookup *lookup;     /* waiting on this look-up */
	struct icann_req *icann;      /* or on a delegation's libunbound */
	struct pk_icann *charged;     /* or on the ICANN path's */
	struct icann *icann_ctx;      /* ...of this context (ICANN or delegation) */
	struct deleg *deleg;          /* the delegation asked, if any */
	char *zone;                   /* its zone, text */
	struct pk_task *wnext;        /* next waiter of the same look-up */
	LIST_ENTRY(pk_task) link;     /* every task */
};

struct pk_lookup {
	struct pkarr_path *pp;
	uint8_t pk[32];
	uint32_t id;
	uint64_t start_ms;
	bool got_value;
	bool refused;                 /* a value was refused (dated in the future) */
	struct pkarr_packet *best;    /* the newest packet it found, or NULL */
	struct pk_task *waiters;
	LIST_ENTRY(pk_lookup) link;
	/* RELAY: the relays are asked beside the DHT; the look-up ends when
	 * both have (see lookup_finish) */
	struct pk_getter *getters;    /* relay API GETs waiting (relay_api.c) */
	struct relay_req *rreq[RELAY_CLIENT_MAX];
	unsigned relays_pending;
	bool dht_done;
	unsigned responses;           /* DHT nodes and relays that answered */
};

/* RELAY: a relay API GET waiting on a look-up */
struct pk_getter {
	struct pk_lookup *l;
	pkdns_pkarr_get_fn fn;
	void *ctx;
	struct pk_getter *next;
};

/* RELAY: a relay API PUT waiting for its BEP 44 put */
struct pk_putter {
	struct pkarr_path *pp;
	pkdns_pkarr_put_fn fn;
	void *ctx;
	struct pk_putter *prev, *next;
};

struct boot_req {
	struct pkarr_path *pp;
	struct icann_req *req;
	uint16_t port;
	uint16_t qtype; /* A, or AAAA on a dual-stack node */
	int last_added; /* addresses the last answer gave; -1 before any */
	char host[256];
};

/* Bootstrap retries: names are resolved again and the bootstrap nodes
 * asked again with backoff while the table is thin (BOOT_RETRY_MIN_MS
 * doubling to BOOT_RETRY_MAX_MS, or BOOT_RETRY_DOWN_MAX_MS while no node
 * answers at all, so that keys resolve within 30 s of the network coming
 * back), and hourly once it is not. */
#define BOOT_TICK_MS 1000
#define BOOT_RETRY_MIN_MS 1000u
#define BOOT_RETRY_MAX_MS 60000u
#define BOOT_RETRY_DOWN_MAX_MS 16000u
#define BOOT_REFRESH_MS (3600u * 1000u)
#define BOOT_GOOD_NODES 8
/* a change of the wall clock against the monotonic one this large means
 * the host slept (suspend/resume) or its clock was set */
#define BOOT_CLOCK_JUMP_MS 10000

/* A suffix that may follow a key label (tld, search domains), as a
 * lower-case wire name with its root label. */
struct name_suffix {
	uint8_t wire[DNS_MAX_NAME];
	size_t len;
	unsigned labels;
};

#define MAX_SUFFIX (CONF_MAX_LIST + 1)

struct pkarr_path {
	struct pkdns *d;
	struct name_suffix suffix[MAX_SUFFIX];
	size_t n_suffix;
	struct pkarr_cache *pcache;
	struct pkarr_answer_params params;
	struct dht_node *node;
	struct dht *dht;
	struct dht_testnet *testnet;
	struct ratelimit *rl_dht;
	LIST_HEAD(, pk_task) tasks;
	LIST_HEAD(, pk_lookup) lookups;
	unsigned n_lookups;
	struct boot_req *boot[2 * CONF_MAX_LIST];
	size_t n_boot;
	struct event *ev_boot;        /* BOOT_TICK_MS: retries, clock jumps */
	uint64_t boot_next_ms, boot_backoff_ms, boot_health_changes;
	int64_t boot_skew_ms;         /* wall clock minus monotonic clock */
	uint8_t recent[MAX_RECENT][32];
	size_t n_recent, recent_pos;
	struct event *ev_republish, *ev_save, *ev_verify;
	struct event *ev_reopen;      /* retries an unusable --cache-dir */
	struct deleg *delegs[MAX_DELEG];
	struct deleg *retired;        /* replaced, freed from ev_retire */
	struct event *ev_retire;
	LIST_HEAD(, pk_icann) charged; /* every pk_icann */
	uint32_t neg_ttl;
	struct relay_client *relays;  /* RELAY: relay: URLs, or NULL */
	struct pk_putter *putters;    /* RELAY: PUTs on the DHT */
};

static void task_step(struct pk_task *t);
static void task_fail(struct pk_task *t, int rcode, enum pkdns_fail why);
static int lookup_join(struct pkarr_path *pp, const uint8_t pk[32], struct pk_task *t);

static uint64_t
now_s(void)
{
	return time_wall_us() / 1000000u;
}

/* ---- tasks ----------------------------------------------------------- */

/* Let go of whatever t waits on (a look-up, a libunbound query, a
 * delegation's resolver): a late answer then finds nothing. */
static void
task_detach(struct pk_task *t)
{
	if (t->lookup) {
		struct pk_lookup *l;
		/* only a look-up still listed: one freed without stepping its
		 * waiters (a task that rejoined it while it ended) is gone */
		LIST_FOREACH(l, &t->pp->lookups, link)
			if (l == t->lookup)
				break;
		for (struct pk_task **w = l ? &l->waiters : NULL; w && *w; w = &(*w)->wnext)
			if (*w == t) {
				*w = t->wnext;
				break;
			}
		t->lookup = NULL;
		t->wnext = NULL;
	}
	if (t->icann != NULL)
		icann_cancel(t->icann_ctx, t->icann);
	t->icann = NULL;
	if (t->charged) {
		t->charged->t = NULL;
		t->charged = NULL;
	}
	if (t->deleg) {
		t->deleg->busy--;
		t->deleg = NULL;
	}
}

/* Frees t; its query must have been answered or dropped. */
static void
task_free(struct pk_task *t)
{
	task_detach(t);
	pkdns_req_clear(&t->req);
	LIST_REMOVE(t, link);
	ldns_rdf_deep_free(t->qname);
	ldns_rdf_deep_free(t->suffix);
	ldns_rdf_deep_free(t->name);
	free(t->zone);
	free(t);
}

/* The deadline answered t's client (stale or SERVFAIL). */
static void
task_expired(void *ctx)
{
	task_free(ctx);
}

/* Answer t now with the stale answer if any, else SERVFAIL. */
static void
task_give_up(struct pk_task *t, enum pkdns_fail why)
{
	pkdns_req_fail(&t->req, DNS_RCODE_SERVFAIL, why, true);
	task_free(t);
}

static int name_key(const ldns_rdf *name, uint8_t pk[32]);

/* Append the suffix to a name under a key; frees the old rdf. */
static ldns_rdf *
suffixed(const ldns_rdf *name, const ldns_rdf *suffix)
{
	uint8_t pk[32];
	ldns_rdf *n;

	if (name_key(name, pk) < 0)
		return NULL;
	n = ldns_rdf_clone(name);
	if (n && ldns_dname_cat(n, suffix) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(n);
		n = NULL;
	}
	return n;
}

/* A key TLD followed by the configured suffix (tld: key) is answered
 * with every name under a key in the form the client asked for: owners
 * and the names inside records (CNAME targets, NS, MX, SVCB...). */
static void
add_suffix(const struct pk_task *t, ldns_rr_list *list)
{
	for (size_t i = 0; t->suffix && list && i < ldns_rr_list_rr_count(list); i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rdf *n = suffixed(ldns_rr_owner(rr), t->suffix);
		if (n) {
			ldns_rdf *old = ldns_rr_owner(rr);
			ldns_rr_set_owner(rr, n);
			ldns_rdf_deep_free(old);
		}
		for (size_t f = 0; f < ldns_rr_rd_count(rr); f++) {
			ldns_rdf *rd = ldns_rr_rdf(rr, f);
			if (ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_DNAME)
				continue;
			n = suffixed(rd, t->suffix);
			if (n)
				ldns_rdf_deep_free(ldns_rr_set_rdf(rr, n, f));
		}
	}
}

static void
move_rrs(ldns_rr_list *to, ldns_rr_list *from)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(from); i++)
		ldns_rr_list_push_rr(to, ldns_rr_list_rr(from, i));
	ldns_rr_list_set_rr_count(from, 0);
}

/* Send the answer: the chain so far plus authority/additional, through
 * the one exit (pkdns_req_finish). */
static void
task_reply(struct pk_task *t, int rcode, ldns_rr_list *authority, ldns_rr_list *additional)
{
	struct dns_query *q = t->req.q;
	struct pkdns_result res = { .kind = PKDNS_RES_PKT, .sec = ICANN_INSECURE };
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *question = ldns_rr_new();

	if (pkt == NULL || question == NULL) {
		ldns_pkt_free(pkt);
		ldns_rr_free(question);
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL);
		return;
	}
	ldns_rr_set_owner(question, ldns_rdf_clone(t->qname));
	ldns_rr_set_type(question, (ldns_rr_type)q->info.qtype);
	ldns_rr_set_class(question, (ldns_rr_class)q->info.qclass);
	ldns_rr_set_question(question, true);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, question);
	add_suffix(t, t->req.chain);
	add_suffix(t, authority);
	add_suffix(t, additional);
	ldns_pkt_push_rr_list(pkt, LDNS_SECTION_ANSWER, t->req.chain);
	if (authority)
		ldns_pkt_push_rr_list(pkt, LDNS_SECTION_AUTHORITY, authority);
	if (additional)
		ldns_pkt_push_rr_list(pkt, LDNS_SECTION_ADDITIONAL, additional);
	/* the packet now holds the records */
	ldns_rr_list_set_rr_count(t->req.chain, 0);
	if (authority)
		ldns_rr_list_set_rr_count(authority, 0);
	if (additional)
		ldns_rr_list_set_rr_count(additional, 0);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	/* only NOERROR and NXDOMAIN answers go into the answer cache */
	res.no_cache = rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN;
	res.pkt = pkt;
	pkdns_req_finish(&t->req, &res);
	ldns_pkt_free(pkt);
	task_free(t);
}

static void
task_fail(struct pk_task *t, int rcode, enum pkdns_fail why)
{
	pkdns_req_fail(&t->req, rcode, why, false);
	task_free(t);
}

/* NXDOMAIN for a key that has no packet: a SOA for the key so that
 * resolvers cache the negative for neg_ttl (RFC 2308). */
static void
task_no_packet(struct pk_task *t)
{
	ldns_rr_list *auth = ldns_rr_list_new();
	ldns_rr *soa = NULL;
	char key[PKARR_Z32_KEY_LEN + 1], text[512];

	pkarr_z32_encode(t->pk, key);
	snprintf(text, sizeof(text), "%s. %u IN SOA %s. hostmaster.%s. 0 %u %u %u %u", key,
	    t->pp->neg_ttl, key, key, t->pp->neg_ttl, t->pp->neg_ttl, t->pp->neg_ttl,
	    t->pp->neg_ttl);
	if (auth && ldns_rr_new_frm_str(&soa, text, 0, NULL, NULL) == LDNS_STATUS_OK)
		ldns_rr_list_push_rr(auth, soa);
	t->req.reason = PKDNS_FAIL_NO_PACKET; /* its EDE text (reply.c) */
	task_reply(t, LDNS_RCODE_NXDOMAIN, auth, NULL);
	ldns_rr_list_deep_free(auth);
}

/* The answer of an ICANN step (the ICANN path, or a delegation's name
 * servers): the chain gets the client's suffix, then the one ICANN
 * consumer finishes the request. */
static void
task_icann_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct pk_task *t = arg;

	t->icann = NULL;
	if (t->deleg) {
		t->deleg->busy--;
		t->deleg = NULL;
	}
	add_suffix(t, t->req.chain);
	pkdns_req_icann_answer(&t->req, rcode, msg, len, sec, why_bogus, true);
	task_free(t);
}

/* The key a name ends in (its last label), or -1. */
static int
name_key(const ldns_rdf *name, uint8_t pk[32])
{
	const uint8_t *w = ldns_rdf_data(name);
	size_t len = ldns_rdf_size(name), o = 0, last = 0;
	bool any = false;

	while (o < len && w[o] != 0) {
		last = o;
		any = true;
		o += (size_t)w[o] + 1;
	}
	if (!any || last + 1 + w[last] > len)
		return -1;
	return pkarr_z32_decode_key((const char *)w + last + 1, w[last], pk);
}

/* Ask t->name through a libunbound context; the answer continues in
 * task_icann_done, from the loop.
 * @return 0, or -1 when nothing was started (t untouched) */
static int
task_ask(struct pk_task *t, struct icann *ic)
{
	char *text = ldns_rdf2str(t->name);
	struct icann_req *r;

	if (!text)
		return -1;
	t->icann_ctx = ic;
	r = icann_resolve(ic, text, t->req.q->info.qtype, t->req.q->info.qclass, task_icann_done, t);
	free(text);
	if (r == NULL)
		return -1;
	t->icann = r;
	return 0;
}

static void
pk_icann_free(struct pk_icann *c)
{
	struct pkarr_path *pp = c->pp;

	LIST_REMOVE(c, link);
	pkdns_icann_release(pp->d, c->owner);
	free(c);
}

static void
pk_icann_done(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct pk_icann *c = arg;
	struct pk_task *t = c->t;
	icann_cb cb = c->cb;

	pk_icann_free(c);
	if (t) {
		t->charged = NULL;
		cb(t, rcode, msg, len, sec, why_bogus);
	}
}

/* Ask name on the ICANN path for t, charged to t's client; the answer
 * goes to cb(t, ...), from the loop.
 * @return 0, or -1 when nothing was started (t untouched): the total or
 *         the client's budget is used up, or out of memory */
static int
task_ask_icann(struct pk_task *t, const char *name, uint16_t qtype, uint16_t qclass,
    icann_cb cb)
{
	struct pkarr_path *pp = t->pp;
	struct pk_icann *c = NULL;
	struct icann_req *r;

	if (icann_full(pp->d->icann) || !(c = calloc(1, sizeof(*c))) ||
	    !(c->owner = pkdns_icann_charge(pp->d, &t->req.q->client))) {
		pp->d->icann_capped++;
		free(c);
		return -1;
	}
	pp->d->stats.icann_queries++;
	t->req.used_icann = true;
	c->pp = pp;
	c->t = t;
	c->cb = cb;
	LIST_INSERT_HEAD(&pp->charged, c, link);
	t->charged = c;
	r = icann_resolve(pp->d->icann, name, qtype, qclass, pk_icann_done, c);
	if (!r) {
		t->charged = NULL;
		pk_icann_free(c);
		return -1;
	}
	return 0;
}

static void
deleg_free(struct deleg *g)
{
	if (!g)
		return;
	icann_free(g->ic);
	free(g);
}

static void
on_retire(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_path *pp = arg;
	(void)fd;
	(void)what;

	while (pp->retired) {
		struct deleg *g = pp->retired;
		pp->retired = g->rnext;
		deleg_free(g);
	}
}

/* Free g (no task waits on it) once the event loop is back: we may be
 * inside one of its callbacks now. */
static void
deleg_retire(struct pkarr_path *pp, struct deleg *g)
{
	struct timeval tv = { 0, 0 };

	if (!g)
		return;
	g->rnext = pp->retired;
	pp->retired = g;
	if (!pp->ev_retire)
		pp->ev_retire = evtimer_new(pp->d->base, on_retire, pp);
	if (pp->ev_retire)
		evtimer_add(pp->ev_retire, &tv);
}

/* Take the resolver g over from the clients waiting on it. */
static void
deleg_jostle(struct pkarr_path *pp, struct deleg *g)
{
	struct pk_task *t = LIST_FIRST(&pp->tasks), *next;

	log_debug("%s: its name servers keep %u clients waiting; resolver reused", g->zone,
	    g->busy);
	for (; t != NULL; t = next) {
		next = LIST_NEXT(t, link);
		if (t->deleg == g)
			task_give_up(t, PKDNS_FAIL_BUDGET);
	}
}

/* The resolver for a delegated zone and its name servers: kept for
 * reuse; the least recently used idle one replaced when all are taken,
 * else the least recently used busy one not used for DELEG_JOSTLE_MS. */
static struct deleg *
deleg_get(struct pkarr_path *pp, const char *zone, const struct sockaddr_storage *addrs,
    size_t n)
{
	struct deleg *g, **slot = NULL, **busy = NULL;
	struct icann_config cfg;
	uint64_t now = time_mono_ms();

	for (size_t i = 0; i < MAX_DELEG; i++) {
		g = pp->delegs[i];
		if (!g) {
			if (!slot || *slot)
				slot = &pp->delegs[i];
			continue;
		}
		if (strcmp(g->zone, zone) == 0 && g->n_addrs == n &&
		    memcmp(g->addrs, addrs, n * sizeof(*addrs)) == 0) {
			/* full of queries that clients no longer wait on (they
			 * had their answer from the deadline): a fresh one,
			 * rather than SERVFAIL until libunbound ends them */
			if (g->busy == 0 && icann_full(g->ic)) {
				log_debug("%s: its resolver is full of abandoned queries; replaced",
				    g->zone);
				slot = &pp->delegs[i];
				break;
			}
			g->last_used = now;
			return g;
		}
		if (g->busy == 0 && (!slot || (*slot && (*slot)->last_used > g->last_used)))
			slot = &pp->delegs[i];
		if (g->busy && (!busy || (*busy)->last_used > g->last_used))
			busy = &pp->delegs[i];
	}
	if (!slot && busy && (*busy)->last_used + DELEG_JOSTLE_MS <= now) {
		deleg_jostle(pp, *busy);
		slot = busy;
	}
	if (!slot)
		return NULL; /* every resolver is busy, and was just used */
	deleg_retire(pp, *slot);
	*slot = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->zone, sizeof(g->zone), "%s", zone);
	memcpy(g->addrs, addrs, n * sizeof(*addrs));
	g->n_addrs = n;
	memset(&cfg, 0, sizeof(cfg));
	cfg.forward = g->addrs;
	cfg.n_forward = n;
	cfg.stub_zone = g->zone;
	cfg.dnssec = false; /* nothing chains a packet's zone to the root */
	cfg.max_inflight = DELEG_MAX_INFLIGHT;
	cfg.small = true;
	g->ic = icann_new(pp->d->base, &cfg);
	if (!g->ic) {
		free(g);
		return NULL;
	}
	g->last_used = now;
	*slot = g;
	return g;
}

/* Collect the A/AAAA records of a list as socket addresses.
 * @return how many, at most max */
static size_t
rr_addrs(const ldns_rr_list *list, uint16_t port, struct sockaddr_storage *addrs, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; list && i < ldns_rr_list_rr_count(list) && n < max; i++) {
		ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rdf *a = ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, 0) : NULL;
		struct sockaddr_storage *ss = &addrs[n];
		memset(ss, 0, sizeof(*ss));
		if (!a)
			continue;
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(a) == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;
			sin->sin_family = AF_INET;
			sin->sin_port = htons(port);
			memcpy(&sin->sin_addr, ldns_rdf_data(a), 4);
			n++;
		} else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(a) == 16) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(port);
			memcpy(&sin6->sin6_addr, ldns_rdf_data(a), 16);
			n++;
		}
	}
	return n;
}

/* Ask the delegated zone's name servers at these addresses.
 * @return 0 (t continues asynchronously), or -1 */
static int
task_ask_servers(struct pk_task *t, const struct sockaddr_storage *addrs, size_t n)
{
	struct deleg *g = deleg_get(t->pp, t->zone, addrs, n);

	if (!g)
		return -1;
	g->busy++;
	t->deleg = g;
	if (task_ask(t, g->ic) < 0) {
		g->busy--;
		t->deleg = NULL;
		return -1;
	}
	return 0;
}

/* The addresses of a name server named outside the packet, from the
 * ICANN path; then on to the delegated zone. */
static void
task_ns_resolved(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct pk_task *t = arg;
	struct sockaddr_storage addrs[MAX_DELEG_NS];
	ldns_pkt *pkt = NULL;
	size_t n = 0;
	(void)why_bogus;

	t->icann = NULL;
	if (rcode == 0 && msg && sec != ICANN_BOGUS &&
	    ldns_wire2pkt(&pkt, msg, len) == LDNS_STATUS_OK) {
		n = rr_addrs(ldns_pkt_answer(pkt), DNS_PORT, addrs, MAX_DELEG_NS);
		ldns_pkt_free(pkt);
	}
	if (n == 0) {
		log_info("%s: no address for its name server", t->zone);
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_NO_AUTHORITY);
		return;
	}
	if (task_ask_servers(t, addrs, n) < 0)
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_NO_AUTHORITY);
}

/* NS records in a packet delegate the name: ask the name servers for the
 * question's name, at the addresses the packet gives as glue, or else at
 * the addresses of the first name server named outside any key (looked
 * up through the ICANN path).
 * @return 0 (t continues asynchronously), or -1 */
/* Addresses of a name server named under a key, from that key's packet
 * in the cache: how many (0: the key has none or no packet), or -1 when
 * the packet is not cached and must be looked up first. */
static int
key_ns_addrs(struct pkarr_path *pp, const ldns_rdf *target, const uint8_t pk[32],
    struct sockaddr_storage *addrs, size_t max)
{
	static const ldns_rr_type types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	struct pkarr_view v; /* valid until the next call into the cache */
	size_t n = 0;

	switch (pkarr_cache_get_view(pp->pcache, pk, now_s(), &v)) {
	case PKARR_CACHE_FRESH:
	case PKARR_CACHE_STALE:
		break;
	case PKARR_CACHE_NEGATIVE:
		return 0;
	default:
		return -1;
	}
	for (int i = 0; i < 2 && n < max; i++) {
		ldns_rr_list *an = ldns_rr_list_new(), *au = ldns_rr_list_new();
		ldns_rdf *cname = NULL;
		if (an && au &&
		    pkarr_answer_view(&v, target, types[i], &pp->params, an, au, NULL, &cname) ==
			PKARR_ANS_OK)
			n += rr_addrs(an, DNS_PORT, addrs + n, max - n);
		ldns_rdf_deep_free(cname);
		ldns_rr_list_deep_free(an);
		ldns_rr_list_deep_free(au);
	}
	return (int)n;
}

static int
task_delegate(struct pk_task *t, ldns_rr_list *ns, ldns_rr_list *glue)
{
	struct sockaddr_storage addrs[MAX_DELEG_NS];
	size_t n = rr_addrs(glue, DNS_PORT, addrs, MAX_DELEG_NS);
	uint8_t pk[32];

	if (!ns || ldns_rr_list_rr_count(ns) == 0)
		return -1;
	free(t->zone);
	t->zone = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ns, 0)));
	if (!t->zone)
		return -1;
	for (char *c = t->zone; *c; c++)
		*c = (char)dns_lower((uint8_t)*c);
	if (n > 0)
		return task_ask_servers(t, addrs, n);

	/* No glue: a name server under a key whose packet we hold first, then
	 * one named in the ICANN world, then one under a key to look up. */
	bool lookup_key = false;
	uint8_t key_pk[32];
	const ldns_rdf *icann_ns = NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ns, i);
		ldns_rdf *target = ldns_rr_rd_count(rr) ? ldns_rr_rdf(rr, 0) : NULL;

		if (!target)
			continue;
		if (name_key(target, pk) == 0) {
			int k = key_ns_addrs(t->pp, target, pk, addrs, MAX_DELEG_NS);
			if (k > 0)
				return task_ask_servers(t, addrs, (size_t)k);
			if (k < 0 && !lookup_key) {
				lookup_key = true;
				memcpy(key_pk, pk, 32);
			}
		} else if (!icann_ns) {
			icann_ns = target;
		}
	}
	if (icann_ns) {
		char *text = ldns_rdf2str(icann_ns);
		int rc;
		if (!text)
			return -1;
		rc = task_ask_icann(t, text, LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, task_ns_resolved);
		free(text);
		return rc;
	}
	/* Wait for that key's packet; its arrival steps this task again
	 * (once: a key with no packet is remembered as negative). */
	if (lookup_key && !t->ns_key_asked) {
		t->ns_key_asked = true;
		if (lookup_join(t->pp, key_pk, t) == 0)
			return 0;
	}
	log_info("%s: delegated to name servers with no address in the packet", t->zone);
	return -1;
}

static void
task_answer(struct pk_task *t, const struct pkarr_view *v)
{
	ldns_rr_list *an = ldns_rr_list_new(), *ns = ldns_rr_list_new(), *ar = ldns_rr_list_new();
	ldns_rdf *target = NULL;
	enum pkarr_answer_status st;

	if (!an || !ns || !ar) {
		ldns_rr_list_free(an);
		ldns_rr_list_free(ns);
		ldns_rr_list_free(ar);
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL);
		return;
	}
	st = pkarr_answer_view(v, t->name, (ldns_rr_type)t->req.q->info.qtype, &t->pp->params, an,
	    ns, ar, &target);
	move_rrs(t->req.chain, an);
	ldns_rr_list_deep_free(an);
	switch (st) {
	case PKARR_ANS_OK:
		task_reply(t, LDNS_RCODE_NOERROR, NULL, ar);
		break;
	case PKARR_ANS_NODATA:
		task_reply(t, LDNS_RCODE_NOERROR, ns, NULL);
		break;
	case PKARR_ANS_NXDOMAIN:
		task_reply(t, LDNS_RCODE_NXDOMAIN, ns, NULL);
		break;
	case PKARR_ANS_DELEGATION:
		if (++t->hops > MAX_CHASE)
			task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_CHASE);
		else if (task_delegate(t, ns, ar) < 0)
			task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_NO_AUTHORITY);
		break;
	case PKARR_ANS_CNAME_OUT:
		if (++t->hops > MAX_CHASE) {
			task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_CHASE);
			break;
		}
		ldns_rdf_deep_free(t->name);
		t->name = target;
		target = NULL;
		if (name_key(t->name, t->pk) == 0) {
			task_step(t);
		} else {
			char *text = ldns_rdf2str(t->name);
			int rc = text ? task_ask_icann(t, text, t->req.q->info.qtype,
					    t->req.q->info.qclass, task_icann_done) : -1;
			free(text);
			if (rc < 0) /* over budget: the stale answer, else SERVFAIL */
				task_give_up(t, PKDNS_FAIL_BUDGET);
		}
		break;
	default: /* the packet's records could not be used */
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL);
		break;
	}
	ldns_rdf_deep_free(target);
	ldns_rr_list_deep_free(ns);
	ldns_rr_list_deep_free(ar);
}

/* ---- look-ups ---------------------------------------------------------- */

static void
remember_recent(struct pkarr_path *pp, const uint8_t pk[32])
{
	for (size_t i = 0; i < pp->n_recent; i++)
		if (memcmp(pp->recent[i], pk, 32) == 0)
			return;
	memcpy(pp->recent[pp->recent_pos], pk, 32);
	pp->recent_pos = (pp->recent_pos + 1) % MAX_RECENT;
	if (pp->n_recent < MAX_RECENT)
		pp->n_recent++;
}

static void
lookup_free(struct pk_lookup *l)
{
	struct pkarr_path *pp = l->pp;

	LIST_REMOVE(l, link);
	pp->n_lookups--;
	for (size_t i = 0; i < RELAY_CLIENT_MAX; i++) /* RELAY */
		relay_req_cancel(l->rreq[i]);
	while (l->getters) { /* RELAY: only at shutdown; answered otherwise */
		struct pk_getter *g = l->getters;
		l->getters = g->next;
		free(g);
	}
	free(l->best);
	free(l);
}

/* A waiter of a look-up for key pk that has ended (already unlinked, so
 * nothing can rejoin it): answer from the cache, else from best (the
 * look-up's newest packet, which the cache may have evicted since), and
 * never wait again for the same key. Nothing found: NXDOMAIN, as a
 * negative entry would have said, or SERVFAIL when only packets we
 * refused came back (refused). A task that waited for another key's
 * packet (a name server's, see task_delegate) goes on with its own key. */
static void
lookup_answer_waiter(const uint8_t pk[32], struct pk_task *t, const struct pkarr_packet *best,
    bool refused)
{
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;

	if (memcmp(t->pk, pk, 32) != 0) {
		task_step(t);
		return;
	}
	switch (pkarr_cache_get_view(t->pp->pcache, t->pk, now_s(), &v)) {
	case PKARR_CACHE_STALE:
		pkdns_reply_stale(t->req.q);
		/* fall through */
	case PKARR_CACHE_FRESH:
		task_answer(t, &v); /* the view lasts until the next cache call */
		return;
	case PKARR_CACHE_NEGATIVE:
		task_no_packet(t);
		return;
	default:
		break;
	}
	if (best) /* no view: SERVFAIL (pkarr_answer_view of NULL) */
		task_answer(t, pkarr_view_from_packet(best, rr, &v) == 0 ? &v : NULL);
	else if (refused)
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_FUTURE_PACKET);
	else
		task_no_packet(t);
}

/* RELAY: answer the relay API GETs waiting on l (rc: PKDNS_PKARR_FOUND
 * with pkt, _NONE or _FAIL) */
static void
lookup_answer_getters(struct pk_lookup *l, int rc, const struct pkarr_packet *pkt)
{
	struct pk_getter *g = l->getters;

	l->getters = NULL;
	while (g) {
		struct pk_getter *next = g->next;
		g->fn(g->ctx, rc, pkt);
		free(g);
		g = next;
	}
}

static void lookup_packet(struct pk_lookup *l, struct pkarr_packet *pkt, int rc);

static void
lookup_value(void *arg, const struct dht_item *item)
{
	struct pk_lookup *l = arg;
	struct pkarr_packet pkt;
	int rc;

	/* The DHT look-up verified the signature before calling us: once is
	 * enough (it is most of the time between the DHT's answer and ours). */
	rc = pkarr_packet_from_verified_bep44(&pkt, item->k, item->seq, item->v, item->v_len,
	    item->sig);
	lookup_packet(l, &pkt, rc);
}

/* A verified packet for l's key from the DHT or a relay (rc: 0, or why it
 * is unusable): into the cache, and to everyone waiting. */
static void
lookup_packet(struct pk_lookup *l, struct pkarr_packet *pkt_in, int rc)
{
	struct pkarr_path *pp = l->pp;
	struct pkarr_packet pkt;
	struct pkarr_rr_ref rr[PKARR_MAX_RECORDS];
	struct pkarr_view v;
	struct pk_task *w;
	bool have_view;

	/* the clients first, the write to --cache-dir after their answers */
	pkarr_cache_hold_writes(pp->pcache);
	if (rc == 0) {
		pkt = *pkt_in;
		rc = pkarr_cache_put_verified(pp->pcache, &pkt, now_s());
	}
	if (rc < 0) {
		char key[PKARR_Z32_KEY_LEN + 1];
		pkarr_cache_release_writes(pp->pcache);
		pkarr_z32_encode(l->pk, key);
		log_info("%s: unusable packet from the DHT: %s", key, pkarr_strerror(rc));
		if (rc == PKARR_E_FUTURE)
			l->refused = true;
		return;
	}
	if (!l->got_value) {
		l->got_value = true;
		pp->d->stats.dht_lookup_ms_total += time_mono_ms() - l->start_ms;
		pp->d->stats.dht_lookups_done++;
	}
	/* kept for waiters that come after it (the cache may not keep it) */
	if (rc != PKARR_PUT_OLDER && (l->best || (l->best = malloc(sizeof(*l->best)))))
		*l->best = pkt;
	/* Answer everyone waiting for this key from this packet itself, not
	 * through the cache, so that no waiter can miss and wait again; the
	 * look-up goes on for a newer seq. PKARR_PUT_OLDER: the cache holds
	 * a newer packet, answer that. A task waiting for a name server's
	 * key goes on with its own. */
	w = l->waiters;
	l->waiters = NULL;
	have_view = pkarr_view_from_packet(&pkt, rr, &v) == 0; /* pkt's own index */
	while (w) {
		struct pk_task *next = w->wnext;
		w->lookup = NULL;
		w->wnext = NULL;
		if (rc == PKARR_PUT_OLDER || memcmp(w->pk, l->pk, 32) != 0)
			task_step(w); /* l still runs: a miss joins it again */
		else /* no view (cannot be: the cache took pkt): SERVFAIL */
			task_answer(w, have_view ? &v : NULL);
		w = next;
	}
	if (l->getters) { /* RELAY */
		const struct pkarr_packet *held = NULL;
		struct pkarr_packet copy = pkt;
		if (rc == PKARR_PUT_OLDER &&
		    pkarr_cache_get(pp->pcache, l->pk, now_s(), &held) != PKARR_CACHE_MISS && held)
			copy = *held;
		lookup_answer_getters(l, PKDNS_PKARR_FOUND, &copy);
	}
	pkarr_cache_release_writes(pp->pcache);
}

static void lookup_finish(struct pk_lookup *l);

static void
lookup_done(void *arg, const struct dht_lookup_stats *st)
{
	struct pk_lookup *l = arg;
	char key[PKARR_Z32_KEY_LEN + 1];

	pkarr_z32_encode(l->pk, key);
	/* issue 14: the latency histogram */
	pkdns_ops_lookup_observed(l->pp->d, st->first_value_ms >= 0 ? (uint64_t)st->first_value_ms
	    : st->elapsed_ms, st->first_value_ms >= 0);
	log_debug("%s: look-up done: %u queried, %u responses, %u values, %llu ms", key,
	    st->queried, st->responses, st->values, (unsigned long long)st->elapsed_ms);
	/* values the look-up dropped as dated too far ahead count as refused:
	 * this host's clock may be behind, so SERVFAIL, no negative entry */
	if (st->too_new > 0)
		l->refused = true;
	if (!l->got_value && st->too_new > 0)
		log_info("%s: only packets dated more than %u s ahead of the clock were "
		    "found: answering SERVFAIL (is the clock behind?)", key,
		    (unsigned)PKARR_FUTURE_MAX_S);
	l->responses += st->responses;
	l->dht_done = true;
	if (l->relays_pending == 0) /* RELAY: else the last relay finishes */
		lookup_finish(l);
}

static void
lookup_finish(struct pk_lookup *l)
{
	struct pkarr_path *pp = l->pp;
	struct pk_task *w = l->waiters;
	struct pkarr_packet *best = l->best;
	bool got = l->got_value, refused = l->refused;
	unsigned responses = l->responses;
	char key[PKARR_Z32_KEY_LEN + 1];
	uint8_t pk[32];

	pkarr_z32_encode(l->pk, key);
	if (l->getters) { /* RELAY */
		const struct pkarr_packet *held = NULL;
		enum pkarr_cache_state cs = pkarr_cache_get(pp->pcache, l->pk, now_s(), &held);
		if ((cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) && held) {
			struct pkarr_packet copy = *held;
			lookup_answer_getters(l, PKDNS_PKARR_FOUND, &copy);
		} else if (best) {
			lookup_answer_getters(l, PKDNS_PKARR_FOUND, best);
		} else {
			lookup_answer_getters(l, responses > 0 && !refused ? PKDNS_PKARR_NONE : PKDNS_PKARR_FAIL,
			    NULL);
		}
	}
	if (!got && !refused && responses > 0)
		pkarr_cache_put_negative(pp->pcache, l->pk, now_s(), pp->neg_ttl);
	if (w && !got && responses == 0)
		log_info("%s: no DHT node%s answered", key, pp->relays ? " or relay" : "");
	/* Off the list before any waiter runs: a waiter that misses again
	 * must not rejoin a look-up about to be freed (it would wait for
	 * ever). */
	l->waiters = NULL;
	l->best = NULL; /* ours until the last waiter is answered */
	memcpy(pk, l->pk, 32);
	lookup_free(l);
	while (w) {
		struct pk_task *next = w->wnext;
		w->lookup = NULL;
		w->wnext = NULL;
		if (got || responses > 0)
			lookup_answer_waiter(pk, w, best, refused);
		else
			task_fail(w, DNS_RCODE_SERVFAIL, PKDNS_FAIL_DHT_UNREACHABLE);
		w = next;
	}
	free(best);
}

/* ---- RELAY: relays as a client, beside the DHT ---------------------------- */

static void
relay_got(void *ctx, size_t relay, int status, const uint8_t *body, size_t len)
{
	struct pk_lookup *l = ctx;
	struct pkarr_path *pp = l->pp;
	struct pkarr_packet pkt;
	char key[PKARR_Z32_KEY_LEN + 1];
	int rc;

	l->rreq[relay] = NULL;
	l->relays_pending--;
	pkarr_z32_encode(l->pk, key);
	if (status == 200) {
		/* never trusted beyond the signature: verified here, and the
		 * cache keeps a newer packet it holds */
		rc = pkarr_relay_decode(&pkt, l->pk, body, len);
		if (rc == 0) {
			l->responses++;
			log_debug("%s: packet from relay %s", key, relay_client_url(pp->relays, relay));
			lookup_packet(l, &pkt, rc);
		} else {
			log_info("%s: relay %s sent an unusable packet: %s", key,
			    relay_client_url(pp->relays, relay), pkarr_strerror(rc));
		}
	} else if (status == 304 || status == 404) {
		l->responses++;
	} else {
		log_debug("%s: relay %s: %d", key, relay_client_url(pp->relays, relay), status);
	}
	if (l->relays_pending == 0 && l->dht_done)
		lookup_finish(l);
}

/* Ask every relay for l's key, with If-Modified-Since the packet held. */
static void
relay_lookup_start(struct pk_lookup *l)
{
	struct pkarr_path *pp = l->pp;
	const struct pkarr_packet *held = NULL;
	uint64_t ims = 0;
	enum pkarr_cache_state cs;

	if (!pp->relays)
		return;
	cs = pkarr_cache_get(pp->pcache, l->pk, now_s(), &held);
	if ((cs == PKARR_CACHE_FRESH || cs == PKARR_CACHE_STALE) && held)
		ims = held->ts_us / 1000000;
	for (size_t i = 0; i < relay_client_count(pp->relays); i++) {
		l->rreq[i] = relay_client_get(pp->relays, i, l->pk, ims, relay_got, l);
		if (l->rreq[i])
			l->relays_pending++;
	}
}

/* Join the key's look-up, starting it if needed. t may be NULL for a
 * background refresh. The client's DHT rate limit counts the look-ups it
 * starts, not the ones it joins. @return 0, LOOKUP_LIMITED or -1 */
static int
lookup_join(struct pkarr_path *pp, const uint8_t pk[32], struct pk_task *t)
{
	struct pk_lookup *l;

	LIST_FOREACH(l, &pp->lookups, link)
		if (memcmp(l->pk, pk, 32) == 0)
			break;
	if (!l) {
		if ((!pp->dht && !pp->relays) || pp->n_lookups >= MAX_LOOKUPS)
			return -1;
		if (t && !ratelimit_allow(pp->rl_dht, (const struct sockaddr *)&t->req.q->client,
			     time_mono_ms()))
			return LOOKUP_LIMITED;
		l = calloc(1, sizeof(*l));
		if (!l)
			return -1;
		l->pp = pp;
		memcpy(l->pk, pk, 32);
		l->start_ms = time_mono_ms();
		LIST_INSERT_HEAD(&pp->lookups, l, link);
		pp->n_lookups++;
		if (pp->dht)
			l->id = dht_get_mutable(pp->dht, pk, NULL, 0, 0, lookup_value, lookup_done,
			    l, time_mono_ms());
		l->dht_done = l->id == 0;
		relay_lookup_start(l); /* RELAY */
		if (l->id == 0 && l->relays_pending == 0) {
			lookup_free(l);
			return -1;
		}
		if (l->id != 0) {
			/* a value dated too far ahead must not hide the current
			 * one (the look-up reports only seqs above the best seen) */
			if (now_s() >= PKARR_CLOCK_SET_S)
				(void)dht_lookup_max_seq(pp->dht, l->id,
				    (int64_t)(now_s() + PKARR_FUTURE_MAX_S) * 1000000);
			pp->d->stats.dht_lookups++;
			/* schedule the look-up's timers now, not at the next tick */
			dht_node_kick(pp->node);
		}
	}
	if (t) {
		t->lookup = l;
		t->wnext = l->waiters;
		l->waiters = t;
	}
	return 0;
}

static void
task_step(struct pk_task *t)
{
	struct pkarr_path *pp = t->pp;
	struct pkarr_view v;

	enum pkarr_cache_state st = pkarr_cache_get_view(pp->pcache, t->pk, now_s(), &v);

	pkdns_ops_packet_cache(pp->d, st != PKARR_CACHE_MISS); /* issue 14: metrics */
	switch (st) {
	case PKARR_CACHE_STALE:
	case PKARR_CACHE_FRESH:
		/* the view points into the cache until the next call into
		 * it: answering makes none; a look-up may (a relay is asked
		 * with the cached seq), so the refresh starts after the answer */
		if (st == PKARR_CACHE_STALE) {
			uint8_t pk[32];
			memcpy(pk, t->pk, sizeof(pk));
			pkdns_reply_stale(t->req.q);
			task_answer(t, &v); /* may free t */
			lookup_join(pp, pk, NULL); /* refresh in the background */
			return;
		}
		task_answer(t, &v);
		return;
	case PKARR_CACHE_NEGATIVE:
		task_no_packet(t);
		return;
	case PKARR_CACHE_MISS:
	default:
		break;
	}
	if (!pp->dht && !pp->relays) {
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_DHT_UNREACHABLE);
		return;
	}
	remember_recent(pp, t->pk);
	switch (lookup_join(pp, t->pk, t)) {
	case 0:
		break;
	case LOOKUP_LIMITED:
		pp->d->stats.ratelimited++;
		task_fail(t, DNS_RCODE_REFUSED, PKDNS_FAIL_RATELIMIT);
		break;
	default:
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_BUDGET);
		break;
	}
}

/* ---- RELAY: the relay API's reads and writes (relay_api.c) --------------- *
 * These belong on the resolver API (pkarr_resolver_get/put) once the
 * pkarr path has moved there. */

int
pkdns_pkarr_get(struct pkdns *d, const uint8_t pk[32], const struct sockaddr *client,
    pkdns_pkarr_get_fn fn, void *ctx, struct pkarr_packet *out)
{
	struct pkarr_path *pp = d->pkarr;
	const struct pkarr_packet *held = NULL;
	struct pk_getter *g;
	struct pk_lookup *l;
	int rc;

	switch (pkarr_cache_get(pp->pcache, pk, now_s(), &held)) {
	case PKARR_CACHE_STALE:
		*out = *held;
		lookup_join(pp, pk, NULL); /* refresh in the background */
		return PKDNS_PKARR_FOUND;
	case PKARR_CACHE_FRESH:
		*out = *held;
		return PKDNS_PKARR_FOUND;
	case PKARR_CACHE_NEGATIVE:
		return PKDNS_PKARR_NONE;
	default:
		break;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return PKDNS_PKARR_FAIL;
	if (client && pp->dht) {
		/* charged to the client as a DNS query's look-up is */
		LIST_FOREACH(l, &pp->lookups, link)
			if (memcmp(l->pk, pk, 32) == 0)
				break;
		if (!l && !ratelimit_allow(pp->rl_dht, client, time_mono_ms())) {
			free(g);
			return PKDNS_PKARR_LIMITED;
		}
	}
	rc = lookup_join(pp, pk, NULL);
	l = NULL;
	if (rc == 0)
		LIST_FOREACH(l, &pp->lookups, link)
			if (memcmp(l->pk, pk, 32) == 0)
				break;
	if (rc != 0 || !l) {
		free(g);
		return PKDNS_PKARR_FAIL;
	}
	remember_recent(pp, pk);
	g->l = l;
	g->fn = fn;
	g->ctx = ctx;
	g->next = l->getters;
	l->getters = g;
	return PKDNS_PKARR_PENDING;
}

static void
putter_free(struct pk_putter *u)
{
	struct pkarr_path *pp = u->pp;

	if (u->prev)
		u->prev->next = u->next;
	else
		pp->putters = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u);
}

static void
putter_done(void *arg, const struct dht_lookup_stats *st)
{
	struct pk_putter *u = arg;
	pkdns_pkarr_put_fn fn = u->fn;
	void *ctx = u->ctx;

	putter_free(u);
	fn(ctx, st->stored);
}

int
pkdns_pkarr_put(struct pkdns *d, const struct pkarr_packet *pkt, pkdns_pkarr_put_fn fn,
    void *ctx)
{
	struct pkarr_path *pp = d->pkarr;
	struct dht_info info;
	struct dht_item item;
	struct pk_putter *u;
	int rc;

	rc = pkarr_cache_put_verified(pp->pcache, pkt, now_s());
	if (rc == PKARR_PUT_OLDER)
		return PKDNS_PKARR_OLDER;
	if (rc < 0)
		return rc == PKARR_E_NOMEM ? PKDNS_PKARR_FAIL : PKDNS_PKARR_BAD;
	/* republished for a while: the recently asked keys' ring */
	remember_recent(pp, pkt->pk);
	if (!pp->dht)
		return PKDNS_PKARR_UNREACHABLE;
	dht_get_info(pp->dht, time_mono_ms(), &info);
	if (info.nodes4 + info.nodes6 == 0)
		return PKDNS_PKARR_UNREACHABLE;
	u = calloc(1, sizeof(*u));
	if (!u)
		return PKDNS_PKARR_FAIL;
	memset(&item, 0, sizeof(item));
	item.is_mutable = true;
	memcpy(item.k, pkt->pk, 32);
	memcpy(item.sig, pkt->sig, 64);
	item.seq = (int64_t)pkt->ts_us;
	memcpy(item.v, pkt->dns, pkt->dns_len);
	item.v_len = pkt->dns_len;
	u->pp = pp;
	u->fn = fn;
	u->ctx = ctx;
	u->next = pp->putters;
	if (pp->putters)
		pp->putters->prev = u;
	pp->putters = u;
	if (dht_put(pp->dht, &item, -1, putter_done, u, time_mono_ms()) == 0) {
		putter_free(u);
		return PKDNS_PKARR_FAIL;
	}
	dht_node_kick(pp->node);
	return PKDNS_PKARR_PENDING;
}

/* ---- routing ------------------------------------------------------------- */

/* Does the (lower-case, wire) name end in this suffix, with a key label
 * just before it? @return true and the key */
static bool
key_before_suffix(const uint8_t *name, size_t len, const struct name_suffix *sx, uint8_t pk[32])
{
	const uint8_t *label;
	size_t llen, off;

	if (dns_name_label_from_end(name, len, sx->labels, &label, &llen) < 0)
		return false;
	off = (size_t)(label - name) + llen;
	return len - off == sx->len && memcmp(name + off, sx->wire, sx->len) == 0 &&
	    pkarr_z32_decode_key((const char *)label, llen, pk) == 0;
}

bool
pkdns_route_pkarr(struct pkdns *d, struct dns_query *q)
{
	struct pkarr_path *pp = d->pkarr;
	const uint8_t *label;
	size_t len;
	size_t suffix_len = 0;        /* wire bytes of the suffix, root label included */
	uint8_t pk[32];

	if (dns_name_label_from_end(q->info.qname, q->info.qname_len, 0, &label, &len) < 0)
		return false;
	if (pkarr_z32_decode_key((const char *)label, len, pk) < 0) {
		/* <key>.<tld> or <key>.<search domain>: the OS or the user
		 * added a suffix (pkdns #28, pkarr #114) */
		size_t i;
		for (i = 0; i < pp->n_suffix; i++)
			if (key_before_suffix(q->info.qname, q->info.qname_len, &pp->suffix[i], pk))
				break;
		if (i == pp->n_suffix)
			return false;
		suffix_len = pp->suffix[i].len;
	}
	d->stats.pkarr_queries++;

	struct pk_task *t = calloc(1, sizeof(*t));
	if (!t) {
		struct pkdns_req r;
		pkdns_req_init(&r, d, q, PKDNS_PATH_PKARR);
		pkdns_req_fail(&r, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL, false);
		return true;
	}
	t->pp = pp;
	memcpy(t->pk, pk, 32);
	pkdns_req_init(&t->req, d, q, PKDNS_PATH_PKARR);
	t->qname = ldns_dname_new_frm_data((uint16_t)q->info.qname_len, q->info.qname);
	t->req.chain = ldns_rr_list_new();
	if (t->qname && suffix_len) {
		/* the name under the key: the question's name cut before the
		 * suffix, then the root label */
		uint8_t wire[DNS_MAX_NAME];
		size_t keep = q->info.qname_len - suffix_len;
		memcpy(wire, q->info.qname, keep);
		wire[keep] = 0;
		t->name = ldns_dname_new_frm_data((uint16_t)(keep + 1), wire);
		t->suffix = ldns_dname_new_frm_data((uint16_t)suffix_len, q->info.qname + keep);
	} else if (t->qname) {
		t->name = ldns_rdf_clone(t->qname);
	}
	LIST_INSERT_HEAD(&pp->tasks, t, link);
	if (pkdns_req_hold(&t->req, task_expired, t) < 0) {
		task_free(t);
		return true;
	}
	if (!t->qname || !t->name || !t->req.chain || (suffix_len && !t->suffix)) {
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_INTERNAL);
		return true;
	}
	task_step(t);
	return true;
}

/* ---- republishing ------------------------------------------------------- */

struct republish_walk {
	struct pkarr_path *pp;
	unsigned started;
};

static bool
should_republish(struct pkarr_path *pp, const uint8_t pk[32])
{
	for (size_t i = 0; i < pp->n_recent; i++)
		if (memcmp(pp->recent[i], pk, 32) == 0)
			return true;
	for (size_t i = 0; i < pp->d->conf.n_republish; i++) {
		uint8_t k[32];
		const char *s = pp->d->conf.republish[i];
		if (pkarr_z32_decode_key(s, strlen(s), k) == 0 && memcmp(k, pk, 32) == 0)
			return true;
	}
	return false;
}

static void
republish_done(void *arg, const struct dht_lookup_stats *st)
{
	(void)arg;
	log_debug("republished to %u nodes (%u errors)", st->stored, st->put_errors);
}

static int
republish_one(void *arg, const struct pkarr_packet *pkt, uint64_t stored_s)
{
	struct republish_walk *w = arg;
	struct dht_item item;
	(void)stored_s;

	if (!should_republish(w->pp, pkt->pk))
		return 0;
	memset(&item, 0, sizeof(item));
	item.is_mutable = true;
	memcpy(item.k, pkt->pk, 32);
	memcpy(item.sig, pkt->sig, 64);
	item.seq = (int64_t)pkt->ts_us;
	memcpy(item.v, pkt->dns, pkt->dns_len);
	item.v_len = pkt->dns_len;
	if (dht_put(w->pp->dht, &item, -1, republish_done, NULL, time_mono_ms()))
		w->started++;
	return 0;
}

static void
on_republish(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_path *pp = arg;
	struct republish_walk w = { pp, 0 };
	(void)fd;
	(void)what;

	if (!pp->dht)
		return;
	/* configured keys we have no packet for: fetch them first */
	for (size_t i = 0; i < pp->d->conf.n_republish; i++) {
		uint8_t k[32];
		const struct pkarr_packet *pkt;
		const char *s = pp->d->conf.republish[i];
		if (pkarr_z32_decode_key(s, strlen(s), k) == 0 &&
		    pkarr_cache_get(pp->pcache, k, now_s(), &pkt) != PKARR_CACHE_FRESH &&
		    pkarr_cache_get(pp->pcache, k, now_s(), &pkt) != PKARR_CACHE_STALE)
			lookup_join(pp, k, NULL);
	}
	pkarr_cache_foreach(pp->pcache, republish_one, &w);
	if (w.started)
		dht_node_kick(pp->node);
	log_info("republishing %u packets", w.started);
}

/* ---- DHT node: bootstrap, routing table persistence --------------------- */

static void
nodes_path(const struct pkarr_path *pp, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", pp->d->conf.cache_dir, NODES_FILE);
}

static void
save_nodes(struct pkarr_path *pp)
{
	char path[4096], tmp[4200];
	uint8_t *buf;
	size_t cap;
	int n, fd;

	if (!pp->dht || !pp->d->conf.cache_dir)
		return;
	/* while no node answers, the table holds only nodes that failed:
	 * keep the file of the last time the DHT was reachable */
	{
		struct dht_info info;
		dht_get_info(pp->dht, dht_node_now(pp->node), &info);
		if (info.health == DHT_HEALTH_DOWN)
			return;
	}
	cap = dht_save_nodes_size(pp->dht);
	buf = malloc(cap);
	if (!buf)
		return;
	n = dht_save_nodes(pp->dht, buf, cap);
	nodes_path(pp, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* O_NONBLOCK: a FIFO planted there must not hang the daemon */
	fd = n > 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
			 0600)
		   : -1;
	if (n > 0 && fd < 0)
		log_warn("cannot save the routing table to %s: %s", tmp, strerror(errno));
	if (fd >= 0) {
		bool ok = write(fd, buf, (size_t)n) == n;
		ok = (fsync(fd) == 0) && ok;
		close(fd);
		if (ok && rename(tmp, path) == 0)
			log_debug("saved the routing table to %s", path);
		else
			log_warn("cannot save the routing table to %s", path);
	}
	free(buf);
}

static void
load_nodes(struct pkarr_path *pp)
{
	char path[4096];
	uint8_t *buf;
	struct stat st;
	ssize_t n;
	int fd;

	if (!pp->d->conf.cache_dir)
		return;
	nodes_path(pp, path, sizeof(path));
	/* never stops start-up: a missing or odd file is ignored (O_NONBLOCK
	 * and the regular-file check: a FIFO must not hang it) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("cannot read %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		log_warn("%s is not a regular file; ignored", path);
		close(fd);
		return;
	}
	buf = malloc(NODES_BUF);
	n = buf ? read(fd, buf, NODES_BUF) : -1;
	close(fd);
	if (n > 0) {
		int got = dht_load_nodes(pp->dht, buf, (size_t)n, time_mono_ms());
		if (got < 0)
			log_warn("%s is not a saved routing table; ignored", path);
		else
			log_info("loaded %d DHT nodes from %s", got, path);
	}
	free(buf);
}

static void
on_save(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	save_nodes(arg);
}

/* Bootstrap names go through our own ICANN path, never the OS resolver:
 * when pkdns is the system resolver, the OS would ask pkdns itself. */
static void
boot_resolved(void *arg, int rcode, const uint8_t *msg, size_t len, enum icann_sec sec,
    const char *why_bogus)
{
	struct boot_req *b = arg;
	ldns_pkt *pkt = NULL;
	size_t n = 0;
	int added = 0, fresh = 0, replaced = 0;
	const char *fam = b->qtype == LDNS_RR_TYPE_AAAA ? "IPv6" : "IPv4";
	(void)sec;
	(void)why_bogus;

	b->req = NULL;
	if (rcode == 0 && msg && ldns_wire2pkt(&pkt, msg, len) == LDNS_STATUS_OK) {
		struct sockaddr_storage addrs[16];
		n = rr_addrs(ldns_pkt_answer(pkt), b->port, addrs, 16);
		for (size_t i = 0; i < n; i++) {
			int r = dht_add_bootstrap(b->pp->dht, (struct sockaddr *)&addrs[i],
			    addrs[i].ss_family == AF_INET ? sizeof(struct sockaddr_in)
							  : sizeof(struct sockaddr_in6));
			if (r < 0)
				continue;
			added++;
			fresh += r != DHT_BOOT_KNOWN;
			replaced += r == DHT_BOOT_REPLACED;
		}
		ldns_pkt_free(pkt);
	}
	if (replaced)
		log_info("bootstrap %s: the list of bootstrap addresses is full: %d new %s "
			 "addresses took the places of those unused longest", b->host, replaced, fam);
	/* retries ask again every few seconds while offline: say only what
	 * changed */
	if (added == b->last_added && !fresh)
		return;
	if (added)
		log_info("bootstrap %s: %d %s addresses", b->host, added, fam);
	else if (n > 0 && b->qtype == LDNS_RR_TYPE_AAAA)
		log_debug("bootstrap %s: %zu IPv6 addresses, none can be sent to", b->host, n);
	else if (n > 0)
		log_info("bootstrap %s: %zu %s addresses, none can be sent to now; will retry",
		    b->host, n, fam);
	else if (b->qtype == LDNS_RR_TYPE_AAAA)
		log_debug("bootstrap %s: no IPv6 address (rcode %d)", b->host, rcode);
	else
		log_warn("bootstrap %s: cannot resolve it (rcode %d); will retry", b->host, rcode);
	b->last_added = added;
}

/* Ask for a bootstrap name's addresses (again); one question in flight. */
static void
boot_ask(struct boot_req *b)
{
	if (b->req)
		return;
	b->req = icann_resolve(b->pp->d->icann, b->host, b->qtype, LDNS_RR_CLASS_IN,
	    boot_resolved, b);
}

static void
resolve_bootstrap(struct pkarr_path *pp, const char *host, size_t hostlen, uint16_t port,
    uint16_t qtype)
{
	struct boot_req *b;

	if (pp->n_boot >= sizeof(pp->boot) / sizeof(pp->boot[0]))
		return;
	b = calloc(1, sizeof(*b));
	if (!b)
		return;
	b->pp = pp;
	b->port = port;
	b->qtype = qtype;
	b->last_added = -1;
	memcpy(b->host, host, hostlen);
	pp->boot[pp->n_boot++] = b;
	boot_ask(b);
}

/* Bootstrap again: revive the nodes that stopped answering, ask the
 * bootstrap addresses, resolve the names again. */
static void
boot_retry(struct pkarr_path *pp)
{
	dht_rebootstrap(pp->dht, dht_node_now(pp->node));
	for (size_t i = 0; i < pp->n_boot; i++)
		boot_ask(pp->boot[i]);
	dht_node_kick(pp->node);
}

/* Once a second: notice the DHT going down and the clock jumping, and
 * run the retries that are due. Started before the network (or resumed
 * in another one), pkdns bootstraps again by itself. */
static void
on_boot_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_path *pp = arg;
	uint64_t now = time_mono_ms(), cap;
	int64_t skew = (int64_t)(time_wall_us() / 1000u) - (int64_t)now;
	struct dht_info info;
	bool soon = false;
	(void)fd;
	(void)what;

	if (pp->boot_skew_ms && llabs(skew - pp->boot_skew_ms) >= BOOT_CLOCK_JUMP_MS) {
		log_info("the clock jumped by %lld s (suspend/resume?): bootstrapping the DHT again",
		    (long long)((skew - pp->boot_skew_ms) / 1000));
		soon = true;
	}
	pp->boot_skew_ms = skew;
	dht_get_info(pp->dht, dht_node_now(pp->node), &info);
	if (info.health_changes != pp->boot_health_changes) {
		pp->boot_health_changes = info.health_changes;
		if (info.health == DHT_HEALTH_DOWN)
			soon = true;
	}
	if (soon) {
		pp->boot_backoff_ms = BOOT_RETRY_MIN_MS;
		pp->boot_next_ms = now;
	}
	if (now < pp->boot_next_ms)
		return;
	boot_retry(pp);
	if (info.good4 + info.good6 >= BOOT_GOOD_NODES) {
		pp->boot_backoff_ms = BOOT_RETRY_MIN_MS;
		pp->boot_next_ms = now + BOOT_REFRESH_MS;
		return;
	}
	cap = info.health == DHT_HEALTH_UP ? BOOT_RETRY_MAX_MS : BOOT_RETRY_DOWN_MAX_MS;
	pp->boot_next_ms = now + pp->boot_backoff_ms;
	pp->boot_backoff_ms = pp->boot_backoff_ms * 2 > cap ? cap : pp->boot_backoff_ms * 2;
}

static void
add_bootstrap(struct pkarr_path *pp, const char *spec)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const char *colon = strrchr(spec, ':');
	struct boot_req probe;

	if (netaddr_parse(spec, DHT_DEFAULT_PORT, &ss, &sl) == 0) {
		dht_add_bootstrap(pp->dht, (struct sockaddr *)&ss, sl);
		return;
	}
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(probe.host)) {
		log_warn("bootstrap '%s' is not HOST:PORT; ignored", spec);
		return;
	}
	/* names through our own ICANN path, never the OS resolver */
	resolve_bootstrap(pp, spec, (size_t)(colon - spec), (uint16_t)atoi(colon + 1),
	    LDNS_RR_TYPE_A);
	if (dht_node_dual_stack(pp->node))
		resolve_bootstrap(pp, spec, (size_t)(colon - spec), (uint16_t)atoi(colon + 1),
		    LDNS_RR_TYPE_AAAA);
}

static int
start_dht(struct pkarr_path *pp)
{
	struct pkdns *d = pp->d;
	struct dht_config dc;
	struct sockaddr_in sin;

	if (d->conf.dht_mode == DHT_MODE_OFF_CONF)
		return 0;
	if (d->conf.testnet) {
		struct dht_testnet_emu emu = {
			.rtt_ms = d->conf.testnet_rtt,
			.loss_pct = d->conf.testnet_loss,
			.dead_pct = d->conf.testnet_dead,
			.seed = d->conf.testnet_seed,
		};
		bool emulated = emu.rtt_ms || emu.loss_pct || emu.dead_pct;

		/* no seed given: one from the clock, logged so that the run
		 * can be repeated */
		if (emulated && emu.seed == 0)
			emu.seed = (uint32_t)(time_mono_ms() ^ (uint64_t)getpid() << 16) | 1u;
		pp->testnet = dht_testnet_new_emulated(d->base, (int)d->conf.testnet,
		    d->conf.testnet_port, emulated ? &emu : NULL);
		if (emulated && pp->testnet)
			log_info("testnet: rtt %u ms (median), loss %u %%, dead %u %%, seed %u",
			    emu.rtt_ms, emu.loss_pct, emu.dead_pct, (unsigned)emu.seed);
		if (!pp->testnet) {
			log_err("cannot start a testnet of %u nodes on 127.0.0.1:%u", d->conf.testnet,
			    d->conf.testnet_port);
			return -1;
		}
		log_info("testnet: %u DHT nodes on 127.0.0.1:%u-%u", d->conf.testnet,
		    d->conf.testnet_port, d->conf.testnet_port + d->conf.testnet - 1);
	}
	memset(&dc, 0, sizeof(dc));
	switch (d->conf.dht_mode) {
	case DHT_MODE_CLIENT_CONF: dc.mode = DHT_MODE_CLIENT; break;
	case DHT_MODE_SERVER_CONF: dc.mode = DHT_MODE_SERVER; break;
	default: dc.mode = DHT_MODE_ADAPTIVE; break;
	}
	dc.loopback_testnet = d->conf.testnet > 0;
	/* Both DHTs on one socket, [::] with IPv4-mapped addresses (BEP 32);
	 * IPv4 alone where the host has no IPv6, and for testnets. */
	/* issue 14: dht-listen binds one address (port: its own, else dht-port) */
	if (d->conf.n_dht_listen > 0) {
		struct sockaddr_storage ss = d->conf.dht_listen[0].ss;
		char name[80];
		if (ss.ss_family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port == 0)
			((struct sockaddr_in *)&ss)->sin_port = htons(d->conf.dht_port);
		if (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port == 0)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(d->conf.dht_port);
		pp->node = dht_node_new(d->base, (struct sockaddr *)&ss, d->conf.dht_listen[0].len,
		    &dc);
		if (!pp->node) {
			log_err("dht-listen %s: cannot start the DHT node there",
			    netaddr_str((struct sockaddr *)&ss, name, sizeof(name)));
			return -1;
		}
		if (d->conf.n_dht_listen > 1)
			log_warn("dht-listen: only the first address is used");
	}
	if (!pp->node && !d->conf.testnet) {
		struct sockaddr_in6 sin6;
		int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			memset(&sin6, 0, sizeof(sin6));
			sin6.sin6_family = AF_INET6;
			sin6.sin6_port = htons(d->conf.dht_port);
			sin6.sin6_addr = in6addr_any;
			pp->node = dht_node_new(d->base, (struct sockaddr *)&sin6, sizeof(sin6), &dc);
		}
		if (pp->node && !dht_node_dual_stack(pp->node)) {
			dht_node_free(pp->node);
			pp->node = NULL;
		}
	}
	if (!pp->node) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(d->conf.dht_port);
		sin.sin_addr.s_addr = htonl(d->conf.testnet ? INADDR_LOOPBACK : INADDR_ANY);
		pp->node = dht_node_new(d->base, (struct sockaddr *)&sin, sizeof(sin), &dc);
	}
	if (!pp->node) {
		log_err("cannot start the DHT node on UDP port %u", d->conf.dht_port);
		return -1;
	}
	log_info("DHT node on UDP port %u (%s)", dht_node_port(pp->node),
	    dht_node_dual_stack(pp->node) ? "IPv4 and IPv6" : "IPv4");
	pp->dht = dht_node_dht(pp->node);
	load_nodes(pp);
	if (d->conf.testnet) {
		char spec[32];
		snprintf(spec, sizeof(spec), "127.0.0.1:%u", d->conf.testnet_port);
		add_bootstrap(pp, spec);
	}
	for (size_t i = 0; i < d->conf.n_bootstrap; i++)
		add_bootstrap(pp, d->conf.bootstrap[i]);
	pp->boot_backoff_ms = BOOT_RETRY_MIN_MS;
	pp->boot_next_ms = time_mono_ms() + BOOT_RETRY_MIN_MS;
	{
		struct timeval tv = { BOOT_TICK_MS / 1000, 0 };
		pp->ev_boot = event_new(d->base, -1, EV_PERSIST, on_boot_tick, pp);
		if (!pp->ev_boot || event_add(pp->ev_boot, &tv) < 0) {
			log_err("cannot start the bootstrap timer");
			return -1;
		}
	}
	if (d->conf.cache_dir) {
		struct timeval tv = { NODES_SAVE_S, 0 };
		pp->ev_save = event_new(d->base, -1, EV_PERSIST, on_save, pp);
		if (pp->ev_save)
			event_add(pp->ev_save, &tv);
	}
	if (d->conf.republish_interval) {
		struct timeval tv = { (time_t)d->conf.republish_interval, 0 };
		pp->ev_republish = event_new(d->base, -1, EV_PERSIST, on_republish, pp);
		if (pp->ev_republish)
			event_add(pp->ev_republish, &tv);
	}
	return 0;
}

/* Packets loaded from --cache-dir are verified on first use; this checks
 * the rest in small steps while the loop is idle, so that no later walk
 * (republishing) stalls the loop verifying thousands at once. */
static void
on_verify(evutil_socket_t fd, short what, void *arg)
{
	struct pkarr_path *pp = arg;
	struct timeval tv = { 0, VERIFY_STEP_US };
	(void)fd;
	(void)what;

	if (pkarr_cache_verify_some(pp->pcache, VERIFY_BATCH) > 0)
		evtimer_add(pp->ev_verify, &tv);
	else
		log_debug("every cached packet verified");
}

static int
add_suffix_name(struct pkarr_path *pp, const char *text)
{
	ldns_rdf *r = NULL;
	struct name_suffix *sx;

	if (pp->n_suffix >= MAX_SUFFIX ||
	    ldns_str2rdf_dname(&r, text) != LDNS_STATUS_OK || ldns_rdf_size(r) <= 1 ||
	    ldns_rdf_size(r) > DNS_MAX_NAME - KEY_LABEL_ROOM) {
		log_err("'%s' cannot follow a key (tld, search-domain)", text);
		ldns_rdf_deep_free(r);
		return -1;
	}
	sx = &pp->suffix[pp->n_suffix++];
	sx->len = ldns_rdf_size(r);
	for (size_t i = 0; i < sx->len; i++)
		sx->wire[i] = dns_lower(ldns_rdf_data(r)[i]);
	sx->labels = dns_name_labels(sx->wire, sx->len);
	ldns_rdf_deep_free(r);
	return 0;
}

/* The cache's file is (again) in use: log it and verify what it read. */
static int
cache_opened(struct pkarr_path *pp)
{
	struct timeval tv = { 0, VERIFY_STEP_US };

	log_info("packet cache: %zu packets from %s", pkarr_cache_count(pp->pcache),
	    pp->d->conf.cache_dir);
	return evtimer_add(pp->ev_verify, &tv);
}

static void
on_reopen(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pkdns_pkarr_reopen_cache(((struct pkarr_path *)arg)->d);
}

void
pkdns_pkarr_reopen_cache(struct pkdns *d)
{
	struct pkarr_path *pp = d->pkarr;

	if (!pp || !pp->pcache || !d->conf.cache_dir || pkarr_cache_has_disk(pp->pcache))
		return;
	if (pkarr_cache_open_disk(pp->pcache) == 0)
		(void)cache_opened(pp);
}

/* The settings the pkarr path copies: the TTL clamp of answers and of
 * packet freshness, and the TTL of negative answers (the SOA's). */
static void
params_from_conf(struct pkarr_path *pp, const struct conf *c)
{
	pp->params.min_ttl = c->min_ttl;
	pp->params.max_ttl = c->max_ttl;
	/* at least 1 s: a negative entry of 0 s is gone before it is read */
	pp->neg_ttl = c->min_ttl < NEG_TTL_MAX ? c->min_ttl : NEG_TTL_MAX;
	if (pp->neg_ttl < 1)
		pp->neg_ttl = 1;
}

void
pkdns_pkarr_reconfigure(struct pkdns *d, const struct conf *c)
{
	struct pkarr_path *pp = d->pkarr;

	if (pp == NULL)
		return;
	params_from_conf(pp, c);
	pkarr_cache_reconfigure(pp->pcache, &pp->params);
	ratelimit_set(pp->rl_dht, c->dht_ratelimit, c->dht_ratelimit_burst);
}

int
pkdns_pkarr_init(struct pkdns *d)
{
	struct pkarr_path *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return -1;
	d->pkarr = pp;
	pp->d = d;
	if (d->conf.tld && add_suffix_name(pp, d->conf.tld) < 0)
		return -1;
	for (size_t i = 0; i < d->conf.n_search_domain; i++)
		if (add_suffix_name(pp, d->conf.search_domain[i]) < 0)
			return -1;
	params_from_conf(pp, &d->conf);
	/* An unusable --cache-dir leaves the cache memory only (the cache
	 * logs why, once) and never stops the resolver; it is retried every
	 * cache-dir-retry seconds and on SIGHUP. */
	pp->pcache = pkarr_cache_new((size_t)d->conf.packet_cache_size, d->conf.cache_dir,
	    &pp->params);
	if (!pp->pcache) {
		log_err("cannot create the packet cache: out of memory");
		return -1;
	}
	pp->rl_dht = ratelimit_new(d->conf.dht_ratelimit, d->conf.dht_ratelimit_burst,
	    PKDNS_RATELIMIT_SLOTS);
	if (!pp->rl_dht)
		return -1;
	if (d->conf.n_relay) { /* RELAY */
		pp->relays = relay_client_new(d->base, (const char *const *)d->conf.relay,
		    d->conf.n_relay, d->conf.relay_ca, 0);
		if (!pp->relays)
			return -1;
	}
	if (d->conf.cache_dir) {
		struct timeval tv = { (time_t)d->conf.cache_dir_retry, 0 };
		pp->ev_verify = evtimer_new(d->base, on_verify, pp);
		pp->ev_reopen = event_new(d->base, -1, EV_PERSIST, on_reopen, pp);
		if (!pp->ev_verify || !pp->ev_reopen)
			return -1;
		if (d->conf.cache_dir_retry > 0 && event_add(pp->ev_reopen, &tv) < 0)
			return -1;
		if (pkarr_cache_has_disk(pp->pcache) && cache_opened(pp) < 0)
			return -1;
	}
	return start_dht(pp);
}

void
pkdns_pkarr_free(struct pkdns *d)
{
	struct pkarr_path *pp = d->pkarr;

	if (!pp)
		return;
	save_nodes(pp);
	/* the DHT node first: no look-up callback after this */
	dht_node_free(pp->node);
	pp->node = NULL;
	pp->dht = NULL;
	dht_testnet_free(pp->testnet);
	while (!LIST_EMPTY(&pp->lookups))
		lookup_free(LIST_FIRST(&pp->lookups));
	while (pp->putters) /* RELAY: the DHT is gone, no callback */
		putter_free(pp->putters);
	relay_client_free(pp->relays);
	while (!LIST_EMPTY(&pp->tasks)) {
		struct pk_task *t = LIST_FIRST(&pp->tasks);
		t->lookup = NULL; /* freed above */
		pkdns_req_drop(&t->req);
		task_free(t); /* cancels its libunbound query */
	}
	for (size_t i = 0; i < MAX_DELEG; i++)
		deleg_free(pp->delegs[i]);
	on_retire(-1, 0, pp);
	if (pp->ev_retire)
		event_free(pp->ev_retire);
	/* their contexts go with d->icann, freed next without callbacks */
	while (!LIST_EMPTY(&pp->charged))
		pk_icann_free(LIST_FIRST(&pp->charged));
	for (size_t i = 0; i < pp->n_boot; i++) {
		if (pp->boot[i]->req)
			icann_cancel(d->icann, pp->boot[i]->req);
		free(pp->boot[i]);
	}
	if (pp->ev_boot)
		event_free(pp->ev_boot);
	if (pp->ev_republish)
		event_free(pp->ev_republish);
	if (pp->ev_save)
		event_free(pp->ev_save);
	if (pp->ev_verify)
		event_free(pp->ev_verify);
	if (pp->ev_reopen)
		event_free(pp->ev_reopen);
	ratelimit_free(pp->rl_dht);
	pkarr_cache_free(pp->pcache);
	free(pp);
	d->pkarr = NULL;
}

/* Keep the stats line's view of the DHT current. */
void
pkdns_pkarr_stats(struct pkdns *d, size_t *packets, size_t *nodes, size_t *nodes6)
{
	struct dht_info info;

	*packets = d->pkarr && d->pkarr->pcache ? pkarr_cache_count(d->pkarr->pcache) : 0;
	*nodes = *nodes6 = 0;
	if (d->pkarr && d->pkarr->dht) {
		dht_get_info(d->pkarr->dht, time_mono_ms(), &info);
		*nodes = info.nodes4 + info.nodes6;
		*nodes6 = info.nodes6;
	}
}

/* ---- issue 14: what the control channel and the metrics read --------- */

struct dht *
pkdns_pkarr_dht(struct pkdns *d)
{
	return d->pkarr ? d->pkarr->dht : NULL;
}

struct dht_node *
pkdns_pkarr_node(struct pkdns *d)
{
	return d->pkarr ? d->pkarr->node : NULL;
}

struct pkarr_cache *
pkdns_pkarr_cache(struct pkdns *d)
{
	return d->pkarr ? d->pkarr->pcache : NULL;
}
