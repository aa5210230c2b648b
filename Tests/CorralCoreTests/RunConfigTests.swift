import CorralCore
import PropertyBased
import Testing

/// `corral run`'s config (exorun's dockerWrapper.toml as written), image
/// references, the environment filter and the start retries' backoff.
@Suite struct RunConfigTests {
    @Test func exorunsFileLoadsAsWritten() throws {
        let (c, issues) = RunConfig.load(text: """
        container_image = "docker-base"
        approved_container_images = ["docker-base", "registry.site:5000/hpc/rocky9:2024.1"]
        log_level = "debug"
        env_var_filter = ["SLURM_*", "SECRET_TOKEN", "LS_COLORS"]
        container_start_timeout = 10
        rand_backoff_ration = 0.25
        container_startup = "/etc/corral/run/startup.sh"
        job_startup_root = "/etc/corral/run/job_startup_root.sh"
        job_startup_user = "/etc/corral/run/job_startup_user.sh"
        job_cleanup_user = "/etc/corral/run/job_cleanup_user.sh"
        job_cleanup_root = "/etc/corral/run/job_cleanup_root.sh"
        runtime = "crun"
        stop_grace_period = 2.5
        hook_timeout = 60
        container_hostname = "compute-1.site"
        """, file: "run.toml")
        #expect(issues.isEmpty, "\(issues)")
        let config = try #require(c)
        #expect(config.hooks.count == 5 && config.hooks[.jobCleanupRoot] == "/etc/corral/run/job_cleanup_root.sh")
        #expect(config.stopGracePeriod == .milliseconds(2500) && config.hookTimeout == .seconds(60))
        #expect(config.containerHostname == "compute-1.site")
        #expect(config.containerStartTimeout == .seconds(600))
        #expect(config.randBackoffRatio == 0.25)
        #expect(config.logLevel == .debug && config.runtime == "crun")
        #expect(config.approves("docker.io/library/docker-base:latest"))
        #expect(config.approves("registry.site:5000/hpc/rocky9:2024.1"))
        #expect(!config.approves("registry.site:5000/hpc/rocky9"), "another tag is another image")
        #expect(!config.approves("ubuntu"))
    }

    @Test func theDefaultsAreExorunsAndEveryBadValueIsNamed() {
        let (d, none) = RunConfig.load(text: "", file: "run.toml")
        #expect(none.isEmpty && d?.containerImage == "docker-base" && d?.containerStartTimeout == .seconds(1800) && d?.randBackoffRatio == 0.5)
        let (c, issues) = RunConfig.load(text: """
        container_imag = "x"
        rand_backoff_ratio = 1.0
        log_level = "loud"
        container_start_timeout = "soon"
        job_startup_root = "relative.sh"
        env_var_filter = ["OK_*", "NOT-A-NAME"]
        runtime = "run c"
        stop_grace_period = -1
        hook_timeout = 0
        container_hostname = "not a host"
        """, file: "/etc/corral/run.toml")
        #expect(c == nil, "nothing half-applied")
        let text = issues.map(\.description).joined(separator: "\n")
        for needle in ["/etc/corral/run.toml:1:1", "run.toml:2:1", "run.toml:7:1", "unknown key \"container_imag\"; did you mean \"container_image\"?",
                       "rand_backoff_ratio", "0 <= x < 1", "\"loud\" is not a log level", "error, warn, info, debug, trace",
                       "container_start_timeout", "minutes from 0 to 1440", "job_startup_root", "absolute path",
                       "env_var_filter[1]", "NOT-A-NAME", "runtime", "runc, crun, runsc",
                       "stop_grace_period", "seconds from 0 to 3600 (default 10)", "hook_timeout", "seconds from 1 to 86400",
                       "\"not a host\" is not a host name"] {
            #expect(text.contains(needle), "missing \(needle) in:\n\(text)")
        }
        let (both, twice) = RunConfig.load(text: "rand_backoff_ration = 0.1\nrand_backoff_ratio = 0.2", file: "run.toml")
        #expect(both == nil && twice.contains { $0.message.contains("one key") })
    }

    @Test func imageReferencesNormaliseAsDockerReadsThem() {
        let same = ["docker-base", "docker-base:latest", "library/docker-base", "docker.io/library/docker-base:latest",
                    "index.docker.io/library/docker-base", "DOCKER-BASE"]
        #expect(Set(same.map(ImageReference.normalized)) == ["docker.io/library/docker-base:latest"])
        #expect(ImageReference.normalized("user/tool") == "docker.io/user/tool:latest")
        #expect(ImageReference.normalized("localhost/tool") == "localhost/tool:latest")
        #expect(ImageReference.normalized("reg:5000/a/b:1") == "reg:5000/a/b:1")
        #expect(ImageReference.normalized("alpine@sha256:abc") == "docker.io/library/alpine@sha256:abc")
        #expect(ImageReference.problem("a b") != nil && ImageReference.problem("-x") != nil && ImageReference.problem("a//b") != nil)
        #expect(ImageReference.problem("reg:5000/a/b:1") == nil)
    }

    @Test func normalisingTwiceChangesNothing() async {
        let part = Gen.letterOrNumber.string(of: 1...6)
        let refs = zip(Gen.int(in: 0...2), part, part, Gen.int(in: 0...2), part).map { host, a, b, tag, t -> String in
            let h = ["", "docker.io/", "reg.example:5000/"][host]
            return h + (host == 0 && a.count % 2 == 0 ? a : "\(a)/\(b)") + ["", ":\(t)", ":latest"][tag]
        }
        await propertyCheck(count: 300, input: refs) { ref in
            let once = ImageReference.normalized(ref)
            #expect(ImageReference.normalized(once) == once, "\(ref) -> \(once)")
            #expect(once.contains(":") || once.contains("@"))
        }
    }

    @Test func theEnvironmentFilterDropsPatternsAndWhatWouldBreakTheContainer() {
        let f = EnvFilter(["SLURM_*", "SECRET_TOKEN", "A?C"])
        let out = f.apply(["SLURM_JOB_ID": "1", "SECRET_TOKEN": "t", "ABC": "x", "ABBC": "y", "LD_PRELOAD": "/evil.so",
                           "LD_LIBRARY_PATH": "/x", "PATH": "/host/bin", "HOME": "/home/u", "CORRAL_CPUS": "9", "OMP_NUM_THREADS": "4"])
        #expect(out == ["ABBC": "y", "OMP_NUM_THREADS": "4"])
        #expect(EnvFilter.matches("*", "") && EnvFilter.matches("A*B*C", "AxxBxC") && !EnvFilter.matches("A*B", "AxBc"))
    }

    @Test func backoffFollowsTheFormula() async {
        let b = StartBackoff(ratio: 0.5, timeout: .seconds(600))
        #expect(b.interval(0) == .milliseconds(500) && b.interval(1) == .milliseconds(750) && b.interval(20) == .seconds(60))
        #expect(b.wait(0, u: 0) == .milliseconds(250) && b.wait(0, u: 1) == .milliseconds(750))
        #expect(b.next(3, elapsed: .seconds(600), u: 0.5) == nil, "past the timeout: give up")
        #expect(b.next(30, elapsed: .seconds(599), u: 0.5) == .seconds(1), "cut to what is left")
        await propertyCheck(count: 500, input: Gen.int(in: 0...40), Gen.double(in: 0...0.99), Gen.double(in: 0...1)) { n, r, u in
            let x = StartBackoff(ratio: r, timeout: .seconds(3600))
            let w = x.wait(n, u: u).seconds, i = x.interval(n).seconds
            #expect(w >= i * (1 - r) - 0.001 && w <= i * (1 + r) + 0.001, "n \(n) r \(r) u \(u): \(w) vs \(i)")
            #expect(i <= 60 && (n == 0 || x.interval(n) >= x.interval(n - 1)), "grows to the cap")
        }
    }
}

private extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The caller's account inside the container, and exorun's memory argument.
@Suite struct RunIdentityTests {
    static let image = """
    root:x:0:0:root:/root:/bin/sh
    daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
    alice:x:1001:1001::/home/alice:/bin/bash
    other:x:4242:100::/nonexistent:/bin/false

    """

    @Test func theCallersEntryReplacesClashesAndKeepsTheRest() {
        let me = RunIdentity(uid: 4242, gid: 4242, groups: [27, 4242, 5000], user: "alice", groupNames: [27: "sudo", 4242: "alice", 5000: "hpc"],
                             home: "/home/alice")
        let passwd = me.passwd(merging: Self.image)
        #expect(passwd == """
        root:x:0:0:root:/root:/bin/sh
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        alice:x:4242:4242::/home/alice:/bin/sh

        """, "the image's alice (other uid) and uid 4242 (other name) give way")
        let group = me.group(merging: "root:x:0:\nsudo:x:27:\nalice:x:1001:\nstaff:x:50:\n")
        let lines = group.split(separator: "\n").map(String.init)
        #expect(lines.contains("sudo:x:27:alice"), "a group of the image gets the caller as a member: \(lines)")
        #expect(lines.contains("alice:x:4242:") && !lines.contains("alice:x:1001:"), "the primary group under the host's id")
        #expect(lines.contains("hpc:x:5000:alice") && lines.contains("staff:x:50:"))
        #expect(me.groups == [27, 5000], "the primary group is not a supplementary one")
    }

    @Test func anImageWithoutTheFilesGetsRootAndTheCaller() {
        let me = RunIdentity(uid: 1000, gid: 1000, groups: [], user: "bob", groupNames: [:], home: "/home/bob")
        #expect(me.passwd(merging: nil) == "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1000::/home/bob:/bin/sh\n")
        #expect(me.group(merging: nil) == "root:x:0:\ng1000:x:1000:\n")
        let root = RunIdentity(uid: 0, gid: 0, groups: [], user: "root", groupNames: [0: "root"], home: "/root")
        #expect(root.passwd(merging: Self.image).split(separator: "\n").filter { $0.hasPrefix("root:") }.count == 1, "root once")
    }

    @Test func everyUidAndGroupIdAppearsOnceAfterAMerge() async {
        await propertyCheck(count: 200, input: Gen.int(in: 0...5000), Gen.int(in: 1...5000), Gen.int(in: 0...5000).array(of: 0...4)) { uid, gid, groups in
            let me = RunIdentity(uid: UInt32(uid), gid: UInt32(gid), groups: groups.map(UInt32.init), user: "u\(uid)", groupNames: [:], home: "/h")
            let passwd = me.passwd(merging: Self.image).split(separator: "\n")
            let uids = passwd.compactMap { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(2).first }
            #expect(Set(uids).count == uids.count, "\(passwd)")
            #expect(passwd.contains { $0.hasPrefix("u\(uid):x:\(uid):\(gid):") } || uid == 0)
            let group = me.group(merging: "root:x:0:\nusers:x:100:\n").split(separator: "\n")
            let gids = group.compactMap { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(2).first }
            #expect(Set(gids).count == gids.count, "\(group)")
            for g in Set(groups).subtracting([gid]) {
                #expect(group.contains { $0.split(separator: ":", omittingEmptySubsequences: false).dropFirst(2).first == Substring(String(g)) && $0.hasSuffix("u\(uid)") || $0.contains(",u\(uid)") },
                        "\(g) lists the caller: \(group)")
            }
        }
    }

    @Test func memoryIsExorunsGigabytesOrASize() throws {
        #expect(try RunMemory.parse("2").get() == 2_000_000_000)
        #expect(try RunMemory.parse("2.5").get() == 3_000_000_000, "rounded up, as exorun's wrappers do")
        #expect(try RunMemory.parse("512MiB").get() == 512 << 20)
        #expect(try RunMemory.parse("4G").get() == 4_000_000_000)
        for bad in ["0", "-1", "lots", "nan"] {
            guard case .failure(let e) = RunMemory.parse(bad) else { Issue.record("\(bad) accepted"); continue }
            #expect(e.message.contains("-m \(bad)") && e.message.contains("allowed"), "\(e.message)")
        }
    }
}

/// The frames between `corral run` and the executor.
@Suite struct RunFrameTests {
    static let frames = zip(Gen.int(in: 0...(RunFrame.Kind.allCases.count - 1)), Gen.int(in: 0...255).array(of: 0...300))
        .map { k, bytes in RunFrame(RunFrame.Kind.allCases[k], bytes.map(UInt8.init)) }

    @Test func anyFramesRoundTripWhateverTheSplits() async {
        await propertyCheck(count: 300, input: Self.frames.array(of: 1...8), Gen.int(in: 1...64)) { frames, chunk in
            let wire = frames.flatMap(\.encoded)
            var buffer: [UInt8] = [], out: [RunFrame] = []
            var i = 0
            while i < wire.count {
                buffer += wire[i..<min(i + chunk, wire.count)]
                i += chunk
                while let (f, used) = try! RunFrame.decode(buffer[...]) {
                    out.append(f)
                    buffer.removeFirst(used)
                }
            }
            #expect(out == frames && buffer.isEmpty)
        }
    }

    @Test func badFramesAreRefusedNotCrashedOn() {
        #expect(throws: RunFrame.DecodeError.unknownKind(99)) { try RunFrame.decode([99, 0, 0, 0, 0][...]) }
        #expect(throws: RunFrame.DecodeError.tooLarge(0x7fff_ffff)) { try RunFrame.decode([1, 0x7f, 0xff, 0xff, 0xff][...]) }
        #expect(try! RunFrame.decode([1, 0, 0, 0, 9, 1, 2][...]) == nil, "truncated: wait for more")
    }
}
