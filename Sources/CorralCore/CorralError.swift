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
