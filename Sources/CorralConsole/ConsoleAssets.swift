/// The consoles' stylesheet and script, served from the binary (the
/// controller's cluster console and the executor's one-node console).
public enum ConsoleAssets {
    public static let css = """
    :root { --ink: #1b1f24; --muted: #5b6470; --line: #d7dbe0; --accent: #0b5cad; --warn: #8a4b00; }
    * { box-sizing: border-box; }
    body { margin: 0; font: 15px/1.45 "DejaVu Sans", system-ui, sans-serif; color: var(--ink); background: #f7f8fa; }
    header { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.2rem; background: #10243e; color: #fff; }
    header a { color: #fff; text-decoration: none; }
    header a:focus, header a:hover { text-decoration: underline; }
    .brand { font-weight: bold; font-size: 1.1rem; }
    nav { display: flex; gap: 1rem; flex: 1; }
    .live { font-size: .85rem; padding: .15rem .5rem; border-radius: .8rem; background: #2d6a2d; }
    .live.lost { background: #a33; }
    main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
    h1 { font-size: 1.4rem; margin: .4rem 0 1rem; } h2 { font-size: 1.05rem; margin: 1.4rem 0 .5rem; }
    .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: .8rem; }
    .card { background: #fff; border: 1px solid var(--line); border-radius: .4rem; padding: .6rem .8rem; }
    .card h2 { margin: 0; font-size: .85rem; color: var(--muted); font-weight: normal; }
    .card p { margin: .2rem 0; font-size: 1.3rem; } .card p.sub { font-size: .85rem; color: var(--muted); }
    meter { width: 100%; }
    table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
    th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; font-size: .9rem; }
    th { background: #eef1f4; }
    .badge { display: inline-block; padding: 0 .45rem; border-radius: .6rem; background: #e4e8ee; font-size: .8rem; }
    .state-ACTIVE { background: #d8f0d8; } .state-BLACKLISTED { background: #f6d6d6; }
    .warn { color: var(--warn); font-weight: bold; }
    .actions { display: flex; gap: .5rem; align-items: center; margin: .6rem 0; }
    button { font: inherit; padding: .25rem .7rem; border: 1px solid var(--accent); background: #fff; color: var(--accent); border-radius: .3rem; cursor: pointer; }
    button:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
    pre { background: #fff; border: 1px solid var(--line); padding: .6rem; overflow: auto; max-height: 24rem; }
    figure { margin: 0; background: #fff; border: 1px solid var(--line); padding: .5rem; overflow: auto; }
    .muted { color: var(--muted); }
    #notice { position: fixed; bottom: 1rem; right: 1rem; background: #10243e; color: #fff; padding: .5rem .8rem; border-radius: .3rem; }
    """

    /// Live updates: the server's event stream (server-sent events, at the
    /// body's `data-stream`) says something changed; the page's main part is
    /// fetched again and swapped in (no reload). A lost stream is shown and the
    /// browser reconnects by itself. Actions ask for confirmation, then call
    /// Drove's API.
    public static let js = """
    (function () {
      "use strict";
      window.corralPage = window.corralPage || Math.random().toString(36).slice(2);
      var live = document.getElementById("live");
      var main = document.getElementById("main");
      var pending = null, refreshing = false;
      // Absolute, without a user and password: fetch refuses a URL that
      // carries them, and a page opened as http://user:secret@host/ would
      // resolve relative URLs with them.
      function at(path) { return location.origin + path; }
      function refresh() {
        if (refreshing) { pending = pending || setTimeout(function () { pending = null; refresh(); }, 250); return; }
        refreshing = true;
        fetch(at(location.pathname + "?fragment=1"), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (html) {
            if (html === null) { return; }
            // A running tail is kept across the swap: it streams into its own element.
            var tail = document.getElementById("tail");
            main.innerHTML = html;
            var fresh = document.getElementById("tail");
            if (tail && fresh) { fresh.replaceWith(tail); } else if (fresh) { follow(fresh); }
            document.body.dataset.updated = String(Date.now());
          })
          .catch(function () {})
          .then(function () { refreshing = false; });
      }
      // An instance's output, streamed (the executor's tail, followed) into the page.
      function follow(pre) {
        if (!pre || !window.TextDecoder || pre.dataset.following) { return; }
        pre.dataset.following = "1";
        fetch(at(pre.dataset.src), { credentials: "same-origin" }).then(function (r) {
          if (!r.ok || !r.body) { pre.textContent = "The output cannot be followed now (HTTP " + r.status + ")."; return; }
          var reader = r.body.getReader(), dec = new TextDecoder();
          function more() {
            return reader.read().then(function (x) {
              if (x.done) { pre.dataset.ended = "1"; return; }
              pre.textContent = (pre.textContent + dec.decode(x.value, { stream: true })).slice(-200000);
              pre.scrollTop = pre.scrollHeight;
              return more();
            });
          }
          return more();
        }).catch(function () { pre.dataset.following = ""; });
      }
      follow(document.getElementById("tail"));
      function schedule() { if (!pending) { pending = setTimeout(function () { pending = null; refresh(); }, 200); } }
      var source = new EventSource(at(document.body.dataset.stream), { withCredentials: true });
      source.onopen = function () { live.textContent = "live"; live.classList.remove("lost"); refresh(); };
      source.onerror = function () { live.textContent = "connection lost, reconnecting…"; live.classList.add("lost"); };
      source.onmessage = schedule;
      ["APP_STATE_CHANGE", "INSTANCE_STATE_CHANGE", "TASK_STATE_CHANGE", "LOCAL_SERVICE_STATE_CHANGE", "LOCAL_SERVICE_INSTANCE_STATE_CHANGE",
       "EXECUTOR_ADDED", "EXECUTOR_REMOVED", "EXECUTOR_BLACKLISTED", "EXECUTOR_UN_BLACKLISTED", "MAINTENANCE_MODE_SET",
       "MAINTENANCE_MODE_REMOVED", "LEADERSHIP_ACQUIRED", "LEADERSHIP_LOST"].forEach(function (t) { source.addEventListener(t, schedule); });

      function notice(text) {
        var n = document.getElementById("notice") || document.body.appendChild(Object.assign(document.createElement("div"), { id: "notice", role: "status" }));
        n.textContent = text;
      }
      function call(method, path, body) {
        return fetch(at(path), { method: method, credentials: "same-origin", headers: { "Content-Type": "application/json" },
                             body: body === undefined ? undefined : JSON.stringify(body) })
          .then(function (r) { return r.json().then(function (j) { notice(j.status === "SUCCESS" ? "Done." : "Refused: " + j.message); }); })
          .catch(function (e) { notice("Failed: " + e); });
      }
      function op(body) { return call("POST", "/apis/v1/applications/operations", body); }
      document.addEventListener("submit", function (e) {
        if (e.target.id !== "scale-form") { return; }
        e.preventDefault();
        var app = e.target.dataset.app, n = parseInt(document.getElementById("scale-count").value, 10);
        if (isNaN(n) || n < 0) { notice("Give a number of instances, 0 or more."); return; }
        if (confirm("Scale " + app + " to " + n + " instances?")) { op({ type: "SCALE", appId: app, requiredInstances: n }); }
      });
      document.addEventListener("click", function (e) {
        var b = e.target.closest("button[data-action]");
        if (!b) { return; }
        var id = b.dataset.id, a = b.dataset.action;
        var ask = { suspend: "Suspend " + id + " (stop all its instances)?", restart: "Restart " + id + " (replace every instance, one at a time)?",
                    destroy: "Destroy " + id + "? It must have no instances.", blacklist: "Blacklist executor " + id + "? Its instances keep running.",
                    unblacklist: "Unblacklist executor " + id + "?", "kill-task": "Kill task " + id + "?" }[a];
        if (!ask || !confirm(ask)) { return; }
        if (a === "suspend") { op({ type: "SUSPEND", appId: id }); }
        if (a === "restart") { op({ type: "REPLACE_INSTANCES", appId: id }); }
        if (a === "destroy") { op({ type: "DESTROY", appId: id }); }
        if (a === "blacklist" || a === "unblacklist") { call("POST", "/apis/v1/cluster/executors/" + a + "?id=" + encodeURIComponent(id)); }
        if (a === "kill-task") { call("POST", "/apis/v1/tasks/operations", { type: "KILL", sourceAppName: b.dataset.source, taskId: id }); }
      });
    })();
    """
}
