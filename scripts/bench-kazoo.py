#!/usr/bin/env python3
"""kazoo's side of `corral-bench zookeeper`: the same operations against the
same server, printed as one JSON object of operations per second.

    bench-kazoo.py HOSTS SEQUENTIAL PIPELINED WINDOW
"""
import json
import sys
import time

from kazoo.client import KazooClient

hosts, sequential, pipelined, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=15)
zk.ensure_path("/bench-kazoo")
zk.create("/bench-kazoo/node", b"x" * 128)


def rate(n, fn):
    start = time.perf_counter()
    fn(n)
    return n / (time.perf_counter() - start)


def in_flight(n, submit):
    pending = []
    for i in range(n):
        pending.append(submit(i))
        if len(pending) >= window:
            pending.pop(0).get()
    for p in pending:
        p.get()


out = {
    "getData": rate(sequential, lambda n: [zk.get("/bench-kazoo/node") for _ in range(n)]),
    "getDataPipelined": rate(pipelined, lambda n: in_flight(n, lambda i: zk.get_async("/bench-kazoo/node"))),
    "setData": rate(sequential, lambda n: [zk.set("/bench-kazoo/node", b"y" * 128) for _ in range(n)]),
    "setDataPipelined": rate(pipelined, lambda n: in_flight(n, lambda i: zk.set_async("/bench-kazoo/node", b"z" * 128))),
    "createDelete": rate(sequential // 2, lambda n: [(zk.create(f"/bench-kazoo/c{i}"), zk.delete(f"/bench-kazoo/c{i}")) for i in range(n)]),
}
zk.delete("/bench-kazoo", recursive=True)
zk.stop()
zk.close()
print(json.dumps(out))
