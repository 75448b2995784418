#!/bin/sh
# The container's entry point (Dockerfile): index the mounted articles, then serve them.
#
#   (no arguments)           qa index "$QA_ARTICLES", then qa serve on $QA_HOST:$QA_PORT
#   --option ...             the same, with these options added to qa serve
#                            (--auth-file FILE, --feedback FILE, --mcp, --log-questions, ...)
#   index|ask|eval|serve ... that qa command alone, e.g. `eval state/feedback.jsonl`
#   anything else            run it (e.g. `sh`)
#
# Settings (environment): QA_ARTICLES (default: articles), QA_INDEX (default:
# state/index), QA_HOST (default: 0.0.0.0), QA_PORT (default: 7860). Relative paths are
# taken from the working folder (/srv in the image), so articles are cited as
# articles/NAME. Re-running the script re-indexes only new and changed articles.
set -eu

articles="${QA_ARTICLES:-articles}"
host="${QA_HOST:-0.0.0.0}"
port="${QA_PORT:-7860}"
QA_INDEX="${QA_INDEX:-state/index}"
export QA_INDEX

case "${1:-}" in
    index | ask | eval | serve) exec qa "$@" ;;
    "" | -*) ;;
    *) exec "$@" ;;
esac

if [ ! -d "$articles" ]; then
    echo "qa: error: no articles folder at $articles (mount one:" \
        "-v \"\$PWD/articles:/srv/articles:ro\")" >&2
    exit 2
fi
state=$(dirname "$QA_INDEX")
if ! mkdir -p "$state" 2>/dev/null || [ ! -w "$state" ]; then
    echo "qa: error: cannot write the index folder's parent $state (user $(id -u)):" \
        "mount a volume there (-v qa-state:/srv/state)" >&2
    exit 2
fi

echo "qa: indexing $articles into $QA_INDEX" >&2
qa index "$articles" --index "$QA_INDEX"
exec qa serve --index "$QA_INDEX" --host "$host" --port "$port" "$@"
