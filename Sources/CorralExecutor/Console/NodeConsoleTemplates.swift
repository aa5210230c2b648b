/// The one-node console's page, a mustache template compiled into the
/// binary, the main part inside ``ConsoleRenderer``'s layout.
enum NodeConsoleTemplates {
    static let node = """
    <h1>Node {{hostname}}</h1>
    <section class="cards" aria-label="Summary">
      <div class="card"><h2>Executor</h2><p id="executor-state">{{state}}</p><p class="sub">{{mode}} · {{id}}</p></div>
      <div class="card"><h2>Cluster</h2>{{#standalone}}<p id="membership">standalone</p><p class="sub">no zookeeper section</p>{{/standalone}}
        {{#cluster}}<p id="membership">{{connected}}</p><p class="sub">namespace {{namespace}} · leader {{leader}}</p>{{/cluster}}</div>
      <div class="card"><h2>Cores</h2><p><span id="used-cores">{{cores.used}}</span> used of <span id="total-cores">{{cores.total}}</span></p>
        <meter min="0" max="{{cores.total}}" value="{{cores.used}}" aria-label="cores used"></meter><p class="sub">{{cores.free}} free</p></div>
      <div class="card"><h2>Memory</h2><p>{{memory.used}} MB used of {{memory.total}} MB</p>
        <meter min="0" max="{{memory.total}}" value="{{memory.used}}" aria-label="memory used"></meter></div>
      <div class="card"><h2>Instances</h2><p id="instance-count">{{instanceCount}}</p><p class="sub">running or starting</p></div>
      <div class="card"><h2>Tasks</h2><p id="task-count">{{taskCount}}</p><p class="sub">running</p></div>
    </section>
    <h2>NUMA nodes</h2>
    <table id="numa"><thead><tr><th scope="col">Node</th><th scope="col">CPUs offered</th><th scope="col">Free</th><th scope="col">Used</th>
    <th scope="col">Memory free / offered (MB)</th><th scope="col">GPUs</th></tr></thead>
    <tbody>{{#nodes}}<tr><td>{{id}}</td><td>{{cpus}}</td><td>{{free}}</td><td>{{used}}</td><td>{{freeMemory}} / {{memory}}</td><td>{{gpus}}</td></tr>{{/nodes}}</tbody></table>
    <h2>Core map</h2>
    <figure id="core-map" aria-label="The node's cores and who holds them">{{{map}}}</figure>
    <h2>Instances</h2>
    <table id="instances"><thead><tr><th scope="col">Instance</th><th scope="col">Application</th><th scope="col">State</th><th scope="col">Engine</th>
    <th scope="col">Cores</th><th scope="col">Memory (MB)</th><th scope="col">Ports</th><th scope="col">Error</th></tr></thead>
    <tbody>{{#instances}}<tr data-instance="{{instanceId}}" data-state="{{state}}"><td>{{instanceId}}</td><td>{{appId}}</td><td>{{state}}</td><td>{{engine}}</td>
    <td>{{cores}}</td><td>{{memory}}</td><td>{{ports}}</td><td>{{error}}</td></tr>{{/instances}}
    {{^instances}}<tr><td colspan="8">None.</td></tr>{{/instances}}</tbody></table>
    <h2>Tasks</h2>
    <table id="tasks"><thead><tr><th scope="col">Task</th><th scope="col">Source app</th><th scope="col">State</th><th scope="col">Cores</th><th scope="col">Error</th></tr></thead>
    <tbody>{{#tasks}}<tr data-task="{{taskId}}" data-state="{{state}}"><td>{{taskId}}</td><td>{{appId}}</td><td>{{state}}</td><td>{{cores}}</td><td>{{error}}</td></tr>{{/tasks}}
    {{^tasks}}<tr><td colspan="5">None.</td></tr>{{/tasks}}</tbody></table>
    {{> stages}}
    """
}
