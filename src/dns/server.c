/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * server.c -- UDP (batched) and TCP (RFC 7766) DNS listeners.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define LOG_MODULE "dns"
#include "dns/ede.h"
#include "dns/server.h"
#include "http/tls.h"
#include "util/connlimit.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/time.h"

#define UDP_BATCH 32
#define UDP_RXBUF 4096      /* a larger query is not one we answer */
#define MSG_MAX 65535
#define TCP_OUT_HIGH (256 * 1024)
#define TCP_MSG_TIMEOUT_MS 3000    /* a whole message, once begun */
/* Descriptors kept for everything but TCP clients (UDP, listeners, DHT,
 * libunbound's outgoing queries, the cache, logs). */
#define FD_RESERVE 128
/* RFC 8467 section 4.1: responses padded to a multiple of 468 octets */
#define PAD_BLOCK 468
#define EDNS_OPT_PADDING 12

struct tcp_conn;

/* Per-query bookkeeping. A query handled synchronously lives on the stack
 * with its request inside the receive buffer; a held query is one heap
 * block with its own copy of the request. */
/* Where a UDP query was sent to, for listeners on a wildcard address:
 * the answer must leave from that address (RFC 1123 section 6.1.3.5 asks
 * the same, and clients drop answers from an unexpected source). */
struct udp_dst {
	int family;                 /* 0: not known (specific address bound) */
	int ifindex;
	struct in_addr a4;
	struct in6_addr a6;
};

#define PKTINFO_SPACE CMSG_SPACE(sizeof(struct in6_pktinfo))

struct dns_query_priv {
	struct dns_server *srv;
	struct udp_dst dst;
	const uint8_t *req;
	size_t req_len;
	struct udp_listener *udp;   /* UDP: the socket to answer on */
	struct tcp_conn *conn;      /* TCP: NULL once the connection is gone */
	struct dns_submitted *sub;  /* DoH: NULL once cancelled */
	uint8_t *out;               /* sync: where the handler writes */
	size_t out_len;             /* sync UDP: length to send, 0 = none */
	bool held, done;
	struct dns_query *prev, *next; /* held TCP queries of one connection */
	struct dns_query_note note;  /* the daemon's word on the answer */
	uint64_t start_ms;           /* arrival, for the query log */
};

struct held_query {
	struct dns_query q;
	struct dns_query_priv p;
	uint8_t req[];
};

/* A held UDP query keeps its listener's socket open (refs), so that a
 * late answer leaves from the address the client asked, even after the
 * listeners were closed for shutdown, and never from a socket that
 * reused the descriptor number. */
struct udp_listener {
	struct dns_server *srv;
	int fd;
	struct event *ev;
	unsigned refs;
	bool closed;
	bool pktinfo;               /* wildcard address: track destinations */
	struct udp_listener *next;
};

static void
udp_listener_unref(struct udp_listener *u)
{
	if (--u->refs == 0 && u->closed) {
		close(u->fd);
		free(u);
	}
}

struct tcp_listener {
	struct dns_server *srv;
	struct tls_server *tls;     /* DoT, or NULL */
	struct evconnlistener *lev;
	struct event *resume;       /* re-enables accepting after a pause */
	struct tcp_listener *next;
};

struct tcp_conn {
	struct dns_server *srv;
	struct bufferevent *bev;
	struct connlimit_link link; /* the server's table: peer, activity order */
	struct dns_query *held;     /* queries waiting for an answer */
	unsigned inflight;
	bool eof;                   /* peer closed or idle: close when drained */
	bool tls;                   /* DoT */
	bool read_paused;
	bool handshaking;           /* DoT: the TLS handshake is not done */
	struct event *deadline;     /* the message being received is late */
	bool deadline_on;
	/* Reads again, from the loop, after an answer made room: never from
	 * inside the dns_query_reply() that made it, so that the handler is
	 * not entered while its caller is in the middle of answering. */
	struct event *resume;
};

struct dns_server {
	struct event_base *base;
	struct dns_server_config cfg;
	dns_handler_fn handler;
	void *ctx;
	struct udp_listener *udp;
	struct tcp_listener *tcp;
	struct connlimit conns;     /* the TCP/DoT connections */
	struct dns_server_stats stats;
	struct connlimit_accept_log accept_log; /* of every TCP/DoT listener */

	/* UDP batch buffers */
	struct mmsghdr rmsg[UDP_BATCH], smsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH], siov[UDP_BATCH];
	struct sockaddr_storage raddr[UDP_BATCH];
	uint8_t rctl[UDP_BATCH][PKTINFO_SPACE], sctl[UDP_BATCH][PKTINFO_SPACE];
	uint8_t rx[UDP_BATCH][UDP_RXBUF];
	uint8_t *tx[UDP_BATCH];     /* MSG_MAX each */
	/* one message at a time: TCP input, TCP/async output (2 bytes of
	 * room in front for the TCP length prefix) */
	uint8_t tcp_rx[MSG_MAX];
	uint8_t scratch[2 + MSG_MAX];
};

/* A query handed in by dns_server_submit. */
struct dns_submitted {
	dns_submit_fn cb;
	void *ctx;
	struct dns_query *held;     /* the held query, once held */
	/* An answer made during dns_server_submit, handed to cb from the
	 * loop (ans NULL: no answer) */
	struct event *deliver;
	uint8_t *ans;
	size_t ans_len;
	bool in_submit;             /* dns_server_submit is still running */
	bool done;                  /* cb called, or its call scheduled */
};

static void tcp_conn_free(struct tcp_conn *c);
static void submit_free(struct dns_submitted *h);

/* Every TCP client costs a descriptor: with more connections allowed than
 * descriptors, accept() fails with EMFILE instead of the table filling.
 * Raise the soft limit toward the hard one if that is enough, else lower
 * the connection cap to what is left after FD_RESERVE. */
static void
tcp_fit_fd_limit(struct dns_server_config *cfg)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg->tcp_max_connections + FD_RESERVE;
	unsigned fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
		struct rlimit want = { need, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	} else if (rl.rlim_max > rl.rlim_cur) {
		struct rlimit want = { rl.rlim_max, rl.rlim_max };
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	/* a small limit: half of it for TCP clients */
	fit = rl.rlim_cur > 2 * FD_RESERVE ? (unsigned)(rl.rlim_cur - FD_RESERVE)
					   : (unsigned)(rl.rlim_cur / 2);
	if (fit < 1)
		fit = 1;
	if (fit < cfg->tcp_max_connections) {
		log_warn("tcp-max-connections %u lowered to %u: the open-file limit "
			 "(RLIMIT_NOFILE) is %llu; raise it (ulimit -n, systemd LimitNOFILE=)",
		    cfg->tcp_max_connections, fit, (unsigned long long)rl.rlim_cur);
		cfg->tcp_max_connections = fit;
	}
	if (cfg->tcp_max_per_client > cfg->tcp_max_connections)
		cfg->tcp_max_per_client = cfg->tcp_max_connections;
}

#define CONN_OF(l) CONNLIMIT_OWNER(l, struct tcp_conn, link)

/* c did something useful (a whole query in, an answer out). */
static void
conn_touch(struct dns_server *s, struct tcp_conn *c)
{
	connlimit_touch(&s->conns, &c->link);
}

/* For a full table (or one client's full share of it): a connection with
 * no query in flight may be closed (RFC 7766 section 6.2.3), preferably
 * one with nothing half-received or unsent. */
static enum connlimit_idle
tcp_conn_idle(struct connlimit_link *l)
{
	struct tcp_conn *c = CONN_OF(l);

	if (c->inflight)
		return CONNLIMIT_BUSY;
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		return CONNLIMIT_IDLE;
	return CONNLIMIT_PARTIAL;
}

static void
tcp_conn_evict(struct connlimit_link *l)
{
	struct tcp_conn *c = CONN_OF(l);

	c->srv->stats.tcp_evicted++;
	tcp_conn_free(c);
}

struct dns_server *
dns_server_new(struct event_base *base, const struct dns_server_config *cfg,
    dns_handler_fn handler, void *ctx)
{
	struct dns_server *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base = base;
	s->cfg = *cfg;
	if (s->cfg.tcp_max_pipelined == 0)
		s->cfg.tcp_max_pipelined = 64;
	if (s->cfg.tcp_msg_timeout_ms == 0)
		s->cfg.tcp_msg_timeout_ms = TCP_MSG_TIMEOUT_MS;
	tcp_fit_fd_limit(&s->cfg);
	connlimit_init(&s->conns, tcp_conn_idle, tcp_conn_evict);
	s->handler = handler;
	s->ctx = ctx;
	for (int i = 0; i < UDP_BATCH; i++) {
		s->tx[i] = malloc(MSG_MAX);
		if (!s->tx[i]) {
			dns_server_free(s);
			return NULL;
		}
	}
	return s;
}

/* ---- answering ---------------------------------------------------- */

static size_t
udp_limit(const struct dns_query *q)
{
	const struct dns_server *s = q->priv->srv;
	if (!q->info.edns)
		return 512;
	return q->info.udp_size < s->cfg.edns_buffer_size ? q->info.udp_size
							: s->cfg.edns_buffer_size;
}

/* The EDE the daemon asked for, into the OPT record at opt_off (the
 * message's last record). Left out when it does not fit. */
static size_t
add_ede(const struct dns_query *q, uint8_t *msg, size_t len, size_t opt_off)
{
	const struct dns_query_note *n = &q->priv->note;
	size_t l;

	if (!n->ede || !q->info.edns)
		return len;
	l = dns_ede_append(msg, len, MSG_MAX, opt_off, n->ede_code, n->ede_text);
	return l ? l : len;
}

/* RFC 7830: extend the OPT record at opt_off, the message's last record,
 * with a Padding option so that the message is a multiple of PAD_BLOCK
 * octets. A message whose last record is not that OPT (or that would
 * outgrow MSG_MAX) is left as it is. */
static size_t
pad_answer(uint8_t *msg, size_t len, size_t opt_off)
{
	uint8_t *opt;
	size_t pad, total, rdlen;

	if (opt_off < DNS_HDR_LEN || opt_off + 11 > len)
		return len;
	opt = msg + opt_off;
	rdlen = dns_get16(opt + 9);
	if (opt[0] != 0 || dns_get16(opt + 1) != DNS_TYPE_OPT || opt_off + 11 + rdlen != len)
		return len;
	total = len + 4;
	pad = (PAD_BLOCK - total % PAD_BLOCK) % PAD_BLOCK;
	if (total + pad > MSG_MAX || rdlen + 4 + pad > 0xffff)
		return len;
	dns_put16(opt + 9, (uint16_t)(rdlen + 4 + pad));
	dns_put16(msg + len, EDNS_OPT_PADDING);
	dns_put16(msg + len + 2, (uint16_t)pad);
	memset(msg + len + 4, 0, pad);
	return total + pad;
}

/* Make msg the answer to q: ID, the client's spelling of the name, AD
 * only when asked for (RFC 6840 section 5.8), OPT with any EDE, and
 * truncation. add_opt is false for error replies, whose OPT (with the
 * extended rcode) dns_msg_error() wrote as the last record. */
static size_t
finalize(struct dns_query *q, uint8_t *msg, size_t len, bool add_opt)
{
	const struct dns_query_priv *p = q->priv;
	size_t qend = DNS_HDR_LEN + q->info.qname_len + 4;

	if (len < DNS_HDR_LEN)
		return 0;
	dns_put16(msg, q->info.id);
	msg[2] |= 0x80;
	if (!q->info.do_bit && !q->info.ad)
		msg[3] &= (uint8_t)~0x20;
	if (q->info.has_question && len >= qend && dns_get16(msg + 4) == 1 &&
	    p->req_len >= qend &&
	    strncasecmp((const char *)msg + DNS_HDR_LEN,
		(const char *)p->req + DNS_HDR_LEN, q->info.qname_len) == 0)
		memcpy(msg + DNS_HDR_LEN, p->req + DNS_HDR_LEN, q->info.qname_len);
	size_t opt_at = 0; /* where the OPT record ends msg, if it does */
	if (add_opt && q->info.edns) {
		size_t opt_off = len;
		size_t l = dns_msg_add_opt(msg, len, MSG_MAX, q->priv->srv->cfg.edns_buffer_size,
		    q->info.do_bit, 0);
		if (l) {
			len = add_ede(q, msg, l, opt_off);
			opt_at = opt_off;
		}
	} else if (!add_opt && q->info.edns && len >= DNS_HDR_LEN + 11) {
		opt_at = len - 11;
		len = add_ede(q, msg, len, opt_at);
	}
	if (q->transport >= DNS_TRANSPORT_TLS && q->info.edns)
		len = pad_answer(msg, len, opt_at);
	if (!q->tcp && len > udp_limit(q)) {
		q->priv->srv->stats.truncated++;
		len = dns_msg_truncate(msg, len >= qend ? qend : DNS_HDR_LEN);
		if (q->info.edns) {
			size_t opt_off = len;
			len = dns_msg_add_opt(msg, len, MSG_MAX, q->priv->srv->cfg.edns_buffer_size,
			    q->info.do_bit, 0);
			if (len)
				len = add_ede(q, msg, len, opt_off);
		}
	}
	q->priv->srv->stats.rcode[q->transport <= DNS_TRANSPORT_HTTP ? q->transport : 1]
	    [msg[3] & 0x0f]++; /* metrics (issue 14) */
	return len;
}

/* Read the destination of a received datagram from its control data. */
static void
udp_dst_read(struct msghdr *mh, struct udp_dst *dst)
{
	memset(dst, 0, sizeof(*dst));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->family = AF_INET;
			dst->a4 = pi.ipi_addr;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst->family = AF_INET6;
			dst->a6 = pi.ipi6_addr;
			dst->ifindex = (int)pi.ipi6_ifindex;
		}
	}
}

/* Make an answer leave from the address the query was sent to. */
static void
udp_dst_write(const struct udp_dst *dst, uint8_t *buf, struct msghdr *mh)
{
	struct cmsghdr *c;

	mh->msg_control = NULL;
	mh->msg_controllen = 0;
	if (dst->family == 0)
		return;
	memset(buf, 0, PKTINFO_SPACE);
	mh->msg_control = buf;
	mh->msg_controllen = PKTINFO_SPACE;
	c = CMSG_FIRSTHDR(mh);
	if (dst->family == AF_INET) {
		struct in_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = dst->a4;
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		struct in6_pktinfo pi;
		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = dst->a6;
		pi.ipi6_ifindex = (unsigned)dst->ifindex;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		mh->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

static void
tcp_conn_maybe_close(struct tcp_conn *c)
{
	if (c->eof && c->inflight == 0 &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		tcp_conn_free(c);
}

static void
tcp_send(struct tcp_conn *c, uint8_t *msg_with_room, size_t len)
{
	dns_put16(msg_with_room, (uint16_t)len);
	bufferevent_write(c->bev, msg_with_room, len + 2);
}

/* The daemon's edit of an answer (add_opt: not an error reply). An
 * answer it cannot keep becomes SERVFAIL. */
static size_t
filter(struct dns_query *q, uint8_t *msg, size_t len, bool add_opt)
{
	struct dns_server *s = q->priv->srv;
	size_t l;

	if (!add_opt || !s->cfg.filter)
		return len;
	l = s->cfg.filter(s->ctx, q, msg, len, MSG_MAX - 11 - 6 - DNS_EDE_TEXT_MAX);
	if (l >= DNS_HDR_LEN)
		return l;
	struct dns_msginfo mi = q->info;
	mi.edns = false; /* finalize() adds the OPT */
	if (!q->priv->note.reason)
		q->priv->note.reason = "answer filter failed";
	return dns_msg_error(&mi, DNS_RCODE_SERVFAIL, msg, MSG_MAX - 11, 0);
}

static void
reply_done(const struct dns_query *q, const uint8_t *msg, size_t len)
{
	struct dns_server *s = q->priv->srv;

	if (s->cfg.on_reply && len >= DNS_HDR_LEN)
		s->cfg.on_reply(s->ctx, q, &q->priv->note, msg, len, time_mono_ms() - q->priv->start_ms);
}

/* Common end of every query: send (or not) and release. */
static void
query_finish(struct dns_query *q, const uint8_t *msg, size_t len, bool add_opt)
{
	struct dns_query_priv *p = q->priv;
	struct dns_server *s = p->srv;

	if (p->done)
		return;
	p->done = true;
	if (msg && len > MSG_MAX)
		msg = NULL;
	if (msg) {
		if (!p->held && !q->tcp) {
			/* sync UDP: the batch sends it */
			if (msg != p->out)
				memmove(p->out, msg, len);
			len = filter(q, p->out, len, add_opt);
			p->out_len = finalize(q, p->out, len, add_opt);
			reply_done(q, p->out, p->out_len);
		} else {
			uint8_t *buf = s->scratch + 2;
			if (msg != buf)
				memmove(buf, msg, len);
			len = filter(q, buf, len, add_opt);
			len = finalize(q, buf, len, add_opt);
			reply_done(q, buf, len);
			if (q->transport >= DNS_TRANSPORT_HTTPS) {
				if (p->sub && len) {
					p->sub->done = true;
					if (!p->sub->in_submit)
						p->sub->cb(p->sub->ctx, buf, len);
					else if ((p->sub->ans = malloc(len)) != NULL) {
						/* dns_server_submit schedules the call */
						memcpy(p->sub->ans, buf, len);
						p->sub->ans_len = len;
					}
				}
			} else if (q->tcp && p->conn && len) {
				tcp_send(p->conn, s->scratch, len);
				conn_touch(s, p->conn);
			}
			else if (!q->tcp && len) {
				uint8_t ctl[PKTINFO_SPACE];
				struct iovec iov = { buf, len };
				struct msghdr mh;
				memset(&mh, 0, sizeof(mh));
				mh.msg_name = &q->client;
				mh.msg_namelen = q->client_len;
				mh.msg_iov = &iov;
				mh.msg_iovlen = 1;
				udp_dst_write(&p->dst, ctl, &mh);
				if (sendmsg(p->udp->fd, &mh, 0) < 0)
					log_debug("sendmsg: %s", strerror(errno));
			}
		}
	} else {
		s->stats.dropped++;
	}
	if (p->sub && !p->sub->done) {
		/* dropped, or an answer that could not be made */
		p->sub->done = true;
		if (!p->sub->in_submit)
			p->sub->cb(p->sub->ctx, NULL, 0);
	}
	if (p->sub) {
		struct dns_submitted *sub = p->sub;
		sub->held = NULL;
		p->sub = NULL;
		if (!sub->in_submit)
			submit_free(sub);
	}
	if (p->held) {
		struct tcp_conn *c = p->conn;
		if (c) {
			if (p->prev)
				p->prev->priv->next = p->next;
			else
				c->held = p->next;
			if (p->next)
				p->next->priv->prev = p->prev;
			c->inflight--;
		}
		if (q->transport == DNS_TRANSPORT_UDP)
			udp_listener_unref(p->udp);
		free(q); /* one block with p */
		if (c) {
			if (c->read_paused)
				event_active(c->resume, EV_TIMEOUT, 1); /* tcp_conn_resume_cb */
			else
				tcp_conn_maybe_close(c);
		}
	}
}

uint8_t *
dns_query_buf(struct dns_query *q, size_t *cap)
{
	struct dns_query_priv *p = q->priv;
	*cap = MSG_MAX - 11; /* leave room for OPT */
	return p->held ? p->srv->scratch + 2 : p->out;
}

void
dns_query_answer(struct dns_query *q, size_t len)
{
	size_t cap;
	query_finish(q, dns_query_buf(q, &cap), len, true);
}

void
dns_query_reply(struct dns_query *q, const uint8_t *msg, size_t len)
{
	query_finish(q, msg, len, true);
}

void
dns_query_error(struct dns_query *q, int rcode)
{
	size_t cap;
	uint8_t *buf = dns_query_buf(q, &cap);
	size_t len = dns_msg_error(&q->info, rcode, buf, cap, q->priv->srv->cfg.edns_buffer_size);
	query_finish(q, len ? buf : NULL, len, false);
}

struct dns_query_note *
dns_query_note(struct dns_query *q)
{
	return &q->priv->note;
}

void
dns_query_set_ede(struct dns_query *q, uint16_t code, const char *text)
{
	q->priv->note.ede = true;
	q->priv->note.ede_code = code;
	q->priv->note.ede_text = text;
}

void
dns_query_drop(struct dns_query *q)
{
	query_finish(q, NULL, 0, false);
}

struct dns_query *
dns_query_hold(struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	struct held_query *h;

	if (p->held)
		return q;
	h = malloc(sizeof(*h) + p->req_len);
	if (!h) {
		log_err("out of memory holding a query");
		dns_query_error(q, DNS_RCODE_SERVFAIL);
		return NULL;
	}
	h->q = *q;
	h->p = *p;
	h->q.priv = &h->p;
	memcpy(h->req, p->req, p->req_len);
	h->p.req = h->req;
	h->p.held = true;
	h->p.out = NULL;
	h->p.prev = NULL;
	h->p.next = NULL;
	if (q->transport == DNS_TRANSPORT_UDP)
		h->p.udp->refs++;
	if (p->sub)
		p->sub->held = &h->q;
	if (q->tcp && p->conn) {
		struct tcp_conn *c = p->conn;
		h->p.next = c->held;
		if (c->held)
			c->held->priv->prev = &h->q;
		c->held = &h->q;
		c->inflight++;
	}
	/* the stack copy is finished: nothing more is sent for it */
	p->done = true;
	p->out_len = 0;
	return &h->q;
}

/* A query over a stream (TCP, DoT, or handed in by dns_server_submit):
 * the message is in s->tcp_rx, the answer goes to s->scratch with room
 * for the length prefix in front. */
static void
stream_query_init(struct dns_server *s, struct dns_query *q, struct dns_query_priv *p,
    size_t len, enum dns_transport transport, const struct sockaddr *client,
    socklen_t client_len)
{
	memset(p, 0, sizeof(*p));
	memset(q, 0, sizeof(*q));
	p->srv = s;
	p->req = s->tcp_rx;
	p->req_len = len;
	p->out = s->scratch + 2;
	q->priv = p;
	q->tcp = true;
	q->transport = (uint8_t)transport;
	q->client_len = client_len;
	memcpy(&q->client, client, (size_t)client_len);
}

/* Parse one query and hand it on; errors are answered here. */
static void
process(struct dns_server *s, struct dns_query *q)
{
	struct dns_query_priv *p = q->priv;
	int admit = s->cfg.admit ? s->cfg.admit(s->ctx, (struct sockaddr *)&q->client)
				 : DNS_ADMIT_ALLOW;
	int rc;

	if (s->cfg.on_reply)
		p->start_ms = time_mono_ms();
	if (q->transport >= DNS_TRANSPORT_HTTPS)
		s->stats.doh_queries++;
	else if (q->tcp)
		s->stats.tcp_queries++;
	else
		s->stats.udp_queries++;
	if (admit == DNS_ADMIT_DROP) {
		dns_query_drop(q);
		return;
	}
	rc = dns_msg_parse_query(p->req, p->req_len, &q->info);
	if (rc < 0) {
		dns_query_drop(q);
		return;
	}
	if (admit == DNS_ADMIT_REFUSE) {
		s->stats.refused++;
		dns_query_set_ede(q, DNS_EDE_PROHIBITED, NULL);
		p->note.reason = "access-control";
		dns_query_error(q, DNS_RCODE_REFUSED);
		return;
	}
	if (rc > 0) {
		s->stats.formerr++;
		if (log_enabled(LOG_LVL_DEBUG)) {
			char a[NETADDR_STRLEN];
			log_debug("malformed query from %s: rcode %d",
			    netaddr_str((struct sockaddr *)&q->client, a, sizeof(a)), rc);
		}
		dns_query_error(q, rc);
		return;
	}
	s->handler(s->ctx, q);
	if (!p->done) {
		log_err("handler left a query unanswered; dropping it");
		dns_query_drop(q);
	}
}

/* ---- UDP ------------------------------------------------------------ */

static void
udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_listener *l = arg;
	struct dns_server *s = l->srv;
	(void)what;

	/* a few batches per wake-up, then let other events run */
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < UDP_BATCH; i++) {
			s->riov[i].iov_base = s->rx[i];
			s->riov[i].iov_len = UDP_RXBUF;
			memset(&s->rmsg[i].msg_hdr, 0, sizeof(s->rmsg[i].msg_hdr));
			s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
			s->rmsg[i].msg_hdr.msg_iovlen = 1;
			s->rmsg[i].msg_hdr.msg_name = &s->raddr[i];
			s->rmsg[i].msg_hdr.msg_namelen = sizeof(s->raddr[i]);
			if (l->pktinfo) {
				s->rmsg[i].msg_hdr.msg_control = s->rctl[i];
				s->rmsg[i].msg_hdr.msg_controllen = PKTINFO_SPACE;
			}
		}
		int n = recvmmsg(fd, s->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("recvmmsg: %s", strerror(errno));
			return;
		}
		unsigned nout = 0;
		for (int i = 0; i < n; i++) {
			struct dns_query q;
			struct dns_query_priv p;

			if (s->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC) {
				s->stats.dropped++;
				continue;
			}
			memset(&p, 0, sizeof(p));
			p.srv = s;
			p.req = s->rx[i];
			p.req_len = s->rmsg[i].msg_len;
			p.udp = l;
			if (l->pktinfo)
				udp_dst_read(&s->rmsg[i].msg_hdr, &p.dst);
			p.out = s->tx[nout];
			q.priv = &p;
			q.tcp = false;
			q.transport = DNS_TRANSPORT_UDP;
			q.client_len = s->rmsg[i].msg_hdr.msg_namelen;
			memcpy(&q.client, &s->raddr[i], q.client_len);
			process(s, &q);
			if (p.out_len) {
				s->siov[nout].iov_base = s->tx[nout];
				s->siov[nout].iov_len = p.out_len;
				memset(&s->smsg[nout].msg_hdr, 0, sizeof(s->smsg[nout].msg_hdr));
				s->smsg[nout].msg_hdr.msg_iov = &s->siov[nout];
				s->smsg[nout].msg_hdr.msg_iovlen = 1;
				s->smsg[nout].msg_hdr.msg_name = &s->raddr[i];
				s->smsg[nout].msg_hdr.msg_namelen = q.client_len;
				udp_dst_write(&p.dst, s->sctl[nout], &s->smsg[nout].msg_hdr);
				nout++;
			}
		}
		for (unsigned sent = 0; sent < nout;) {
			int m = sendmmsg(fd, s->smsg + sent, nout - sent, MSG_DONTWAIT);
			if (m <= 0) {
				if (m < 0 && errno == EINTR)
					continue;
				/* drop this one (e.g. unreachable client) and go on */
				log_debug("sendmmsg: %s", m < 0 ? strerror(errno) : "sent none");
				sent++;
				continue;
			}
			sent += (unsigned)m;
		}
		if (n < UDP_BATCH)
			return;
	}
}

static bool
addr_is_wildcard(const struct sockaddr *addr)
{
	if (addr->sa_family == AF_INET)
		return ((const struct sockaddr_in *)addr)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (addr->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)addr)->sin6_addr);
	return false;
}

/* The UDP socket (the TCP one is connlimit_listen_socket's). */
static int
make_udp_socket(const struct sockaddr *addr, socklen_t len)
{
	int one = 1;
	int rcv = 1 << 20;
	int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (addr->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (addr_is_wildcard(addr)) {
		if (addr->sa_family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	}
	if (bind(fd, addr, len) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- TCP ------------------------------------------------------------ */

static void
tcp_conn_free(struct tcp_conn *c)
{
	struct dns_server *s = c->srv;

	/* held queries stay with their owners; their answers go nowhere */
	for (struct dns_query *q = c->held; q; q = q->priv->next)
		q->priv->conn = NULL;
	connlimit_remove(&s->conns, &c->link);
	bufferevent_free(c->bev);
	if (c->deadline)
		event_free(c->deadline);
	if (c->resume)
		event_free(c->resume); /* also when still active: it never runs */
	free(c);
}

/* Arm or disarm the deadline of the message being received. Armed when
 * its first byte is in and left alone while more arrive, so that a client
 * dripping a byte per idle period cannot keep a connection forever. */
static void
tcp_deadline_set(struct tcp_conn *c, bool on)
{
	if (on == c->deadline_on)
		return;
	c->deadline_on = on;
	if (on) {
		unsigned ms = c->srv->cfg.tcp_msg_timeout_ms;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
		evtimer_add(c->deadline, &tv);
	} else {
		evtimer_del(c->deadline);
	}
}

static void
tcp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tcp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	(void)fd;
	(void)what;

	c->deadline_on = false;
	if (c->handshaking) {
		/* a TLS handshake not done in time: nothing to flush */
		c->srv->stats.tls_handshake_failed++;
		tcp_conn_free(c);
		return;
	}
	c->srv->stats.tcp_slow++;
	if (log_enabled(LOG_LVL_DEBUG)) {
		char a[NETADDR_STRLEN];
		log_debug("tcp: %s sent part of a message and not the rest in %u ms; closing",
		    netaddr_str((struct sockaddr *)&c->link.peer, a, sizeof(a)),
		    c->srv->cfg.tcp_msg_timeout_ms);
	}
	c->eof = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(in, evbuffer_get_length(in));
	tcp_conn_maybe_close(c);
}

static void
tcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct dns_server *s = c->srv;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->eof) {
		uint8_t lenbuf[2];
		size_t mlen;

		if (c->inflight >= s->cfg.tcp_max_pipelined ||
		    evbuffer_get_length(bufferevent_get_output(bev)) > TCP_OUT_HIGH) {
			/* we stopped reading: the client is not late */
			c->read_paused = true;
			bufferevent_disable(bev, EV_READ);
			tcp_deadline_set(c, false);
			return;
		}
		if (evbuffer_copyout(in, lenbuf, 2) < 2)
			break;
		mlen = dns_get16(lenbuf);
		if (mlen < DNS_HDR_LEN) {
			/* cannot be a query: the stream is garbage */
			s->stats.dropped++;
			c->eof = true;
			bufferevent_disable(bev, EV_READ);
			break;
		}
		if (evbuffer_get_length(in) < mlen + 2)
			break;
		evbuffer_drain(in, 2);
		evbuffer_remove(in, s->tcp_rx, mlen);
		tcp_deadline_set(c, false);
		conn_touch(s, c);

		struct dns_query q;
		struct dns_query_priv p;
		stream_query_init(s, &q, &p, mlen,
		    c->tls ? DNS_TRANSPORT_TLS : DNS_TRANSPORT_TCP,
		    (const struct sockaddr *)&c->link.peer, c->link.peer_len);
		p.conn = c;
		process(s, &q);
	}
	if (!c->eof) {
		/* part of the next message is in: its clock starts now */
		tcp_deadline_set(c, evbuffer_get_length(in) > 0);
		return;
	}
	tcp_deadline_set(c, false);
	tcp_conn_maybe_close(c);
}

/* Read again if reading was paused and there is room now; else close
 * the connection if it is done. Runs from the loop only. */
static void
tcp_conn_continue(struct tcp_conn *c)
{
	if (c->read_paused && c->inflight < c->srv->cfg.tcp_max_pipelined) {
		c->read_paused = false;
		bufferevent_enable(c->bev, EV_READ);
		/* what is already in the input buffer raises no read event */
		tcp_read_cb(c->bev, c);
		return;
	}
	tcp_conn_maybe_close(c);
}

static void
tcp_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	tcp_conn_continue(arg);
}

/* A held query was answered (query_finish) while reading was paused. */
static void
tcp_conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tcp_conn_continue(arg);
}

static void
tcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct tcp_conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* the TLS handshake is done */
		c->handshaking = false;
		tcp_deadline_set(c, false);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		if (c->handshaking)
			c->srv->stats.tls_handshake_failed++;
		tcp_conn_free(c);
		return;
	}
	if (c->handshaking && (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT))) {
		c->srv->stats.tls_handshake_failed++;
		tcp_conn_free(c);
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && c->inflight > 0) {
		/* not idle: answers are still coming */
		bufferevent_enable(bev, (what & BEV_EVENT_READING) ? EV_READ : EV_WRITE);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
		if (what & BEV_EVENT_WRITING) {
			/* the peer does not read its answers */
			tcp_conn_free(c);
			return;
		}
		c->eof = true;
		bufferevent_disable(bev, EV_READ);
		tcp_deadline_set(c, false);
		tcp_conn_maybe_close(c);
	}
}

static int tcp_adopt(struct dns_server *s, int fd, const struct sockaddr *sa, socklen_t salen,
    struct tls_server *tls);

int
dns_server_tcp_adopt(struct dns_server *s, int fd, const struct sockaddr *sa, socklen_t salen)
{
	return tcp_adopt(s, fd, sa, salen, NULL);
}

static int
tcp_adopt(struct dns_server *s, int fd, const struct sockaddr *sa, socklen_t salen,
    struct tls_server *tls)
{
	struct tcp_conn *c;
	struct timeval idle = { (time_t)s->cfg.tcp_idle_timeout_s, 0 };

	if ((size_t)salen > sizeof(c->link.peer)) {
		close(fd);
		return -1;
	}
	/* a client over its share makes room among its own connections: an
	 * attacker only crowds out itself, and a client that leaks idle
	 * connections (all clients on loopback are one) never locks itself out */
	if (connlimit_admit(&s->conns, sa, salen, s->cfg.tcp_max_connections,
		s->cfg.tcp_max_per_client) < 0) {
		s->stats.tcp_refused++;
		close(fd);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -1;
	}
	c->bev = tls_server_accept_bev(s->base, fd, tls, TLS_ALPN_DOT);
	c->deadline = c->bev ? evtimer_new(s->base, tcp_deadline_cb, c) : NULL;
	c->resume = c->deadline ? event_new(s->base, -1, 0, tcp_conn_resume_cb, c) : NULL;
	if (!c->resume) {
		if (c->deadline)
			event_free(c->deadline);
		if (c->bev)
			bufferevent_free(c->bev);
		free(c);
		return -1;
	}
	if (tls) {
		c->tls = true;
		c->handshaking = true;
		s->stats.tls_connections++;
	}
	c->srv = s;
	connlimit_add(&s->conns, &c->link, sa, salen);
	s->stats.tcp_connections++;
	bufferevent_setcb(c->bev, tcp_read_cb, tcp_write_cb, tcp_event_cb, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (c->handshaking)
		tcp_deadline_set(c, true); /* the handshake has tcp_msg_timeout_ms */
	return 0;
}

static void
tcp_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct tcp_listener *t = arg;
	(void)lev;

	tcp_adopt(t->srv, fd, sa, (socklen_t)salen, t->tls);
}

/* accept() failed for a reason libevent does not retry: pause (counted). */
static void
tcp_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct tcp_listener *t = arg;
	int e = errno;

	t->srv->stats.accept_errors++;
	connlimit_accept_pause(lev, t->resume, &t->srv->accept_log, e, LOG_MODULE, "TCP");
}

/* A TCP listener (DoT with tls) on addr, pushed on the server's list.
 * @param proto "tcp" or "tls", for the log line on failure */
static struct tcp_listener *
tcp_listener_new(struct dns_server *s, const struct sockaddr *addr, socklen_t len,
    struct tls_server *tls, const char *proto)
{
	char a[NETADDR_STRLEN];
	struct tcp_listener *t;
	int tfd = connlimit_listen_socket(addr, len);

	if (tfd < 0) {
		int e = errno;
		log_err("cannot listen on %s (%s): %s", netaddr_str(addr, a, sizeof(a)), proto,
		    strerror(e));
		errno = e;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		close(tfd);
		return NULL;
	}
	t->srv = s;
	t->tls = tls;
	t->lev = evconnlistener_new(s->base, tcp_accept_cb, t,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, -1, tfd);
	t->resume = evtimer_new(s->base, connlimit_resume_cb, t->lev);
	if (!t->lev || !t->resume) {
		if (t->resume)
			event_free(t->resume);
		if (t->lev)
			evconnlistener_free(t->lev);
		else
			close(tfd);
		free(t);
		return NULL;
	}
	evconnlistener_set_error_cb(t->lev, tcp_accept_error_cb);
	t->next = s->tcp;
	s->tcp = t;
	return t;
}

int
dns_server_listen(struct dns_server *s, const struct sockaddr *addr, socklen_t len)
{
	char a[NETADDR_STRLEN];
	struct udp_listener *u;
	struct tcp_listener *t;
	int ufd;

	netaddr_str(addr, a, sizeof(a));
	ufd = make_udp_socket(addr, len);
	if (ufd < 0) {
		int e = errno;
		log_err("cannot listen on %s (udp): %s", a, strerror(e));
		errno = e;
		return -1;
	}
	t = tcp_listener_new(s, addr, len, NULL, "tcp");
	if (!t) {
		int e = errno;
		close(ufd);
		errno = e;
		return -1;
	}
	u = calloc(1, sizeof(*u));
	if (u) {
		u->srv = s;
		u->fd = ufd;
		u->refs = 1; /* the server's own */
		u->pktinfo = addr_is_wildcard(addr);
		u->ev = event_new(s->base, ufd, EV_READ | EV_PERSIST, udp_read_cb, u);
	}
	if (!u || !u->ev || event_add(u->ev, NULL) < 0) {
		if (u && u->ev)
			event_free(u->ev);
		free(u);
		close(ufd);
		s->tcp = t->next;
		evconnlistener_free(t->lev);
		event_free(t->resume);
		free(t);
		return -1;
	}
	u->next = s->udp;
	s->udp = u;
	log_info("listening on %s (udp, tcp)", a);
	return 0;
}

int
dns_server_listen_tls(struct dns_server *s, const struct sockaddr *addr, socklen_t len,
    struct tls_server *tls)
{
	char a[NETADDR_STRLEN];

	if (!tcp_listener_new(s, addr, len, tls, "tls"))
		return -1;
	log_info("listening on %s (tls)", netaddr_str(addr, a, sizeof(a)));
	return 0;
}

static void
submit_free(struct dns_submitted *h)
{
	if (h->deliver)
		event_free(h->deliver);
	free(h->ans);
	free(h);
}

/* The answer made during dns_server_submit, handed over from the loop. */
static void
submit_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dns_submitted *h = arg;
	(void)fd;
	(void)what;

	h->cb(h->ctx, h->ans, h->ans ? h->ans_len : 0);
	submit_free(h);
}

struct dns_submitted *
dns_server_submit(struct dns_server *s, const uint8_t *msg, size_t len,
    const struct sockaddr *client, socklen_t client_len, enum dns_transport transport,
    dns_submit_fn cb, void *ctx)
{
	struct dns_submitted *h;
	struct dns_query q;
	struct dns_query_priv p;

	if (len > MSG_MAX || (size_t)client_len > sizeof(q.client) ||
	    !(h = calloc(1, sizeof(*h))))
		return NULL;
	/* made before the query is processed: once it is, the answer can
	 * no longer be refused */
	h->deliver = event_new(s->base, -1, 0, submit_deliver_cb, h);
	if (!h->deliver) {
		free(h);
		return NULL;
	}
	h->cb = cb;
	h->ctx = ctx;
	h->in_submit = true;
	memcpy(s->tcp_rx, msg, len);
	stream_query_init(s, &q, &p, len, transport, client, client_len);
	p.sub = h;
	process(s, &q);
	h->in_submit = false;
	if (h->done || !h->held) {
		/* answered (or dropped) during the call: cb runs from the loop */
		if (h->held)
			h->held->priv->sub = NULL;
		h->held = NULL;
		event_active(h->deliver, EV_TIMEOUT, 1);
		return h;
	}
	event_free(h->deliver);
	h->deliver = NULL;
	return h;
}

void
dns_submit_cancel(struct dns_submitted *h)
{
	if (!h)
		return;
	if (h->held)
		h->held->priv->sub = NULL;
	submit_free(h);
}

void
dns_server_close_listeners(struct dns_server *s)
{
	while (s->udp) {
		struct udp_listener *u = s->udp;
		s->udp = u->next;
		event_free(u->ev);
		u->ev = NULL;
		u->closed = true;
		udp_listener_unref(u);
	}
	while (s->tcp) {
		struct tcp_listener *t = s->tcp;
		s->tcp = t->next;
		evconnlistener_free(t->lev);
		event_free(t->resume);
		free(t);
	}
}

void
dns_server_free(struct dns_server *s)
{
	if (!s)
		return;
	dns_server_close_listeners(s);
	while (s->conns.head)
		tcp_conn_free(CONN_OF(s->conns.head));
	for (int i = 0; i < UDP_BATCH; i++)
		free(s->tx[i]);
	free(s);
}

void
dns_server_get_stats(const struct dns_server *s, struct dns_server_stats *st)
{
	*st = s->stats;
}
