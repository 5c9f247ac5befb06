#!/usr/bin/env bash
# Fails when a layer includes a header of a layer above it (DESIGN.md §2).
# Each line: a folder, then the folders its headers and sources may include.
set -u
root=${1:-.}
allowed='core: core
geo: core geo
order: core geo order
storage: core geo order storage
postgres: core geo order storage postgres
transport: core geo order transport
eta: core geo order eta
anomaly: core geo order eta anomaly
sim: core geo order sim
track: core geo order storage transport eta anomaly track
security: core geo order transport security
redis: core redis
cache: core geo order transport redis cache
queue: core geo order storage transport eta anomaly track redis cache queue
server: core geo order storage transport eta anomaly track security server'
status=0
while IFS=': ' read -r layer rest; do
  for dir in "$root/include/xiaoxiang/$layer" "$root/src/$layer"; do
    [ -d "$dir" ] || continue
    while IFS= read -r line; do
      file=${line%%:*}
      target=$(sed -n 's|.*#include "xiaoxiang/\([a-z_]*\)/.*|\1|p' <<<"$line")
      [ -n "$target" ] || continue
      case " $rest " in
        *" $target "*) ;;
        *) echo "layering: $file includes xiaoxiang/$target/ but $layer may include only: $rest"; status=1 ;;
      esac
    done < <(grep -rn '#include "xiaoxiang/' "$dir" || true)
  done
done <<<"$allowed"
[ $status -eq 0 ] && echo "layering: ok"
exit $status
