#!/bin/sh
# Installs, with apt, the Debian packages banger needs on the host, but only
# those whose commands are missing. Other distributions get the list.
set -eu

# command:package pairs
needs="qemu-system-x86_64:qemu-system-x86 debootstrap:debootstrap mkfs.ext4:e2fsprogs debugfs:e2fsprogs ip:iproute2 nft:nftables ssh:openssh-client"

missing=""
for pair in $needs; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
		case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
	fi
done

# debootstrap and kernel pulls verify Debian's packages against this keyring.
if [ ! -e /usr/share/keyrings/debian-archive-keyring.gpg ]; then
	missing="$missing debian-archive-keyring"
fi

if [ -z "$missing" ]; then
	echo "host packages: all present"
	exit 0
fi
echo "host packages missing:$missing"

if ! command -v apt-get >/dev/null 2>&1; then
	echo "no apt-get here: install the equivalents of:$missing" >&2
	exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
	sudo=""
elif sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "not root and no passwordless sudo: run 'sudo apt-get install$missing' yourself" >&2
	exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
$sudo apt-get install -y --no-install-recommends $missing || {
	$sudo apt-get update
	$sudo apt-get install -y --no-install-recommends $missing
}
