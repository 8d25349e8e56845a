#!/usr/bin/env python3
"""Per-wave figures of one benchmark rollout (bench/rollout_bench.sh).

  rollout_report.py run DIR N CMD_MS [KEY=VALUE...]
                                          -> DIR/waves.md, prints a JSON summary
  rollout_report.py aggregate FILE...     -> Markdown table of medians

`run` reads, in DIR:
  controller.log  the controller's log at info level (spdlog, ISO UTC
                  timestamps to the millisecond)
  deploys.log     fleet_sim --deploy-log: "UNIX_US HOST APP REVISION
                  deploy|prepare" per DeployRequest answered
  status.json     `pyctl rollout status bench -o json` after the rollout
and per wave k (hosts H, started at S = the controller's "wave k ... started"
line):
  first_req  first DeployRequest of H answered by the simulator, minus S
  all_req    last one, minus S            -> dispatch = |H| / all_req
  sent_log   the controller's "sent K deploy request(s)" lines after S
             adding up to |H| (its Send loop done: queued to the streams)
  results    last "host X: bench revision R succeeded" of H, minus S
  wave       next wave's start (or the rollout's "→ succeeded"), minus S
"""
import datetime
import json
import re
import statistics
import sys

LINE = re.compile(r"^(\S+Z) (\w+) pyservice-controller: (.*)$")
WAVE = re.compile(r"rollout (\d+) of bench: wave (\d+)( \(canary\))? of (\d+) started \((\d+) host")
STATE = re.compile(r"rollout (\d+) of bench: (\w+) → (\w+)")
SENT = re.compile(r"sent (\d+) (deploy|prepare) request\(s\)")
RESULT = re.compile(r"host (\S+): bench (preparing )?revision (\d+) succeeded")


def ts_ms(stamp):
    t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000.0


def run(d, n, cmd_ms):
    status = json.load(open(f"{d}/status.json"))
    to_rev = status["to_revision"]
    rid = status["id"]
    waves = {w["index"]: [h["host"] for h in w["hosts"]] for w in status["waves"]}
    canary = {w["index"]: w.get("canary", False) for w in status["waves"]}

    starts = {}
    succeeded_ms = None
    events = []  # (ms, kind, payload) in log order, after the rollout began
    results = {}  # host -> ms of its to-revision success
    prepared = {}
    stored_ms = None
    for line in open(f"{d}/controller.log", errors="replace"):
        m = LINE.match(line.rstrip("\n"))
        if not m:
            continue
        ms, msg = ts_ms(m.group(1)), m.group(3)
        if stored_ms is None and msg.startswith("app bench: stored revision %d " % to_rev):
            stored_ms = ms
        if (w := WAVE.search(msg)) and int(w.group(1)) == rid:
            starts[int(w.group(2))] = ms
            events.append((ms, "wave", int(w.group(2))))
        elif (s := STATE.search(msg)) and int(s.group(1)) == rid:
            if s.group(3) == "succeeded":
                succeeded_ms = ms
        elif s := SENT.search(msg):
            events.append((ms, s.group(2), int(s.group(1))))
        elif (r := RESULT.search(msg)) and int(r.group(3)) == to_rev:
            (prepared if r.group(2) else results)[r.group(1)] = ms

    received = {}  # host -> us of its to-revision deploy at the simulator
    prep_received = {}
    for line in open(f"{d}/deploys.log"):
        parts = line.split()
        if len(parts) != 5 or parts[2] != "bench" or int(parts[3]) != to_rev:
            continue
        (prep_received if parts[4] == "prepare" else received)[parts[1]] = int(parts[0]) / 1000.0

    if succeeded_ms is None:
        raise SystemExit(f"{d}: no '→ succeeded' line for rollout {rid} in controller.log")
    rows = []
    for k in sorted(waves):
        hosts = waves[k]
        s = starts.get(k)
        if s is None:
            raise SystemExit(f"{d}: no start line for wave {k}")
        req = [received[h] for h in hosts if h in received]
        if len(req) != len(hosts):
            raise SystemExit(f"{d}: wave {k}: {len(hosts) - len(req)} host(s) without a deploy")
        res = [results[h] for h in hosts if h in results]
        if len(res) != len(hosts):
            raise SystemExit(f"{d}: wave {k}: {len(hosts) - len(res)} host(s) without a result line")
        # "sent K deploy request(s)" lines after the start adding up to |H|.
        sent_ms, total, seen = None, 0, False
        for ms, kind, val in events:
            if kind == "wave" and val == k:
                seen = True
            elif seen and kind == "deploy":
                total += val
                if total >= len(hosts):
                    sent_ms = ms
                    break
        end = starts.get(k + 1, succeeded_ms)
        all_req = max(req) - s
        rows.append({
            "wave": k, "canary": canary.get(k, False), "hosts": len(hosts),
            "first_req_ms": round(min(req) - s, 1), "all_req_ms": round(all_req, 1),
            "sent_log_ms": None if sent_ms is None else round(sent_ms - s, 1),
            "dispatch_hps": round(len(hosts) / max(all_req, 1.0) * 1000.0),
            "results_ms": round(max(res) - s, 1), "wave_ms": round(end - s, 1),
        })
    prep = list(prep_received.values())
    summary = {
        "n": n, "waves": len(rows),
        "cmd_to_wave0_ms": round(starts[0] - cmd_ms, 1),
        "total_ms": round(succeeded_ms - cmd_ms, 1),
        "waves_total_ms": round(succeeded_ms - starts[0], 1),
        "prepares": len(prep),
        "prepares_all_req_ms": round(max(prep) - starts[0], 1) if prep else None,
        "prepare_results": len(prepared),
        "wave0": rows[0],
        # Median over the later (non-first) waves: the first one also
        # carries every prepare request.
        "later": {key: statistics.median([r[key] for r in rows[1:]])
                  for key in ("first_req_ms", "all_req_ms", "dispatch_hps", "results_ms",
                              "wave_ms")} if len(rows) > 1 else None,
        "later_hosts": statistics.median([r["hosts"] for r in rows[1:]] or [0]),
        "later_sent_log_ms": statistics.median([r["sent_log_ms"] for r in rows[1:]
                                                if r["sent_log_ms"] is not None] or [0]),
        "min_dispatch_hps": min(r["dispatch_hps"] for r in rows),
    }
    with open(f"{d}/waves.md", "w") as out:
        out.write("| wave | hosts | first request ms | all requests ms | 'sent' log ms | "
                  "dispatch hosts/s | all results ms | wave ms |\n|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            out.write(f"| {r['wave']}{' (canary)' if r['canary'] else ''} | {r['hosts']} | "
                      f"{r['first_req_ms']} | {r['all_req_ms']} | {r['sent_log_ms']} | "
                      f"{r['dispatch_hps']} | {r['results_ms']} | {r['wave_ms']} |\n")
    return summary


def aggregate(files):
    runs = [json.loads(line) for f in files for line in open(f) if line.strip()]
    groups = {}
    for r in runs:
        groups.setdefault((r["n"], r["variant"]), []).append(r)
    print("| hosts | variant | runs | waves | wave 0: all requests ms (deploys + prepares) | "
          "later waves: first request ms | all requests ms | dispatch hosts/s | "
          "controller Send loop done ms (queued hosts/s) | "
          "all results ms | wave ms | total rollout s | controller CPU s | CPU ms/host | "
          "simulator CPU s | machine busy | RSS before → after MiB | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    med = statistics.median
    for (n, variant), rs in sorted(groups.items()):
        later = [r["later"] for r in rs if r["later"]]
        sent = med([r["later_sent_log_ms"] for r in rs])
        batch = med([r["later_hosts"] for r in rs])
        w0 = f"{med([r['wave0']['all_req_ms'] for r in rs]):.0f} ({rs[0]['wave0']['hosts']} + " \
             f"{med([r['prepares'] for r in rs]):.0f}; prepares all in {med([r['prepares_all_req_ms'] or 0 for r in rs]):.0f})"
        print(f"| {n} | {variant} | {len(rs)} | {rs[0]['waves']} | {w0} | "
              f"{med([l['first_req_ms'] for l in later]):.1f} | "
              f"{med([l['all_req_ms'] for l in later]):.0f} | "
              f"{med([l['dispatch_hps'] for l in later]):.0f} | "
              f"{sent:.0f} ({batch / max(sent, 1.0) * 1000:.0f}) | "
              f"{med([l['results_ms'] for l in later]):.0f} | "
              f"{med([l['wave_ms'] for l in later]):.0f} | "
              f"{med([r['total_ms'] for r in rs]) / 1000:.2f} | "
              f"{med([r['cpu_s'] for r in rs]):.2f} | "
              f"{med([r['cpu_s'] * 1000 / n for r in rs]):.3f} | "
              f"{med([r.get('sim_cpu_s', 0) for r in rs]):.2f} | "
              f"{med([r.get('machine_busy', 0) for r in rs]) * 100:.0f}% | "
              f"{med([r['rss_before'] for r in rs]):.0f} → {med([r['rss_after'] for r in rs]):.0f} | "
              f"{med([r['hwm'] for r in rs]):.0f} |")


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "run":
        summary = run(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
        for extra in sys.argv[5:]:  # KEY=VALUE from the script (CPU, RSS, ...)
            key, _, value = extra.partition("=")
            try:
                summary[key] = float(value)
            except ValueError:
                summary[key] = value
        print(json.dumps(summary))
    elif len(sys.argv) >= 3 and sys.argv[1] == "aggregate":
        aggregate(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
