#!/usr/bin/env bash
# Installs the German lexical data qa reads at run time, where it can (root or sudo, and
# apt-get): Debian's trans-de-en (the Ding English-German dictionary, GPL-2+) and
# openthesaurus-de-text (OpenThesaurus, LGPL-2.1). qa works without them; this never fails
# the install, it says what is missing and how to add it.
set -uo pipefail
packages=()
[[ -f /usr/share/trans/de-en ]] || packages+=(trans-de-en)
[[ -f /usr/share/openthesaurus-de/openthesaurus.txt ]] || packages+=(openthesaurus-de-text)
if [[ ${#packages[@]} -eq 0 ]]; then exit 0; fi
why=""
if ! command -v apt-get >/dev/null; then
  why="no apt-get on this system"
elif [[ $(id -u) -ne 0 ]] && ! sudo -n true 2>/dev/null; then
  why="needs root (run: sudo apt-get install -y ${packages[*]})"
fi
sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo -n"
if [[ -z $why ]]; then
  if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${packages[@]}" >/dev/null 2>&1 ||
     { $sudo apt-get update -qq >/dev/null 2>&1 &&
       DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
         "${packages[@]}" >/dev/null 2>&1; }; then
    echo "installed ${packages[*]} (German lexical data for qa's BM25 search)"
    exit 0
  fi
  why="apt-get install ${packages[*]} failed"
fi
echo "note: ${packages[*]} not installed ($why); qa works without them, but English" \
  "questions get no German terms for BM25 (see README, 'Lexical knowledge')" >&2
exit 0
