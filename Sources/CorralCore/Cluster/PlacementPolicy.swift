/// Drove's placement policies (`mdl/application/placement/policies/*`), with
/// Drove's JSON. A policy says which executors may take an instance of an
/// app; where among those it goes is the scheduler's score.
public indirect enum PlacementPolicy: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case ANY, ONE_PER_HOST, MAX_N_PER_HOST, MATCH_TAG, NO_TAG, COMPOSITE, RULE_BASED, LOCAL
    }
    public enum Combiner: String, Sendable, CaseIterable { case AND, OR }

    case any
    case onePerHost
    case maxNPerHost(Int)
    case matchTag(String)
    case noTag
    case composite([PlacementPolicy], Combiner)
    case ruleBased(PlacementRule)
    /// Local services only: one instance set per executor.
    case local(hostLevel: Bool)

    public var kind: Kind {
        switch self {
        case .any: .ANY
        case .onePerHost: .ONE_PER_HOST
        case .maxNPerHost: .MAX_N_PER_HOST
        case .matchTag: .MATCH_TAG
        case .noTag: .NO_TAG
        case .composite: .COMPOSITE
        case .ruleBased: .RULE_BASED
        case .local: .LOCAL
        }
    }

    /// What a policy is checked against: one executor, and how many
    /// instances of the app (appId, name-version) it holds or is booked for.
    public struct Candidate: Sendable {
        public var hostname: String
        public var tags: Set<String>
        public var metadata: [String: String]
        public var instancesOfApp: Int
        public init(hostname: String, tags: Set<String>, metadata: [String: String], instancesOfApp: Int) {
            self.hostname = hostname
            self.tags = tags
            self.metadata = metadata
            self.instancesOfApp = instancesOfApp
        }
    }

    public func admits(_ c: Candidate) -> Bool {
        switch self {
        case .any, .local: true
        case .onePerHost: c.instancesOfApp == 0
        case .maxNPerHost(let max): c.instancesOfApp < max
        case .matchTag(let tag): c.tags.contains(tag) || c.hostname == tag
        case .noTag: c.tags.allSatisfy { $0 == c.hostname }
        case .composite(let policies, .AND): policies.allSatisfy { $0.admits(c) }
        case .composite(let policies, .OR): policies.contains { $0.admits(c) }
        case .ruleBased(let rule): rule.evaluate(hostname: c.hostname, tags: c.tags, metadata: c.metadata)
        }
    }

    /// Whether the policy chooses executors by their tags itself (MATCH_TAG,
    /// RULE_BASED, or a composite holding one); otherwise Drove's rule applies:
    /// untagged apps never land on tagged executors.
    public var selectsByTags: Bool {
        switch self {
        case .matchTag, .ruleBased: true
        case .composite(let policies, _): policies.contains { $0.selectsByTags }
        default: false
        }
    }

    /// The policy as the scheduler applies it: ANDed with NO_TAG unless it selects by tags.
    public var effective: PlacementPolicy {
        selectsByTags ? self : .composite([self, .noTag], .AND)
    }
}

extension PlacementPolicy {
    /// Reads Drove's JSON for a policy (already in ``ConfigNode`` form), every problem reported with its path.
    public static func read(_ node: ConfigNode, _ r: ConfigReader, _ path: String, depth: Int = 0) -> PlacementPolicy? {
        guard let f = r.mapping(node, at: path, known: ["type", "max", "tag", "policies", "combiner", "rule", "ruleType", "hostLevel"]) else { return nil }
        guard let tn = f["type"] else {
            r.error(f.path("type"), node, "a placement policy needs a type", allowed: Kind.allCases.map(\.rawValue).joined(separator: ", "))
            return nil
        }
        guard let kind = r.choice(tn, at: f.path("type"), as: Kind.self) else { return nil }
        func refuseExtra(_ keys: [String]) {
            for k in keys where f[k] != nil {
                r.error(f.path(k), f[k]!, "\(k) has no meaning for a \(kind.rawValue) policy", allowed: "only the keys of \(kind.rawValue)")
            }
        }
        switch kind {
        case .ANY: refuseExtra(["max", "tag", "policies", "combiner", "rule", "ruleType", "hostLevel"]); return .any
        case .ONE_PER_HOST: refuseExtra(["max", "tag", "policies", "combiner", "rule", "ruleType", "hostLevel"]); return .onePerHost
        case .NO_TAG: refuseExtra(["max", "tag", "policies", "combiner", "rule", "ruleType", "hostLevel"]); return .noTag
        case .MAX_N_PER_HOST:
            guard let n = f["max"] else {
                r.error(f.path("max"), node, "MAX_N_PER_HOST needs max", allowed: "1 to 64")
                return nil
            }
            return r.int(n, at: f.path("max"), in: 1...64).map { .maxNPerHost($0) }
        case .MATCH_TAG:
            guard let n = f["tag"] else {
                r.error(f.path("tag"), node, "MATCH_TAG needs tag", allowed: "an executor tag or hostname")
                return nil
            }
            return r.string(n, at: f.path("tag"), nonEmpty: true).map { .matchTag($0) }
        case .COMPOSITE:
            guard depth < 8 else {
                r.error(path, node, "placement policies are nested too deep", allowed: "at most 8 levels of COMPOSITE")
                return nil
            }
            var combiner = Combiner.AND
            if let c = f["combiner"] { guard let v = r.choice(c, at: f.path("combiner"), as: Combiner.self) else { return nil }; combiner = v }
            guard let pn = f["policies"], let items = r.sequence(pn, at: f.path("policies")), !items.isEmpty else {
                r.error(f.path("policies"), node, "COMPOSITE needs a non-empty list of policies", allowed: "[{\"type\": ...}, ...]")
                return nil
            }
            var out: [PlacementPolicy] = []
            var ok = true
            for (i, item) in items.enumerated() {
                if let p = read(item, r, "\(f.path("policies"))[\(i)]", depth: depth + 1) { out.append(p) } else { ok = false }
            }
            return ok ? .composite(out, combiner) : nil
        case .RULE_BASED:
            if let t = f["ruleType"], let v = r.string(t, at: f.path("ruleType")), v.uppercased() == "MVEL" {
                r.error(f.path("ruleType"), t, value: v, "MVEL rules run code on the controller and are not accepted",
                        allowed: "HOPE (or leave ruleType out): Corral's rule language, see docs/controller.md#placement")
                return nil
            }
            guard let rn = f["rule"], let text = r.string(rn, at: f.path("rule"), nonEmpty: true) else {
                if f["rule"] == nil { r.error(f.path("rule"), node, "RULE_BASED needs a rule", allowed: "e.g. tags contains \"gpu\" && metadata.rack != \"r1\"") }
                return nil
            }
            do {
                return .ruleBased(try PlacementRule(parsing: text))
            } catch {
                r.error(f.path("rule"), rn, value: text, error.description, allowed: PlacementRule.grammar)
                return nil
            }
        case .LOCAL:
            var host = false
            if let h = f["hostLevel"], let v = r.bool(h, at: f.path("hostLevel")) { host = v }
            return .local(hostLevel: host)
        }
    }
}
