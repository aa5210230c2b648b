import CorralFuzzTargets
import Foundation

// libFuzzer's entry point. Built with `swift build --sanitize=fuzzer` (see
// scripts/fuzz); the target is chosen by CORRAL_FUZZ_TARGET. A broken promise
// (a secret in a message, a set that does not read back) stops the run like a
// crash, so libFuzzer keeps the input.

private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["CORRAL_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("CORRAL_FUZZ_TARGET must be one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))\n".utf8))
        exit(2)
    }
    return t
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func corralFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let problems = target.run(Array(UnsafeBufferPointer(start: data, count: size)))
    if !problems.isEmpty {
        FileHandle.standardError.write(Data(("broken promise: " + problems.joined(separator: "; ") + "\n").utf8))
        abort()
    }
    return 0
}
