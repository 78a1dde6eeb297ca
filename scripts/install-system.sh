#!/usr/bin/env bash
# Make sure PostgreSQL and PostGIS (for the local STAC API) are installed.
# Installs them with apt-get when running as root on Debian/Ubuntu; otherwise says what to do.
set -euo pipefail

have_postgis() {
  for share in /usr/share/postgresql/*/extension "$(pg_config --sharedir 2>/dev/null)/extension"; do
    [ -f "$share/postgis.control" ] && return 0
  done
  return 1
}

if have_postgis && { ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null; }; then
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "cropkit: installing PostgreSQL and PostGIS with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get install -y -qq postgresql >/dev/null
  fi
  version=$(ls /usr/lib/postgresql | sort -n | tail -1)
  apt-get install -y -qq "postgresql-${version}-postgis-3" >/dev/null
  exit 0
fi

cat >&2 <<'MSG'
cropkit: PostgreSQL with PostGIS is needed for the local STAC API and was not found.
  Debian/Ubuntu (as root): apt-get install postgresql postgresql-15-postgis-3
  conda:                   conda install -c conda-forge postgresql postgis
Then run the command again.
MSG
exit 1
