#!/bin/sh
':' //; case "$1" in serve | push) c=$1; for a; do [ "$a" = --push ] && c=push; done; [ $c = serve ] && unset NODE_EXTRA_CA_CERTS; h=$(mktemp) || exit 70; ZREG_HANDOFF=$h node "$0" "$@"; s=$?; [ $s = 0 ] && { read -r p; read -r f; } < "$h" && exec node $f "$p" "$h"; rm -f "$h"; exit $s ;; add | sync) exec node --max-semi-space-size=1 "$0" "$@" ;; build) unset NODE_EXTRA_CA_CERTS; exec node --max-semi-space-size=1 "$0" "$@" ;; ls | inspect | verify | tag | rm | gc | server-config | client-config) unset NODE_EXTRA_CA_CERTS; exec node "$0" "$@" ;; esac; exec node "$0" "$@"
// Line 2 is a command for sh and a string and a comment for JavaScript: run as a program, this file
// starts node itself (same process, by exec) with V8 flags fitted to the command; `node bin/run.js`
// works too, without them.
// - serve, push: the command reads its flags and config file and hands its server to a program that
//   loads neither oclif nor the rest of the CLI (src/cli/handoff.ts: the file names the program and its
//   node flags), which this script then execs in its place, so whatever started the server still has
//   its process id. As the CLI, the process serving idled at 62-65 MB. A static server connects to
//   nothing: no NODE_EXTRA_CA_CERTS either, which each of its processes kept parsed (1.7 MB); push
//   mode keeps it, for its webhooks.
//   Push mode runs with an initial heap of 64 MB (push-mode's handoff asks for it): with V8's small
//   default heap, the socket buffers of an upload (dead but not yet collected) push the old generation
//   over its limit again and again: measured, 10-13 full collections per 300 MiB upload and 35% lower
//   upload throughput; with an initial 64 MB, none.
// - add, sync: a blob download allocates a 64 KiB buffer per socket read, freed only when the young
//   generation is next swept; a 1 MB semi-space sweeps it sooner. Measured on a 300 MiB add from a
//   registry: peak RSS 127-161 MB with V8's default, 102-112 MB with this, at the same speed.
// - build: a full build allocates as it plans each repository, and with V8's default young generation
//   its garbage reached the old one, which grew unswept for the whole build: 100,000 tags peaked at
//   342-368 MB RSS with the default, 269 MB with a 1 MB semi-space (10,000 tags: 142 against 102-113
//   MB), within the noise of this machine's build times.
// - build, ls, inspect, verify, tag, rm, gc, server-config, client-config: they connect to nothing, and
//   node 20 reads and parses NODE_EXTRA_CA_CERTS at start whether TLS is used or not: 35-40 ms of
//   `zreg build`'s 285 ms with the Debian bundle. A command that connects out must not be listed here.
// The CLI runs from one bundle (npm run bundle: dist/bundle, its commands and shared chunks): a hundred
// modules resolved one by one took 90-140 ms of every command's start; the library stays in dist/src.
import { main } from '../dist/bundle/cli/main.js'

await main(import.meta.url)
