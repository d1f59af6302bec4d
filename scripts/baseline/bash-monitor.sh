#!/usr/bin/env bash
# The standby-side monitor failover-gateway replaces, as the seed runs it: curl the primary every INTERVAL
# seconds; after 3 misses start the local gateway; on one good probe stop it. For the benchmark only.
# Here "start"/"stop" POST to the lab's control server instead of calling systemctl.
set -u
: "${PRIMARY_URL:?}" "${START_URL:?}" "${STOP_URL:?}"
INTERVAL="${INTERVAL:-10}"
TIMEOUT="${TIMEOUT:-5}"
misses=0
active=0
while true; do
	if curl -fsS -o /dev/null -m "$TIMEOUT" "$PRIMARY_URL"; then
		misses=0
		if [ "$active" = 1 ]; then
			echo "$(date +%s%3N) primary back: stopping the local gateway"
			curl -fsS -o /dev/null -X POST "$STOP_URL" && active=0
		fi
	else
		misses=$((misses + 1))
		if [ "$misses" -ge 3 ] && [ "$active" = 0 ]; then
			echo "$(date +%s%3N) $misses misses: starting the local gateway"
			curl -fsS -o /dev/null -X POST "$START_URL" && active=1
		fi
	fi
	sleep "$INTERVAL"
done
