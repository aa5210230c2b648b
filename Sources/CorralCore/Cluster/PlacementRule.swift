/// The expression language of RULE_BASED placement policies: a boolean
/// expression over an executor's hostname, tags and metadata, parsed once and
/// evaluated as data. Nothing in a rule runs code (Drove's MVEL rules could),
/// loops, or grows: a rule is at most 4096 characters and 32 levels deep.
///
///     rule    := or
///     or      := and ("||" and)*
///     and     := unary ("&&" unary)*
///     unary   := "!" unary | "(" or ")" | test
///     test    := value op value | "tags" "contains" string | "has" metadata
///     value   := "hostname" | metadata | string
///     metadata:= "metadata." name | "metadata[" string "]"
///     op      := "==" | "!=" | "startsWith" | "endsWith" | "contains" | "in" list
///     list    := "[" string ("," string)* "]"
///
/// Strings are in double quotes (`\"` and `\\` escape). A metadata key an
/// executor does not have reads as "" (so `metadata.rack != "r1"` holds
/// there) and `has metadata.rack` tells the two apart.
public struct PlacementRule: Sendable, Hashable, CustomStringConvertible {
    indirect enum Expr: Sendable, Hashable {
        case and(Expr, Expr), or(Expr, Expr), not(Expr)
        case compare(Value, Op, Value)
        case member(Value, [String])
        case tag(String)
        case has(String)
    }
    enum Value: Sendable, Hashable { case hostname, metadata(String), literal(String) }
    enum Op: String, Sendable, Hashable { case eq = "==", ne = "!=", startsWith, endsWith, contains }

    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static let grammar = "expressions over hostname, tags and metadata: ==, !=, startsWith, endsWith, contains, in [..], has metadata.k, tags contains \"t\", joined with &&, || and !, e.g. tags contains \"gpu\" && metadata.rack in [\"r1\", \"r2\"]"

    public let text: String
    let expr: Expr
    public var description: String { text }

    public init(parsing text: String) throws(ParseError) {
        guard text.utf8.count <= 4096 else { throw ParseError(description: "the rule is longer than 4096 characters") }
        var p = Parser(tokens: try Self.tokenize(text))
        let e = try p.parseOr(depth: 0)
        if let t = p.peek { throw ParseError(description: "unexpected \(t.shown) after a complete rule") }
        self.text = text
        expr = e
    }

    public static func == (a: Self, b: Self) -> Bool { a.text == b.text }
    public func hash(into h: inout Hasher) { h.combine(text) }

    public func evaluate(hostname: String, tags: Set<String>, metadata: [String: String]) -> Bool {
        func value(_ v: Value) -> String {
            switch v {
            case .hostname: hostname
            case .metadata(let k): metadata[k] ?? ""
            case .literal(let s): s
            }
        }
        func eval(_ e: Expr) -> Bool {
            switch e {
            case .and(let a, let b): return eval(a) && eval(b)
            case .or(let a, let b): return eval(a) || eval(b)
            case .not(let a): return !eval(a)
            case .tag(let t): return tags.contains(t) || t == hostname
            case .has(let k): return metadata[k] != nil
            case .member(let v, let list): return list.contains(value(v))
            case .compare(let a, let op, let b):
                let l = value(a), r = value(b)
                switch op {
                case .eq: return l == r
                case .ne: return l != r
                case .startsWith: return l.hasPrefix(r)
                case .endsWith: return l.hasSuffix(r)
                case .contains: return l.contains(r)
                }
            }
        }
        return eval(expr)
    }

    // MARK: Tokens

    enum Token: Sendable, Hashable {
        case word(String), string(String), symbol(String)
        var shown: String {
            switch self {
            case .word(let w): "\"\(w)\""
            case .string(let s): "the string \"\(s)\""
            case .symbol(let s): "\"\(s)\""
            }
        }
    }

    static func tokenize(_ text: String) throws(ParseError) -> [Token] {
        var out: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        func isWord(_ c: Unicode.Scalar) -> Bool {
            (c.value < 128 && (c.properties.isAlphabetic || ("0"..."9").contains(c))) || c == "_" || c == "-" || c == "."
        }
        while i < chars.count {
            let c = chars[i]
            if c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1; continue }
            if c == "\"" {
                var s = String.UnicodeScalarView()
                i += 1
                var closed = false
                while i < chars.count {
                    if chars[i] == "\\", i + 1 < chars.count { s.append(chars[i + 1]); i += 2; continue }
                    if chars[i] == "\"" { closed = true; i += 1; break }
                    s.append(chars[i]); i += 1
                }
                guard closed else { throw ParseError(description: "a string is not closed with \"") }
                out.append(.string(String(s)))
                continue
            }
            let two = i + 1 < chars.count ? String(String.UnicodeScalarView([c, chars[i + 1]])) : ""
            if ["==", "!=", "&&", "||"].contains(two) { out.append(.symbol(two)); i += 2; continue }
            if "!()[],".unicodeScalars.contains(c) { out.append(.symbol(String(c))); i += 1; continue }
            if isWord(c) {
                var w = String.UnicodeScalarView()
                while i < chars.count, isWord(chars[i]) { w.append(chars[i]); i += 1 }
                out.append(.word(String(w)))
                continue
            }
            throw ParseError(description: "unexpected character \"\(c)\"")
        }
        return out
    }

    struct Parser {
        var tokens: [Token]
        var at = 0
        var peek: Token? { at < tokens.count ? tokens[at] : nil }
        mutating func next() -> Token? { defer { at += 1 }; return peek }
        mutating func take(_ t: Token) -> Bool {
            if peek == t { at += 1; return true }
            return false
        }
        func ended(_ want: String) -> ParseError { ParseError(description: "the rule ends where \(want) was expected") }

        mutating func parseOr(depth: Int) throws(ParseError) -> Expr {
            var e = try parseAnd(depth: depth)
            while take(.symbol("||")) { e = .or(e, try parseAnd(depth: depth)) }
            return e
        }
        mutating func parseAnd(depth: Int) throws(ParseError) -> Expr {
            var e = try parseUnary(depth: depth)
            while take(.symbol("&&")) { e = .and(e, try parseUnary(depth: depth)) }
            return e
        }
        mutating func parseUnary(depth: Int) throws(ParseError) -> Expr {
            guard depth < 32 else { throw ParseError(description: "the rule nests deeper than 32 levels") }
            if take(.symbol("!")) { return .not(try parseUnary(depth: depth + 1)) }
            if take(.symbol("(")) {
                let e = try parseOr(depth: depth + 1)
                guard take(.symbol(")")) else { throw peek.map { ParseError(description: "expected \")\" but found \($0.shown)") } ?? ended("\")\"") }
                return e
            }
            return try parseTest()
        }
        mutating func parseTest() throws(ParseError) -> Expr {
            if take(.word("has")) {
                guard case .metadata(let k) = try parseValue() else { throw ParseError(description: "has needs metadata.<key>") }
                return .has(k)
            }
            if take(.word("tags")) {
                guard take(.word("contains")) else { throw ParseError(description: "tags is only tested with: tags contains \"tag\"") }
                guard case .string(let s)? = next() else { throw ParseError(description: "tags contains needs a string") }
                return .tag(s)
            }
            let left = try parseValue()
            guard let t = next() else { throw ended("an operator (==, !=, startsWith, endsWith, contains, in)") }
            switch t {
            case .word("in"):
                guard take(.symbol("[")) else { throw ParseError(description: "in needs a list: [\"a\", \"b\"]") }
                var list: [String] = []
                repeat {
                    guard case .string(let s)? = next() else { throw ParseError(description: "a list holds strings only") }
                    list.append(s)
                } while take(.symbol(","))
                guard take(.symbol("]")) else { throw ParseError(description: "a list ends with ]") }
                return .member(left, list)
            case .symbol("=="): return .compare(left, .eq, try parseValue())
            case .symbol("!="): return .compare(left, .ne, try parseValue())
            case .word("startsWith"): return .compare(left, .startsWith, try parseValue())
            case .word("endsWith"): return .compare(left, .endsWith, try parseValue())
            case .word("contains"): return .compare(left, .contains, try parseValue())
            default: throw ParseError(description: "expected an operator (==, !=, startsWith, endsWith, contains, in) but found \(t.shown)")
            }
        }
        mutating func parseValue() throws(ParseError) -> Value {
            guard let t = next() else { throw ended("hostname, metadata.<key> or a string") }
            switch t {
            case .string(let s): return .literal(s)
            case .word("hostname"): return .hostname
            case .word(let w) where w.hasPrefix("metadata.") && w.count > "metadata.".count:
                return .metadata(String(w.dropFirst("metadata.".count)))
            case .word("metadata"):
                guard take(.symbol("[")), case .string(let k)? = next(), take(.symbol("]")) else {
                    throw ParseError(description: "metadata is read as metadata.key or metadata[\"key\"]")
                }
                return .metadata(k)
            default: throw ParseError(description: "expected hostname, metadata.<key> or a string but found \(t.shown)")
            }
        }
    }
}
