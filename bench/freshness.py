#!/usr/bin/env python3
"""Freshness: from a write's acknowledgement to the membership change on the change stream.

A probe client posts one track event for a new profile every INTERVAL seconds; the event makes
the profile enter the segment `freshness_probe` (`count(freshness_probe) >= 1`). A consumer
reads `GET /v1/changes/stream`; for each probe profile the delay is the time its `entered`
change arrived minus the time the probe's POST was acknowledged (negative: the change arrived
before the acknowledgement, which tailor sends only after feeding the change). Run other load
beside it (bench/server_wrk.sh does: wrk with bench/wrk/batch_sessions.lua).

Usage: bench/freshness.py URL KEY [SECONDS=15] [INTERVAL=0.02]
Prints probes, delays p50/p99/max in ms, and probes whose change never arrived.
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

url = urllib.parse.urlparse(sys.argv[1])
key = sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 15.0
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02
headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def request(method, path, body=None):
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status // 100 != 2:
        raise SystemExit(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data) if data else None


# Saving a segment evaluates every segment over the whole store, writes waiting meanwhile: the
# probe segment is made once, before the load beside it starts (bench/server_wrk.sh does).
probe_segment = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
probe_segment.request("GET", "/v1/segments/freshness_probe", headers=headers)
if probe_segment.getresponse().status == 404:
    request("PUT", "/v1/segments/freshness_probe", {"rule": "count(freshness_probe) >= 1"})
# The feed's end, from /metrics: the stream starts there.
metrics = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
metrics.request("GET", "/metrics", headers=headers)
after = 0
for line in metrics.getresponse().read().decode().splitlines():
    if line.startswith("tailor_change_feed_last_sequence "):
        after = int(float(line.split()[1]))

run = f"{int(time.time())}"
arrived = {}
acknowledged = {}
stop = threading.Event()


def consume():
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=seconds + 30)
    connection.request("GET", f"/v1/changes/stream?after={after}", headers=headers)
    response = connection.getresponse()
    while not stop.is_set():
        line = response.readline()
        if not line:
            break
        if not line.startswith(b"data: "):
            continue
        change = json.loads(line[6:])
        if change["segment"] == "freshness_probe" and change["change"] == "entered":
            arrived.setdefault(change["profile"], time.monotonic())


consumer = threading.Thread(target=consume, daemon=True)
consumer.start()
time.sleep(0.5)  # the stream is open
connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    profile = f"probe-{run}-{n}"
    body = json.dumps({"userId": profile, "event": "freshness_probe", "messageId": profile})
    connection.request("POST", "/v1/track", body=body, headers=headers)
    response = connection.getresponse()
    response.read()
    acknowledged[profile] = time.monotonic()
    if response.status != 200:
        raise SystemExit(f"probe: {response.status}")
    n += 1
    time.sleep(interval)
time.sleep(2)  # the last changes arrive
stop.set()
delays = sorted((arrived[p] - t) * 1000 for p, t in acknowledged.items() if p in arrived)
missing = len(acknowledged) - len(delays)


def quantile(q):
    return delays[min(len(delays) - 1, int(q * len(delays)))] if delays else float("nan")


print(f"freshness: {len(acknowledged)} probes, ack -> change on the stream: "
      f"p50 {quantile(0.5):.1f} ms, p99 {quantile(0.99):.1f} ms, max {max(delays or [0]):.1f} ms, "
      f"{missing} never arrived")
