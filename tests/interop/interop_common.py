# SPDX-License-Identifier: BSD-3-Clause
"""Shared helpers of the pkdns <-> libtorrent interop tests.

TAP output with a hard time limit, the pkdns binaries (found through
$top_builddir as set by the automake test harness), a pkdns daemon on
loopback with its log, pkdns-cli runs, free ports, libtorrent networks on
random 127.x.y.0/24 blocks, and a minimal DNS packet builder and parser
(pkarr v values are DNS messages, RFC 1035 section 4).

Everything started here is stopped by cleanup(), which the TAP time-limit
handler and the normal exit both run.
"""

import atexit
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ltdht  # noqa: E402

# ---------------------------------------------------------------------------
# TAP


class Tap:
    """TAP producer; plan printed at the end.  A SIGALRM after limit
    seconds records a failure, cleans up and exits."""

    def __init__(self, limit):
        self.n = 0
        self.failed = 0
        self.limit = limit
        self.t0 = time.monotonic()
        signal.signal(signal.SIGALRM, self._on_alarm)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.alarm(limit)

    def _on_alarm(self, signum, frame):
        self.ok(False, "finished within %d s" % self.limit)
        cleanup()
        print("1..%d" % self.n, flush=True)
        os._exit(1)

    def _on_term(self, signum, frame):
        cleanup()
        os._exit(1)

    def ok(self, cond, name):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%sok %d - %s" % ("" if cond else "not ", self.n, name),
              flush=True)
        return bool(cond)

    def is_(self, got, want, name):
        good = got == want
        self.ok(good, name)
        if not good:
            diag("  got:      %r\n  expected: %r" % (got, want))
        return good

    def done(self):
        elapsed = time.monotonic() - self.t0
        self.ok(elapsed < self.limit, "finished in %.1f s" % elapsed)
        signal.alarm(0)
        cleanup()
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def diag(msg):
    print("# " + str(msg).replace("\n", "\n# "), flush=True)


def bail_out(msg):
    cleanup()
    print("Bail out! %s" % msg, flush=True)
    sys.exit(1)


# ---------------------------------------------------------------------------
# Cleanup of everything started here

_procs = []
_nets = []
_tmpdirs = []


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.terminate()
    for p in _procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    del _procs[:]
    for n in _nets:
        n.close()
    del _nets[:]
    for d in _tmpdirs:
        for root, dirs, files in os.walk(d, topdown=False):
            for f in files:
                os.unlink(os.path.join(root, f))
            for x in dirs:
                os.rmdir(os.path.join(root, x))
        os.rmdir(d)
    del _tmpdirs[:]


atexit.register(cleanup)


def tmpdir():
    d = tempfile.mkdtemp(prefix="pkdns-interop-")
    _tmpdirs.append(d)
    return d


# ---------------------------------------------------------------------------
# Binaries and the environment

def require_libtorrent():
    """Re-exec with /usr/bin/python3 when libtorrent is missing here; print
    the TAP skip plan and exit when it cannot be imported at all."""
    ltdht.reexec_with_system_python()
    if ltdht.lt is None:
        print("1..0 # SKIP libtorrent not importable by %s" % sys.executable)
        sys.exit(0)


def _builddir():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.environ.get("top_builddir"), os.getcwd(),
              os.path.join(here, "..", "..")):
        if d and os.access(os.path.join(d, "src", "pkdns"), os.X_OK):
            return d
    return None


def binaries():
    """(pkdns, pkdns-cli) paths; $PKDNS / $PKDNS_CLI override."""
    b = _builddir() or "."
    return (os.environ.get("PKDNS", os.path.join(b, "src", "pkdns")),
            os.environ.get("PKDNS_CLI", os.path.join(b, "src", "pkdns-cli")))


def require_binaries():
    """binaries(), or a TAP bail-out when either is not built."""
    pkdns, pkcli = binaries()
    if not (os.access(pkdns, os.X_OK) and os.access(pkcli, os.X_OK)):
        bail_out("pkdns binaries not found (%s, %s); set top_builddir" %
                 (pkdns, pkcli))
    return pkdns, pkcli


def srcdir_file(rel):
    here = os.path.dirname(os.path.abspath(__file__))
    for top in (os.environ.get("top_srcdir"), os.path.join(here, "..", "..")):
        if top and os.path.exists(os.path.join(top, rel)):
            return os.path.join(top, rel)
    return None


def free_port(ip="127.0.0.1", udp=True, tcp=False):
    """A port that is free on ip for UDP (and TCP when asked)."""
    for _ in range(200):
        port = random.randint(10000, 32000)
        socks = []
        try:
            if udp:
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((ip, port))
            if tcp:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port")


def port_free(port, ip="127.0.0.1"):
    """True when UDP port is free on ip."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def start_net(nodes, bootstrap=()):
    """A libtorrent network on a random 127.x.y.0/24 and port (retried when
    the place is taken); closed by cleanup()."""
    last = None
    for _ in range(5):
        base = "127.%d.%d.1" % (random.randint(20, 90), random.randint(0, 255))
        port = random.randint(10000, 32000)
        try:
            net = ltdht.Net(nodes, ip_base=base, port=port,
                            bootstrap=bootstrap)
            _nets.append(net)
            return net
        except RuntimeError as e:
            last = e
    raise RuntimeError("could not start the network: %s" % last)


def settled_net(t, nodes, timeout=90):
    """start_net(nodes), and one TAP line on t: every routing table filled
    within timeout seconds (a bound that ends when they are: 1.3-8 s
    idle, over 26 s beside CPU hogs)."""
    net = start_net(nodes)
    ready, waited, sizes = net.wait_ready(timeout=timeout)
    t.ok(ready, "%d-node libtorrent network settled in %.1f s (tables %d..%d)"
         % (nodes, waited, min(sizes), max(sizes)))
    return net


def close_net(net):
    if net in _nets:
        _nets.remove(net)
    net.close()


def hostport(ep):
    return "%s:%d" % (ep[0], ep[1])


def bootstrap_args(endpoints):
    """pkdns / pkdns-cli options to bootstrap from these (ip, port)s."""
    args = []
    for ep in endpoints:
        args += ["--bootstrap", hostport(ep)]
    return args


# ---------------------------------------------------------------------------
# pkdns daemon and pkdns-cli

class Daemon:
    """A pkdns daemon in the foreground on loopback, logging to a file.
    args are extra options (bootstrap, mode, ...)."""

    def __init__(self, args, dns_port=None, verbose=2, ready_timeout=10):
        pkdns, _ = binaries()
        self.dir = tmpdir()
        self.log_path = os.path.join(self.dir, "pkdns.log")
        self.dns_port = dns_port or free_port(udp=True, tcp=True)
        # an unreachable forwarder: the ICANN path must never leave loopback
        cmd = [pkdns, "-d", "-l", "127.0.0.1:%d" % self.dns_port,
               "-f", "127.0.0.1:9", "--stats-interval", "0"]
        cmd += ["-v"] * verbose + list(args)
        self.cmd = cmd
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _procs.append(self.proc)
        deadline = time.monotonic() + ready_timeout
        self.ready = False
        while time.monotonic() < deadline and self.proc.poll() is None:
            if re.search(r"\bready\b", self.log()):
                self.ready = True
                break
            time.sleep(0.05)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit status (None when it had to be
        killed)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.logf.close()
        return self.proc.returncode

    def sanitizer_clean(self):
        return "Sanitizer" not in self.log() and "runtime error" not in \
            self.log()

    def stop_ok(self, t):
        """stop(), and two TAP lines on t: exit status 0, and a log free of
        sanitizer reports."""
        rc = self.stop()
        t.ok(rc == 0, "daemon stopped cleanly (exit %s)" % rc)
        t.ok(self.sanitizer_clean(), "daemon log has no sanitizer report")


def cli(args, bootstrap, timeout=15, verbose=1):
    """Run pkdns-cli with the bootstrap endpoints; returns (rc, stdout,
    stderr, seconds)."""
    _, pkcli = binaries()
    cmd = [pkcli] + ["-v"] * verbose + ["--timeout", str(timeout)]
    cmd += bootstrap_args(bootstrap) + list(args)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout + 10, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return -1, e.stdout or "", (e.stderr or "") + "\n(killed)", \
            time.monotonic() - t0
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


_STATS_RE = re.compile(
    r"(?P<what>[\w-]+): (?P<queried>\d+) nodes queried, (?P<responses>\d+) "
    r"responses, (?P<timeouts>\d+) timeouts, (?P<values>\d+) values"
    r"(?: \(first after (?P<first>\d+) ms\))?.*?, (?P<ms>\d+) ms$", re.M)


def cli_stats(stderr):
    """The look-up statistics line pkdns-cli prints (cli_print_stats), as a
    dict of ints (first is None without a value), or None."""
    m = None
    for m in _STATS_RE.finditer(stderr):
        pass
    if m is None:
        return None
    d = {k: (int(v) if v is not None and v.isdigit() else v)
         for k, v in m.groupdict().items()}
    return d


def parse_get_mutable(stdout):
    """pkdns-cli dht get-mutable output -> (seq, value bytes) or None."""
    lines = stdout.split()
    if len(lines) >= 2 and lines[0] == "seq":
        try:
            return int(lines[1]), bytes.fromhex(lines[2] if len(lines) > 2
                                                else "")
        except ValueError:
            return None
    return None


def write_seed(d, seed, name="key.seed"):
    path = os.path.join(d, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seed.hex() + "\n")
    return path


def krpc_query(ep, q, args, timeout=2.0, ip=None):
    """One KRPC query from a fresh RawNode; returns the reply dict (the
    top-level message) or None.  The query says ro=1 (BEP 43): the node is
    gone right after, and a libtorrent node that put it in its routing
    table would stall later look-ups for its 15 s timeout."""
    node = ltdht.RawNode(ip)
    try:
        tid = node.send(ep, q, args, ro=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = node.recv(max(0.01, deadline - time.monotonic()))
            if r is None:
                break
            if r[1].get(b"t") == tid:
                return r[1]
        return None
    finally:
        node.close()


def grind_seed(node_id, bits=8):
    """A random Ed25519 seed whose mutable target SHA-1(pk) shares its first
    bits with node_id, so that node is among the k closest to it."""
    import hashlib
    while True:
        seed = os.urandom(32)
        pk, _ = ltdht.ed25519_keypair(seed)
        if _prefix_eq(hashlib.sha1(pk).digest(), node_id, bits):
            return seed, pk


def grind_immutable(node_id, prefix=b"", bits=8):
    """A value whose immutable target shares its first bits with node_id."""
    import hashlib
    while True:
        v = prefix + os.urandom(8).hex().encode()
        t = hashlib.sha1(ltdht.bencode(v)).digest()
        if _prefix_eq(t, node_id, bits):
            return v, t


def _prefix_eq(a, b, bits):
    x = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return x >> (160 - bits) == 0


# ---------------------------------------------------------------------------
# DNS messages (RFC 1035 4.1), enough for pkarr packets

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {v: k for k, v in TYPES.items()}


def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_rdata(rtype, data):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, data)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, data)
    if rtype == "TXT":
        b = data.encode()
        return b"".join(bytes([len(b[i:i + 255])]) + b[i:i + 255]
                        for i in range(0, max(len(b), 1), 255))
    if rtype in ("CNAME", "NS"):
        return dns_name(data)
    raise ValueError(rtype)


def dns_packet(records):
    """A pkarr-style DNS response (id 0, QR, no question) with the records
    (name, type, ttl, data); names are absolute without the trailing dot,
    ending in the z-base32 key, as pkarr writes them."""
    out = struct.pack(">HHHHHH", 0, 0x8400, 0, len(records), 0, 0)
    for name, rtype, ttl, data in records:
        rd = dns_rdata(rtype, data)
        out += dns_name(name) + struct.pack(">HHIH", TYPES[rtype], 1, ttl,
                                            len(rd)) + rd
    return out


def _read_name(buf, off, depth=0):
    labels = []
    jumped = None
    hops = 0
    while True:
        if off >= len(buf):
            raise ValueError("name past the end")
        n = buf[off]
        if n & 0xC0 == 0xC0:
            if off + 1 >= len(buf) or hops > 20:
                raise ValueError("bad pointer")
            if jumped is None:
                jumped = off + 2
            off = ((n & 0x3F) << 8) | buf[off + 1]
            hops += 1
            continue
        if n == 0:
            off += 1
            break
        labels.append(buf[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    return ".".join(labels), (jumped if jumped is not None else off)


def dns_parse(buf):
    """Parse a DNS message; returns a list of (name, type, ttl, data) of its
    answer, authority and additional sections, data as text for A, AAAA,
    TXT, CNAME and NS and as hex otherwise.  Raises ValueError."""
    if len(buf) < 12:
        raise ValueError("short header")
    _, _, qd, an, ns, ar = struct.unpack(">HHHHHH", buf[:12])
    off = 12
    for _ in range(qd):
        _, off = _read_name(buf, off)
        off += 4
    out = []
    for _ in range(an + ns + ar):
        name, off = _read_name(buf, off)
        if off + 10 > len(buf):
            raise ValueError("short record")
        rtype, _, ttl, rdlen = struct.unpack(">HHIH", buf[off:off + 10])
        off += 10
        rd = buf[off:off + rdlen]
        if len(rd) != rdlen:
            raise ValueError("short rdata")
        t = TYPE_NAMES.get(rtype, str(rtype))
        if t == "A":
            data = socket.inet_ntop(socket.AF_INET, rd)
        elif t == "AAAA":
            data = socket.inet_ntop(socket.AF_INET6, rd)
        elif t == "TXT":
            parts, i = [], 0
            while i < len(rd):
                parts.append(rd[i + 1:i + 1 + rd[i]].decode("latin-1"))
                i += 1 + rd[i]
            data = "".join(parts)
        elif t in ("CNAME", "NS"):
            data, _ = _read_name(buf, off)
        else:
            data = rd.hex()
        out.append((name, t, ttl, data))
        off += rdlen
    if off != len(buf):
        raise ValueError("%d trailing bytes" % (len(buf) - off))
    return out


def dig(port, name, rtype, timeout=10):
    """Ask the daemon with dig; returns (status, [(name, type, ttl, data)
    ...] of the answer section), or (None, []) when dig failed."""
    cmd = ["dig", "@127.0.0.1", "-p", str(port), "+tries=1",
           "+time=%d" % timeout, "+nostats", "+nocmd", "+noquestion",
           "+noadditional", "+noauthority", name, rtype]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=timeout + 5)
    except subprocess.TimeoutExpired:
        return None, []
    m = re.search(r"status: (\w+)", p.stdout)
    status = m.group(1) if m else None
    rrs = []
    for line in p.stdout.splitlines():
        if not line or line.startswith(";"):
            continue
        f = line.split(None, 4)
        if len(f) == 5:
            data = f[4]
            if f[3] == "TXT":
                data = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', data))
            rrs.append((f[0].rstrip("."), f[3], int(f[1]), data))
    return status, rrs


# z-base32 (pkarr keys), for printing and checking names

_ZB32 = "ybndrfg8ejkmcpqxot1uwisza345h769"


def zbase32(b):
    bits = int.from_bytes(b, "big")
    nbits = len(b) * 8
    pad = (-nbits) % 5
    bits <<= pad
    nbits += pad
    return "".join(_ZB32[(bits >> (nbits - 5 * (i + 1))) & 31]
                   for i in range(nbits // 5))
