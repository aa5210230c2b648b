#!/usr/bin/env python3
"""An independent ZooKeeper client for the interoperability tests: kazoo.

    kazoo_peer.py [--auth SCHEME:CREDENTIAL] HOSTS COMMAND [ARGS...]

Commands print one JSON object:
  read PATH              {"data": str, "version": int, "ephemeralOwner": int, "numChildren": int}
  children PATH          {"children": [sorted names]}
  set PATH DATA          {"version": int}
  create PATH DATA MODE  {"path": str}  (MODE: persistent, ephemeral-sequential)
  delete PATH            {}
  txn PATH DATA          {"results": [...]}  (creates PATH and sets its data in one transaction)
"""
import json
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError, NoNodeError


def main():
    argv = sys.argv[1:]
    auth = []
    if argv and argv[0] == "--auth":
        scheme, _, credential = argv[1].partition(":")
        auth = [(scheme, credential)]
        argv = argv[2:]
    hosts, command, args = argv[0], argv[1], argv[2:]
    zk = KazooClient(hosts=hosts, timeout=10, auth_data=auth or None)
    zk.start(timeout=15)
    try:
        if command == "read":
            try:
                data, stat = zk.get(args[0])
            except NoNodeError:
                out = {"missing": True}
            except NoAuthError:
                out = {"noAuth": True}
            else:
                out = {"data": data.decode(), "version": stat.version,
                       "ephemeralOwner": stat.ephemeralOwner, "numChildren": stat.numChildren}
        elif command == "children":
            try:
                out = {"children": sorted(zk.get_children(args[0]))}
            except NoAuthError:
                out = {"noAuth": True}
        elif command == "set":
            out = {"version": zk.set(args[0], args[1].encode()).version}
        elif command == "create":
            mode = args[2]
            path = zk.create(args[0], args[1].encode(), ephemeral=mode.startswith("ephemeral"),
                             sequence=mode.endswith("sequential"))
            out = {"path": path}
        elif command == "delete":
            zk.delete(args[0])
            out = {}
        elif command == "txn":
            t = zk.transaction()
            t.create(args[0], b"")
            t.set_data(args[0], args[1].encode())
            out = {"results": [str(r) for r in t.commit()]}
        else:
            raise SystemExit(f"unknown command {command}")
        print(json.dumps(out))
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    main()
