#!/usr/bin/env bash
# Runs every test of Tanya on a fresh Debian machine with Rust and Node installed:
# installs what is missing (Debian's chromium, nginx, openssl, poppler-utils, python3 and curl
# for the SMS recipes, and fuse3 with python3-pyfuse3 for the power-cut filesystem; playwright-core and ws from npm), then runs
# formatting and lint checks, the Rust unit, property and integration tests (each starts
# real hubs on 127.0.0.1 with SQLite files in temporary folders), the integration tests again
# on PostgreSQL (tests/pg.sh finds or starts a server; each hub gets a fresh database), a small
# smoke run of the load tool, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)
# The SMS recipes (contrib/sms, tests/contract/intake-recipe.test.mjs) run on python3 and curl.
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# The report's PDF is read back by pdftotext and pdfinfo (tests/browser/report.test.mjs).
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
# The power-cut suite's filesystem (tests/powercut/lazyfs.py) runs on Debian's own interpreter.
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
# The cluster tests (tests/it/cluster.rs) start their own NATS server; the cluster's balancer
# test runs Debian's haproxy.
command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
/usr/bin/python3 -c 'import pyfuse3, trio' >/dev/null 2>&1 || missing+=(python3-pyfuse3)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]} (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "installing playwright-core and ws (npm, no browser download)"
(cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
if [ -f tests/contract/package.json ]; then
  (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error)
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings

# A PostgreSQL server for the tests that need one (two hubs on one database, an outage) and
# for the second pass below: the machine's own, or one started here (tests/pg.sh).
export TANYA_TEST_PG
TANYA_TEST_PG=$(bash tests/pg.sh)
echo "PostgreSQL: $TANYA_TEST_PG"

step "cargo test (unit, property, integration)"
cargo test --all-targets --quiet 2>&1 | tee /tmp/tanya-cargo-test.log | grep -vE '^test .* \.\.\. ok$' || { tail -50 /tmp/tanya-cargo-test.log; exit 1; }

step "integration tests on PostgreSQL (all but the SQLite file's own: journal fixture, power cuts; and those that run on PostgreSQL always)"
TANYA_TEST_STORE=postgres cargo test --test it --quiet -- --skip journal:: --skip powercut:: --skip pg_outage:: --skip pg_nodes:: --skip cluster:: 2>&1 \
  | tee /tmp/tanya-cargo-test-pg.log | grep -vE '^test .* \.\.\. ok$' || { tail -50 /tmp/tanya-cargo-test-pg.log; exit 1; }

cargo build --quiet --bins
BIN="$PWD/target/debug/tanya"

step "load tool smoke run (300 phones against the hub and the bare floor)"
target/debug/tanya-bench --smoke

if [ -f tests/contract/package.json ]; then
  step "contract client (written from docs/protocol.md alone) and the nginx deployment of docs/deploy.md"
  (cd tests/contract && TANYA_BIN="$BIN" node --test --test-concurrency=1 .)
fi

step "browser tests (chromium + playwright-core)"
(cd tests/browser && TANYA_BIN="$BIN" node --test --test-concurrency=1 .)

step "all tests passed"
