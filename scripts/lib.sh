# Shared helpers of the project scripts: sourced, not run.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="$HOME/.cargo/bin:$PATH"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
NPM_PACKAGE_DIR="$ROOT/target/npm/passkey-magic-wasm"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

# The wasm-bindgen version pinned in Cargo.lock: the CLI must match it exactly.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' "$ROOT/Cargo.lock"
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs what a fresh machine of this kind lacks. Fast when everything is present.
bootstrap() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "Adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi

    local want have
    want="$(wasm_bindgen_version)"
    have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
    if [ "$have" != "$want" ] || ! command -v wasm-bindgen-test-runner >/dev/null; then
        say "Installing wasm-bindgen-cli $want (found: ${have:-none}; takes a few minutes once)"
        # No --locked: it fails for this crate here (see DESIGN.md).
        cargo install wasm-bindgen-cli --version "$want" --force
    fi

    if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
        say "Installing Chromium and ChromeDriver (Debian packages)"
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver
    fi

    # npm tooling (binaryen's wasm-opt, playwright-core), from tests/package-lock.json.
    local stamp="$ROOT/tests/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$ROOT/tests/package-lock.json" -nt "$stamp" ]; then
        say "Installing npm tooling (tests/package.json)"
        (cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# Starts PostgreSQL and Redis when a test needs them and they are down.
start_services() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        if ! command -v pg_ctlcluster >/dev/null; then
            say "Installing PostgreSQL"
            as_root apt-get update -qq
            DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql
        fi
        say "Starting PostgreSQL"
        as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
    fi
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        if ! command -v redis-server >/dev/null; then
            say "Installing Redis"
            as_root apt-get update -qq
            DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server
        fi
        say "Starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    fi
}

# Builds the npm package (wasm-bindgen + wasm-opt + pkg-template) into $NPM_PACKAGE_DIR.
build_npm_package() {
    say "Building the npm package"
    local wasm="$ROOT/target/wasm32-unknown-unknown/wasm-release/passkey_magic_client.wasm"
    cargo build -p passkey-magic-client --target wasm32-unknown-unknown --profile wasm-release
    rm -rf "$NPM_PACKAGE_DIR"
    wasm-bindgen --target web --out-dir "$NPM_PACKAGE_DIR" "$wasm"
    local bg="$NPM_PACKAGE_DIR/passkey_magic_client_bg.wasm"
    # Flags = the wasm features rustc enables by default for wasm32-unknown-unknown.
    "$ROOT/tests/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-sign-ext \
        --enable-nontrapping-float-to-int --enable-mutable-globals --enable-reference-types \
        --enable-multivalue --strip-debug --strip-producers -o "$bg.opt" "$bg"
    mv "$bg.opt" "$bg"
    cp "$ROOT"/pkg-template/* "$NPM_PACKAGE_DIR/"
    rm -f "$NPM_PACKAGE_DIR/.gitignore"
    local js_gz wasm_gz
    wasm_gz=$(gzip -9c "$bg" | wc -c)
    js_gz=$(cat "$NPM_PACKAGE_DIR"/*.js | gzip -9c | wc -c)
    echo "npm package: $NPM_PACKAGE_DIR"
    echo "bundle size: wasm $(wc -c <"$bg") B ($wasm_gz B gzip), js $js_gz B gzip, total $((wasm_gz + js_gz)) B gzip"
}

# Puts the built package where the demo page imports it from.
vendor_into_demo() {
    rm -rf "$ROOT/www-example/vendor"
    mkdir -p "$ROOT/www-example/vendor"
    cp -r "$NPM_PACKAGE_DIR" "$ROOT/www-example/vendor/passkey-magic-wasm"
}
