#!/usr/bin/env python3
"""Times each console screen, server-side, on a daemon holding DECISIONS
logged complaints (default 100,000) over the last 40 days.

    python3 tests/load/console-screens.py [DECISIONS] [BINARY]

Starts BINARY (default target/release/redress) on the default rules and
plugins in a temporary directory, imports the complaints with
`?import=true` (no past SLA breach fires), then requests each screen's
fragment ROUNDS times on loopback and prints the median and the slowest
time of the response (curl's time_total) in milliseconds. With KEEP=1 the
temporary directory (its data/) is kept and named.
"""
import json, os, random, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

DECISIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BINARY = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "target/release/redress")
ROUNDS = 9
PORT = 18931
BASE = f"http://127.0.0.1:{PORT}"
CATEGORIES = ["product_quality", "staff_attitude", "after_sales", "price_billing", "unexpected_incident"]
LINES = ["headphones", "kettles", "phones", "laptops", "tv"]
TIERS = ["ordinary", "key"]

work = tempfile.mkdtemp(prefix="console-screens-")
shutil.copytree("rules", f"{work}/rules")
os.mkdir(f"{work}/plugins")
for name in os.listdir("plugins"):
    if name.endswith((".toml", ".wasm")):
        shutil.copy(f"plugins/{name}", f"{work}/plugins/{name}")
daemon = subprocess.Popen([BINARY, "serve", "--listen", f"127.0.0.1:{PORT}", "--data", f"{work}/data"],
                          cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          env={**os.environ, "RUST_LOG": "warn"})
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"{BASE}/healthz")
            break
        except OSError:
            time.sleep(0.1)
    now = time.time()
    random.seed(1)
    started = time.time()
    for first in range(0, DECISIONS, 1000):
        events = []
        for n in range(first, min(first + 1000, DECISIONS)):
            at = now - random.uniform(0, 40 * 86400)
            events.append({
                "id": f"s-{n}",
                "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)),
                "text": "It stopped working and nobody answered",
                "category": random.choice(CATEGORIES),
                "product_line": random.choice(LINES),
                "location": f"branch-{n % 20}",
                "amount": 120, "currency": "USD",
                "customer": {"id": f"cust-{n % 5000}", "tier": random.choice(TIERS)},
            })
        request = urllib.request.Request(f"{BASE}/v1/complaints?import=true&trace=none",
                                         data=json.dumps(events).encode(),
                                         headers={"Content-Type": "application/json"})
        urllib.request.urlopen(request).read()
    print(f"imported {DECISIONS} complaints in {time.time() - started:.0f} s")
    month = time.strftime("%Y-%m", time.gmtime(now))
    example = open("docs/examples/miller.json").read()
    compensation = open("rules/50-compensation.toml").read()
    draft = {"file": "50-compensation.toml", "text": compensation}
    screens = [
        ("rule set", "GET", "/console/f/ruleset", None),
        ("try an event: the form", "GET", "/console/f/try", None),
        ("try an event: decide", "POST", "/console/f/try", {"event": example}),
        ("draft: the editor", "GET", "/console/f/draft?file=50-compensation.toml", None),
        ("draft: check as typed", "POST", "/console/f/draft/check", draft),
        ("draft: effect on the last 30 days (10,000 complaints)", "POST", "/console/f/draft/effect", draft),
        ("cases: a customer's cases", "GET", "/console/f/cases?q=cust-42", None),
        ("cases: a case", "GET", "/console/f/cases/s-42", None),
        ("live", "GET", "/console/f/live", None),
        ("report: the month's heat map", "GET", f"/console/f/report?month={month}", None),
        ("report: a cell's control chart", "GET",
         f"/console/f/report?month={month}&category=product_quality&product_line=kettles&tier=ordinary", None),
        ("(the API's GET /v1/report for the same month, to compare)", "GET",
         f"/v1/report?from={month}-01T00:00:00Z&to={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now + 86400))}", None),
    ]
    print(f"| screen | median ms | slowest ms | bytes |")
    print(f"|---|---|---|---|")
    for name, method, path, form in screens:
        times, size = [], 0
        for _ in range(ROUNDS):
            command = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{time_total} %{size_download}",
                       "-H", "X-Redress-Console: 1"]
            if form:
                for key, value in form.items():
                    command += ["--data-urlencode", f"{key}={value}"]
            out = subprocess.run(command + [BASE + path], capture_output=True, text=True).stdout.split()
            if out[0] != "200":
                sys.exit(f"{name}: status {out[0]}")
            times.append(float(out[1]) * 1000)
            size = int(out[2])
        print(f"| {name} | {statistics.median(times):.1f} | {max(times):.1f} | {size} |")
finally:
    daemon.terminate()
    daemon.wait()
    if os.environ.get("KEEP"):
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
