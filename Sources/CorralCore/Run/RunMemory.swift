/// `corral run -m`: exorun's bare number of GB (a fraction rounds up to the
/// next whole GB: `2.5` is 3 GB, as exorun's submit wrappers do), or a data
/// size with its unit (`512MiB`, `4G`, `8GiB`). GB is 10^9 bytes, as
/// exorun's and Dropwizard's `G`.
public enum RunMemory {
    public enum ErrorCode: String, Sendable, Equatable { case invalid = "invalid_memory" }

    public static let allowed = "a number of GB (2; 2.5 is rounded up to 3) or a size with its unit (512MiB, 4G, 8GiB)"

    public static func parse(_ text: String) -> Result<UInt64, CodedError<ErrorCode>> {
        let t = text.trimmingCharacters(in: .whitespaces)
        if let gb = Double(t) {
            guard gb.isFinite, gb > 0, gb <= 1_000_000 else {
                return .failure(.init(.invalid, "-m \(text): memory must be above 0 and at most 1000000 GB (allowed: \(allowed))"))
            }
            return .success(UInt64(gb.rounded(.up)) * 1_000_000_000)
        }
        guard let size = DataSize(parsing: t) else {
            return .failure(.init(.invalid, "-m \(text): not a memory size (allowed: \(allowed))"))
        }
        guard size.bytes > 0 else { return .failure(.init(.invalid, "-m \(text): memory must be above 0 (allowed: \(allowed))")) }
        return .success(size.bytes)
    }
}
