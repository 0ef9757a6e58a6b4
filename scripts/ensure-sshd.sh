#!/bin/sh
# Make sure Debian's openssh-server is installed: tests/remote/ starts a real sshd on a
# random loopback port (with throwaway keys) to test sftp remotes. Idempotent.
set -eu
if [ -x /usr/sbin/sshd ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends openssh-server
# The Debian package starts a system sshd where systemd/policy-rc.d allows; the tests do
# not use it (they run their own on 127.0.0.1 with their own config).
test -x /usr/sbin/sshd
