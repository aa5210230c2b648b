#!/usr/bin/env python3
# Drives the controller's web console in headless Chromium (Debian's
# chromium and chromium-driver, through selenium) the way a person would, and
# prints what it saw as JSON for the Swift test to check against the API:
#   console-check.py CONTROLLER_URL APP_ID EXECUTOR_ID SCREENSHOT_DIR
import json, os, sys, time, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

base, app, executor, shots = sys.argv[1:5]
out = {}
options = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900"]:
    options.add_argument(a)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30)

def live():
    wait.until(lambda d: d.find_element(By.ID, "live").text == "live")

def api(path):
    with urllib.request.urlopen(base + "/apis/v1" + path, timeout=10) as r:
        return json.load(r)["data"]

try:
    t0 = time.time()
    driver.get(base + "/")
    out["dashboardTitle"] = driver.title
    out["firstPaintSeconds"] = round(time.time() - t0, 3)
    live()
    out["liveSeconds"] = round(time.time() - t0, 3)
    out["executorCount"] = driver.find_element(By.ID, "executor-count").text
    out["appCount"] = driver.find_element(By.ID, "app-count").text
    out["usedCores"] = driver.find_element(By.ID, "used-cores").text
    driver.save_screenshot(os.path.join(shots, "console-dashboard.png"))

    driver.get(base + "/ui/executors")
    out["executorRows"] = [r.get_attribute("data-executor") for r in driver.find_elements(By.CSS_SELECTOR, "#executors tbody tr[data-executor]")]

    driver.get(base + "/ui/executors/" + executor)
    live()
    svg = driver.find_element(By.CSS_SELECTOR, "#core-map svg")
    out["mapText"] = svg.get_attribute("textContent")
    out["mapRects"] = len(svg.find_elements(By.TAG_NAME, "rect"))
    driver.save_screenshot(os.path.join(shots, "console-executor.png"))

    driver.get(base + "/ui/applications/" + app)
    live()
    marker = driver.execute_script("return window.corralPage")
    healthy = lambda d: len(d.find_elements(By.CSS_SELECTOR, "#instances tr[data-state=HEALTHY]"))
    out["healthyBefore"] = healthy(driver)
    n = out["healthyBefore"] + 1
    box = driver.find_element(By.ID, "scale-count")
    box.clear()
    box.send_keys(str(n))
    driver.find_element(By.ID, "scale").click()
    alert = wait.until(lambda d: d.switch_to.alert)
    out["confirmText"] = alert.text
    alert.accept()
    WebDriverWait(driver, 90).until(lambda d: healthy(d) == n)
    out["healthyAfter"] = healthy(driver)
    out["reloaded"] = driver.execute_script("return window.corralPage") != marker
    out["apiHealthy"] = api("/applications/" + app)["healthyInstances"]
    driver.save_screenshot(os.path.join(shots, "console-application.png"))

    # An instance's page: its files, and its output followed as it comes.
    driver.find_element(By.CSS_SELECTOR, "#instances tr[data-state=HEALTHY] a").click()
    live()
    out["logFiles"] = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#log-files a")]
    page = driver.execute_script("return window.corralPage")
    WebDriverWait(driver, 30).until(lambda d: "tick" in d.find_element(By.ID, "tail").text)
    text = driver.find_element(By.ID, "tail").text
    out["tailStart"] = text[:40]
    out["tailTicks"] = text.count("tick")
    time.sleep(3)
    out["tailTicksLater"] = driver.find_element(By.ID, "tail").text.count("tick")
    out["tailReloaded"] = driver.execute_script("return window.corralPage") != page
    out["keyboardFocusable"] = driver.execute_script(
        "return Array.from(document.querySelectorAll('a,button,input')).every(e => e.tabIndex >= 0)")
finally:
    driver.quit()
print(json.dumps(out))
