import CorralCore
@testable import CorralExecutor
import CorralHost
import CorralRuntime
import CorralTestSupport
import Foundation
import Testing

/// The OpenAPI document is the API's contract: every route the application
/// router serves is in it, every path in it is routed, each operation says
/// what it takes and answers, the executor serves it, and docs/ holds it.
@Suite(.serialized) struct OpenAPITests {
    static let docsFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.json")

    static func document() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: OpenAPIDocument.json) as? [String: Any])
    }

    /// `/apis/v1/instances/{id}` whatever the router's spelling of parameters.
    static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/").map { s in
            s.hasPrefix(":") ? "{\(s.dropFirst())}" : String(s)
        }.joined(separator: "/")
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedPathRouted() throws {
        let dir = try TemporaryDirectory.make("corral-openapi")
        let t = try TopologyReader(fsroot: "/").read()
        let (eff, _) = EffectiveResources.compute(topology: t, resources: ResourcesConfig(), hostname: "h")
        let ex = try Executor(config: ExecutorConfig(), resources: eff, hostname: "h", stateDir: dir, engines: [:])
        let router = ExecutorAPI.applicationRouter(executor: ex, secret: Secret("x"), metrics: Metrics(), environment: [:],
                                                   apps: AppReconciler(executor: ex, store: nil))
        let all = Set(router.routes.map { "\($0.method.rawValue) \(Self.normalized($0.path.description))" })
        // The API is /apis/...; the rest is the one-node console's pages for people (docs/console.md).
        let routed = all.filter { $0.split(separator: " ")[1].hasPrefix("/apis/") }
        #expect(all.subtracting(routed) == ["GET /", "GET /ui/events", "GET /ui/assets/console.css", "GET /ui/assets/console.js"],
                "\(all.subtracting(routed).sorted())")
        let doc = try Self.document()
        #expect(doc["openapi"] as? String == "3.1.0")
        let paths = try #require(doc["paths"] as? [String: [String: Any]])
        var documented = Set<String>()
        for (path, item) in paths {
            for (method, _) in item { documented.insert("\(method.uppercased()) \(path)") }
        }
        #expect(routed.count >= 24, "\(routed.sorted())")
        #expect(routed.subtracting(documented).isEmpty, "routed but not documented: \(routed.subtracting(documented).sorted())")
        #expect(documented.subtracting(routed).isEmpty, "documented but not routed: \(documented.subtracting(routed).sorted())")
    }

    @Test func everyOperationSaysWhatItTakesAndAnswers() throws {
        let doc = try Self.document()
        let paths = try #require(doc["paths"] as? [String: [String: [String: Any]]])
        let schemas = try #require((doc["components"] as? [String: Any])?["schemas"] as? [String: Any])
        var ids = Set<String>()
        // Operations that take a body; every other POST (stop) takes none.
        let withBody: Set = ["startInstance", "startTask", "deployApp", "scaleApp", "submitJob", "controllerMessage"]
        for (path, item) in paths {
            for (method, op) in item {
                let id = try #require(op["operationId"] as? String, "\(method) \(path)")
                #expect(ids.insert(id).inserted, "operationId \(id) twice")
                let names = Set(path.split(separator: "/").filter { $0.hasPrefix("{") }.map { String($0.dropFirst().dropLast()) })
                let params = (op["parameters"] as? [[String: Any]]) ?? []
                #expect(Set(params.filter { $0["in"] as? String == "path" }.compactMap { $0["name"] as? String }) == names,
                        "\(id): path parameters")
                let body = (op["requestBody"] as? [String: Any])?["content"] as? [String: [String: Any]]
                if withBody.contains(id) {
                    #expect(body?["application/json"]?["schema"] != nil, "\(id) documents its request body")
                } else {
                    #expect(body == nil, "\(id) takes no body")
                }
                let responses = try #require(op["responses"] as? [String: [String: Any]], "\(id)")
                let ok = responses.filter { $0.key.hasPrefix("2") }
                #expect(!ok.isEmpty, "\(id) has a success response")
                for (code, r) in ok where code != "204" {
                    let content = try #require(r["content"] as? [String: [String: Any]], "\(id) \(code)")
                    #expect(content.values.allSatisfy { $0["schema"] != nil }, "\(id) \(code) has a schema")
                }
                for code in ["400", "401", "404", "413", "422"] {
                    #expect(responses[code] != nil, "\(id) documents \(code)")
                }
            }
        }
        // Every reference resolves.
        let text = String(decoding: OpenAPIDocument.json, as: UTF8.self)
        let refs = text.components(separatedBy: "\"#/components/schemas/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(!refs.isEmpty)
        for r in Set(refs) { #expect(schemas[r] != nil, "$ref \(r) resolves") }
    }

    /// Served (behind the secret) exactly as docs/openapi.json holds it.
    /// CORRAL_UPDATE_OPENAPI=1 rewrites docs/openapi.json from the code.
    @Test func theExecutorServesTheDocumentDocsHolds() async throws {
        if ProcessInfo.processInfo.environment["CORRAL_UPDATE_OPENAPI"] == "1" {
            try OpenAPIDocument.json.write(to: Self.docsFile)
        }
        let r = try await ExecutorAPITests.start()
        defer { r.task.cancel() }
        let served = try await ExecutorAPITests.call(r.api, .GET, "/apis/v1/openapi.json")
        #expect(served.0 == 200)
        #expect(Data(served.2.utf8) == OpenAPIDocument.json)
        #expect(try await ExecutorAPITests.call(r.api, .GET, "/apis/v1/openapi.json", secret: nil).0 == 401)
        let kept = try Data(contentsOf: Self.docsFile)
        #expect(kept == OpenAPIDocument.json, "docs/openapi.json is stale: run CORRAL_UPDATE_OPENAPI=1 swift test --filter OpenAPITests")
    }
}
