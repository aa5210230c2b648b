import CorralCore
import CorralRuntime
import Foundation

/// The executor's application API as an OpenAPI 3.1 document, served at
/// `GET /apis/v1/openapi.json` and kept in docs/openapi.json (a test checks
/// both, and that every route is documented and every documented path routed).
/// Built from the same types the handlers use where a list of names exists
/// (states, engines, slot states), so the contract cannot drift from them.
public enum OpenAPIDocument {
    public static let version = "3.1.0"

    /// The document, as JSON with sorted keys (stable, so docs/ can be compared byte for byte).
    public static let json: Data = {
        // JSONSerialization of a literal tree cannot fail; an empty object is the impossible fallback.
        (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]))
            .map { $0 + Data("\n".utf8) } ?? Data("{}".utf8)
    }()

    // MARK: Building blocks

    static func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
    static func array(_ items: [String: Any]) -> [String: Any] { ["type": "array", "items": items] }
    static var string: [String: Any] { ["type": "string"] }
    static var integer: [String: Any] { ["type": "integer"] }
    static var number: [String: Any] { ["type": "number"] }
    static var boolean: [String: Any] { ["type": "boolean"] }
    /// appId, appName, instanceId, taskId, sourceAppName: what the spec reader accepts.
    static var identifier: [String: Any] {
        ["type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$", "not": ["enum": [".", ".."]]]
    }
    static func nullable(_ type: String) -> [String: Any] { ["type": [type, "null"]] }
    static func object(_ properties: [String: [String: Any]], required: [String] = []) -> [String: Any] {
        var o: [String: Any] = ["type": "object", "properties": properties]
        if !required.isEmpty { o["required"] = required.sorted() }
        return o
    }
    /// A request schema as the spec reader reads it: an optional field may be
    /// `null`, meaning absent (as Drove's Jackson reads it), at every depth.
    static func nullOptionals(_ schema: [String: Any]) -> [String: Any] {
        var s = schema
        if let props = s["properties"] as? [String: [String: Any]] {
            let required = Set((s["required"] as? [String]) ?? [])
            var out: [String: Any] = [:]
            for (k, v) in props {
                let inner = nullOptionals(v)
                out[k] = required.contains(k) ? inner : ["anyOf": [inner, ["type": "null"]]]
            }
            s["properties"] = out
        }
        if let items = s["items"] as? [String: Any] { s["items"] = nullOptionals(items) }
        for key in ["oneOf", "anyOf"] {
            if let list = s[key] as? [[String: Any]] { s[key] = list.map(nullOptionals) }
        }
        return s
    }

    static func json(_ schema: [String: Any], _ description: String) -> [String: Any] {
        ["description": description, "content": ["application/json": ["schema": schema]]]
    }

    /// Every refusal the API can make, on every operation: the error body.
    static func responses(_ ok: [String: Any]) -> [String: Any] {
        var r = ok
        for (code, why) in [("400", "malformed request"), ("401", "no or wrong Cluster-Authorization"),
                            ("404", "no such workload, job, app, stage or file"), ("409", "conflict: does not fit, duplicate, or finished"),
                            ("413", "body over \(ExecutorAPI.maxBody) bytes"), ("422", "invalid spec; nothing changed"),
                            ("503", "the engine the spec needs, or the state store, is not available")] where r[code] == nil {
            r[code] = json(ref("Error"), why)
        }
        return r
    }

    static func path(_ name: String, _ description: String, example: String? = nil) -> [String: Any] {
        var p: [String: Any] = ["name": name, "in": "path", "required": true, "description": description,
                                "schema": ["type": "string", "minLength": 1]]
        if let example { p["example"] = example }
        return p
    }
    static func query(_ name: String, _ schema: [String: Any], _ description: String) -> [String: Any] {
        ["name": name, "in": "query", "required": false, "description": description, "schema": schema]
    }
    static func body(_ schema: [String: Any], _ description: String, example: Any? = nil) -> [String: Any] {
        var media: [String: Any] = ["schema": schema]
        if let example { media["example"] = example }
        return ["required": true, "description": description, "content": ["application/json": media]]
    }

    /// A success response whose body names a resource the linked operations take.
    static func linked(_ response: [String: Any], _ links: [String: (operation: String, parameter: String, pointer: String)]) -> [String: Any] {
        var r = response
        r["links"] = links.mapValues { ["operationId": $0.operation, "parameters": [$0.parameter: "$response.body#\($0.pointer)"]] }
        return r
    }

    /// Small workloads that fit any node: examples for the request bodies.
    static var instanceExample: [String: Any] {
        ["appId": "contract-app", "executable": ["type": "PROCESS", "command": ["/bin/sleep", "30"]],
         "resources": [["type": "CPU", "count": 1], ["type": "MEMORY", "sizeInMB": 16]]]
    }
    static var taskExample: [String: Any] {
        ["sourceAppName": "contract-app", "taskId": "contract-task", "executable": ["type": "PROCESS", "command": ["/bin/echo", "done"]],
         "resources": [["type": "CPU", "count": 1], ["type": "MEMORY", "sizeInMB": 16]]]
    }

    static func operation(_ id: String, _ summary: String, tag: String, parameters: [[String: Any]] = [],
                          body: [String: Any]? = nil, responses ok: [String: Any]) -> [String: Any] {
        var op: [String: Any] = ["operationId": id, "summary": summary, "tags": [tag], "responses": responses(ok)]
        if !parameters.isEmpty { op["parameters"] = parameters }
        if let body { op["requestBody"] = body }
        return op
    }

    // MARK: The document

    static var document: [String: Any] {
        let idParam = path("id", "an instance id")
        let logId = path("instanceId", "an instance id, or a task's taskId")
        let file = path("file", "output.log or one of its archives (output.log.<suffix>[.gz])")
        let droveApp = path("appId", "the instance's appId, or a task's source app")
        let droveId = path("instanceId", "an instance id, or a task's instance id")
        let wait = query("wait", ["type": "string", "enum": ["true", "false"]], "true: answer when the job has ended")
        let paths: [String: Any] = [
            "/apis/v1/ping": ["get": operation("ping", "Whether the API answers", tag: "executor",
                                               responses: ["200": json(object(["status": ["const": "ok"]], required: ["status"]), "it answers")])],
            "/apis/v1/openapi.json": ["get": operation("openapi", "This document", tag: "executor",
                                                       responses: ["200": json(["type": "object"], "the OpenAPI 3.1 document")])],
            "/apis/v1/executor": ["get": operation("executor", "The node: resources, engines, instances by state", tag: "executor",
                                                   responses: ["200": json(ref("ExecutorSummary"), "the node")])],
            "/apis/v1/messages": ["post": operation(
                "controllerMessage", "A Drove controller's message (START_INSTANCE, STOP_INSTANCE, START_TASK, STOP_TASK, BLACKLIST, ..., and Corral's START_RUN_JOB); only the CONTROLLER secret opens it",
                tag: "cluster",
                body: body(object(["type": ["type": "string", "enum": DroveMessage.ExecutorMessageType.allCases.map(\.rawValue)],
                                   "header": object(["id": string, "senderType": string, "direction": string, "messageTime": integer], required: ["id"]),
                                   "spec": ["type": "object"], "instanceId": string, "address": ["type": "object"]],
                                  required: ["type", "header"]),
                           "Drove's envelope: type, header, and the type's payload",
                           example: ["type": "BLACKLIST_REQUESTED", "header": ["id": "0b9f7d4e-1c1a-4e4f-9a53-2f1f5f0f7a10", "senderType": "CONTROLLER",
                                                                               "direction": "REQUEST", "messageTime": 1714000000000]]),
                responses: ["200": json(ref("MessageResponse"), "what the executor did with it"),
                            "400": json(ref("MessageResponse"), "not a message (REJECTED, with the reason)")])],
            "/apis/v1/executor/map.svg": ["get": operation(
                "machineMap", "The node drawn with every CPU and GPU coloured by its owner", tag: "executor",
                responses: ["200": ["description": "an SVG picture", "content": ["image/svg+xml": ["schema": string]]]])],
            "/apis/v1/instances": [
                "post": operation("startInstance", "Start an application instance on dedicated resources", tag: "instances",
                                  body: body(ref("InstanceSpec"), "an instance spec, Drove's vocabulary", example: instanceExample),
                                  responses: ["201": linked(json(ref("InstanceInfo"), "resources reserved; it starts in the background"), [
                                      "GetInstance": ("getInstance", "id", "/instanceId"), "StopInstance": ("stopInstance", "id", "/instanceId"),
                                      "InstanceLogFiles": ("logFiles", "instanceId", "/instanceId"),
                                      "TailInstanceLog": ("tailLog", "instanceId", "/instanceId"),
                                  ])]),
                "get": operation("listInstances", "Application instances", tag: "instances",
                                 parameters: [query("state", ["type": "string", "enum": InstanceState.allCases.map(\.rawValue)],
                                                    "only instances in this state")],
                                 responses: ["200": json(array(ref("InstanceInfo")), "the instances")]),
            ],
            "/apis/v1/instances/{id}": ["get": operation("getInstance", "One instance", tag: "instances", parameters: [idParam],
                                                         responses: ["200": json(ref("InstanceInfo"), "the instance")])],
            "/apis/v1/instances/{id}/stop": ["post": operation(
                "stopInstance", "Stop an instance (STOPPING, then STOPPED once it has exited)", tag: "instances", parameters: [idParam],
                responses: ["202": json(ref("InstanceInfo"), "stopping")])],
            "/apis/v1/tasks": ["post": operation("startTask", "Run a task to completion on dedicated resources", tag: "tasks",
                                                 body: body(ref("TaskSpec"), "a task spec, Drove's vocabulary", example: taskExample),
                                                 responses: ["201": linked(json(ref("InstanceInfo"), "resources reserved; it starts in the background"), [
                                                     "GetTask": ("getTask", "taskId", "/taskId"), "CancelTask": ("cancelTask", "taskId", "/taskId"),
                                                     "TaskLogFiles": ("logFiles", "instanceId", "/taskId"),
                                                 ])])],
            "/apis/v1/tasks/{taskId}": [
                "get": operation("getTask", "The newest task with this taskId", tag: "tasks", parameters: [path("taskId", "the spec's taskId")],
                                 responses: ["200": json(ref("InstanceInfo"), "the task")]),
                "delete": operation("cancelTask", "Cancel a task (it ends RUN_FAILED, lastError cancelled)", tag: "tasks",
                                    parameters: [path("taskId", "the spec's taskId")],
                                    responses: ["200": json(ref("InstanceInfo"), "cancelled")]),
            ],
            "/apis/v1/apps": [
                "post": operation("deployApp", "Keep N instances of a spec running", tag: "apps",
                                  body: body(object(["spec": ref("InstanceSpec"), "instances": ["type": "integer", "minimum": 0]],
                                                    required: ["spec", "instances"]), "the spec (without instanceId) and how many",
                                               example: ["spec": instanceExample, "instances": 1]),
                                  responses: ["201": linked(json(ref("AppStatus"), "deployed"), [
                                      "GetApp": ("getApp", "id", "/appId"), "ScaleApp": ("scaleApp", "id", "/appId"),
                                      "DestroyApp": ("destroyApp", "id", "/appId"),
                                  ])]),
                "get": operation("listApps", "Standalone apps", tag: "apps", responses: ["200": json(array(ref("AppStatus")), "the apps")]),
            ],
            "/apis/v1/apps/{id}": [
                "get": operation("getApp", "One app", tag: "apps", parameters: [path("id", "an appId")],
                                 responses: ["200": json(ref("AppStatus"), "the app")]),
                "delete": operation("destroyApp", "Stop keeping an app; its instances stop", tag: "apps", parameters: [path("id", "an appId")],
                                    responses: ["204": ["description": "destroyed"]]),
            ],
            "/apis/v1/apps/{id}/scale": ["put": operation(
                "scaleApp", "Change how many instances are kept", tag: "apps", parameters: [path("id", "an appId")],
                body: body(object(["instances": ["type": "integer", "minimum": 0]], required: ["instances"]), "the new count",
                           example: ["instances": 0]),
                responses: ["200": json(ref("AppStatus"), "scaled")])],
            "/apis/v1/logs/{instanceId}/files": ["get": operation(
                "logFiles", "A workload's log files", tag: "logs", parameters: [logId],
                responses: ["200": json(array(object(["name": string, "size": integer, "modified": number],
                                                     required: ["name", "size", "modified"])), "the files")])],
            "/apis/v1/logs/{instanceId}/read/{file}": ["get": operation(
                "readLog", "A range of a log file", tag: "logs",
                parameters: [logId, file, query("offset", ["type": "integer", "minimum": 0], "first byte (default 0)"),
                             query("length", ["type": "integer", "minimum": 0, "maximum": 4 << 20], "bytes (default 65536)")],
                responses: ["200": json(object(["data": string, "offset": integer, "length": integer, "size": integer],
                                               required: ["data", "offset", "length", "size"]), "the bytes read, as text")])],
            "/apis/v1/logs/{instanceId}/download/{file}": ["get": operation(
                "downloadLog", "A whole log file", tag: "logs", parameters: [logId, file],
                responses: ["200": ["description": "the file", "content": ["application/octet-stream": ["schema": string]]]])],
            "/apis/v1/logs/{instanceId}/tail": ["get": operation(
                "tailLog", "The last lines of the output; follow=true streams until the workload ends", tag: "logs",
                parameters: [logId, query("lines", ["type": "integer", "minimum": 0, "maximum": 100_000], "how many (default 100)"),
                             query("follow", ["type": "string", "enum": ["true", "false"]], "keep streaming new output")],
                responses: ["200": ["description": "text", "content": ["text/plain": ["schema": string]]]])],
            "/apis/v1/logs/filestream/{appId}/{instanceId}/list": ["get": operation(
                "droveLogFiles", "Drove's log file list (no envelope), as Drove's controller proxies it", tag: "logs",
                parameters: [droveApp, droveId],
                responses: ["200": json(object(["files": array(string)], required: ["files"]), "the file names")])],
            "/apis/v1/logs/filestream/{appId}/{instanceId}/read/{file}": ["get": operation(
                "droveReadLog", "Drove's log read: offset -1 without length gives the size as the offset", tag: "logs",
                parameters: [droveApp, droveId, file,
                             query("offset", ["type": "integer", "minimum": -1], "first byte, or -1 (default) for the size"),
                             query("length", ["type": "integer", "minimum": -1, "maximum": 4 << 20], "bytes (default 32768)")],
                responses: ["200": json(object(["data": string, "offset": integer], required: ["data", "offset"]), "the bytes read, as text")])],
            "/apis/v1/logs/filestream/{appId}/{instanceId}/download/{file}": ["get": operation(
                "droveDownloadLog", "Drove's whole log file", tag: "logs", parameters: [droveApp, droveId, file],
                responses: ["200": ["description": "the file", "content": ["application/octet-stream": ["schema": string]]]])],
            "/apis/v1/stages": ["get": operation("stages", "Stage processor pools, queues and locks", tag: "stages",
                                                 responses: ["200": json(ref("StagesSnapshot"), "the pools")])],
            "/apis/v1/stages/{stage}/jobs": ["post": operation(
                "submitJob", "Queue a job for a stage's processors", tag: "stages",
                parameters: [path("stage", "a configured stage (pc1, c2, ...)", example: "pc1"), wait,
                             query("deadline", string, "a duration (e.g. 20m) after which the job fails")],
                body: body(["type": "object"], "the task, passed to the processor as written", example: ["sector": 7]),
                responses: ["202": linked(json(ref("StageJob"), "queued"), [
                                "GetJob": ("getJob", "id", "/id"), "CancelJob": ("cancelJob", "id", "/id"),
                            ]),
                            "200": json(ref("StageJob"), "finished (wait=true)")])],
            "/apis/v1/jobs/{id}": [
                "get": operation("getJob", "One job", tag: "stages", parameters: [path("id", "a job id"), wait],
                                 responses: ["200": json(ref("StageJob"), "the job")]),
                "delete": operation("cancelJob", "Cancel a job", tag: "stages", parameters: [path("id", "a job id")],
                                    responses: ["200": json(ref("StageJob"), "cancelled")]),
            ],
        ]
        return [
            "openapi": version,
            "info": ["title": "Corral executor API", "version": "1",
                     "description": "A node's dedicated-resource executor. Every operation needs the cluster's CONTROLLER secret "
                         + "in Cluster-Authorization. The admin port (/ping, /healthcheck, /metrics) is described in docs/api.md."],
            "servers": [["url": "/"]],
            "security": [["clusterAuthorization": [String]()]],
            "paths": paths,
            "components": ["securitySchemes": ["clusterAuthorization": ["type": "apiKey", "in": "header", "name": "Cluster-Authorization"]],
                           "schemas": schemas],
        ]
    }

    static var schemas: [String: Any] {
        let allStates = InstanceState.allCases.map(\.rawValue) + TaskState.allCases.map(\.rawValue).filter { InstanceState(rawValue: $0) == nil }
        let executable: [String: Any] = ["oneOf": [
            object(["type": ["const": "DOCKER"], "url": ["type": "string", "minLength": 1],
                    "pullPolicy": ["type": "string", "enum": Executable.PullPolicy.allCases.map(\.rawValue)],
                    "dockerPullTimeout": string], required: ["type", "url"]),
            object(["type": ["const": "PROCESS"], "command": ["type": "array", "items": string, "minItems": 1],
                    "workingDir": string], required: ["type", "command"]),
        ]]
        let resource: [String: Any] = ["oneOf": [
            object(["type": ["type": "string", "enum": ["CPU", "GPU"]], "count": ["type": "integer", "minimum": 0]], required: ["type", "count"]),
            object(["type": ["const": "MEMORY"], "sizeInMB": ["type": "integer", "minimum": 1]], required: ["type", "sizeInMB"]),
        ]]
        let check = object(["mode": ["type": "object"], "timeout": string, "interval": string, "attempts": integer, "initialDelay": string],
                           required: ["mode"])
        let volumes = array(object(["pathInContainer": string, "pathOnHost": string,
                                    "mode": ["type": "string", "enum": VolumeMount.Mode.allCases.map(\.rawValue)]],
                                   required: ["pathInContainer", "pathOnHost"]))
        let configs = array(["oneOf": [
            object(["type": ["const": "INLINE"], "localFilename": string,
                    "data": ["type": "string", "contentEncoding": "base64", "description": "the file's bytes; never returned"]],
                   required: ["type", "localFilename", "data"]),
            object(["type": ["const": "EXECUTOR_LOCAL_FILE"], "localFilename": string, "filePathOnHost": string],
                   required: ["type", "localFilename", "filePathOnHost"]),
        ], "description": "files put into the workload before it starts: at localFilename in a container, below $CORRAL_CONFIGS_DIR for a native process"] as [String: Any])
        let user = object(["user": string, "group": string])
        let env = ["type": "object", "additionalProperties": ["type": ["string", "number", "boolean"]],
                   "description": "values (a number or boolean is taken as its JSON text; empty copies the executor's variable) are never returned"] as [String: Any]
        return [
            "Error": object(["error": object(["code": string, "message": string, "details": array(ref("ConfigIssue"))],
                                             required: ["code", "message"])], required: ["error"]),
            "ConfigIssue": object(["severity": ["type": "string", "enum": ["error", "warning", "note"]], "file": string,
                                   "location": object(["line": integer, "column": integer]), "path": string, "value": string,
                                   "message": string, "allowed": string], required: ["severity", "file", "path", "message"]),
            "InstanceSpec": nullOptionals(object([
                "appId": identifier, "appName": identifier, "instanceId": identifier, "executable": executable,
                "resources": ["type": "array", "items": resource],
                "exposedPorts": array(object(["name": string, "port": ["type": "integer", "minimum": 1, "maximum": 65_535],
                                              "type": ["type": "string", "enum": PortSpec.PortType.allCases.map(\.rawValue)]], required: ["name", "port"])),
                "volumes": volumes, "configs": configs, "env": env, "args": array(string), "readiness": check, "healthcheck": check,
                "preShutdown": object(["hooks": array(["type": "object"]), "waitBeforeKill": string]),
                "user": user, "tags": array(string), "hostLevelInstance": boolean,
            ], required: ["appId", "executable", "resources"])),
            "TaskSpec": nullOptionals(object([
                "sourceAppName": identifier, "taskId": identifier, "executable": executable, "resources": ["type": "array", "items": resource],
                "volumes": volumes, "configs": configs, "env": env, "args": array(string), "user": user, "tags": array(string),
            ], required: ["sourceAppName", "taskId", "executable", "resources"])),
            "Allocation": object(["id": string, "cpus": ["type": "string", "description": "a CPU list, e.g. 2-3"], "cpuCount": integer,
                                  "requestedCPUs": integer, "numaNodes": array(integer), "memoryBytes": integer,
                                  "memoryByNode": ["type": "object", "additionalProperties": integer], "gpus": array(integer),
                                  "pinned": boolean], required: ["id", "cpus", "cpuCount", "numaNodes", "memoryBytes", "gpus", "pinned"]),
            "InstanceInfo": object([
                "instanceId": string, "appId": string, "kind": ["type": "string", "enum": WorkloadKind.allCases.map(\.rawValue)],
                "state": ["type": "string", "enum": allStates], "allocation": ref("Allocation"),
                "ports": ["type": "object", "additionalProperties": integer],
                "engine": ["type": "string", "enum": EngineKind.allCases.map(\.rawValue)],
                "handle": ["type": "object", "description": "the engine's handle: container id or pid, confinement"],
                "created": number, "updated": number, "lastError": string, "exitCode": integer, "taskId": string,
                "history": array(object(["state": ["type": "string", "enum": allStates], "at": number, "reason": string],
                                        required: ["state", "at"])),
            ], required: ["instanceId", "appId", "kind", "state", "ports", "engine", "created", "updated", "history"]),
            "AppStatus": object(["appId": string, "desired": integer, "running": integer, "healthy": integer, "instances": array(string),
                                 "failures": integer, "nextStartInSeconds": nullable("number"), "paused": nullable("string")],
                                required: ["appId", "desired", "running", "healthy", "instances", "failures"]),
            "ExecutorSummary": object([
                "id": string, "hostname": string, "tags": array(string), "mode": ["type": "string", "enum": ["pinned", "unpinned", "overprovisioned"]],
                "numaPolicy": string, "totalCpus": integer, "freeCpus": integer, "totalMemoryBytes": integer,
                "numaNodes": array(object(["id": integer, "cpus": string, "freeCpus": string, "usedCpus": integer, "memoryBytes": integer,
                                           "freeMemoryBytes": integer, "gpus": array(integer)],
                                          required: ["id", "cpus", "freeCpus", "usedCpus", "memoryBytes", "freeMemoryBytes", "gpus"])),
                "engines": ["type": "object", "additionalProperties": boolean],
                "instances": ["type": "object", "additionalProperties": integer], "topology": string,
                "executorState": ["type": "string", "enum": ExecutorNodeData.State.allCases.map(\.rawValue)],
                "metadata": ["type": "object", "additionalProperties": string],
                "cluster": object([
                    "mode": ["type": "string", "enum": RemoteUpdateMode.allCases.map(\.rawValue)],
                    "namespace": string, "connectionString": string, "connected": boolean, "session": string, "state": string,
                    "node": string, "executorId": string, "executorState": string, "lastPublish": number, "nodeWrites": integer,
                    "leader": string, "outageSince": number, "reportsSent": integer, "reportsFailed": integer,
                ], required: ["mode", "namespace", "connected", "node", "executorId", "nodeWrites"]),
            ], required: ["id", "hostname", "mode", "totalCpus", "freeCpus", "totalMemoryBytes", "numaNodes", "engines", "instances", "executorState"]),
            "MessageResponse": object([
                "header": object(["id": string], required: ["id"]),
                "status": ["type": "string", "enum": DroveMessage.DeliveryStatus.allCases.map(\.rawValue)],
                "message": string,
            ], required: ["header", "status"]),
            "StageJob": object([
                "id": string, "stage": string, "state": ["type": "string", "enum": StageJob.State.allCases.map(\.rawValue)],
                "processor": string, "error": string, "deadlineSeconds": number, "submitted": number, "started": number,
                "finished": number, "queueSeconds": number, "task": [String: Any](), "output": [String: Any](),
            ], required: ["id", "stage", "state", "submitted"]),
            "StagesSnapshot": object([
                "stages": array(object([
                    "name": string, "limit": integer, "running": integer, "queued": integer, "deadlineMisses": integer,
                    "processors": array(object([
                        "name": string, "state": ["type": "string", "enum": ProcessorSlotState.allCases.map(\.rawValue)],
                        "pid": integer, "cpuset": string, "numaPreferred": integer, "locks": array(string), "busy": integer,
                        "concurrent": integer, "restarts": integer, "lastError": string, "confinement": string,
                    ], required: ["name", "state", "locks", "busy", "restarts"])),
                ], required: ["name", "running", "queued", "processors"])),
                "locks": array(object(["name": string, "capacity": integer, "holders": array(string), "waiters": array(string)],
                                      required: ["name", "capacity", "holders", "waiters"])),
                "fairness": string, "warnings": array(string),
            ], required: ["stages", "locks", "fairness"]),
        ]
    }
}
