#!/usr/bin/env python3
# The dashboard in headless Chromium: first paint (the load event), first
# live update (stream open, page refreshed from it), over 5 loads; then the
# event stream's bytes over REST seconds at rest, against what a console
# polling the API every 10 s (Drove's) would fetch in that time.
#   console-timing.py BASE_URL REST_SECONDS
import json, statistics, subprocess, sys, time, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

base, rest = sys.argv[1], int(sys.argv[2])
options = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900"]:
    options.add_argument(a)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
paint, live = [], []
try:
    for _ in range(5):
        t0 = time.time()
        driver.get(base + "/")
        paint.append(driver.execute_script("var t = performance.timing; return t.loadEventEnd - t.navigationStart;") / 1000)
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.body.dataset.updated || ''") != "")
        live.append(time.time() - t0)
    size = len(driver.page_source.encode())
finally:
    driver.quit()
print("dashboard: %d bytes; first paint median %.3f s (min %.3f, max %.3f); first live update median %.3f s (max %.3f)"
      % (size, statistics.median(paint), min(paint), max(paint), statistics.median(live), max(live)))

# At rest: every byte the stream sends in REST seconds (after its opening comment).
body = subprocess.run(["curl", "-sN", "--max-time", str(rest), base + "/apis/v1/cluster/events/stream"], capture_output=True).stdout
got = len(body) - len(b": live\n\n")
kinds = {}
for line in body.decode(errors="replace").splitlines():
    if line.startswith("event: "):
        kinds[line[7:]] = kinds.get(line[7:], 0) + 1
    elif line.startswith(": keep-alive"):
        kinds["keep-alive"] = kinds.get("keep-alive", 0) + 1
sample = [l for l in body.decode(errors="replace").splitlines() if l.startswith("data: ")][:2]
# A polling console: the summary, the executors and the apps every 10 s.
polled = 0
for path in ["/apis/v1/cluster", "/apis/v1/cluster/executors", "/apis/v1/applications"]:
    with urllib.request.urlopen(base + path, timeout=10) as r:
        polled += len(r.read())
per_rest = polled * (rest // 10)
print("at rest for %d s: the event stream pushed %d bytes; polling every 10 s would fetch %d bytes (%d per round)" % (rest, got, per_rest, polled))
print("what the stream sent:", json.dumps(kinds, sort_keys=True))
for l in sample: print("  e.g.", l[:400])
