#!/usr/bin/env python3
"""Posts N mixed complaints (several categories and languages, two tiers,
twenty locations, 3,000 customers) in batches of 1,000 to a daemon at URL,
with compact traces: a history for replay's bytes-per-decision figure in
BENCHMARKS.md. Seeded, so two runs post the same complaints.

    tests/load/mixed-history.py N [URL]     # URL default http://127.0.0.1:18080
"""
import json
import random
import sys
import urllib.request

random.seed(1)
CATEGORIES = ["product_quality", "price_billing", "staff_attitude", "after_sales", None]
TEXTS = [
    "The kettle broke after a day, I am very angry",
    "I was charged twice on my bill",
    "The cashier was very rude!",
    "Nobody came to repair it",
    "质量太差了，我非常生气！",
    "Ang bastos ng kahera",
]
count = int(sys.argv[1])
url = (sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:18080") + "/v1/complaints?trace=compact"
for batch_number in range(count // 1000):
    batch = []
    for i in range(1000):
        k = batch_number * 1000 + i
        event = {
            "id": f"e-{k}",
            "text": random.choice(TEXTS),
            "location": f"branch-{k % 20}",
            "product_line": random.choice(["kettles", "toasters", "plans"]),
            "amount": round(random.uniform(5, 500), 2),
            "customer": {
                "id": f"c-{k % 3000}",
                "tier": random.choice(["ordinary", "ordinary", "key"]),
                "deposits": random.choice([1000, 250000]),
                "lifetime_value": random.choice([100, 5000, 60000]),
                "tenure_days": random.randint(0, 4000),
            },
        }
        category = random.choice(CATEGORIES)
        if category:
            event["category"] = category
        batch.append(event)
    request = urllib.request.Request(url, data=json.dumps(batch).encode(), headers={"content-type": "application/json"})
    urllib.request.urlopen(request).read()
