/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * daemon_main.h -- forced into every file of pkdns-harness (-include).
 * The harness compiles the daemon's own source list, src_pkdns_SOURCES,
 * so that a file added to the daemon reaches it with no edit here; that
 * list has main.c, whose main() becomes pkdns_daemon_main() (never
 * called). harness.c undoes the rename for its own main().
 */
#ifndef PKDNS_TESTS_HARNESS_DAEMON_MAIN_H
#define PKDNS_TESTS_HARNESS_DAEMON_MAIN_H

#define main pkdns_daemon_main
int main(int argc, char **argv);

#endif
