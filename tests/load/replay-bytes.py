#!/usr/bin/env python3
"""What replay's recording adds to the audit log: the average and largest
`replay` member of the complaint lines of a decisions.jsonl, and the
average whole line.

    tests/load/replay-bytes.py DATA_DIR/decisions.jsonl
"""
import sys

MARK = b',"replay":'
count = total = largest = lines = 0
with open(sys.argv[1], "rb") as log:
    for line in log:
        at = line.rfind(MARK + b'{"snapshot":')
        if not line.startswith(b'{"kind":"complaint"') or at < 0:
            continue
        size = len(line.rstrip(b"\n")) - at - len(MARK) - 1  # the member, without the line's closing brace
        count += 1
        total += size
        largest = max(largest, size)
        lines += len(line)
if count == 0:
    sys.exit("no complaint lines with a replay member")
print(f"{count} complaints: replay member {total / count:.0f} bytes on average, at most {largest}; whole line {lines / count:.0f} bytes")
