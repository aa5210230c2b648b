import CorralRuntime

/// A node's stage processors as both consoles show them: each stage's pool
/// (processors with their state, busy slots, CPUs, restarts), its running
/// and queued jobs, and the locks with their holders and waiters.
public enum StagesView {
    /// The model of the `stages` partial: the snapshot, or why there is none.
    public static func model(_ s: StagesSnapshot?, absent: String = "This node has no stage processors.") -> [String: Any] {
        guard let s, !s.stages.isEmpty else { return ["noStages": absent] }
        let rows = s.stages.map { st -> [String: Any] in
            var row: [String: Any] = ["name": st.name, "running": st.running, "queued": st.queued, "deadlineMisses": st.deadlineMisses,
                                      "busy": st.processors.reduce(0) { $0 + $1.busy }]
            if let l = st.limit { row["limit"] = l }
            row["processors"] = st.processors.map { p -> [String: Any] in
                var m: [String: Any] = ["name": p.name, "state": p.state.rawValue, "busy": p.busy, "slots": p.concurrent ?? 1]
                if let c = p.cpuset { m["cpuset"] = c }
                if p.restarts > 0 { m["restarts"] = p.restarts }
                if let e = p.lastError, !e.isEmpty { m["lastError"] = e }
                return m
            }
            return row
        }
        let locks = s.locks.map { l -> [String: Any] in
            ["name": l.name, "capacity": l.capacity, "holders": l.holders.isEmpty ? "none" : l.holders.joined(separator: ", "),
             "waiters": l.waiters.isEmpty ? "none" : l.waiters.joined(separator: ", "), "held": l.holders.count]
        }
        var m: [String: Any] = ["rows": rows, "fairness": s.fairness]
        if !locks.isEmpty { m["lockTable"] = ["locks": locks] }
        if !s.warnings.isEmpty { m["warnings"] = s.warnings }
        return ["stages": m]
    }

    /// The `stages` partial.
    public static let template = """
    <h2>Stage processors</h2>
    {{#noStages}}<p class="muted" id="no-stages">{{noStages}}</p>{{/noStages}}
    {{#stages}}
    {{#warnings}}<p class="warn">{{.}}</p>{{/warnings}}
    <table id="stages"><thead><tr><th scope="col">Stage</th><th scope="col">Jobs running</th><th scope="col">Queued</th>
    <th scope="col">Processors (state, busy slots, CPUs)</th><th scope="col">Deadline misses</th></tr></thead>
    <tbody>{{#rows}}<tr data-stage="{{name}}" data-busy="{{busy}}" data-queued="{{queued}}"><td>{{name}}</td><td>{{running}}{{#limit}} of at most {{limit}}{{/limit}}</td><td>{{queued}}</td>
    <td>{{#processors}}<div>{{name}}: {{state}}, {{busy}} of {{slots}} busy{{#cpuset}}, CPUs {{cpuset}}{{/cpuset}}{{#restarts}}, restarted {{restarts}}×{{/restarts}}{{#lastError}} <span class="warn">{{lastError}}</span>{{/lastError}}</div>{{/processors}}</td>
    <td>{{deadlineMisses}}</td></tr>{{/rows}}</tbody></table>
    {{#lockTable}}<h3>Locks</h3>
    <table id="locks"><thead><tr><th scope="col">Lock</th><th scope="col">Capacity</th><th scope="col">Held by (job)</th><th scope="col">Waiting (job)</th></tr></thead>
    <tbody>{{#locks}}<tr data-lock="{{name}}" data-held="{{held}}"><td>{{name}}</td><td>{{capacity}}</td><td>{{holders}}</td><td>{{waiters}}</td></tr>{{/locks}}</tbody></table>{{/lockTable}}
    <p class="muted">Order of service: {{fairness}}</p>
    {{/stages}}
    """
}
