# Shared by scripts/test and scripts/bench: the Python tool venvs and a moto server on loopback.
# Source it from the repository root.

step() { printf '\n==> %s\n' "$*"; }

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
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
            export MOTO_ENDPOINT="http://127.0.0.1:$port"
            return
        fi
        if ! kill -0 "$moto_pid" 2>/dev/null; then cat "$log"; echo "moto failed to start" >&2; exit 1; fi
        sleep 0.2
    done
    echo "moto did not answer within 20 s" >&2
    exit 1
}
