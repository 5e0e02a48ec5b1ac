#!/bin/sh
# A golive exec probe (protocol: docs/plugins.md) in POSIX sh and awk: the options a mount
# point is mounted with, e.g. /tmp with nodev,nosuid,noexec (CIS Linux benchmarks, file
# system configuration). Also reads /etc/fstab (same columns): what is configured.
set -euf  # -f: no globbing of option words

if [ "${1:-}" = "--describe" ]; then
  cat <<'JSON'
{
  "summary": "Options a mount point is mounted with, read from /proc/mounts (or /etc/fstab)",
  "params": [
    {"name": "mount_point", "type": "string", "required": true, "doc": "the mount point, e.g. /tmp"},
    {"name": "mounts_file", "type": "string", "default": "/proc/mounts", "doc": "the mount table to read: /proc/mounts (what is mounted) or /etc/fstab (what is configured)"}
  ],
  "facts": [
    {"name": "mounted", "type": "bool", "doc": "the mount table has an entry for the mount point"},
    {"name": "fstype", "type": "string", "doc": "file system type, e.g. tmpfs"},
    {"name": "options", "type": "list", "doc": "mount options, e.g. [\"rw\", \"nosuid\", \"nodev\", \"noexec\"]"},
    {"name": "missing_hardening", "type": "list", "doc": "which of nodev, nosuid and noexec are not set"}
  ]
}
JSON
  exit 0
fi

# The request arrives as JSON on stdin; this probe needs only its parameters, which golive
# also passes as GOLIVE_PARAM_<NAME> environment variables, so no JSON parser is needed.
cat >/dev/null
point=${GOLIVE_PARAM_MOUNT_POINT:?mount_point is required}
table=${GOLIVE_PARAM_MOUNTS_FILE:-/proc/mounts}

# A JSON string: backslashes and double quotes escaped.
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

if [ ! -r "$table" ]; then
  printf '{"error": %s}\n' "$(json_string "cannot read $table")"
  exit 0
fi

# The last entry wins: a later mount hides an earlier one at the same place.
entry=$(awk -v p="$point" '$1 !~ /^#/ && $2 == p { e = $3 " " $4 } END { print e }' "$table")
if [ -z "$entry" ]; then
  printf '{"facts": {"mounted": false, "missing_hardening": ["nodev", "nosuid", "noexec"]}}\n'
  exit 0
fi
fstype=${entry%% *}
options=${entry#* }

list=""
for option in $(printf '%s' "$options" | tr ',' ' '); do
  list="$list${list:+, }$(json_string "$option")"
done
missing=""
for wanted in nodev nosuid noexec; do
  case ",$options," in
    *",$wanted,"*) ;;
    *) missing="$missing${missing:+, }\"$wanted\"" ;;
  esac
done
printf '{"facts": {"mounted": true, "fstype": %s, "options": [%s], "missing_hardening": [%s]}}\n' \
  "$(json_string "$fstype")" "$list" "$missing"
