#!/bin/sh
# Runs inside the image root before it is packed: greet the WSL user at login.
set -e
mkdir -p /etc/profile.d
echo 'greet-motd 2>/dev/null || true' > /etc/profile.d/greet.sh
