/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pkarr_path.c -- names under public-key TLDs: answers built from a key's
 * packet, CNAME chains into other keys and into ICANN names, NS
 * delegations. The packets come from the resolver (pkarr/resolver.h),
 * whose client this is: it never sees the cache, the DHT or the relays.
 *
 * A question becomes a task. A task asks the resolver for its key's
 * packet: a cached one answers at once, a miss answers later through
 * task_got (one look-up per key however many tasks wait). A task whose
 * CNAME chain leaves the packet continues under the new key, or through
 * libunbound.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "pkarr"
#include "cache/cache.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "dns/server.h"
#include "icann/icann.h"
#include "pkarr/answer.h"
#include "pkarr/packet.h"
#include "pkarr/resolver.h"
#include "pkarr/zbase32.h"
#include "util/log.h"
#include "util/time.h"

#define MAX_CHASE 8              /* hops out of a packet (keys, ICANN) */
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
#define DNS_PORT 53              /* glue addresses carry no port */
/* queries one delegation's libunbound context may have in flight */
#define DELEG_MAX_INFLIGHT 256
/* room left in a name for a key label after a suffix (tld,
 * search-domain): the 52-character label and its length byte, and the
 * root label */
#define KEY_LABEL_ROOM (1 + PKARR_Z32_KEY_LEN + 1)

/* A zone that a packet delegates with NS records, and a libunbound stub
 * resolver that asks its name servers (the glue addresses). */
struct deleg {
	char zone[LDNS_MAX_DOMAINLEN + 2];
	struct sockaddr_storage addrs[MAX_DELEG_NS];
	size_t n_addrs;
	struct icann *ic;
	unsigned busy;                /* tasks waiting on it */
	bool failing;                 /* its last answer failed, or a client left it
				       * unanswered at the deadline */
	uint64_t last_used;
	struct deleg *rnext;          /* retired, to be freed */
};

/* A task's query on the ICANN path (d->w.icann), charged to the asking
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
	struct pkarr_get *get;        /* waiting on the resolver */
	struct icann_req *icann;      /* or on a delegation's libunbound */
	struct pk_icann *charged;     /* or on the ICANN path's */
	struct icann *icann_ctx;      /* ...of this context (ICANN or delegation) */
	struct deleg *deleg;          /* the delegation asked, if any */
	char *zone;                   /* its zone, text */
	LIST_ENTRY(pk_task) link;     /* every task */
};

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
	struct pkarr_resolver *r;     /* the packets */
	struct pkarr_answer_params params;
	LIST_HEAD(, pk_task) tasks;
	struct deleg *delegs[MAX_DELEG];
	struct deleg *retired;        /* replaced, freed from ev_retire */
	struct event *ev_retire;
	LIST_HEAD(, pk_icann) charged; /* every pk_icann */
	uint32_t neg_ttl;
};

static void task_step(struct pk_task *t);
static void task_fail(struct pk_task *t, int rcode, enum pkdns_fail why);
static void task_ns_key_got(void *ctx, const struct pkarr_resolver_result *res);
static int task_get(struct pk_task *t, const uint8_t pk[32], pkarr_resolver_get_fn fn,
    struct pkarr_view *view, bool *stale);

/* ---- tasks ----------------------------------------------------------- */

/* Let go of whatever t waits on (a look-up, a libunbound query, a
 * delegation's resolver): a late answer then finds nothing. */
static void
task_detach(struct pk_task *t)
{
	if (t->get) {
		pkarr_resolver_cancel(t->pp->r, t->get);
		t->get = NULL;
	}
	if (t->icann != NULL)
		icann_cancel(t->icann_ctx, t->icann);
	t->icann = NULL;
	if (t->charged) {
		t->charged->t = NULL;
		t->charged = NULL;
	}
	if (t->deleg) {
		/* left before its name servers answered (the deadline) */
		t->deleg->failing = true;
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
		t->deleg->failing = rcode != 0 || msg == NULL ||
		    dns_msg_rcode(msg, len) == DNS_RCODE_SERVFAIL;
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

	if (icann_full(pp->d->w.icann) || !(c = calloc(1, sizeof(*c))) ||
	    !(c->owner = pkdns_icann_charge(pp->d, &t->req.q->client))) {
		pp->d->w.icann_capped++;
		free(c);
		return -1;
	}
	pp->d->w.stats.icann_queries++;
	t->req.used_icann = true;
	c->pp = pp;
	c->t = t;
	c->cb = cb;
	LIST_INSERT_HEAD(&pp->charged, c, link);
	t->charged = c;
	r = icann_resolve(pp->d->w.icann, name, qtype, qclass, pk_icann_done, c);
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
		pp->ev_retire = evtimer_new(pp->d->w.base, on_retire, pp);
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
			 * had their answer from the deadline), or failing with
			 * nobody waiting: a fresh one, rather than SERVFAIL
			 * until libunbound ends those queries or stops taking
			 * its name servers for down (its infra cache) */
			if (g->busy == 0 && (g->failing || icann_full(g->ic))) {
				log_debug("%s: its resolver is %s; replaced", g->zone,
				    g->failing ? "failing" : "full of abandoned queries");
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
	g->ic = icann_new(pp->d->w.base, &cfg);
	if (!g->ic) {
		free(g);
		return NULL;
	}
	g->last_used = now;
	*slot = g;
	return g;
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
		n = pkarr_rr_addrs(ldns_pkt_answer(pkt), DNS_PORT, addrs, MAX_DELEG_NS);
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

/* Addresses of a name server named under a key, from that key's packet
 * in the cache: how many (0: the key has none or no packet), or -1 when
 * the packet is not cached and must be looked up first. */
static int
key_ns_addrs(struct pkarr_path *pp, const ldns_rdf *target, const uint8_t pk[32],
    struct sockaddr_storage *addrs, size_t max)
{
	static const ldns_rr_type types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	struct pkarr_view v; /* valid until the next call into the resolver */
	size_t n = 0;

	switch (pkarr_resolver_cached_view(pp->r, pk, &v)) {
	case PKARR_RESOLVER_FOUND:
		break;
	case PKARR_RESOLVER_NONE:
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
			n += pkarr_rr_addrs(an, DNS_PORT, addrs + n, max - n);
		ldns_rdf_deep_free(cname);
		ldns_rr_list_deep_free(an);
		ldns_rr_list_deep_free(au);
	}
	return (int)n;
}

/* NS records in a packet delegate the name: ask the name servers for the
 * question's name, at the addresses the packet gives as glue, or else at
 * the addresses of the first name server named outside any key (looked
 * up through the ICANN path).
 * @return 0 (t continues asynchronously), 1 (t was answered: over the
 *         client's rate, no DHT), or -1 */
static int
task_delegate(struct pk_task *t, ldns_rr_list *ns, ldns_rr_list *glue)
{
	struct sockaddr_storage addrs[MAX_DELEG_NS];
	size_t n = pkarr_rr_addrs(glue, DNS_PORT, addrs, MAX_DELEG_NS);
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
		struct pkarr_view unused;
		bool stale;
		/* just missed in the cache: a look-up (or a failure) */
		int rc = task_get(t, key_pk, task_ns_key_got, &unused, &stale);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return 1; /* t was answered */
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

/* ---- the key's packet, from the resolver ------------------------------- */

/* The resolver's answer for t's key (t->pk). */
static void
task_got(void *ctx, const struct pkarr_resolver_result *res)
{
	struct pk_task *t = ctx;

	t->get = NULL;
	switch (res->rc) {
	case PKARR_RESOLVER_FOUND:
		if (res->stale)
			pkdns_reply_stale(t->req.q);
		task_answer(t, res->view); /* no view: SERVFAIL (pkarr_answer_view of NULL) */
		break;
	case PKARR_RESOLVER_NONE:
		task_no_packet(t);
		break;
	case PKARR_RESOLVER_REFUSED: /* only packets dated ahead: our clock? */
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_FUTURE_PACKET);
		break;
	default: /* nobody answered */
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_DHT_UNREACHABLE);
		break;
	}
}

/* A name server's key that t waited for has its answer (see
 * task_delegate): t goes on with its own key, finding that packet
 * cached now (once: a key with no packet is cached as negative). */
static void
task_ns_key_got(void *ctx, const struct pkarr_resolver_result *res)
{
	struct pk_task *t = ctx;
	(void)res;

	t->get = NULL;
	task_step(t);
}

/* Ask the resolver for pk's packet for t, answered by fn later, or fail t.
 * @return 0 when waiting, 1 with the packet's view (valid until the next
 *         call into the resolver; stale set), 2 with no packet, -1 when t
 *         was failed (and freed) */
static int
task_get(struct pk_task *t, const uint8_t pk[32], pkarr_resolver_get_fn fn,
    struct pkarr_view *view, bool *stale)
{
	struct pkarr_path *pp = t->pp;
	int rc = pkarr_resolver_get_view(pp->r, pk, (const struct sockaddr *)&t->req.q->client, fn,
	    t, view, stale, &t->get);

	/* issue 14: metrics, a hit is a packet or a negative entry (the
	 * question's own key; not a name server's) */
	if (memcmp(pk, t->pk, 32) == 0)
		pkdns_ops_packet_cache(pp->d,
		    rc == PKARR_RESOLVER_FOUND || rc == PKARR_RESOLVER_NONE);
	switch (rc) {
	case PKARR_RESOLVER_FOUND:
		return 1;
	case PKARR_RESOLVER_NONE:
		return 2;
	case PKARR_RESOLVER_PENDING:
		return 0;
	case PKARR_RESOLVER_LIMITED:
		pp->d->w.stats.ratelimited++;
		task_fail(t, DNS_RCODE_REFUSED, PKDNS_FAIL_RATELIMIT);
		return -1;
	case PKARR_RESOLVER_UNREACHABLE:
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_DHT_UNREACHABLE);
		return -1;
	default:
		task_fail(t, DNS_RCODE_SERVFAIL, PKDNS_FAIL_BUDGET);
		return -1;
	}
}

static void
task_step(struct pk_task *t)
{
	struct pkarr_view v;
	bool stale = false;

	switch (task_get(t, t->pk, task_got, &v, &stale)) {
	case 1:
		if (stale)
			pkdns_reply_stale(t->req.q);
		task_answer(t, &v);
		break;
	case 2:
		task_no_packet(t);
		break;
	default: /* waiting, or failed */
		break;
	}
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
	struct pkarr_path *pp = d->w.pkarr;
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
	d->w.stats.pkarr_queries++;

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

/* The settings the pkarr path copies: the TTL clamp of answers and of
 * packet freshness, and the TTL of negative answers (the SOA's). */
static void
params_from_conf(struct pkarr_path *pp, const struct conf *c)
{
	pp->params.min_ttl = c->min_ttl;
	pp->params.max_ttl = c->max_ttl;
	pp->neg_ttl = pkarr_neg_ttl(c->min_ttl); /* as the resolver's entry */
}

void
pkdns_pkarr_reconfigure(struct pkdns *d, const struct conf *c)
{
	if (d->w.pkarr)
		params_from_conf(d->w.pkarr, c);
}

int
pkdns_pkarr_init(struct pkdns *d, struct pkarr_resolver *r)
{
	struct pkarr_path *pp = calloc(1, sizeof(*pp));

	if (!pp)
		return -1;
	d->w.pkarr = pp;
	pp->d = d;
	pp->r = r;
	LIST_INIT(&pp->tasks);
	LIST_INIT(&pp->charged);
	if (d->conf.tld && add_suffix_name(pp, d->conf.tld) < 0)
		return -1;
	for (size_t i = 0; i < d->conf.n_search_domain; i++)
		if (add_suffix_name(pp, d->conf.search_domain[i]) < 0)
			return -1;
	params_from_conf(pp, &d->conf);
	return 0;
}

void
pkdns_pkarr_free(struct pkdns *d)
{
	struct pkarr_path *pp = d->w.pkarr;

	if (!pp)
		return;
	while (!LIST_EMPTY(&pp->tasks)) {
		struct pk_task *t = LIST_FIRST(&pp->tasks);
		pkdns_req_drop(&t->req);
		task_free(t); /* cancels its get and its libunbound query */
	}
	for (size_t i = 0; i < MAX_DELEG; i++)
		deleg_free(pp->delegs[i]);
	on_retire(-1, 0, pp);
	if (pp->ev_retire)
		event_free(pp->ev_retire);
	/* their contexts go with d->w.icann, freed next without callbacks */
	while (!LIST_EMPTY(&pp->charged))
		pk_icann_free(LIST_FIRST(&pp->charged));
	free(pp);
	d->w.pkarr = NULL;
}
