/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control.c -- the control socket (pkdns-control; protocol in
 * control/ctl.h). Everything is non-blocking on the daemon's loop: a
 * client has PKDNS_CONTROL_TIMEOUT_S to send one line of at most
 * CTL_MAX_LINE bytes and as long again to read each part of the answer,
 * then it is cut off; at most PKDNS_CONTROL_MAX_CLIENTS at once. Who may
 * connect is the socket file's business (mode 0660, control-group).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <ldns/ldns.h>

#define LOG_MODULE "control"
#include "cache/cache.h"
#include "control/ctl.h"
#include "daemon/control.h"
#include "daemon/internal.h"
#include "daemon/ops.h"
#include "dht/bencode.h"
#include "dht/dht.h"
#include "pkarr/packet.h"
#include "pkarr/resolver.h"
#include "pkarr/zbase32.h"
#include "pkarr/zone.h"
#include "util/log.h"
#include "util/time.h"

struct ctl_client {
	struct pkdns_control *c;
	struct bufferevent *bev;
	struct ctl_client *prev, *next;
};

struct pkdns_control {
	struct pkdns *d;
	int fd;
	char *path;
	struct event *ev;
	struct ctl_client *clients;
	unsigned n_clients;
	uint64_t refused;
};

/* What "flush NAME" drops when no type is given (unbound's list, and the
 * types pkarr packets carry). */
static const uint16_t flush_types[] = {
	LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_NS, LDNS_RR_TYPE_SOA,
	LDNS_RR_TYPE_CNAME, LDNS_RR_TYPE_DNAME, LDNS_RR_TYPE_MX, LDNS_RR_TYPE_PTR,
	LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_NAPTR, LDNS_RR_TYPE_TXT, LDNS_RR_TYPE_HTTPS,
	LDNS_RR_TYPE_SVCB, LDNS_RR_TYPE_DS, LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_CAA,
};

static void
client_free(struct ctl_client *cl)
{
	struct pkdns_control *c = cl->c;

	if (cl->prev)
		cl->prev->next = cl->next;
	else
		c->clients = cl->next;
	if (cl->next)
		cl->next->prev = cl->prev;
	c->n_clients--;
	bufferevent_free(cl->bev);
	free(cl);
}

/* ---- the commands --------------------------------------------------------- */

static void
flush_name(struct pkdns *d, const uint8_t *name, size_t len, uint16_t qtype)
{
	struct cache_key key = { name, len, qtype, LDNS_RR_CLASS_IN, false };

	for (int dob = 0; dob < 2; dob++) {
		key.do_bit = dob;
		if (qtype) {
			cache_remove(d->w.cache, &key);
			continue;
		}
		for (size_t i = 0; i < sizeof(flush_types) / sizeof(flush_types[0]); i++) {
			key.qtype = flush_types[i];
			cache_remove(d->w.cache, &key);
		}
	}
}

/* Every answer under the key: <key>. and <key>.<suffix> for the tld and
 * each search domain. @return entries dropped */
static size_t
flush_key_answers(struct pkdns *d, const uint8_t pk[32])
{
	char z32[PKARR_Z32_KEY_LEN + 1], name[LDNS_MAX_DOMAINLEN + 2];
	struct ctl_request r;
	char err[8];
	size_t n = 0;

	pkarr_z32_encode(pk, z32);
	for (size_t i = 0; i <= d->conf.n_search_domain + 1; i++) {
		const char *sfx = i == 0 ? "" : i == 1 ? d->conf.tld : d->conf.search_domain[i - 2];
		if (i > 0 && !sfx)
			continue;
		snprintf(name, sizeof(name), "flush_zone %s%s%s", z32, *sfx ? "." : "", sfx);
		if (ctl_parse(name, strlen(name), false, &r, err, sizeof(err)) == 0)
			n += cache_remove_under(d->w.cache, r.name, r.name_len);
	}
	return n;
}

static void
do_lookup(struct pkdns *d, const uint8_t pk[32], FILE *f)
{
	struct pkarr_resolver_entry e;
	struct pkarr_packet copy;
	uint64_t now = time_wall_us() / 1000000u;
	char z32[PKARR_Z32_KEY_LEN + 1];
	int rc;

	pkarr_z32_encode(pk, z32);
	rc = d->resolver ? pkarr_resolver_cached(d->resolver, pk, &copy, &e) : PKARR_RESOLVER_MISS;
	if (rc == PKARR_RESOLVER_NONE) {
		fprintf(f, "error: %s: no packet (the DHT had none when last asked)\n", z32);
		return;
	}
	if (rc != PKARR_RESOLVER_FOUND) {
		fprintf(f, "error: %s: not in the packet cache\n", z32);
		return;
	}
	fprintf(f, "key: %s\n", z32);
	fprintf(f, "seq: %llu\n", (unsigned long long)copy.ts_us);
	fprintf(f, "signed: %llu seconds ago\n",
	    (unsigned long long)(now > copy.ts_us / 1000000u ? now - copy.ts_us / 1000000u : 0));
	fprintf(f, "age: %llu seconds (stored or confirmed by the DHT)\n",
	    (unsigned long long)e.age_s);
	fprintf(f, "state: %s, fresh for %lld more seconds\n", e.fresh_s > 0 ? "fresh" : "stale",
	    (long long)e.fresh_s);
	fprintf(f, "source: %s\n", e.source);
	fprintf(f, "kept on disk: %s\n", e.on_disk ? "yes (cache-dir, across restarts)"
						   : "no (memory cache)");
	fprintf(f, "size: %zu bytes\n", copy.dns_len);
	if (pkarr_packet_print_zone(f, &copy) < 0)
		fprintf(f, "; records could not be printed\n");
}

static void
republish_done(void *arg, unsigned stored)
{
	(void)arg;
	log_info("republish (control): stored on %u nodes", stored);
}

static void
do_republish(struct pkdns *d, const uint8_t pk[32], FILE *f)
{
	struct pkarr_resolver_entry e;
	char z32[PKARR_Z32_KEY_LEN + 1];

	pkarr_z32_encode(pk, z32);
	if (!pkarr_resolver_dht(d->resolver)) {
		fprintf(f, "error: the DHT is off\n");
		return;
	}
	if (pkarr_resolver_cached(d->resolver, pk, NULL, &e) != PKARR_RESOLVER_FOUND) {
		fprintf(f, "error: %s: no packet cached to republish (lookup it first)\n", z32);
		return;
	}
	switch (pkarr_resolver_republish(d->resolver, pk, republish_done, NULL)) {
	case PKARR_RESOLVER_PENDING:
		fprintf(f, "ok, republishing %s (seq %llu)\n", z32, (unsigned long long)e.seq);
		break;
	case PKARR_RESOLVER_UNREACHABLE:
		fprintf(f, "error: %s: no DHT node known to put it on\n", z32);
		break;
	default:
		fprintf(f, "error: %s: the put could not start (too many running?)\n", z32);
		break;
	}
}

/* Compact node info: 20-byte ID, address, port (BEP 5, BEP 32). */
static void
print_nodes(FILE *f, const struct bencode_value *v, bool v6)
{
	size_t each = v6 ? 38 : 26;

	for (size_t off = 0; off + each <= v->str_len; off += each) {
		const uint8_t *p = v->str + off;
		char id[41], addr[INET6_ADDRSTRLEN];
		for (int i = 0; i < 20; i++)
			snprintf(id + 2 * i, 3, "%02x", p[i]);
		inet_ntop(v6 ? AF_INET6 : AF_INET, p + 20, addr, sizeof(addr));
		fprintf(f, v6 ? "%s [%s]:%u\n" : "%s %s:%u\n", id, addr,
		    (unsigned)(p[each - 2] << 8 | p[each - 1]));
	}
}

static void
do_dht_nodes(struct pkdns *d, FILE *f)
{
	struct dht *dht = pkarr_resolver_dht(d->resolver);
	struct bencode_value top, v;
	size_t cap;
	uint8_t *buf;
	int n;

	if (!dht) {
		fprintf(f, "error: the DHT is off\n");
		return;
	}
	cap = dht_save_nodes_size(dht) + 64;
	buf = malloc(cap);
	if (!buf || (n = dht_save_nodes(dht, buf, cap)) < 0 ||
	    bencode_parse(buf, (size_t)n, &top, NULL) < 0) {
		fprintf(f, "error: cannot read the routing table\n");
		free(buf);
		return;
	}
	if (bencode_dict_get(&top, "nodes", &v) == 0 && v.type == BENCODE_STR)
		print_nodes(f, &v, false);
	if (bencode_dict_get(&top, "nodes6", &v) == 0 && v.type == BENCODE_STR)
		print_nodes(f, &v, true);
	free(buf);
}

static void
run(struct pkdns *d, const struct ctl_request *r, FILE *f)
{
	char why[2048];

	switch (r->cmd) {
	case CTL_STATUS:
		pkdns_ops_status(d, f);
		break;
	case CTL_STATS:
	case CTL_STATS_NORESET:
		pkdns_ops_stats(d, f, r->cmd == CTL_STATS);
		break;
	case CTL_RELOAD:
		if (pkdns_ops_reload(d, why, sizeof(why)) < 0)
			fprintf(f, "error: reload failed, the old configuration is kept\n%s", why);
		else
			fprintf(f, "ok\n");
		break;
	case CTL_VERBOSITY:
		d->conf.verbose = r->verbosity;
		log_setup("pkdns", r->verbosity, d->conf.foreground);
		fprintf(f, "ok\n");
		break;
	case CTL_FLUSH:
		flush_name(d, r->name, r->name_len, r->qtype);
		fprintf(f, "ok\n");
		break;
	case CTL_FLUSH_ZONE:
		fprintf(f, "ok, removed %zu answers\n", cache_remove_under(d->w.cache, r->name,
		    r->name_len));
		break;
	case CTL_FLUSH_KEY: {
		int had = d->resolver ? pkarr_resolver_flush(d->resolver, r->key) : -1;
		size_t n = flush_key_answers(d, r->key);
		fprintf(f, "ok, removed %s packet and %zu answers\n", had == 0 ? "the" : "no", n);
		break;
	}
	case CTL_LOOKUP:
		do_lookup(d, r->key, f);
		break;
	case CTL_REPUBLISH:
		do_republish(d, r->key, f);
		break;
	case CTL_DHT_NODES:
		do_dht_nodes(d, f);
		break;
	}
}

/* ---- the socket ------------------------------------------------------------ */

static void
on_written(struct bufferevent *bev, void *arg)
{
	(void)bev;
	client_free(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg);

/* Send the answer, then close: freed by on_written once it is out, or by
 * on_event when the client stops reading (write timeout) or goes. */
static void
reply(struct ctl_client *cl, const char *text, size_t len)
{
	bufferevent_disable(cl->bev, EV_READ);
	bufferevent_setcb(cl->bev, NULL, on_written, on_event, cl);
	if (len == 0 || bufferevent_write(cl->bev, text, len) < 0)
		client_free(cl);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client *cl = arg;
	(void)bev;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control client timed out");
	client_free(cl);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct ctl_request req;
	char err[160], *line, *text = NULL;
	size_t len = 0, n;
	FILE *f;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF);
	if (!line) {
		if (evbuffer_get_length(in) > CTL_MAX_LINE) {
			static const char msg[] = "error: request too long\n";
			reply(cl, msg, sizeof(msg) - 1);
		}
		return;
	}
	if (ctl_parse(line, n, true, &req, err, sizeof(err)) < 0) {
		char out[200];
		int k = snprintf(out, sizeof(out), "error: %s\n", err);
		free(line);
		reply(cl, out, (size_t)k);
		return;
	}
	free(line);
	f = open_memstream(&text, &len);
	if (!f) {
		static const char msg[] = "error: out of memory\n";
		reply(cl, msg, sizeof(msg) - 1);
		return;
	}
	run(cl->c->d, &req, f);
	fclose(f);
	reply(cl, text, len);
	free(text);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct pkdns_control *c = arg;
	struct timeval tv = { PKDNS_CONTROL_TIMEOUT_S, 0 };
	struct ctl_client *cl;
	int fd;
	(void)what;

	/* a few per wake-up: the DNS listeners come first */
	for (int i = 0; i < 4; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (c->n_clients >= PKDNS_CONTROL_MAX_CLIENTS || !(cl = calloc(1, sizeof(*cl)))) {
			static const char msg[] = "error: too many control clients\n";
			c->refused++;
			(void)!write(fd, msg, sizeof(msg) - 1);
			close(fd);
			continue;
		}
		cl->c = c;
		cl->bev = bufferevent_socket_new(c->d->w.base, fd, BEV_OPT_CLOSE_ON_FREE);
		if (!cl->bev) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = c->clients;
		if (c->clients)
			c->clients->prev = cl;
		c->clients = cl;
		c->n_clients++;
		bufferevent_setwatermark(cl->bev, EV_READ, 0, CTL_MAX_LINE + 2);
		bufferevent_set_timeouts(cl->bev, &tv, &tv);
		bufferevent_setcb(cl->bev, on_read, NULL, on_event, cl);
		bufferevent_enable(cl->bev, EV_READ);
	}
}

/* Is a daemon answering on path? */
static bool
socket_alive(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool alive;

	if (fd < 0)
		return false;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return alive;
}

struct pkdns_control *
pkdns_control_open(struct pkdns *d, const char *path, const char *group)
{
	struct pkdns_control *c;
	struct sockaddr_un sun;
	struct stat st;
	gid_t gid = (gid_t)-1;
	mode_t old;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_err("control-socket %s: path too long", path);
		return NULL;
	}
	if (group) {
		struct group *gr = getgrnam(group);
		if (!gr) {
			log_err("control-group %s: no such group", group);
			return NULL;
		}
		gid = gr->gr_gid;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err("control-socket %s: exists and is not a socket", path);
			return NULL;
		}
		if (socket_alive(path)) {
			log_err("control-socket %s: another pkdns answers there", path);
			return NULL;
		}
		unlink(path); /* left by a daemon that died */
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = d;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	/* no moment with a wider mode than 0660 */
	old = umask(0117);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		umask(old);
		log_err("control-socket %s: %s", path, strerror(errno));
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return NULL;
	}
	umask(old);
	c->path = strdup(path);
	if (!c->path || chmod(path, 0660) < 0 ||
	    (gid != (gid_t)-1 && chown(path, geteuid() == 0 ? 0 : (uid_t)-1, gid) < 0) ||
	    listen(c->fd, PKDNS_CONTROL_MAX_CLIENTS) < 0) {
		log_err("control-socket %s: %s", path, strerror(errno));
		pkdns_control_free(c);
		return NULL;
	}
	c->ev = event_new(d->w.base, c->fd, EV_READ | EV_PERSIST, on_accept, c);
	if (!c->ev || event_add(c->ev, NULL) < 0) {
		pkdns_control_free(c);
		return NULL;
	}
	log_info("control socket %s", path);
	return c;
}

void
pkdns_control_free(struct pkdns_control *c)
{
	if (!c)
		return;
	while (c->clients)
		client_free(c->clients);
	if (c->ev)
		event_free(c->ev);
	if (c->fd >= 0)
		close(c->fd);
	if (c->path && unlink(c->path) < 0 && errno != ENOENT)
		log_debug("control-socket %s: %s", c->path, strerror(errno));
	free(c->path);
	free(c);
}
