#!/usr/bin/env python3
# Drives a standalone executor's one-node console in headless Chromium
# (Debian's chromium and chromium-driver, through selenium) and prints what
# it saw as JSON for the Swift test to check against the API:
#   node-console-check.py API_URL SECRET SCREENSHOT_DIR EXECUTOR_PID RESTART_JSON
# RESTART_JSON: the command line that starts the executor again on the same
# port and state (the script kills it with SIGKILL to see the lost stream
# shown, then starts it and sees the page recover). The new executor's pid
# is in the output ("restartedPid") for the test to stop.
import json, os, signal, subprocess, sys, time, urllib.request
from urllib.parse import urlsplit
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

api, secret, shots, pid, restart = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
u = urlsplit(api)
page = "%s://console:%s@%s/" % (u.scheme, secret, u.netloc)
out = {}
options = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,1500"]:
    options.add_argument(a)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30)

def js(expr):
    return driver.execute_script("return " + expr)

def live():
    wait.until(lambda d: js("document.getElementById('live').textContent") == "live" and js("document.body.dataset.updated || ''") != "")

def call(method, path, body=None):
    req = urllib.request.Request(api + "/apis/v1" + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Cluster-Authorization": secret, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)

restarted = None
try:
    t0 = time.time()
    driver.get(page)
    out["title"] = driver.title
    live()
    out["liveSeconds"] = round(time.time() - t0, 3)
    out["usedCores"] = js("document.getElementById('used-cores').textContent")
    out["instanceRows"] = js("Array.from(document.querySelectorAll('#instances tr[data-instance]')).map(r => r.dataset.instance + ' ' + r.dataset.state)")
    out["mapText"] = js("document.querySelector('#core-map svg').textContent")
    out["stageRows"] = js("Array.from(document.querySelectorAll('#stages tr[data-stage]')).map(r => r.dataset.stage + ' ' + r.dataset.busy)")
    marker = js("window.corralPage")

    # A job that holds the processor a while: the page shows the busy slot and the lock holder, no reload.
    job = call("POST", "/stages/pc2/jobs", {"sleep": 6})
    out["jobId"] = job["id"]
    WebDriverWait(driver, 20).until(lambda d: js("(document.querySelector('#stages tr[data-stage=pc2]') || {dataset: {}}).dataset.busy") == "1")
    out["busySeen"] = True
    out["lockHolders"] = js("(document.querySelector('#locks tr[data-lock=gpu] td:nth-child(3)') || {}).textContent || ''")
    driver.save_screenshot(os.path.join(shots, "console-node.png"))
    WebDriverWait(driver, 30).until(lambda d: js("(document.querySelector('#stages tr[data-stage=pc2]') || {dataset: {}}).dataset.busy") == "0")
    out["idleSeen"] = True
    out["reloaded"] = js("window.corralPage") != marker

    # The executor dies: the page says the stream is lost; it comes back: the page says live again, unreloaded.
    os.kill(pid, signal.SIGKILL)
    WebDriverWait(driver, 30).until(lambda d: "lost" in js("document.getElementById('live').className"))
    out["lostText"] = js("document.getElementById('live').textContent")
    updated = js("document.body.dataset.updated")
    log = open(restart["log"], "ab")
    restarted = subprocess.Popen(restart["argv"], stdout=log, stderr=log)
    out["restartedPid"] = restarted.pid
    WebDriverWait(driver, 60).until(lambda d: js("document.getElementById('live').textContent") == "live"
                                    and js("document.body.dataset.updated") != updated)
    out["recoveredText"] = js("document.getElementById('live').textContent")
    out["instanceRowsAfter"] = js("Array.from(document.querySelectorAll('#instances tr[data-instance]')).map(r => r.dataset.instance + ' ' + r.dataset.state)")
    out["reloadedAfterRestart"] = js("window.corralPage") != marker
finally:
    driver.quit()
print(json.dumps(out))
