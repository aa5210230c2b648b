#!/usr/bin/env python3
# A processor for Corral's tests, speaking damocles-worker's protocol.
# Task fields: sleep (seconds), fail (an err_msg), crash (exit mid-job), hang (never answer).
import json, os, sys, threading, time

stage = sys.argv[1] if len(sys.argv) > 1 else "pc1"
if os.environ.get("TEST_PROCESSOR_MODE") == "never-ready":
    time.sleep(3600)
write_lock = threading.Lock()

def out(line):
    with write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

out("starting up, not ready yet")
out(f"{stage} processor ready")

def run(req):
    task = req["task"]
    started = time.time()
    if task.get("crash"):
        os._exit(3)
    if task.get("hang"):
        time.sleep(3600)
    time.sleep(task.get("sleep", 0))
    out("working on %d (a log line, not a response)" % req["id"])
    if task.get("fail"):
        out(json.dumps({"id": req["id"], "err_msg": task["fail"], "output": None}))
        return
    out(json.dumps({"id": req["id"], "err_msg": None, "output": {
        "echo": task, "pid": os.getpid(), "cpus": sorted(os.sched_getaffinity(0)),
        "env": os.environ.get("TEST_ENV", ""), "envNames": sorted(os.environ), "start": started, "end": time.time()}}))

for line in sys.stdin:
    if not line.strip():
        continue
    threading.Thread(target=run, args=(json.loads(line),), daemon=True).start()
