#!/bin/sh
# check-tool.sh TOOL [ARGUMENT...]: runs TOOL, or skips (exit 77) saying what to install.
# Copyright 2026 The Portlight authors. SPDX-License-Identifier: GPL-3.0-or-later
tool=$1
if ! command -v "$tool" >/dev/null 2>&1; then
  case $tool in
    desktop-file-validate) package=desktop-file-utils ;;
    appstreamcli) package=appstream ;;
    msgfmt|msgcmp|xgettext) package=gettext ;;
    *) package=$tool ;;
  esac
  echo "SKIP: $tool is not installed (apt-get install $package)"
  exit 77
fi
echo "$*"
exec "$@"
