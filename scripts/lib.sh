# Shared by scripts/test and scripts/bench: the Python tool venvs and a moto server on loopback.
# Source it from the repository root.

# Each step says how long the run has taken so far, so a slow run's log shows where time went.
step() { printf '\n==> [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }

# Installs the Debian packages that are missing (as root, or through sudo).
ensure_apt_packages() {
    local missing=() package sudo=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ "${#missing[@]}" -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    step "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# npm packages of a folder, from its lock file; reinstalled only when the lock file changes.
ensure_npm() {
    local dir=$1 stamp="$1/node_modules/.package-lock.sha256"
    if [ -f "$stamp" ] && sha256sum --check --status "$stamp" 2>/dev/null; then return; fi
    step "installing npm packages of $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    sha256sum "$dir/package-lock.json" > "$stamp"
}

# A venv is rebuilt only when its requirements file changes, so warm runs skip pip entirely.
ensure_venv() {
    local dir=$1 reqs=$2 stamp
    stamp="$dir/.requirements.sha256"
    if [ -f "$stamp" ] && sha256sum --check --status "$stamp" 2>/dev/null; then return; fi
    step "installing $(basename "$reqs") into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$reqs"
    sha256sum "$reqs" > "$stamp"
}

# Starts moto on a free 127.0.0.1 port, exports MOTO_ENDPOINT, and stops it when the script exits.
start_moto() {
    step "starting moto on loopback"
    local port log
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    log=$(mktemp)
    .venv/bin/moto_server -H 127.0.0.1 -p "$port" > "$log" 2>&1 &
    moto_pid=$!
    trap 'kill "$moto_pid" 2>/dev/null || true; rm -f "'"$log"'"' EXIT
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
            export MOTO_ENDPOINT="http://127.0.0.1:$port"
            return
        fi
        if ! kill -0 "$moto_pid" 2>/dev/null; then cat "$log"; echo "moto failed to start" >&2; exit 1; fi
        sleep 0.2
    done
    echo "moto did not answer within 20 s" >&2
    exit 1
}
