/// Every Corral error is a value with a stable code, a message for people and
/// the key facts (file, key path, value) that caused it. The CLI prints
/// `message`; the API returns all three as JSON.
public protocol CorralError: Error, Sendable, CustomStringConvertible {
    /// Stable, machine-readable, snake_case.
    var codeName: String { get }
    var message: String { get }
    var context: [String: String] { get }
}

extension CorralError {
    public var description: String { message }
}

/// The usual shape of a Corral error: a code from an enum of the area's
/// failures, a message, and the facts that caused it.
public struct CodedError<Code: RawRepresentable & Sendable & Equatable>: CorralError, Equatable
where Code.RawValue == String {
    public let code: Code
    public let message: String
    public let context: [String: String]

    public init(_ code: Code, _ message: String, context: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var codeName: String { code.rawValue }
}
