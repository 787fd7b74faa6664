#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# mutations.py -- break the daemon at one place at a time and check that
# the scenarios meant to catch it fail (README.md). Run from the top of a
# built tree: python3 tests/harness/mutations.py [N...]. Each source file
# is restored after its run; the harness is rebuilt at the end.
import subprocess, sys

# (file, text, replacement, scenarios that must fail)
muts = [
 ("src/daemon/internal.h", "#define PKDNS_STALE_WAIT_MS 1800", "#define PKDNS_STALE_WAIT_MS 1700", ["icann_serve_stale","pkarr_deadline"]),
 ("src/daemon/internal.h", "#define PKDNS_DEADLINE_MS 4000", "#define PKDNS_DEADLINE_MS 4100", ["icann_deadline","pkarr_deadline","icann_serve_stale","icann_sighup"]),
 ("src/daemon/daemon.c", "\tfor (res = d->w.icann_hash[h % ICANN_HASH_BUCKETS]; res; res = res->hnext)", "\tfor (res = NULL; res; res = res->hnext)", ["icann_coalesce"]),
 ("src/cache/cache.c", "\tif (w.have_soa && w.soa_min < life)", "\tif (0 && w.have_soa && w.soa_min < life)", ["icann_negative"]),
 ("src/cache/cache.c", "\t\telapsed_s = (now_ms - e->stored_ms + 999) / 1000;", "\t\telapsed_s = 0;", ["icann_ttl_countdown","pkarr_ttl_clamp"]),
 ("src/pkarr/answer.c", "\tif (ttl < p->min_ttl)\n\t\tttl = p->min_ttl;", "\tif (0)\n\t\tttl = p->min_ttl;", ["pkarr_ttl_clamp"]),
 ("src/daemon/pkarr_path.c", "\tpp->neg_ttl = d->conf.min_ttl < 300 ? d->conf.min_ttl : 300;", "\tpp->neg_ttl = 300;", ["pkarr_negative"]),
 ("src/daemon/pkarr_path.c", "\tif (dht_put(w->pp->dht, &item, -1, republish_done, NULL, time_mono_ms()))", "\tif (0 && dht_put(w->pp->dht, &item, -1, republish_done, NULL, time_mono_ms()))", ["pkarr_republish"]),
 ("src/daemon/pkarr_path.c", "\tfor (l = pp->lookups; l; l = l->next)\n\t\tif (memcmp(l->pk, pk, 32) == 0)", "\tfor (l = NULL; l; l = l->next)\n\t\tif (memcmp(l->pk, pk, 32) == 0)", ["pkarr_coalesce"]),
 ("src/daemon/daemon.c", "\td->conf.serve_stale = fresh.serve_stale;\n\td->conf.verbose = fresh.verbose;\n\tratelimit_set(d->w.rl_query, fresh.ratelimit, fresh.ratelimit_burst);\n\tcache_set_stale(d->w.cache, fresh.serve_stale ? PKDNS_STALE_MAX_S : 0, 30);", "\td->conf.verbose = fresh.verbose;", ["icann_sighup"]),
 ("src/daemon/daemon.c", "\tif (conf_load(&fresh, d->argc, d->argv) != CONF_OK) {", "\tif (conf_load(&fresh, d->argc, d->argv) != CONF_OK && 0) {", ["icann_sighup"]),
 ("src/daemon/pkarr_path.c", "\tif (!got && !refused && st->responses > 0)\n\t\tpkarr_cache_put_negative", "\tif (!got && !refused)\n\t\tpkarr_cache_put_negative", ["pkarr_dht_silent"]),
 ("src/daemon/daemon.c", "\tif (!do_bit) {\n\t\tuint16_t qtype", "\tif (!do_bit && 0) {\n\t\tuint16_t qtype", ["icann_dnssec"]),
 ("src/daemon/daemon.c", "\tif (sec != ICANN_BOGUS)\n\t\tcache_store(", "\tif (1)\n\t\tcache_store(", ["icann_dnssec"]),
]
only = sys.argv[1:]
failed_to_fail = []
for i,(f,old,new,scns) in enumerate(muts):
    if only and str(i) not in only: continue
    src=open(f).read()
    assert old in src, (f, old)
    open(f,'w').write(src.replace(old,new,1))
    try:
        r=subprocess.run("make -j2 tests/harness/pkdns-harness >/dev/null 2>&1", shell=True)
        assert r.returncode==0, "build failed"
        res=[]
        for s in scns:
            r=subprocess.run(["./tests/harness/pkdns-harness","tests/harness/scenarios/%s.scn"%s],capture_output=True,text=True)
            nf=sum(1 for l in r.stdout.splitlines() if l.startswith("not ok") and "# TODO" not in l)
            res.append("%s:%s(%d not ok)"%(s,"FAILS" if r.returncode else "passes",nf))
            failed_to_fail.extend([] if r.returncode else ["%d:%s" % (i, s)])
        print(i, f, new.strip()[:50], "->", " ".join(res), flush=True)
    finally:
        open(f,'w').write(src)
subprocess.run("make -j2 tests/harness/pkdns-harness >/dev/null 2>&1", shell=True)
print("every mutation caught" if not failed_to_fail else "not caught: " + " ".join(failed_to_fail))
sys.exit(1 if failed_to_fail else 0)
