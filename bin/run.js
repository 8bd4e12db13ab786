#!/bin/sh
':' //; case "$1" in push | serve) exec node --initial-heap-size=64 "$0" "$@" ;; esac; exec node "$0" "$@"
// Line 2 is a command for sh and a string and a comment for JavaScript: run as a program, this file
// starts node itself (same process, by exec), so the long-running servers get a larger initial heap.
// With V8's small default, the socket buffers of an upload (dead but not yet collected) push the old
// generation over its limit again and again: measured, 10-13 full collections per 300 MiB upload and
// 35% lower upload throughput; with 64 MB, none. `node bin/run.js` works too, without the flag.
import { main } from '../dist/src/cli/main.js'

await main(import.meta.url)
