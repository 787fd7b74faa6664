#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""libtorrent-rasterbar DHT harness for pkdns interop tests and benchmarks.

Runs Mainline DHT test networks made of libtorrent sessions on loopback, and
acts as a BEP 44 client (put/get of mutable and immutable items) whose DHT
traffic comes from libtorrent, so the pkdns DHT node can be checked against
an independent, widely deployed implementation.

Command line (run with /usr/bin/python3, the interpreter that has the
Debian python3-libtorrent binding):

  ltdht.py net --nodes N --ip-base 127.0.2.1 --port P [--bootstrap H:P ...]
               [--duration S] [--ready-file F] [--same-ip]
  ltdht.py put-mutable --seed HEX64 --value-hex HEX [--salt S] [--seq N]
               --bootstrap H:P ...
  ltdht.py get-mutable --pk HEX64 [--salt S] --bootstrap H:P ...
  ltdht.py put-immutable --value-hex HEX --bootstrap H:P ...
  ltdht.py get-immutable --target HEX40 --bootstrap H:P ...

Module API (import ltdht): Net, Client, ed25519_keypair, ed25519_sign,
ed25519_verify, bep44_signable, bencode, bdecode, krpc_put_mutable,
parse_hostport.

Only the standard library and libtorrent are used.  Ed25519 is implemented
here in plain Python because the Debian 2.0.8 binding does not expose
libtorrent's ed25519_* helpers, yet dht_put_mutable_item() wants the 64-byte
expanded secret key (the clamped scalar followed by the nonce prefix, the
layout of SHA-512(seed) after clamping).
"""

import argparse
import hashlib
import ipaddress
import json
import os
import random
import signal
import socket
import sys
import queue
import threading
import time
import warnings

try:
    import libtorrent as lt
except ImportError:  # pragma: no cover - reported by the command line
    lt = None

# ---------------------------------------------------------------------------
# Ed25519 (RFC 8032) in plain Python: slow (a few ms per operation) but enough
# for a test harness.  Points are kept in extended coordinates (X, Y, Z, T).

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _recover_x(y, sign):
    if y >= _P:
        return None
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    if xx == 0:
        return None if sign else 0
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P != 0:
        x = x * _SQRT_M1 % _P
    if (x * x - xx) % _P != 0:
        return None
    if x & 1 != sign:
        x = _P - x
    return x


_BY = 4 * pow(5, _P - 2, _P) % _P
_BX = _recover_x(_BY, 0)
_B = (_BX, _BY, 1, _BX * _BY % _P)
_ZERO = (0, 1, 1, 0)


def _padd(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _pmul(s, p):
    q = _ZERO
    while s > 0:
        if s & 1:
            q = _padd(q, p)
        p = _padd(p, p)
        s >>= 1
    return q


def _pencode(p):
    zinv = pow(p[2], _P - 2, _P)
    x, y = p[0] * zinv % _P, p[1] * zinv % _P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _pdecode(b):
    if len(b) != 32:
        return None
    y = int.from_bytes(b, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % _P)


def _pequal(p, q):
    return ((p[0] * q[2] - q[0] * p[2]) % _P == 0 and
            (p[1] * q[2] - q[1] * p[2]) % _P == 0)


def _expand(seed):
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes")
    h = bytearray(hashlib.sha512(seed).digest())
    h[0] &= 248
    h[31] &= 63
    h[31] |= 64
    return bytes(h)


def ed25519_keypair(seed):
    """Return (public_key 32 bytes, expanded_secret_key 64 bytes) for a
    32-byte seed; the secret key is the layout libtorrent's sign wants."""
    sk = _expand(seed)
    a = int.from_bytes(sk[:32], "little")
    return _pencode(_pmul(a, _B)), sk


def ed25519_sign(seed, msg):
    """Deterministic Ed25519 signature (64 bytes) of msg with the seed."""
    pk, sk = ed25519_keypair(seed)
    a = int.from_bytes(sk[:32], "little")
    r = int.from_bytes(hashlib.sha512(sk[32:] + msg).digest(), "little") % _L
    rb = _pencode(_pmul(r, _B))
    k = int.from_bytes(hashlib.sha512(rb + pk + msg).digest(), "little") % _L
    s = (r + k * a) % _L
    return rb + int.to_bytes(s, 32, "little")


def ed25519_verify(pk, msg, sig):
    """True when sig (64 bytes) is a valid signature of msg by pk."""
    if len(sig) != 64 or len(pk) != 32:
        return False
    a = _pdecode(pk)
    r = _pdecode(sig[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    k = int.from_bytes(hashlib.sha512(sig[:32] + pk + msg).digest(),
                       "little") % _L
    return _pequal(_pmul(s, _B), _padd(r, _pmul(k, a)))


# ---------------------------------------------------------------------------
# Bencode (BEP 3), for the raw KRPC client and the BEP 44 signable bytes.

def bencode(obj):
    """Bencode ints, bytes, str (UTF-8), lists and dicts (keys sorted)."""
    out = []

    def enc(o):
        if isinstance(o, bool):
            raise TypeError("bool is not bencodable")
        if isinstance(o, int):
            out.append(b"i%de" % o)
        elif isinstance(o, (bytes, bytearray)):
            out.append(b"%d:" % len(o))
            out.append(bytes(o))
        elif isinstance(o, str):
            enc(o.encode())
        elif isinstance(o, (list, tuple)):
            out.append(b"l")
            for x in o:
                enc(x)
            out.append(b"e")
        elif isinstance(o, dict):
            out.append(b"d")
            items = [(k.encode() if isinstance(k, str) else k, v)
                     for k, v in o.items()]
            for k, v in sorted(items):
                enc(k)
                enc(v)
            out.append(b"e")
        else:
            raise TypeError("cannot bencode %r" % type(o))

    enc(obj)
    return b"".join(out)


def bdecode(buf, max_depth=32):
    """Decode one bencoded value that fills buf; raises ValueError."""

    def dec(i, depth):
        if depth > max_depth:
            raise ValueError("too deep")
        if i >= len(buf):
            raise ValueError("truncated")
        c = buf[i:i + 1]
        if c == b"i":
            j = buf.index(b"e", i)
            return int(buf[i + 1:j]), j + 1
        if c == b"l":
            i += 1
            lst = []
            while buf[i:i + 1] != b"e":
                v, i = dec(i, depth + 1)
                lst.append(v)
            return lst, i + 1
        if c == b"d":
            i += 1
            d = {}
            while buf[i:i + 1] != b"e":
                k, i = dec(i, depth + 1)
                if not isinstance(k, bytes):
                    raise ValueError("dict key not a string")
                d[k], i = dec(i, depth + 1)
            return d, i + 1
        if c.isdigit():
            j = buf.index(b":", i)
            n = int(buf[i:j])
            if n < 0 or j + 1 + n > len(buf):
                raise ValueError("string past end")
            return bytes(buf[j + 1:j + 1 + n]), j + 1 + n
        raise ValueError("bad byte %r at %d" % (c, i))

    try:
        v, end = dec(0, 0)
    except (IndexError, ValueError) as e:
        raise ValueError("bdecode: %s" % e)
    if end != len(buf):
        raise ValueError("bdecode: trailing bytes")
    return v


def bep44_signable(seq, v, salt=b""):
    """The bytes a BEP 44 mutable item's signature covers; v is the raw byte
    string (bencoded here as a string, as pkarr does)."""
    b = b""
    if salt:
        b += b"4:salt%d:" % len(salt) + salt
    return b + b"3:seqi%de1:v" % seq + bencode(v)


def bep44_target(k, salt=b""):
    """BEP 44 target: SHA-1(k || salt) for mutable, SHA-1(bencode(v)) for
    immutable (pass the bencoded value as k)."""
    return hashlib.sha1(k + salt).digest()


# ---------------------------------------------------------------------------
# Addresses

def parse_hostport(s):
    """'127.0.0.1:6881' or '[::1]:6881' -> (host, port)."""
    if s.startswith("["):
        host, _, port = s[1:].partition("]:")
    else:
        host, _, port = s.rpartition(":")
    if not host or not port:
        raise ValueError("expected HOST:PORT, got %r" % s)
    return host, int(port)


def _ip_add(base, i):
    return str(ipaddress.IPv4Address(base) + i)


def fresh_loopback(port=None, tries=200):
    """Pick a random unused 127.x.y.z address (outside the 127.0.x.x range the
    test networks default to) and a port free on it for UDP and TCP (libtorrent
    listens on both)."""
    rnd = random.SystemRandom()
    for _ in range(tries):
        ip = "127.%d.%d.%d" % (rnd.randint(100, 250), rnd.randint(0, 255),
                                rnd.randint(1, 254))
        p = port or rnd.randint(10000, 32000)
        ok = True
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((ip, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return ip, p
    raise RuntimeError("no free loopback address found")


# ---------------------------------------------------------------------------
# libtorrent sessions

def lt_settings(ip, port, client=False, read_only=False, extra=None):
    """settings_pack (as a dict) for a DHT-only libtorrent session bound to
    ip:port with the rules that would make test nodes on loopback ban each
    other switched off."""
    if ":" in ip:
        iface = "[%s]:%d" % (ip, port)
    else:
        iface = "%s:%d" % (ip, port)
    cat = lt.alert_category
    mask = cat.error | cat.status
    if client:
        mask |= cat.dht | cat.dht_operation | cat.stats
    sp = {
        "listen_interfaces": iface,
        "outgoing_interfaces": ip,
        "enable_dht": True,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
        # routers are never put in routing tables: bootstrap with
        # add_dht_node instead, so pkdns nodes become ordinary DHT peers.
        "dht_bootstrap_nodes": "",
        "dht_restrict_routing_ips": False,
        "dht_restrict_search_ips": False,
        "dht_enforce_node_id": False,
        "dht_prefer_verified_node_ids": False,
        "dht_ignore_dark_internet": False,
        "dht_block_ratelimit": 1000000,
        # default is 8000 bytes/s, which drops replies in a busy testnet
        "dht_upload_rate_limit": 1 << 30,
        "dht_read_only": bool(read_only),
        # libtorrent silently moves to the next port when the one asked for
        # is taken; a test network must fail loudly instead
        "max_retry_port_bind": 0,
        "aio_threads": 1,
        "hashing_threads": 1,
        "alert_mask": int(mask),
        "alert_queue_size": 10000,
    }
    if extra:
        sp.update(extra)
    return sp


def _session(ip, port, client=False, read_only=False, extra=None):
    return lt.session(lt_settings(ip, port, client, read_only, extra))


def _wait_listening(sessions, timeout=10.0):
    """Wait for each session's UDP listen socket; returns a list of error
    strings (empty when every session listens where it was told to)."""
    pending = dict(enumerate(sessions))
    errors = []
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for i, s in list(pending.items()):
            for a in s.pop_alerts():
                if isinstance(a, lt.listen_failed_alert):
                    errors.append("node %d: %s" % (i, a.message()))
                    pending.pop(i, None)
                elif isinstance(a, lt.listen_succeeded_alert) and \
                        a.socket_type in (lt.socket_type_t.udp,
                                          lt.socket_type_t.utp):
                    pending.pop(i, None)
        time.sleep(0.01)
    for i in pending:
        errors.append("node %d: no listen alert" % i)
    return errors


def _node_id(sess):
    """The session's DHT node ID (random bytes if the binding hides it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ids = sess.dht_state().get(b"node-id") or []
            if ids and len(ids[0]) >= 20:
                return bytes(ids[0][:20])
        except (AttributeError, RuntimeError):
            pass
    return os.urandom(20)


def _routing_size(stats_alert):
    return sum(b["num_nodes"] for b in stats_alert.routing_table)


class Net:
    """N libtorrent DHT nodes on loopback.

    Each node gets its own address ip_base, ip_base+1, ... on one port (or,
    with same_ip=True, one address and consecutive ports port, port+1, ...).
    Nodes are seeded with a few random peers plus the given bootstrap
    (host, port) list; libtorrent's own refresh fills the tables from there.
    """

    def __init__(self, nodes, ip_base="127.0.2.1", port=46881,
                 bootstrap=(), same_ip=False, seeds=4, extra=None):
        if lt is None:
            raise RuntimeError("libtorrent is not importable; use "
                               "/usr/bin/python3")
        self.endpoints = []
        for i in range(nodes):
            if same_ip:
                self.endpoints.append((ip_base, port + i))
            else:
                self.endpoints.append((_ip_add(ip_base, i), port))
        self.bootstrap = list(bootstrap)
        self.sessions = []
        self.started = time.monotonic()
        rnd = random.Random(nodes)
        for ip, p in self.endpoints:
            self.sessions.append(_session(ip, p, extra=extra))
        errors = _wait_listening(self.sessions)
        if errors:
            self.sessions = []
            raise RuntimeError("cannot listen: " + "; ".join(errors[:5]))
        for i, s in enumerate(self.sessions):
            peers = set()
            # a chain through every node keeps the graph connected; random
            # extra peers make it settle in a few refresh rounds.
            if nodes > 1:
                peers.add((i + 1) % nodes)
                peers.add((i - 1) % nodes)
            while len(peers) < min(seeds, nodes - 1):
                j = rnd.randrange(nodes)
                if j != i:
                    peers.add(j)
            for j in peers:
                s.add_dht_node(self.endpoints[j])
            for ep in self.bootstrap:
                s.add_dht_node(ep)
        # with no routers libtorrent never runs its bootstrap self-lookup and
        # fills tables only by slow bucket refreshes (~30 s for 200 nodes);
        # one lookup toward each node's own ID does that job at once
        time.sleep(0.5)
        for s in self.sessions:
            s.dht_get_immutable_item(lt.sha1_hash(_node_id(s)))

    def routing_sizes(self, wait=1.0):
        """Number of nodes in each session's routing table (-1 when a
        session did not answer within wait seconds)."""
        for s in self.sessions:
            s.post_dht_stats()
        sizes = [None] * len(self.sessions)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and None in sizes:
            for i, s in enumerate(self.sessions):
                if sizes[i] is not None:
                    continue
                for a in s.pop_alerts():
                    if isinstance(a, lt.dht_stats_alert):
                        sizes[i] = _routing_size(a)
            time.sleep(0.02)
        return [-1 if x is None else x for x in sizes]

    def drain(self):
        """Drop queued alerts so the queues never fill."""
        for s in self.sessions:
            s.pop_alerts()

    def wait_ready(self, timeout=120.0, want=None, poll=1.0, progress=None):
        """Wait until every routing table holds >= want nodes (default
        min(N-1, 8)). Returns (ready, seconds since the sessions were
        created, sizes)."""
        n = len(self.sessions)
        if want is None:
            want = min(n - 1 + len(self.bootstrap), 8)
        t0 = self.started
        sizes = []
        while True:
            sizes = self.routing_sizes()
            waited = time.monotonic() - t0
            if progress:
                progress(waited, sizes)
            if sizes and min(sizes) >= want:
                return True, waited, sizes
            if waited >= timeout:
                return False, waited, sizes
            time.sleep(poll)

    def close(self):
        self.sessions = []  # the destructors stop the DHT threads


def _stats_values(sess, timeout=2.0):
    sess.post_session_stats()
    deadline = time.monotonic() + timeout
    pending = []
    while time.monotonic() < deadline:
        for a in sess.pop_alerts():
            if isinstance(a, lt.session_stats_alert):
                # other alerts seen meanwhile are kept for the caller
                Client._stash(sess, pending)
                return dict(a.values)
            pending.append(a)
        time.sleep(0.01)
    Client._stash(sess, pending)
    return {}


class Client:
    """One libtorrent session on a fresh loopback address that joins the DHT
    through the bootstrap nodes and does BEP 44 gets and puts.

    read_only (default) sets libtorrent's dht_read_only: its queries carry
    ro=1 (BEP 43) and it answers none, so short-lived clients do not leave
    dead entries in the network's routing tables (which would stall later
    lookups for libtorrent's 15 s request timeout)."""

    _stashes = {}

    @classmethod
    def _stash(cls, sess, alerts):
        cls._stashes.setdefault(id(sess), []).extend(alerts)

    def __init__(self, bootstrap, ip=None, port=None, read_only=True,
                 join_timeout=5.0):
        if lt is None:
            raise RuntimeError("libtorrent is not importable; use "
                               "/usr/bin/python3")
        if ip is None:
            ip, port = fresh_loopback(port)
        elif port is None:
            port = fresh_loopback()[1]
        self.ip, self.port = ip, port
        self.bootstrap = list(bootstrap)
        self._raw = None   # RawNode for pre-storing a chosen seq
        # final alerts still due from gets that returned at their timeout:
        # key -> count. libtorrent's alerts carry no look-up ID, so the end
        # of such an older look-up of the same key (with its older seq, or
        # no item) would otherwise pass for the end of the next one
        self._late = {}
        self.sess = _session(ip, port, client=True, read_only=read_only)
        errors = _wait_listening([self.sess])
        if errors:
            raise RuntimeError("cannot listen on %s:%d: %s" %
                               (ip, port, errors[0]))
        self.join_ms = self._join(join_timeout)

    def _alerts(self):
        out = self._stashes.pop(id(self.sess), [])
        out.extend(self.sess.pop_alerts())
        return out

    def _join(self, timeout):
        """Add the bootstrap nodes and fill the routing table with one
        lookup of a random target; returns ms spent."""
        t0 = time.monotonic()
        for ep in self.bootstrap:
            self.sess.add_dht_node(ep)
        deadline = t0 + timeout
        # the pings that add_dht_node sends must come back first; on a
        # lossy (emulated) network one may be lost, and libtorrent sends
        # it once: the nodes are added again each second until one answers
        last_add = t0
        while time.monotonic() < deadline:
            self.sess.post_dht_stats()
            time.sleep(0.05)
            n = 0
            for a in self._alerts():
                if isinstance(a, lt.dht_stats_alert):
                    n = _routing_size(a)
            if n >= 1:
                break
            if time.monotonic() - last_add >= 1.0:
                for ep in self.bootstrap:
                    self.sess.add_dht_node(ep)
                last_add = time.monotonic()
        # a lookup of a random (absent) immutable item walks toward the
        # target, puts every node that answers into the routing table and
        # always ends with one alert; a full table is enough too (a dead
        # node among the closest holds the lookup up to 15 s)
        target = os.urandom(20)
        self.sess.dht_get_immutable_item(lt.sha1_hash(target))
        done = False
        want = min(8, max(1, len(self.bootstrap)))
        while time.monotonic() < deadline and not done:
            self.sess.post_dht_stats()
            time.sleep(0.05)
            for a in self._alerts():
                if isinstance(a, lt.dht_immutable_item_alert) and \
                        str(a.target) == target.hex():
                    done = True
                elif isinstance(a, lt.dht_stats_alert) and \
                        _routing_size(a) >= max(want, 8):
                    done = True
        return int((time.monotonic() - t0) * 1000)

    def routing_size(self):
        self.sess.post_dht_stats()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            for a in self._alerts():
                if isinstance(a, lt.dht_stats_alert):
                    return _routing_size(a)
            time.sleep(0.02)
        return -1

    def counters(self):
        """libtorrent's DHT counters (dht.dht_messages_out, ...)."""
        v = _stats_values(self.sess)
        return {k: v[k] for k in v if k.startswith("dht.")}

    # -- mutable ------------------------------------------------------------

    def put_mutable(self, seed, value, salt=b"", seq=None, timeout=30.0):
        """Put a mutable item signed by libtorrent with the key from the
        32-byte seed.

        libtorrent picks seq itself: (highest seq its get phase finds) + 1,
        i.e. 1 for a new key.  To get a chosen seq N > 1 this first stores
        the item at seq N-1 with a raw KRPC put (signed here in Python), so
        libtorrent's own put then carries N.  Returns a dict with ok, seq,
        pk, sig, nodes_stored, sig_matches_local (libtorrent's signature
        equals the Python one over the same signable bytes)."""
        pk, sk = ed25519_keypair(seed)
        res = {"ok": False, "pk": pk.hex()}
        if seq is not None and seq > 1:
            if self._raw is None:
                self._raw = RawNode(self.ip)
            pre = krpc_put_mutable(self.bootstrap, seed, value, seq - 1,
                                   salt=salt, node=self._raw,
                                   timeout=min(10.0, timeout / 2))
            res["preseed"] = {"seq": seq - 1,
                              "nodes_stored": pre["nodes_stored"]}
        before = self.counters()
        t0 = time.monotonic()
        self.sess.dht_put_mutable_item(sk, pk, value, salt)
        deadline = t0 + timeout
        alert = None
        while time.monotonic() < deadline and alert is None:
            for a in self._alerts():
                if isinstance(a, lt.dht_put_alert) and \
                        bytes(a.public_key) == pk and _b(a.salt) == salt:
                    alert = a
            time.sleep(0.01)
        res["ms"] = int((time.monotonic() - t0) * 1000)
        after = self.counters()
        res["messages_out"] = (after.get("dht.dht_messages_out", 0) -
                               before.get("dht.dht_messages_out", 0))
        if alert is None:
            res["error"] = "timeout"
            return res
        sig = bytes(alert.signature)
        res.update(seq=alert.seq, sig=sig.hex(),
                   nodes_stored=alert.num_success)
        res["sig_matches_local"] = sig == ed25519_sign(
            seed, bep44_signable(alert.seq, value, salt))
        res["ok"] = alert.num_success > 0 and (seq is None or
                                                alert.seq == seq)
        return res

    def get_mutable(self, pk, salt=b"", timeout=30.0, patience=0.0):
        """Look a mutable item up; returns found, seq, v_hex, sig, sig_ok,
        ms_to_first (get call to first alert with an item), ms_total (to the
        authoritative end of the lookup), messages_out. With patience, a
        look-up that has found nothing by timeout may go on that much
        longer, until its first item (a loaded machine may be slow to
        answer; a test's bound, not a measurement)."""
        before = self.counters()
        t0 = time.monotonic()
        self.sess.dht_get_mutable_item(pk, salt)
        deadline = t0 + timeout
        res = {"found": False, "ms_to_first": None}
        best = None
        done = False
        while not done and (time.monotonic() < deadline or
                            (best is None and
                             time.monotonic() < deadline + patience)):
            for a in self._alerts():
                if not isinstance(a, lt.dht_mutable_item_alert):
                    continue
                if bytes(a.key) != pk or _b(a.salt) != salt:
                    continue
                if a.authoritative and self._late.get(("m", pk, salt)):
                    self._late[("m", pk, salt)] -= 1
                    continue
                v = _alert_item(a)
                if v is not None:
                    if res["ms_to_first"] is None:
                        res["ms_to_first"] = int(
                            (time.monotonic() - t0) * 1000)
                    if best is None or a.seq >= best[0]:
                        best = (a.seq, v, bytes(a.signature))
                if a.authoritative:
                    done = True
            time.sleep(0.002)
        res["ms_total"] = int((time.monotonic() - t0) * 1000)
        res["complete"] = done
        if not done:
            k = ("m", pk, salt)
            self._late[k] = self._late.get(k, 0) + 1
        after = self.counters()
        res["messages_out"] = (after.get("dht.dht_messages_out", 0) -
                               before.get("dht.dht_messages_out", 0))
        if best is not None:
            seq, v, sig = best
            res.update(found=True, seq=seq, v_hex=v.hex(), sig=sig.hex())
            res["sig_ok"] = ed25519_verify(pk, bep44_signable(seq, v, salt),
                                           sig)
        return res

    # -- immutable ----------------------------------------------------------

    def put_immutable(self, value, timeout=30.0):
        """Put an immutable item whose v is the raw byte string; returns ok,
        target (SHA-1 of the bencoded v), nodes_stored."""
        t0 = time.monotonic()
        h = self.sess.dht_put_immutable_item(value)
        target = str(h)
        res = {"ok": False, "target": target}
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            for a in self._alerts():
                if isinstance(a, lt.dht_put_alert) and str(a.target) == target:
                    res.update(ok=a.num_success > 0,
                               nodes_stored=a.num_success,
                               ms=int((time.monotonic() - t0) * 1000))
                    return res
            time.sleep(0.01)
        res["error"] = "timeout"
        return res

    def get_immutable(self, target_hex, timeout=30.0):
        """Look an immutable item up by its 40-hex-digit target."""
        before = self.counters()
        t0 = time.monotonic()
        self.sess.dht_get_immutable_item(
            lt.sha1_hash(bytes.fromhex(target_hex)))
        deadline = t0 + timeout
        res = {"found": False}
        got = False
        while time.monotonic() < deadline and not got:
            for a in self._alerts():
                if isinstance(a, lt.dht_immutable_item_alert) and \
                        str(a.target) == target_hex:
                    if self._late.get(("i", target_hex)):
                        self._late[("i", target_hex)] -= 1
                        continue
                    got = True
                    v = _alert_item(a)
                    res["ms_to_first"] = int((time.monotonic() - t0) * 1000)
                    if v is not None:
                        res.update(found=True, v_hex=v.hex())
            time.sleep(0.002)
        if not got:
            k = ("i", target_hex)
            self._late[k] = self._late.get(k, 0) + 1
        after = self.counters()
        res["messages_out"] = (after.get("dht.dht_messages_out", 0) -
                               before.get("dht.dht_messages_out", 0))
        return res

    def close(self):
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        self.sess = None


def _b(x):
    """Binding values come back as str (latin-1 safe for salts) or bytes."""
    if isinstance(x, str):
        return x.encode("latin-1")
    return bytes(x)


def _alert_item(a):
    """The item of a dht_*_item_alert as bytes, or None when it is empty or
    not a string (the binding raises on an undefined entry, and returns
    immutable items as {'key':..., 'value':...})."""
    try:
        v = a.item
    except RuntimeError:
        return None
    if isinstance(v, dict) and "value" in v:
        v = v["value"]
    if isinstance(v, str):
        v = v.encode("latin-1")
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    return None


# ---------------------------------------------------------------------------
# A small raw KRPC client (BEP 5 + BEP 44) used to pre-store an item with a
# chosen seq, which the libtorrent binding cannot do.

def _xor(a, b):
    return int.from_bytes(a, "big") ^ int.from_bytes(b, "big")


def _compact_nodes(b):
    out = []
    for i in range(0, len(b) - len(b) % 26, 26):
        nid = b[i:i + 20]
        ip = socket.inet_ntoa(b[i + 20:i + 24])
        port = int.from_bytes(b[i + 24:i + 26], "big")
        if port:
            out.append((nid, (ip, port)))
    return out


class RawNode:
    """A bare KRPC endpoint on one UDP socket: sends queries, and from a
    background thread answers every query it receives with a minimal valid
    reply (its id, no nodes, a token).  Answering matters: libtorrent puts
    the sender of a put into its routing table even when the query says
    ro=1, and a silent entry there stalls later lookups up to libtorrent's
    15 s request timeout."""

    def __init__(self, ip=None, port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip or fresh_loopback()[0], port))
        self.sock.settimeout(0.1)
        self.addr = self.sock.getsockname()
        self.id = os.urandom(20)
        self._replies = queue.Queue()
        self._tid = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                data, ep = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                msg = bdecode(data)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            if msg.get(b"y") == b"q":
                r = {"id": self.id}
                if msg.get(b"q") in (b"find_node", b"get_peers", b"get"):
                    r["nodes"] = b""
                    r["token"] = b"tok0"
                try:
                    self.sock.sendto(bencode({"t": msg.get(b"t", b""),
                                              "y": "r", "r": r}), ep)
                except (OSError, TypeError):
                    pass
            else:
                self._replies.put((ep, msg))

    def send(self, ep, q, args, ro=False):
        """Send query q with args (id added) to ep; returns the tid."""
        self._tid = (self._tid + 1) & 0xffff
        tid = self._tid.to_bytes(2, "big")
        msg = {"t": tid, "y": "q", "q": q, "a": dict(args, id=self.id)}
        if ro:
            msg["ro"] = 1
        self.sock.sendto(bencode(msg), ep)
        return tid

    def recv(self, timeout):
        """Next (endpoint, message) reply or error, or None."""
        try:
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


def krpc_put_mutable(bootstrap, seed, value, seq, salt=b"", node=None,
                     bind_ip=None, timeout=10.0, k=8, alpha=4):
    """Iterative BEP 44 get toward SHA-1(pk||salt) from the bootstrap
    endpoints, then a put (signed here) to the k closest nodes that gave a
    token, from node (a RawNode; a temporary one when None).  Returns
    {"nodes_stored": n, "errors": [...], "queried": q}."""
    pk, _ = ed25519_keypair(seed)
    target = bep44_target(pk, salt)
    sig = ed25519_sign(seed, bep44_signable(seq, value, salt))
    own = node is None
    if own:
        node = RawNode(bind_ip)
    deadline = time.monotonic() + timeout
    inflight = {}       # tid -> (endpoint, sent_at)
    known = {}          # endpoint -> node id (None for bootstrap)
    state = {}          # endpoint -> "sent" | "ok" | "dead"
    tokens = {}         # endpoint -> token
    errors = []
    for ep in bootstrap:
        known[tuple(ep)] = None

    def send(ep, q, args):
        inflight[node.send(ep, q, args, ro=own)] = (ep, time.monotonic())

    def dist(ep):
        nid = known.get(ep)
        return _xor(nid, target) if nid else 1 << 200

    def receive():
        r = node.recv(0.05)
        if r is None:
            return None
        _, msg = r
        tid = msg.get(b"t")
        if tid not in inflight:
            return None
        sent_ep, _ = inflight.pop(tid)
        return sent_ep, msg

    # lookup phase
    while time.monotonic() < deadline:
        now = time.monotonic()
        for tid, (ep, at) in list(inflight.items()):
            if now - at > 1.0:
                del inflight[tid]
                state[ep] = "dead"
        closest = sorted((ep for ep in known if state.get(ep) != "dead"),
                         key=dist)[:k]
        if all(state.get(ep) == "ok" for ep in closest) and not inflight:
            break
        for ep in closest:
            if len(inflight) >= alpha:
                break
            if ep not in state:
                state[ep] = "sent"
                send(ep, "get", {"target": target})
        if not inflight and all(ep in state for ep in closest):
            break
        r = receive()
        if r is None:
            continue
        ep, msg = r
        resp = msg.get(b"r")
        if msg.get(b"y") != b"r" or not isinstance(resp, dict):
            state[ep] = "dead"
            continue
        state[ep] = "ok"
        if isinstance(resp.get(b"id"), bytes) and len(resp[b"id"]) == 20:
            known[ep] = resp[b"id"]
        if isinstance(resp.get(b"token"), bytes):
            tokens[ep] = resp[b"token"]
        nodes = resp.get(b"nodes", b"")
        for nid, nep in _compact_nodes(nodes if isinstance(nodes, bytes)
                                       else b""):
            if nep not in known:
                known[nep] = nid
    # put phase
    dests = sorted((ep for ep in tokens if state.get(ep) == "ok"),
                   key=dist)[:k]
    inflight.clear()
    args = {"k": pk, "seq": seq, "sig": sig, "v": value}
    if salt:
        args["salt"] = salt
    for ep in dests:
        send(ep, "put", dict(args, token=tokens[ep]))
    stored = 0
    put_deadline = time.monotonic() + 2.0
    while inflight and time.monotonic() < put_deadline:
        r = receive()
        if r is None:
            continue
        ep, msg = r
        if msg.get(b"y") == b"r":
            stored += 1
        else:
            errors.append([ep[0], ep[1], repr(msg.get(b"e"))])
    if own:
        node.close()
    return {"nodes_stored": stored, "errors": errors,
            "queried": sum(1 for v in state.values() if v == "ok")}


# ---------------------------------------------------------------------------
# Command line

def reexec_with_system_python():
    """When libtorrent is missing (a pyenv or venv python3 first on PATH),
    run the same script again with /usr/bin/python3, which has Debian's
    binding.  Returns only when that is not possible."""
    exe = "/usr/bin/python3"
    if lt is None and os.environ.get("LTDHT_REEXEC") != "1" and \
            os.path.exists(exe) and \
            os.path.realpath(sys.executable) != os.path.realpath(exe):
        os.environ["LTDHT_REEXEC"] = "1"
        os.execv(exe, [exe] + sys.argv)


def _rss_kb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def _threads():
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return -1


def _cmd_net(args):
    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.monotonic()
    net = Net(args.nodes, args.ip_base, args.port, args.bootstrap,
              same_ip=args.same_ip)
    start_s = time.monotonic() - t0

    def progress(waited, sizes):
        if args.verbose:
            print("# t=%.1fs min=%d max=%d" % (waited, min(sizes),
                                               max(sizes)),
                  file=sys.stderr, flush=True)
        net.drain()

    ready, waited, sizes = net.wait_ready(timeout=args.settle_timeout,
                                          progress=progress)
    info = {"nodes": args.nodes, "ready": ready,
            "start_s": round(start_s, 2), "settle_s": round(waited, 2),
            "min_table": min(sizes), "max_table": max(sizes),
            "rss_kb": _rss_kb(), "threads": _threads(),
            "endpoints": ["%s:%d" % ep for ep in net.endpoints]}
    print("# " + json.dumps({k: v for k, v in info.items()
                             if k != "endpoints"}),
          file=sys.stderr, flush=True)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(info, f)
            f.write("\n")
        os.replace(tmp, args.ready_file)
    if ready:
        print("ready %d" % args.nodes, flush=True)
    else:
        print("notready %d" % args.nodes, flush=True)
    end = None if args.duration is None else t0 + args.duration
    while not stop["flag"] and (end is None or time.monotonic() < end):
        time.sleep(0.2)
        net.drain()
    net.close()
    return 0 if ready else 1


def _client(args):
    return Client(args.bootstrap, ip=args.ip, port=args.client_port,
                  read_only=args.read_only)


def _emit(res):
    print(json.dumps(res), flush=True)


def _cmd_put_mutable(args):
    c = _client(args)
    res = c.put_mutable(bytes.fromhex(args.seed), bytes.fromhex(args.value_hex),
                        salt=args.salt.encode(), seq=args.seq,
                        timeout=args.timeout)
    res["join_ms"] = c.join_ms
    _emit(res)
    return 0 if res["ok"] else 1


def _cmd_get_mutable(args):
    c = _client(args)
    res = c.get_mutable(bytes.fromhex(args.pk), salt=args.salt.encode(),
                        timeout=args.timeout)
    res["join_ms"] = c.join_ms
    _emit(res)
    return 0 if res["found"] else 1


def _cmd_put_immutable(args):
    c = _client(args)
    res = c.put_immutable(bytes.fromhex(args.value_hex), timeout=args.timeout)
    res["join_ms"] = c.join_ms
    _emit(res)
    return 0 if res["ok"] else 1


def _cmd_get_immutable(args):
    c = _client(args)
    res = c.get_immutable(args.target.lower(), timeout=args.timeout)
    res["join_ms"] = c.join_ms
    _emit(res)
    return 0 if res["found"] else 1


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def hostport(s):
        try:
            return parse_hostport(s)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e))

    n = sub.add_parser("net", help="run a libtorrent DHT test network")
    n.add_argument("--nodes", type=int, required=True)
    n.add_argument("--ip-base", default="127.0.2.1")
    n.add_argument("--port", type=int, default=46881)
    n.add_argument("--same-ip", action="store_true",
                   help="one address, consecutive ports")
    n.add_argument("--bootstrap", type=hostport, action="append", default=[])
    n.add_argument("--duration", type=float, default=None,
                   help="seconds to run (default: until SIGTERM)")
    n.add_argument("--settle-timeout", type=float, default=120.0)
    n.add_argument("--ready-file")
    n.add_argument("-v", "--verbose", action="store_true")
    n.set_defaults(func=_cmd_net)

    def client_opts(sp):
        sp.add_argument("--bootstrap", type=hostport, action="append",
                        required=True)
        sp.add_argument("--ip", help="loopback address to use "
                        "(default: a random free 127.x.y.z)")
        sp.add_argument("--client-port", type=int)
        sp.add_argument("--full-node", dest="read_only",
                        action="store_false", default=True,
                        help="answer queries and enter routing tables "
                        "(default: BEP 43 read-only, ro=1)")
        sp.add_argument("--timeout", type=float, default=30.0)

    pm = sub.add_parser("put-mutable")
    pm.add_argument("--seed", required=True)
    pm.add_argument("--value-hex", required=True)
    pm.add_argument("--salt", default="")
    pm.add_argument("--seq", type=int)
    client_opts(pm)
    pm.set_defaults(func=_cmd_put_mutable)

    gm = sub.add_parser("get-mutable")
    gm.add_argument("--pk", required=True)
    gm.add_argument("--salt", default="")
    client_opts(gm)
    gm.set_defaults(func=_cmd_get_mutable)

    pi = sub.add_parser("put-immutable")
    pi.add_argument("--value-hex", required=True)
    client_opts(pi)
    pi.set_defaults(func=_cmd_put_immutable)

    gi = sub.add_parser("get-immutable")
    gi.add_argument("--target", required=True)
    client_opts(gi)
    gi.set_defaults(func=_cmd_get_immutable)

    args = p.parse_args(argv)
    reexec_with_system_python()
    if lt is None:
        print("ltdht: libtorrent is not importable by %s; run it with "
              "/usr/bin/python3" % sys.executable, file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
