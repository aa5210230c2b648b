#!/usr/bin/env python3
"""A stand-in for a Drove leader controller's messages endpoint, for the
cluster tests: POST /apis/v1/messages is answered ACCEPTED (as Drove's
controller nearly always does) and each message is appended to a JSON-lines
file with the headers that matter. The Cluster-Authorization value is
never written: only whether it equals the expected secret.

    fake-controller.py OUT.jsonl EXPECTED_SECRET     (prints the port it listens on)
"""
import http.server
import json
import sys

out_path, expected = sys.argv[1], sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        record = {"path": self.path, "nodeId": self.headers.get("NodeId"),
                  "authorized": self.headers.get("Cluster-Authorization") == expected, "body": body}
        with open(out_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        reply = json.dumps({"header": body.get("header"), "status": "ACCEPTED"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
