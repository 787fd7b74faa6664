/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * krpc.h -- the KRPC message codec of the Mainline DHT.
 *
 * KRPC (BEP 5 "KRPC Protocol") is a bencoded dictionary with a transaction
 * ID "t", a type "y" (q, r or e), and for queries a method "q" with
 * arguments "a", for responses a dictionary "r", for errors a list "e".
 * Fields from BEP 5 (ping, find_node, get_peers, announce_peer), BEP 32
 * (nodes6, want), BEP 42 (top-level ip), BEP 43 (ro) and BEP 44 (get, put:
 * k, sig, seq, cas, salt, v) are parsed into one struct of views into the
 * datagram; nothing is copied and nothing allocated. The builders write
 * keys in canonical (sorted) order into a caller buffer.
 */
#ifndef PKDNS_DHT_KRPC_H
#define PKDNS_DHT_KRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Largest transaction ID accepted from peers. */
#define KRPC_MAX_TID 16
/** Largest "values" list (get_peers) read or written. */
#define KRPC_MAX_VALUES 64

/** Query methods. */
enum krpc_method {
	KRPC_M_NONE = 0,
	KRPC_M_PING,
	KRPC_M_FIND_NODE,
	KRPC_M_GET_PEERS,
	KRPC_M_ANNOUNCE_PEER,
	KRPC_M_GET,
	KRPC_M_PUT,
	KRPC_M_UNKNOWN, /**< a method we do not implement (answer 204) */
};

/** Error codes (BEP 5 "Errors", BEP 44 "Errors"). */
enum krpc_error_code {
	KRPC_E_GENERIC = 201,
	KRPC_E_SERVER = 202,
	KRPC_E_PROTOCOL = 203,
	KRPC_E_METHOD = 204,
	KRPC_E_VTOOBIG = 205,
	KRPC_E_BADSIG = 206,
	KRPC_E_SALTTOOBIG = 207,
	KRPC_E_CAS = 301,
	KRPC_E_SEQ = 302,
};

/** A byte string inside the datagram. */
struct krpc_str {
	const uint8_t *p; /**< NULL when absent */
	size_t n;
};

/** A parsed KRPC message: views into the datagram. */
struct krpc_msg {
	char y; /**< 'q', 'r' or 'e' */
	struct krpc_str t;
	struct krpc_str version; /**< top-level "v" (client version) */
	struct krpc_str ip;      /**< top-level "ip" (BEP 42), 6 or 18 bytes */
	bool ro;                 /**< top-level "ro" = 1 (BEP 43) */
	enum krpc_method method; /**< queries */
	struct krpc_str q;       /**< the method name as sent */
	const uint8_t *id;       /**< 20 bytes; required in q and r */
	const uint8_t *target;   /**< find_node, get: 20 bytes */
	const uint8_t *info_hash; /**< get_peers, announce_peer: 20 bytes */
	struct krpc_str nodes;   /**< multiple of 26 bytes */
	struct krpc_str nodes6;  /**< multiple of 38 bytes */
	struct krpc_str token;
	const uint8_t *k;        /**< BEP 44 public key, 32 bytes */
	const uint8_t *sig;      /**< BEP 44 signature, 64 bytes */
	struct krpc_str salt;
	bool has_seq;
	int64_t seq;
	bool has_cas;
	int64_t cas;
	struct krpc_str value;   /**< BEP 44 "v" inside a/r, bencoded form */
	struct krpc_str value_str; /**< its bytes when it is a string */
	bool has_port;
	int64_t port;
	bool implied_port;
	bool want_n4, want_n6;   /**< BEP 32 "want" */
	size_t n_values;         /**< get_peers "values" (compact peers) */
	struct krpc_str values[KRPC_MAX_VALUES];
	int64_t err_code;        /**< errors */
	struct krpc_str err_msg;
};

/** Parse errors. */
enum krpc_parse_err {
	KRPC_ERR_BENCODE = -1,  /**< not canonical bencode */
	KRPC_ERR_FORMAT = -2,   /**< bencode, but not a KRPC message */
	KRPC_ERR_FIELD = -3,    /**< a known field with a bad type or size */
};

/**
 * Parse one datagram.
 * @param buf datagram
 * @param len its length
 * @param m result; views into buf
 * @return 0 or a negative enum krpc_parse_err. On KRPC_ERR_FIELD for a
 *         query, m->t and m->y are set so that a 203 error can be sent.
 */
int krpc_parse(const uint8_t *buf, size_t len, struct krpc_msg *m);

/**
 * @param name the method name
 * @param n its length
 * @return the method (KRPC_M_UNKNOWN when not known)
 */
enum krpc_method krpc_method_from_name(const uint8_t *name, size_t n);

/**
 * @param m a method
 * @return its wire name ("ping", ...)
 */
const char *krpc_method_name(enum krpc_method m);

/** What goes into an outgoing query; NULL / 0 fields are left out. */
struct krpc_query {
	const uint8_t *t;
	size_t t_len;
	enum krpc_method method;
	const uint8_t *id;        /**< our 20-byte ID */
	const uint8_t *target;    /**< find_node, get */
	const uint8_t *info_hash; /**< get_peers, announce_peer */
	int port;                 /**< announce_peer (>= 0 to include) */
	bool implied_port;
	const uint8_t *token;     /**< announce_peer, put */
	size_t token_len;
	const uint8_t *k;         /**< put (mutable) */
	const uint8_t *sig;       /**< put (mutable) */
	const uint8_t *salt;      /**< put, with salt_len > 0 */
	size_t salt_len;
	bool has_seq;             /**< get (only newer), put (mutable) */
	int64_t seq;
	bool has_cas;
	int64_t cas;
	const uint8_t *value;     /**< put: v, already bencoded */
	size_t value_len;
	bool want_n4, want_n6;
	bool ro;                  /**< BEP 43 read-only */
	const uint8_t *version;   /**< client version, e.g. "PK\x00\x01" */
	size_t version_len;
};

/** What goes into an outgoing response; NULL / 0 fields are left out. */
struct krpc_response {
	const uint8_t *t;
	size_t t_len;
	const uint8_t *id;
	const uint8_t *ip;        /**< BEP 42: requester's compact address */
	size_t ip_len;
	const uint8_t *nodes;
	size_t nodes_len;
	const uint8_t *nodes6;
	size_t nodes6_len;
	const uint8_t *token;
	size_t token_len;
	const uint8_t *k;
	const uint8_t *sig;
	bool has_seq;
	int64_t seq;
	const uint8_t *value;     /**< v, bencoded */
	size_t value_len;
	size_t n_values;          /**< get_peers peers (compact, 6 or 18 each) */
	const struct krpc_str *values;
	const uint8_t *version;
	size_t version_len;
};

/**
 * Encode a query.
 * @param buf destination
 * @param cap its size
 * @param q the fields
 * @return bytes written or -1 (does not fit, or bad method)
 */
int krpc_build_query(uint8_t *buf, size_t cap, const struct krpc_query *q);

/**
 * Encode a response.
 * @param buf destination
 * @param cap its size
 * @param r the fields
 * @return bytes written or -1
 */
int krpc_build_response(uint8_t *buf, size_t cap, const struct krpc_response *r);

/**
 * Encode an error.
 * @param buf destination
 * @param cap its size
 * @param t transaction ID of the query
 * @param t_len its length
 * @param code enum krpc_error_code
 * @param msg message text
 * @param ip requester's compact address or NULL (BEP 42)
 * @param ip_len its length
 * @param version client version or NULL
 * @param version_len its length
 * @return bytes written or -1
 */
int krpc_build_error(uint8_t *buf, size_t cap, const uint8_t *t, size_t t_len,
	int code, const char *msg, const uint8_t *ip, size_t ip_len,
	const uint8_t *version, size_t version_len);

#endif
