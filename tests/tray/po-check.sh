#!/bin/sh
# po-check.sh SRCDIR LANG: po/LANG.po is valid (msgfmt --check) and complete: every string
# the sources mark for translation today (xgettext over po/POTFILES.in, with meson's glib
# keywords) has a translation that is not fuzzy. Skips (77) without gettext.
# Copyright 2026 The Portlight authors. SPDX-License-Identifier: GPL-3.0-or-later
set -eu
srcdir=$1
lang=$2
for tool in msgfmt msgcmp xgettext; do
  command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool is not installed (apt-get install gettext)"; exit 77; }
done
po="$srcdir/po/$lang.po"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

msgfmt --check --verbose -o /dev/null "$po"

cd "$srcdir"
grep -v '^#' po/POTFILES.in | grep -v '^[[:space:]]*$' > "$tmp/files"
xgettext --from-code=UTF-8 --add-comments --keyword=_ --keyword=N_ --keyword=C_:1c,2 \
  --keyword=NC_:1c,2 --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 \
  --keyword=g_dpgettext2:2c,3 --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format \
  --flag=NC_:2:pass-c-format --flag=g_dngettext:2:pass-c-format \
  --flag=g_strdup_printf:1:c-format --flag=g_string_printf:2:c-format \
  --flag=g_string_append_printf:2:c-format --flag=g_error_new:3:c-format \
  --flag=g_set_error:4:c-format --flag=g_printerr:1:c-format --flag=g_print:1:c-format \
  --package-name=portlight -f "$tmp/files" -o "$tmp/portlight.pot"
# Every message of the sources must be translated (and not fuzzy) in the .po.
msgcmp "$po" "$tmp/portlight.pot"
untranslated=$(msgattrib --untranslated --no-obsolete "$po" | grep -c '^msgid ' || true)
fuzzy=$(msgattrib --only-fuzzy --no-obsolete "$po" | grep -c '^msgid ' || true)
echo "$lang: $untranslated untranslated, $fuzzy fuzzy"
[ "$untranslated" -eq 0 ] && [ "$fuzzy" -eq 0 ]
