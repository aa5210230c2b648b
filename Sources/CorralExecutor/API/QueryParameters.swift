import Hummingbird

/// Query parameters read strictly: a value that is not what the parameter
/// takes is a 400 naming the parameter, the value and what is allowed (a
/// lenient reader had taken `wait=null` as false and `lines=abc` as 100).
extension Request {
    /// `true` or `false`; absent is `false`.
    func flag(_ name: String) throws(APIError) -> Bool {
        guard let v = uri.queryParameters.get(name) else { return false }
        switch v {
        case "true": return true
        case "false": return false
        default:
            throw APIError(.badRequest, "invalid_parameter", "query parameter \(name)=\(v.prefix(64)) is not allowed: true or false")
        }
    }

    /// A whole number in `range`; absent is `absent`.
    func integer<T: FixedWidthInteger>(_ name: String, absent: T, in range: ClosedRange<T>) throws(APIError) -> T {
        guard let v = uri.queryParameters.get(name) else { return absent }
        guard let n = T(v), range.contains(n) else {
            throw APIError(.badRequest, "invalid_parameter",
                           "query parameter \(name)=\(v.prefix(64)) is not allowed: a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }
}
