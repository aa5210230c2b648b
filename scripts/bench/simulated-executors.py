#!/usr/bin/env python3
# Simulated executors for scripts/bench-console: N ephemeral ExecutorNodeData
# nodes (two NUMA nodes of 32 CPUs each) holding M HEALTHY instances of
# app1-1 .. app10-1 between them; they stay while this runs, rewritten every
# 10 s with a fresh `updated` as real executors do (a controller drops stale ones).
#   simulated-executors.py ZK_HOSTS N M
import json, sys, time, uuid
from kazoo.client import KazooClient

hosts, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
zk = KazooClient(hosts=hosts, timeout=10)
zk.start()
zk.ensure_path("/drove/executor")
now = int(time.time() * 1000)
nodes = {}
for e in range(n):
    eid = str(uuid.uuid5(uuid.NAMESPACE_DNS, "sim-%d" % e))
    mine = [i for i in range(m) if i % n == e]
    used = {"0": [], "1": []}
    insts = []
    for k, i in enumerate(mine):
        node, cpu = str(k % 2), (k // 2) + (0 if k % 2 == 0 else 32)
        used[node].append(cpu)
        app = "app%d" % (i % 10 + 1)
        insts.append({"appId": app + "-1", "appName": app, "instanceId": "AI-" + str(uuid.uuid4()), "executorId": eid,
                      "localInfo": {"hostname": "sim-%d" % e, "ports": {}},
                      "resources": [{"type": "CPU", "cores": {node: [cpu]}}, {"type": "MEMORY", "memoryInMB": {node: 64}}],
                      "state": "HEALTHY", "metadata": {}, "errorMessage": "", "created": now, "updated": now})
    free = {k: [c for c in range(int(k) * 32, int(k) * 32 + 32) if c not in used[k]] for k in used}
    data = {"type": "EXECUTOR", "hostname": "sim-%d" % e, "port": 9000 + e, "transportType": "HTTP", "updated": now,
            "state": {"executorId": eid,
                      "cpus": {"type": "CPU", "freeCores": free, "usedCores": used},
                      "memory": {"type": "MEMORY", "freeMemory": {k: 65536 - 64 * len(used[k]) for k in used},
                                 "usedMemory": {k: 64 * len(used[k]) for k in used}},
                      "layout": {"cores": {"0": list(range(0, 32)), "1": list(range(32, 64))}, "memory": {"0": 65536, "1": 65536}}},
            "instances": insts, "tasks": [], "serviceInstances": [], "tags": ["sim-%d" % e], "metadata": {}, "executorState": "ACTIVE"}
    zk.create("/drove/executor/" + eid, json.dumps(data).encode(), ephemeral=True)
    nodes[eid] = data
print("simulated", n, "executors,", m, "instances", flush=True)
while True:
    time.sleep(10)
    for eid, data in nodes.items():
        data["updated"] = int(time.time() * 1000)
        zk.set("/drove/executor/" + eid, json.dumps(data).encode())
