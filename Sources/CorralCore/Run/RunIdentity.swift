/// Who a `corral run` job runs as inside its container: the caller's uid,
/// gid and supplementary groups as the executor read them off the socket
/// (never as the client claims), with the account entries the container
/// needs so that `id`, `whoami` and `ls -l` read right.
public struct RunIdentity: Sendable, Hashable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (the primary one excluded).
    public var groups: [UInt32]
    public var user: String
    /// Group names by id, for the ones the host knows.
    public var groupNames: [UInt32: String]
    public var home: String
    public var shell: String

    public init(uid: UInt32, gid: UInt32, groups: [UInt32], user: String, groupNames: [UInt32: String], home: String, shell: String = "/bin/sh") {
        self.uid = uid
        self.gid = gid
        self.groups = groups.filter { $0 != gid }.sorted()
        self.user = user
        self.groupNames = groupNames
        self.home = home
        self.shell = shell
    }

    public var isRoot: Bool { uid == 0 }

    /// The image's /etc/passwd with the caller's entry: any entry of the
    /// image with the caller's name or uid is replaced, everything else kept
    /// in order. An image without the file gets root's and the caller's.
    public func passwd(merging image: String?) -> String {
        let mine = "\(user):x:\(uid):\(gid)::\(home):\(shell)"
        var lines = Self.entries(image ?? "root:x:0:0:root:/root:/bin/sh\n")
        lines.removeAll { l in
            let f = l.split(separator: ":", omittingEmptySubsequences: false)
            return f.first.map(String.init) == user || (f.count > 2 && UInt32(f[2]) == uid)
        }
        if !isRoot || !lines.contains(where: { $0.hasPrefix("root:") }) { lines.append(mine) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The image's /etc/group with the caller's primary and supplementary
    /// groups: a group of the image with one of those ids gets the caller as
    /// a member (its name kept); a missing one is added under the host's
    /// name (or `g<gid>`); a name clash with another id is resolved by
    /// the id the host uses, renaming the image's.
    public func group(merging image: String?) -> String {
        var lines = Self.entries(image ?? "root:x:0:\n")
        for id in [gid] + groups {
            let name = groupNames[id] ?? "g\(id)"
            if let i = lines.firstIndex(where: { Self.field($0, 2) == String(id) }) {
                var f = lines[i].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
                while f.count < 4 { f.append("") }
                if id != gid {
                    var members = f[3].split(separator: ",").map(String.init)
                    if !members.contains(user) { members.append(user) }
                    f[3] = members.joined(separator: ",")
                }
                lines[i] = f.joined(separator: ":")
            } else {
                lines.removeAll { Self.field($0, 0) == name }
                lines.append("\(name):x:\(id):\(id == gid ? "" : user)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func entries(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
    }

    static func field(_ line: String, _ i: Int) -> String? {
        let f = line.split(separator: ":", omittingEmptySubsequences: false)
        return i < f.count ? String(f[i]) : nil
    }
}
