import Crypto
import Foundation

/// How Drove names executors: `UUID.nameUUIDFromBytes(hostname + ":" + port)`
/// (`cmn/CommonUtils.executorId`), a version-3 (MD5) UUID, so a Drove
/// controller and Corral agree on an executor's id.
public enum DroveIdentity {
    public static func executorId(hostname: String, port: Int) -> String {
        var bytes = Array(Insecure.MD5.hash(data: Array("\(hostname):\(port)".utf8)))
        bytes[6] = (bytes[6] & 0x0F) | 0x30  // version 3
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // IETF variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }

    /// The executor's znode name: `<hostname>-<port>`.
    public static func nodeName(hostname: String, port: Int) -> String { "\(hostname)-\(port)" }
}
