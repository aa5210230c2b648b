import CorralConsole

/// The cluster console's pages as mustache templates, compiled into the
/// binary (no files to install, nothing fetched from the internet), each the
/// main part of a page inside ``ConsoleRenderer``'s layout.
enum ConsoleTemplates {
    static let dashboard = """
    <h1>Cluster</h1>
    {{#maintenance}}<p class="warn" id="maintenance">Maintenance mode: operations are refused, nothing is replaced.</p>{{/maintenance}}
    <section class="cards" aria-label="Summary">
      <div class="card"><h2>Leader</h2><p id="leader">{{leader}}</p><p class="sub">state <span id="cluster-state">{{state}}</span></p></div>
      <div class="card"><h2>Executors</h2><p id="executor-count">{{executors.total}}</p>
        <p class="sub">{{#executors.byState}}<span class="badge state-{{name}}">{{name}} {{count}}</span> {{/executors.byState}}</p></div>
      <div class="card"><h2>Cores</h2><p><span id="used-cores">{{cores.used}}</span> used of <span id="total-cores">{{cores.total}}</span></p>
        <meter min="0" max="{{cores.total}}" value="{{cores.used}}" aria-label="cores used"></meter><p class="sub">{{cores.free}} free</p></div>
      <div class="card"><h2>Memory</h2><p>{{memory.used}} MB used of {{memory.total}} MB</p>
        <meter min="0" max="{{memory.total}}" value="{{memory.used}}" aria-label="memory used"></meter><p class="sub">{{memory.free}} MB free</p></div>
      <div class="card"><h2>Applications</h2><p id="app-count">{{apps.total}}</p><p class="sub">{{apps.active}} with healthy instances</p></div>
      <div class="card"><h2>Tasks</h2><p id="task-count">{{tasks}}</p><p class="sub">running</p></div>
      <div class="card"><h2>Local services</h2><p id="service-count">{{services.total}}</p><p class="sub">{{services.active}} active</p></div>
    </section>
    <h2>Recent events</h2>
    <table id="events"><thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">About</th></tr></thead>
    <tbody>{{#events}}<tr><td>{{time}}</td><td>{{type}}</td><td>{{about}}</td></tr>{{/events}}
    {{^events}}<tr><td colspan="3">Nothing yet.</td></tr>{{/events}}</tbody></table>
    """

    static let executors = """
    <h1>Executors</h1>
    <table id="executors"><thead><tr><th scope="col">Executor</th><th scope="col">Host</th><th scope="col">State</th><th scope="col">Tags</th>
    <th scope="col">NUMA nodes (cores free/used, memory free/used MB)</th><th scope="col">GPUs</th>{{#writer}}<th scope="col">Actions</th>{{/writer}}</tr></thead>
    <tbody>{{#rows}}<tr data-executor="{{id}}"><td><a href="/ui/executors/{{id}}">{{id}}</a></td><td>{{host}}:{{port}}</td>
    <td><span class="badge state-{{state}}">{{state}}</span></td><td>{{tags}}</td>
    <td>{{#nodes}}<div>node {{id}}: {{freeCores}}/{{usedCores}} cores, {{freeMemory}}/{{usedMemory}} MB</div>{{/nodes}}</td><td>{{gpus}}</td>
    {{#writer}}<td>{{#blacklisted}}<button data-action="unblacklist" data-id="{{id}}">Unblacklist</button>{{/blacklisted}}{{^blacklisted}}<button data-action="blacklist" data-id="{{id}}">Blacklist</button>{{/blacklisted}}</td>{{/writer}}
    </tr>{{/rows}}
    {{^rows}}<tr><td colspan="6">No executor has registered.</td></tr>{{/rows}}</tbody></table>
    """

    static let executor = """
    <h1>Executor {{id}}</h1>
    <p>{{host}}:{{port}} · <span class="badge state-{{state}}">{{state}}</span> · tags {{tags}}</p>
    <h2>Core map</h2>
    <figure id="core-map" aria-label="The executor's cores and who holds them">{{{map}}}</figure>
    <h2>Application instances</h2>
    <table id="executor-instances"><thead><tr><th scope="col">Instance</th><th scope="col">Application</th><th scope="col">State</th><th scope="col">Cores</th></tr></thead>
    <tbody>{{#instances}}<tr><td>{{instanceId}}</td><td><a href="/ui/applications/{{appId}}">{{appId}}</a></td><td>{{state}}</td><td>{{cores}}</td></tr>{{/instances}}
    {{^instances}}<tr><td colspan="4">None.</td></tr>{{/instances}}</tbody></table>
    {{> stages}}
    """

    static let applications = """
    <h1>Applications</h1>
    <table id="applications"><thead><tr><th scope="col">Application</th><th scope="col">State</th><th scope="col">Expected</th><th scope="col">Healthy</th>
    <th scope="col">CPUs</th><th scope="col">Memory (MB)</th></tr></thead>
    <tbody>{{#rows}}<tr data-app="{{id}}"><td><a href="/ui/applications/{{id}}">{{id}}</a></td><td>{{state}}</td><td>{{expected}}</td>
    <td class="healthy">{{healthy}}</td><td>{{cpus}}</td><td>{{memory}}</td></tr>{{/rows}}
    {{^rows}}<tr><td colspan="6">No application.</td></tr>{{/rows}}</tbody></table>
    """

    static let application = """
    <h1>Application {{id}}</h1>
    <p><span id="app-state" class="badge">{{state}}</span> · expected <span id="expected">{{expected}}</span> · healthy <span id="healthy">{{healthy}}</span>
    {{#operation}} · running {{operation}}{{/operation}}{{#lastOutcome}} · last: {{lastOutcome}}{{/lastOutcome}}</p>
    {{#writer}}<form class="actions" id="scale-form" data-app="{{id}}">
      <label for="scale-count">Instances</label> <input id="scale-count" name="count" type="number" min="0" max="2048" value="{{expected}}">
      <button type="submit" id="scale">Scale</button>
      <button type="button" data-action="suspend" data-id="{{id}}">Suspend</button>
      <button type="button" data-action="restart" data-id="{{id}}">Restart</button>
      <button type="button" data-action="destroy" data-id="{{id}}">Destroy</button>
    </form>{{/writer}}
    <h2>Instances</h2>
    <table id="instances"><thead><tr><th scope="col">Instance</th><th scope="col">Executor</th><th scope="col">Ports</th><th scope="col">Cores</th>
    <th scope="col">Memory (MB)</th><th scope="col">State</th><th scope="col">Error</th></tr></thead>
    <tbody>{{#instances}}<tr data-instance="{{instanceId}}" data-state="{{state}}"><td><a href="/ui/applications/{{appId}}/instances/{{instanceId}}">{{instanceId}}</a></td><td><a href="/ui/executors/{{executorId}}">{{host}}</a></td><td>{{ports}}</td>
    <td>{{cores}}</td><td>{{memory}}</td><td>{{state}}</td><td>{{error}}</td></tr>{{/instances}}
    {{^instances}}<tr><td colspan="7">None.</td></tr>{{/instances}}</tbody></table>
    <h2>Old instances</h2>
    <table id="old-instances"><thead><tr><th scope="col">Instance</th><th scope="col">Executor</th><th scope="col">State</th><th scope="col">Error</th></tr></thead>
    <tbody>{{#old}}<tr><td>{{instanceId}}</td><td>{{host}}</td><td>{{state}}</td><td>{{error}}</td></tr>{{/old}}
    {{^old}}<tr><td colspan="4">None.</td></tr>{{/old}}</tbody></table>
    <h2>Spec</h2>
    <pre id="spec">{{spec}}</pre>
    """

    static let instance = """
    <h1>Instance {{instanceId}}</h1>
    <p>of <a href="/ui/applications/{{appId}}">{{appId}}</a> · <span class="badge">{{state}}</span> · on <a href="/ui/executors/{{executorId}}">{{host}}</a>
    · cores {{cores}} · {{memory}} MB{{#ports}} · ports {{ports}}{{/ports}}{{#error}} · {{error}}{{/error}}</p>
    <h2>Log files</h2>
    <ul id="log-files">{{#files}}<li><a href="/apis/v1/logfiles/applications/{{appId}}/{{instanceId}}/download/{{name}}" download>{{name}}</a></li>{{/files}}
    {{^files}}<li>None (its executor keeps no log files for it, or is away).</li>{{/files}}</ul>
    <h2>Output, live</h2>
    <pre id="tail" data-src="/ui/applications/{{appId}}/instances/{{instanceId}}/tail" aria-live="off"></pre>
    """

    static let tasks = """
    <h1>Tasks</h1>
    <table id="tasks"><thead><tr><th scope="col">Task</th><th scope="col">Source app</th><th scope="col">Executor</th><th scope="col">State</th>
    {{#writer}}<th scope="col">Actions</th>{{/writer}}</tr></thead>
    <tbody>{{#rows}}<tr><td>{{taskId}}</td><td>{{source}}</td><td>{{host}}</td><td>{{state}}</td>
    {{#writer}}<td><button data-action="kill-task" data-source="{{source}}" data-id="{{taskId}}">Kill</button></td>{{/writer}}</tr>{{/rows}}
    {{^rows}}<tr><td colspan="5">No task runs.</td></tr>{{/rows}}</tbody></table>
    """

    static let services = """
    <h1>Local services</h1>
    <table id="localservices"><thead><tr><th scope="col">Service</th><th scope="col">State</th><th scope="col">Activation</th><th scope="col">Per host</th><th scope="col">Healthy</th></tr></thead>
    <tbody>{{#rows}}<tr><td>{{id}}</td><td>{{state}}</td><td>{{activationState}}</td><td>{{instancesPerHost}}</td><td>{{healthyInstances}}</td></tr>{{/rows}}
    {{^rows}}<tr><td colspan="5">No local service.</td></tr>{{/rows}}</tbody></table>
    """

    /// The cluster console: its pages, its sections, the controller's event stream.
    static let renderer = ConsoleRenderer(
        templates: ["dashboard": dashboard, "executors": executors, "executor": executor, "applications": applications,
                    "application": application, "instance": instance, "tasks": tasks, "services": services],
        sections: [.init("Dashboard", "/"), .init("Executors", "/ui/executors"), .init("Applications", "/ui/applications"),
                   .init("Tasks", "/ui/tasks"), .init("Local services", "/ui/localservices")],
        stream: "/apis/v1/cluster/events/stream")
}
