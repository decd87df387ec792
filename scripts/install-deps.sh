#!/usr/bin/env bash
# Installs what natkeeper's build and tests need. Idempotent: does nothing when
# everything is already there.
#
#   - System tools for the network-namespace lab and e2e tests (Debian packages).
#     Installed only when running as root; otherwise the missing ones are listed
#     and the script carries on (e2e tests that need them will be skipped).
#   - node_modules, via `npm ci`, when missing or older than package-lock.json.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'deps: %s\n' "$*"; }
warn() { printf 'deps: warning: %s\n' "$*" >&2; }

# command (or absolute path) -> Debian package that provides it
declare -A PACKAGE_FOR=(
  [ip]=iproute2
  [nft]=nftables
  [iptables]=iptables
  [conntrack]=conntrack
  [ping]=iputils-ping
  [socat]=socat
  [etcd]=etcd-server
  [etcdctl]=etcd-client
  [/usr/bin/aws]=awscli
)
ORDER=(ip nft iptables conntrack ping socat etcd etcdctl /usr/bin/aws)

have() {
  local cmd=$1
  if [[ $cmd == /* ]]; then
    [[ -x $cmd ]]
    return
  fi
  # Non-root PATHs often lack the sbin directories where ip, nft, iptables live.
  command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd || -x /sbin/$cmd ]]
}

missing_cmds=()
missing_pkgs=()
find_missing() {
  missing_cmds=()
  missing_pkgs=()
  local cmd pkg
  for cmd in "${ORDER[@]}"; do
    if ! have "$cmd"; then
      missing_cmds+=("$cmd")
      pkg=${PACKAGE_FOR[$cmd]}
      [[ " ${missing_pkgs[*]} " == *" $pkg "* ]] || missing_pkgs+=("$pkg")
    fi
  done
}

install_system_packages() {
  find_missing
  if ((${#missing_cmds[@]} == 0)); then
    return 0
  fi

  if [[ $(id -u) -ne 0 ]]; then
    log "missing system tools: ${missing_cmds[*]} (Debian packages: ${missing_pkgs[*]})"
    log "not root, so not installing them; e2e tests that need them will be skipped"
    log "to install: sudo apt-get install ${missing_pkgs[*]}"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "missing system tools: ${missing_cmds[*]}, and apt-get is not available to install ${missing_pkgs[*]}"
    warn "e2e tests that need them will be skipped"
    return 0
  fi

  log "installing ${missing_pkgs[*]} (for: ${missing_cmds[*]})"
  local out
  out=$(mktemp)
  # shellcheck disable=SC2064
  trap "rm -f '$out'" RETURN
  if ! apt-get update -qq >"$out" 2>&1 ||
    ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_pkgs[@]}" >>"$out" 2>&1; then
    tail -n 20 "$out" >&2
    warn "apt-get failed (output above); e2e tests that need ${missing_cmds[*]} will be skipped"
    return 0
  fi

  find_missing
  if ((${#missing_cmds[@]} > 0)); then
    warn "still missing after install: ${missing_cmds[*]}; e2e tests that need them will be skipped"
  else
    log "system tools installed"
  fi
}

install_node_modules() {
  # npm writes node_modules/.package-lock.json on every install; -nt is also true when it is absent.
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    log "installing node modules (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

install_system_packages
install_node_modules
