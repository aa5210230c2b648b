import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The host's account database (NSS: /etc/passwd, LDAP, sssd, ...) as
/// `getpwuid_r` and `getgrgid_r` read it: who a uid is, and group names.
public enum HostAccounts {
    public struct User: Sendable, Equatable {
        public var name: String
        public var home: String
        public var shell: String
    }

    public static func user(_ uid: UInt32) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16_384)
        // getpwuid_r fills `entry` with pointers into `buffer`: read them before it goes.
        let rc = getpwuid_r(uid_t(uid), &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return User(name: String(cString: entry.pw_name), home: String(cString: entry.pw_dir), shell: String(cString: entry.pw_shell))
    }

    public static func groupName(_ gid: UInt32) -> String? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 65_536)
        let rc = getgrgid_r(gid_t(gid), &entry, &buffer, buffer.count, &result)
        guard rc == 0, result != nil else { return nil }
        return String(cString: entry.gr_name)
    }
}
