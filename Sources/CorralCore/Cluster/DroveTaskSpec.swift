import Foundation

/// Drove's `TaskSpec` as a controller receives it (drove-cli's
/// `sample/test_task.json`): checked whole, the runnable part by the
/// executor's own task reader, and kept as sent.
public struct DroveTaskSpec: Sendable {
    public var sourceAppName: String
    public var taskId: String
    public var resources: AllocationRequest
    public var placementPolicy: PlacementPolicy
    public var json: Data

    public init(sourceAppName: String, taskId: String, resources: AllocationRequest, placementPolicy: PlacementPolicy, json: Data) {
        self.sourceAppName = sourceAppName
        self.taskId = taskId
        self.resources = resources
        self.placementPolicy = placementPolicy
        self.json = json
    }

    public static let keys = ["sourceAppName", "taskId", "executable", "volumes", "configs", "logging", "resources",
                              "placementPolicy", "tags", "env", "args", "devices", "userSpec"]

    public static func read(_ node: ConfigNode, _ r: ConfigReader, _ path: String, json: Data,
                            allowedMountDirs: [String]) -> DroveTaskSpec? {
        guard let f = r.mapping(node, at: path, known: keys) else { return nil }
        let source = DroveApplicationSpec.identifier(f, "sourceAppName", r)
        let taskId = DroveApplicationSpec.identifier(f, "taskId", r)
        var policy = PlacementPolicy.any
        if let n = f["placementPolicy"], let p = PlacementPolicy.read(n, r, f.path("placementPolicy")) { policy = p }
        if let n = f["tags"] { _ = r.stringMap(n, at: f.path("tags")) }
        DroveApplicationSpec.checkHostPaths(f, r, allowedMountDirs: allowedMountDirs)
        var resources = AllocationRequest(cpus: 1)
        if let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] {
            var task: [String: Any] = ["sourceAppName": source ?? "x", "taskId": taskId ?? "x"]
            for k in ["executable", "volumes", "configs", "env", "args"] { task[k] = object[k] }
            if let user = object["userSpec"] { task["user"] = user }
            task["resources"] = object["resources"] ?? []
            if let data = try? JSONSerialization.data(withJSONObject: task) {
                do {
                    let spec = try TaskSpec.parse(json: data)
                    resources = AllocationRequest(cpus: spec.resources.cpus, memoryBytes: spec.resources.memoryBytes, gpus: spec.resources.gpus)
                } catch {
                    DroveApplicationSpec.merge(error.issues, into: r, under: path)
                }
            }
        }
        guard let source, let taskId, !r.hasErrors else { return nil }
        return DroveTaskSpec(sourceAppName: source, taskId: taskId, resources: resources, placementPolicy: policy, json: json)
    }
}
