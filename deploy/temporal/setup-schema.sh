#!/bin/sh
# Creates the `temporal` and `temporal_visibility` databases on PostgreSQL and brings them to the schema of this
# admin-tools version. Safe to run again: creating what exists fails harmlessly, and update-schema only migrates
# (and fails loudly if something is really wrong). The same steps as scripts/cluster.ts.
set -eu
SCHEMA=/etc/temporal/schema/postgresql/v12
sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"; }
for db in temporal temporal_visibility; do
  dir=temporal; [ "$db" = temporal_visibility ] && dir=visibility
  sql --db "$db" create-database || echo "database $db exists"
  sql --db "$db" setup-schema -v 0.0 || echo "schema of $db set up before"
  sql --db "$db" update-schema -d "$SCHEMA/$dir/versioned"
done
echo "schema ready"
