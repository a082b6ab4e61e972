#!/usr/bin/env bash
# The schema-change loop, timed (BENCHMARKS.md, "The schema change loop"):
# a one-field change to ent/schema/campaign.go, from the edit to the
# migration applied on the development database, in copies of the repository
# (never in this working tree). Rounds alternate the old loop (main's four
# commands: go generate, migrate diff, migrate lint, migrate apply) and the
# new one (dbctl migrate dev), each copy reset between rounds. Warm caches:
# one untimed round of each first. Prints one line per round (wall time, and
# the CPU of every process the loop started, user + system), then medians.
#   scripts/bench-loop.sh [ROUNDS] [OLD_REV]     defaults: 5, main
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}" old_rev="${2:-main}"
server="${BENCH_SERVER_URL:-postgres://postgres@127.0.0.1:5432}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GOFLAGS=-trimpath # the copies share the build cache (their paths differ)

copy() { # copy REV DIR: the tracked files of REV (or of the working tree for "worktree")
  mkdir -p "$2"
  if [ "$1" = worktree ]; then git ls-files -z | xargs -0 -I{} cp --parents {} "$2/"
  else git archive "$1" | tar -x -C "$2"; fi
  (cd "$2" && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm base)
}
copy "$old_rev" "$work/old"
copy worktree "$work/new"

# edit DIR FIELD: a new optional column; each run names a new field, so the
# generated client differs from every build cached before, as with a real edit.
edit() { sed -i "s|field.String(\"owner_id\").Optional().Nillable().SchemaType(varchar(idLen)),|&\n\t\tfield.String(\"$2\").Optional().MaxLen(100).SchemaType(varchar(100)),|" "$1/ent/schema/campaign.go"; }
reset() { # reset DIR DB: the copy back to its commit, the database migrated to it
  (cd "$1" && git checkout -q . && git clean -qfd)
  psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $2 WITH (FORCE)" -c "CREATE DATABASE $2" >/dev/null
  (cd "$1" && DATABASE_URL="$server/$2?sslmode=disable" go run ./cmd/dbctl migrate apply >/dev/null)
}
old_loop() {
  go generate ./... && go run ./cmd/dbctl migrate diff add_field >/dev/null &&
    go run ./cmd/dbctl migrate lint --latest 1 >/dev/null && go run ./cmd/dbctl migrate apply >/dev/null
}
new_loop() { go run ./cmd/dbctl migrate dev add_field >/dev/null; }
run() { # run old|new: seconds from the edit to the migration applied
  local dir="$work/$1" db="bench_loop_$1" field
  reset "$dir" "$db"
  (cd "$dir" && go build ./... >/dev/null 2>&1 || true) # warm: the tree's packages are built, as after go test
  field="utm_${1}_$(date +%s%N | tail -c 9)"
  edit "$dir" "$field"
  # Wall, user and system seconds of the loop and every process it starts.
  local TIMEFORMAT='%R %U %S'
  { time { (cd "$dir" && DATABASE_URL="$server/$db?sslmode=disable" "${1}_loop") >"$work/$1.log" 2>&1; }; } 2>"$work/$1.time" ||
    { cat "$work/$1.log" >&2; exit 1; }
  awk '{printf "%.1f %.1f\n", $1, $2 + $3}' "$work/$1.time"
}
echo "warming (one untimed round of each)..." >&2
run old >/dev/null; run new >/dev/null
declare -a olds news oldcpu newcpu
for i in $(seq "$rounds"); do
  read -r o oc < <(run old); read -r n nc < <(run new)
  olds+=("$o"); news+=("$n"); oldcpu+=("$oc"); newcpu+=("$nc")
  printf 'round %d: old %6.1f s wall %6.1f s CPU   new %6.1f s wall %6.1f s CPU   (load %s)\n' "$i" "$o" "$oc" "$n" "$nc" "$(cut -d' ' -f1 /proc/loadavg)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf 'median: old %.1f s wall, %.1f s CPU (%s: go generate + migrate diff + lint + apply); new %.1f s wall, %.1f s CPU (dbctl migrate dev)\n' \
  "$(median "${olds[@]}")" "$(median "${oldcpu[@]}")" "$old_rev" "$(median "${news[@]}")" "$(median "${newcpu[@]}")"
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS bench_loop_old WITH (FORCE)" -c "DROP DATABASE IF EXISTS bench_loop_new WITH (FORCE)" >/dev/null
