"""One server's part of benches/webhooks.sh: set-tag requests timed
without and with a webhook, and how long its N deliveries take to arrive.

Usage: webhooks.py <name> <server url> <requests>
"""

import http.server
import statistics
import sys
import threading
import time

import requests

name, server, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
api = f"{server}/api/2.0/mlflow"
got = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        got.append(time.perf_counter())
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
session = requests.Session()


def post(path, body):
    r = session.post(f"{api}/{path}", json=body)
    r.raise_for_status()
    return r.json()


post("registered-models/create", {"name": "bench"})
run = post("runs/create", {"experiment_id": "0"})["run"]["info"]["run_id"]
post("model-versions/create",
     {"name": "bench", "source": f"runs:/{run}/model", "run_id": run})


def timed(label):
    times = []
    for i in range(n):
        t = time.perf_counter()
        post("model-versions/set-tag",
             {"name": "bench", "version": "1", "key": f"k{i % 10}", "value": str(i)})
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"{name:7} {label:22} median {statistics.median(times) * 1e3:6.2f} ms   "
          f"p99 {times[int(len(times) * 0.99) - 1] * 1e3:6.2f} ms")
    return time.perf_counter()


timed("no webhook")
post("webhooks", {"name": "bench", "url": f"http://127.0.0.1:{receiver.server_port}/h",
                  "events": [{"entity": "MODEL_VERSION_TAG", "action": "SET"}]})
time.sleep(1.5)  # mlflow server's copy of the list of webhooks expires
got.clear()
start = time.perf_counter()
end = timed("a webhook listening")
deadline = time.time() + 120
while len(got) < n and time.time() < deadline:
    time.sleep(0.01)
last = got[-1] if got else float("nan")
print(f"{name:7} {len(got)} of {n} deliveries arrived, the last "
      f"{(last - end) * 1e3:.0f} ms after the last request "
      f"({len(got) / (last - start):.0f} deliveries/s over the whole run)")
