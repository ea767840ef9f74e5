#!/usr/bin/env bash
# Unpack Debian's Postfix (bookworm: 3.7) for tests/test_postfix.py without installing it.
#
# `apt-get install postfix` would remove exim4-daemon-light (both provide mail-transport-agent, and
# test_exim.py needs exim), so the .deb is fetched with `apt-get download` into a cache folder and
# unpacked with `dpkg -x` into ZONETOOL_POSTFIX (default /opt/zonetool-postfix). The libraries it
# links against are plain packages that conflict with nothing, so they are installed normally.
# Postfix refuses to run without its `postfix` user and `postdrop` group: they are created if missing.
# Needs root. Idempotent: a second run does nothing.
set -euo pipefail
dest=${ZONETOOL_POSTFIX:-/opt/zonetool-postfix}
cache=${ZONETOOL_CACHE:-/var/cache/zonetool-ci}
export DEBIAN_FRONTEND=noninteractive

libs=(libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3)
missing=()
for pkg in "${libs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$dest/usr/sbin/postfix" ]; then
  mkdir -p "$cache"
  chmod 777 "$cache"  # apt's download user (_apt) writes here
  # a fresh machine may have no package lists yet: update once and try again
  (cd "$cache" && ls postfix_*.deb >/dev/null 2>&1 || apt-get download -qq postfix 2>/dev/null ||
    { apt-get update -qq && apt-get download -qq postfix; })
  rm -rf "$dest.new"
  dpkg -x "$(ls -t "$cache"/postfix_*.deb | head -1)" "$dest.new"
  rm -rf "$dest"
  mv "$dest.new" "$dest"  # whole or not at all
fi
# every library the daemons need is found (the compiled-in RUNPATH is /usr/lib/postfix; tests set LD_LIBRARY_PATH)
if LD_LIBRARY_PATH="$dest/usr/lib/postfix" ldd "$dest"/usr/lib/postfix/sbin/* "$dest"/usr/sbin/* 2>/dev/null | grep "not found"; then
  echo "unpack-postfix: libraries are missing (above)" >&2
  exit 1
fi

getent group postdrop >/dev/null || groupadd --system postdrop
getent passwd postfix >/dev/null || useradd --system --user-group --no-create-home \
  --home-dir /nonexistent --shell /usr/sbin/nologin postfix
# postdrop and postqueue stay as unpacked, not set-gid postdrop as Debian's postinst makes them: a
# set-gid program ignores LD_LIBRARY_PATH, and the tests submit over SMTP anyway (`postfix check` warns).
chgrp root "$dest/usr/sbin/postdrop" "$dest/usr/sbin/postqueue"
chmod 0755 "$dest/usr/sbin/postdrop" "$dest/usr/sbin/postqueue"
LD_LIBRARY_PATH="$dest/usr/lib/postfix" "$dest/usr/sbin/postconf" -c "$dest/usr/share/postfix" -d mail_version 2>/dev/null || true
