#!/bin/bash
# Bundles the parallel and explore benches and their worker entries with esbuild into .node/
# (git-ignored), with piscina beside them and this Node binary xz-compressed, for a machine that has
# no Node.js and no node_modules (the device machine: 16 cores). There, from the repository root:
#
#   xz -dc .node/node.xz > /tmp/node && chmod +x /tmp/node
#   /tmp/node .node/src/parallel/bench.js --workers 1,2,4,8 --messages 200000 --messages-4k 20000
#   /tmp/node .node/src/parallel/explore-bench.js --scenarios tiny,default
#
# The layout keeps src/parallel/worker-file.ts's rule (../../workers/<entry>.js from the module that
# starts the pool) true of the bundles. Piscina stays outside them: it starts its own worker file.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .node && mkdir -p .node/node_modules/@napi-rs
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
bundle() { npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --external:piscina "--banner:js=$banner" --log-level=warning --outfile=".node/$2"; }
bundle bench/parallel.ts src/parallel/bench.js
bundle bench/parallel-baselines.worker.ts src/parallel/parallel-baselines.worker.js
bundle bench/explore.ts src/parallel/explore-bench.js
bundle workers/domain-host.ts workers/domain-host.js
bundle workers/explore.ts workers/explore.js
cp -r node_modules/piscina .node/node_modules/
for p in nice nice-linux-x64-gnu; do [ -d "node_modules/@napi-rs/$p" ] && cp -r "node_modules/@napi-rs/$p" .node/node_modules/@napi-rs/; done
xz -T2 -c "$(command -v node)" > .node/node.xz
du -sh .node
