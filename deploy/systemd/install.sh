#!/usr/bin/env bash
# Install REFLECTOR (the MIRROR STAGE agent) as a systemd service on this host, as root:
#
#   deploy/systemd/install.sh --config agent.toml [--credentials agent.nk] [--package SPEC]
#
# It creates the mirror-agent user and its state directory (/var/lib/mirror-agent), installs
# the agent in a virtualenv at /opt/mirror-agent, places the config (never overwriting one that
# is there) and the NATS credentials (root's alone; systemd hands them to the service), and
# enables and starts the unit. Run it again to upgrade: it keeps the config and the state.
#
#   --root DIR        install into DIR instead of / (an image being built, a test); nothing is
#                     started then, and systemd only records the unit as enabled
#   --package SPEC    what pip installs (default: this checkout's libs/schema and agent; a wheel
#                     file, or 'mirror-agent[gpu]' on NVIDIA hosts)
#   --pip-args ARGS   more arguments for pip (e.g. "--no-deps --no-index" offline)
#   --python PY       the Python (3.11+) the virtualenv is made with (default: python3)
#   --no-start        enable the unit but do not start it now
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="/"
config=""
credentials=""
packages=()
pip_args=""
python="python3"
start=1

fail() { echo "install.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --root) root="${2:?--root needs a directory}"; shift 2 ;;
        --config) config="${2:?--config needs a file}"; shift 2 ;;
        --credentials) credentials="${2:?--credentials needs a file}"; shift 2 ;;
        --package) packages+=("${2:?--package needs a pip requirement}"); shift 2 ;;
        --pip-args) pip_args="${2?}"; shift 2 ;;
        --python) python="${2:?--python needs an interpreter}"; shift 2 ;;
        --no-start) start=0; shift ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
done

[ "$(id -u)" = 0 ] || fail "run as root: it creates a system user and writes under /etc"
[ -n "$config" ] || fail "--config FILE is required (start from deploy/systemd/agent.toml.example)"
[ -f "$config" ] || fail "--config $config: no such file"
[ -z "$credentials" ] || [ -f "$credentials" ] || fail "--credentials $credentials: no such file"
[ ${#packages[@]} -gt 0 ] || packages=("$repo/libs/schema" "$repo/agent")
root="$(mkdir -p "$root" && cd "$root" && pwd)"
prefix="${root%/}"

echo "user and state directory"
install -D -m 0644 "$here/mirror-agent.sysusers" "$prefix/usr/lib/sysusers.d/mirror-agent.conf"
install -D -m 0644 "$here/mirror-agent.tmpfiles" "$prefix/usr/lib/tmpfiles.d/mirror-agent.conf"
mkdir -p "$prefix/etc"
systemd-sysusers --root="$root" mirror-agent.conf
systemd-tmpfiles --root="$root" --create mirror-agent.conf
group="$(awk -F: '$1 == "mirror-agent" { print $3 }' "$prefix/etc/group")"
[ -n "$group" ] || fail "systemd-sysusers made no mirror-agent group in $prefix/etc/group"

echo "the agent in $prefix/opt/mirror-agent"
"$python" -m venv "$prefix/opt/mirror-agent"
# shellcheck disable=SC2086 # pip_args is a list of words on purpose
"$prefix/opt/mirror-agent/bin/pip" install --quiet --disable-pip-version-check $pip_args "${packages[@]}"
[ -x "$prefix/opt/mirror-agent/bin/mirror-agent" ] || fail "pip did not install mirror-agent"

echo "config and credentials in $prefix/etc/mirror-stage"
install -d -m 0755 "$prefix/etc/mirror-stage"
if [ -e "$prefix/etc/mirror-stage/agent.toml" ]; then
    echo "  kept the existing agent.toml (compare it with $config)"
else
    # Readable by the agent's group, not by everyone: it may hold an ingest token.
    install -m 0640 -o 0 -g "$group" "$config" "$prefix/etc/mirror-stage/agent.toml"
fi
dropins="$prefix/etc/systemd/system/mirror-agent.service.d"
if [ -n "$credentials" ]; then
    install -m 0600 -o 0 -g 0 "$credentials" "$prefix/etc/mirror-stage/agent.creds"
    install -d -m 0755 "$dropins"
    printf '[Service]\nLoadCredential=nats.creds:/etc/mirror-stage/agent.creds\n' \
        > "$dropins/credentials.conf"
    grep -q '^credentials_file *= *"/run/credentials/mirror-agent.service/nats.creds"' \
        "$prefix/etc/mirror-stage/agent.toml" \
        || echo "  set credentials_file = \"/run/credentials/mirror-agent.service/nats.creds\" in agent.toml"
fi

echo "the unit"
install -D -m 0644 "$here/mirror-agent.service" "$prefix/etc/systemd/system/mirror-agent.service"
if [ "$root" = "/" ]; then
    systemctl daemon-reload
    if [ "$start" = 1 ]; then
        systemctl enable --now mirror-agent.service
        echo "started: journalctl -u mirror-agent -f"
    else
        systemctl enable mirror-agent.service
    fi
else
    systemctl --root="$root" enable mirror-agent.service
fi
echo "done"
