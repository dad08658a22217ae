#!/usr/bin/env bash
# Installs what productreel needs from the OS: Noto fonts for every script the markets use,
# and espeak-ng for voice-over. Does nothing when all are there. FFmpeg is not needed here:
# imageio-ffmpeg ships the encoder and PyAV probes files.
set -euo pipefail
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || need+=(fonts-noto-cjk)
ls /usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf >/dev/null 2>&1 || need+=(fonts-noto-core)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
  echo "productreel needs these Debian packages: ${need[*]} (run as root: apt-get install ${need[*]})" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
echo "installing system packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
