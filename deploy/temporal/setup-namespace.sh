#!/bin/sh
# Creates the namespace (if missing) and Mission Control's search attributes (if missing). The worker and API also
# register the attributes at start; this makes them exist before anything runs.
set -eu
NS="${TEMPORAL_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
temporal operator namespace describe -n "$NS" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 ||
  temporal operator namespace create -n "$NS" --retention 30d --address "$TEMPORAL_ADDRESS"
for attr in McStatus McRobotId McTrigger McStage; do
  temporal operator search-attribute list -n "$NS" --address "$TEMPORAL_ADDRESS" | grep -q "$attr" ||
    temporal operator search-attribute create -n "$NS" --name "$attr" --type Keyword --address "$TEMPORAL_ADDRESS"
done
echo "namespace $NS ready"
