/// Judges a node's preparation for pinned workloads (the executor setup
/// guide's steps, and what it leaves out): each check OK, WARN or FAIL with
/// what it saw, why it matters and the exact fix. Pure: the facts are read
/// by the host layer (`NodeFactsReader`). docs/doctor.md has every check.
public struct NodeDoctor: Sendable {
    public let facts: NodeFacts
    public let resources: EffectiveResources
    public let config: ExecutorConfig

    public init(facts: NodeFacts, resources: EffectiveResources, config: ExecutorConfig) {
        self.facts = facts
        self.resources = resources
        self.config = config
    }

    var topology: Topology { resources.topology }
    var osCores: CPUSet { resources.osCores }
    var offered: CPUSet { resources.offeredCPUs }
    var pinned: Bool { resources.mode == .pinned }
    /// systemd's spelling of a CPU set: `CPUAffinity=0 1 2 3`.
    var osCoresForSystemd: String { osCores.sorted().map(String.init).joined(separator: " ") }

    /// Every check, in the order of docs/doctor.md.
    public func run() -> [DoctorFinding] {
        var out = [pid1(), executor(), engineAffinity(), isolcpus(), irqAffinity(), irqbalance(),
                   numaBalancing(), transparentHugepages(), zoneReclaim(), memoryPerNode(),
                   smt(), governor(), offline(), hidden(), cgroups(), openFiles()]
        out += storage()
        if let e = engine() { out.append(e) }
        if let g = gpus() { out.append(g) }
        return out
    }

    /// 0 when nothing FAILs, 1 otherwise (`corral doctor`'s exit status).
    public static func exitStatus(_ findings: [DoctorFinding]) -> Int32 {
        findings.contains { $0.status == .fail } ? 1 : 0
    }

    // MARK: OS isolation

    static let noOSCoresFix = "choose a few CPUs for the OS (e.g. the first core of each socket), list them in resources.osCores of the executor YAML, and put the same CPUs in CPUAffinity= in /etc/systemd/system.conf, then reboot"

    func pid1() -> DoctorFinding {
        let why = "PID 1 (systemd) hands its CPU affinity to every service and login it starts: unless it is kept on the OS cores, system work runs on the cores workloads were given as dedicated"
        guard !osCores.isEmpty else {
            return .init(.pid1Affinity, .warn, saw: "resources.osCores is empty: no CPU is kept for the OS, so the OS shares every CPU with workloads", why: why, fix: Self.noOSCoresFix)
        }
        guard let a = facts.pid1Affinity else {
            return .init(.pid1Affinity, .warn, saw: "/proc/1/status could not be read (hidepid, or a container without the host's PID 1)", why: why,
                         fix: "run corral doctor on the host as root; check with: grep Cpus_allowed_list /proc/1/status")
        }
        let onWorkload = a.intersection(offered)
        if onWorkload.isEmpty {
            return .init(.pid1Affinity, .ok, saw: "PID 1 runs on CPUs \(a.listString), within osCores \(osCores.listString)", why: why)
        }
        return .init(.pid1Affinity, .fail,
                     saw: "PID 1 may run on CPUs \(a.listString); \(onWorkload.listString) of them are offered to workloads (osCores: \(osCores.listString))",
                     why: why,
                     fix: "set CPUAffinity=\(osCoresForSystemd) in /etc/systemd/system.conf and reboot; then grep Cpus_allowed_list /proc/1/status shows \(osCores.listString)")
    }

    func executor() -> DoctorFinding {
        let why = "the executor's own threads (its API, health checks, log writers) compete with workloads on any workload core they may run on; its workloads are pinned on their own whatever its affinity"
        guard let a = facts.selfAffinity else {
            return .init(.executorAffinity, .warn, saw: "\(facts.selfName)'s affinity could not be read (/proc/self/status)", why: why)
        }
        let onWorkload = a.intersection(offered)
        if onWorkload.isEmpty || osCores.isEmpty {
            let note = osCores.isEmpty ? " (no osCores: see \(DoctorFinding.Check.pid1Affinity.rawValue))" : ""
            return .init(.executorAffinity, .ok, saw: "\(facts.selfName) runs on CPUs \(a.listString)\(note)", why: why)
        }
        return .init(.executorAffinity, .warn,
                     saw: "\(facts.selfName) may run on CPUs \(a.listString), \(onWorkload.listString) of them offered to workloads",
                     why: why,
                     fix: "put CPUAffinity=\(osCoresForSystemd) in the [Service] section of the executor's unit (packaging/corral-executor.service), then systemctl daemon-reload && systemctl restart corral-executor")
    }

    func engineAffinity() -> DoctorFinding {
        let why = "dockerd, containerd and Podman's service pull, unpack and log on whatever CPUs they may use: on workload cores that work lands on dedicated cores"
        guard !facts.engineDaemons.isEmpty else {
            return .init(.engineAffinity, .ok, saw: "no dockerd, containerd or podman service process runs", why: why)
        }
        var bad: [String] = [], good: [String] = []
        for d in facts.engineDaemons {
            guard let cpus = d.cpus else { good.append("\(d.name) (pid \(d.pid)): affinity unreadable"); continue }
            let on = cpus.intersection(offered)
            if on.isEmpty || osCores.isEmpty { good.append("\(d.name) (pid \(d.pid)) on CPUs \(cpus.listString)") }
            else { bad.append("\(d.name) (pid \(d.pid)) may run on CPUs \(cpus.listString), \(on.listString) offered to workloads") }
        }
        if bad.isEmpty { return .init(.engineAffinity, .ok, saw: good.joined(separator: "; "), why: why) }
        let units = Set(facts.engineDaemons.map { $0.name == "podman" ? "podman.service" : "\($0.name).service" }).sorted()
        return .init(.engineAffinity, .warn, saw: bad.joined(separator: "; "), why: why,
                     fix: "systemctl edit \(units.joined(separator: " / ")) and add [Service] CPUAffinity=\(osCoresForSystemd) (or CPUAffinity= in /etc/systemd/system.conf covers them after a reboot), then restart it")
    }

    /// A kernel parameter's CPU list, flags (`domain`, `managed_irq`, `nohz`) dropped.
    public static func kernelCPUs(_ cmdline: String, _ key: String) -> CPUSet? {
        guard let arg = cmdline.split(separator: " ").last(where: { $0.hasPrefix(key + "=") }) else { return nil }
        let parts = arg.dropFirst(key.count + 1).split(separator: ",").filter { p in p.first.map { $0.isNumber } ?? false }
        return try? CPUSet(list: parts.joined(separator: ","))
    }

    func isolcpus() -> DoctorFinding {
        let why = "isolcpus takes CPUs out of the scheduler's load balancing: a workload given several isolated CPUs runs all its threads where they start (one CPU) unless it pins each thread itself; nohz_full without the same isolcpus set (or the reverse) leaves timer ticks or balancing half done"
        guard let cmdline = facts.kernelCommandLine else {
            return .init(.isolcpus, .warn, saw: "/proc/cmdline could not be read", why: why)
        }
        let iso = Self.kernelCPUs(cmdline, "isolcpus"), nohz = Self.kernelCPUs(cmdline, "nohz_full")
        if iso == nil && nohz == nil {
            return .init(.isolcpus, .ok, saw: "neither isolcpus nor nohz_full is on the kernel command line: the OS is kept off workload cores by CPUAffinity (\(DoctorFinding.Check.pid1Affinity.rawValue))", why: why)
        }
        let grub = "edit GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"
        if let iso, !iso.intersection(osCores).isEmpty {
            return .init(.isolcpus, .fail, saw: "isolcpus=\(iso.listString) includes OS cores \(iso.intersection(osCores).listString)", why: why,
                         fix: "\(grub): isolcpus may list only workload CPUs, never osCores (\(osCores.listString))")
        }
        var notes: [String] = []
        if let iso { notes.append("isolcpus=\(iso.listString)") }
        if let nohz { notes.append("nohz_full=\(nohz.listString)") }
        if iso != nohz, iso != nil, nohz != nil {
            return .init(.isolcpus, .warn, saw: notes.joined(separator: ", ") + ": the two lists differ", why: why,
                         fix: "\(grub): give isolcpus and nohz_full the same CPU list")
        }
        if let iso, !iso.intersection(offered).isEmpty {
            return .init(.isolcpus, .warn, saw: notes.joined(separator: ", ") + "; \(iso.intersection(offered).listString) are offered to workloads", why: why,
                         fix: "keep isolcpus only if every workload pins its own threads; otherwise \(grub) without isolcpus= (CPUAffinity already keeps the OS away)")
        }
        return .init(.isolcpus, .ok, saw: notes.joined(separator: ", "), why: why)
    }

    // MARK: Interrupts

    func irqAffinity() -> DoctorFinding {
        let why = "an interrupt handled on a workload core steals its cycles and pollutes its caches at the device's rate (network and NVMe queues: thousands a second)"
        guard !facts.irqs.isEmpty else {
            return .init(.irqAffinity, .ok, saw: "no IRQ affinity is visible (/proc/irq)", why: why)
        }
        guard !osCores.isEmpty else {
            return .init(.irqAffinity, .warn, saw: "\(facts.irqs.count) IRQs; with no osCores there is nowhere else to send them", why: why, fix: Self.noOSCoresFix)
        }
        // A per-CPU (managed) IRQ is bound to one CPU and cannot be moved: not counted.
        let landing = facts.irqs.filter { $0.affinity.count > 1 && !$0.affinity.intersection(offered).isEmpty }
        if landing.isEmpty {
            return .init(.irqAffinity, .ok, saw: "\(facts.irqs.count) IRQs, none that can be moved lands on a workload core", why: why)
        }
        let examples = landing.prefix(5).map { "IRQ \($0.number)\($0.name.map { " (\($0))" } ?? "") on \($0.affinity.listString)" }
        return .init(.irqAffinity, .warn,
                     saw: "\(landing.count) of \(facts.irqs.count) IRQs may be handled on workload cores: \(examples.joined(separator: ", "))\(landing.count > 5 ? ", ..." : "")",
                     why: why,
                     fix: "for f in /proc/irq/*/smp_affinity_list; do echo \(osCores.listString) > $f; done; echo \(Self.hexMask(osCores)) > /proc/irq/default_smp_affinity (for devices that come later); and ban the workload CPUs in irqbalance (\(DoctorFinding.Check.irqbalance.rawValue))")
    }

    /// The kernel's bitmap form of a CPU set (`/proc/irq/default_smp_affinity`):
    /// 32-bit hex words, most significant first, comma separated.
    public static func hexMask(_ cpus: CPUSet) -> String {
        let top = cpus.sorted().last ?? 0
        let words = top / 32 + 1
        return (0..<words).reversed().map { w -> String in
            var v: UInt32 = 0
            for c in cpus where c / 32 == w { v |= 1 << UInt32(c % 32) }
            let hex = String(v, radix: 16)
            return w == words - 1 ? hex : String(repeating: "0", count: 8 - hex.count) + hex
        }.joined(separator: ",")
    }

    func irqbalance() -> DoctorFinding {
        let why = "irqbalance moves interrupts every 10 s onto the CPUs it thinks idle, which are the workload cores, undoing any IRQ affinity set by hand"
        guard let d = facts.irqbalance else {
            return .init(.irqbalance, .ok, saw: "irqbalance is not running: IRQ affinities stay as set", why: why)
        }
        let workload = offered
        if let banned = facts.irqbalanceBanned, workload.isSubset(of: banned) {
            return .init(.irqbalance, .ok, saw: "irqbalance (pid \(d.pid)) runs with CPUs \(banned.listString) banned, every workload CPU among them", why: why)
        }
        let saw = facts.irqbalanceBanned.map { "irqbalance (pid \(d.pid)) runs with CPUs \($0.listString) banned; workload CPUs \(workload.subtracting($0).listString) are not" }
            ?? "irqbalance (pid \(d.pid)) runs with no banned CPUs"
        return .init(.irqbalance, .warn, saw: saw, why: why,
                     fix: "put IRQBALANCE_BANNED_CPULIST=\(workload.listString) in /etc/default/irqbalance and systemctl restart irqbalance (or systemctl disable --now irqbalance and set affinities by hand)")
    }

    // MARK: NUMA and memory

    var nodesWithCPUs: Int { topology.numaNodes.filter { !$0.cpus.isEmpty }.count }

    func numaBalancing() -> DoctorFinding {
        let why = "automatic NUMA balancing unmaps pages to see who touches them and migrates them behind the executor's back: a pinned workload's memory, placed on its cores' node, pays page faults and moves"
        guard let v = facts.numaBalancing else {
            return .init(.numaBalancing, .ok, saw: "kernel.numa_balancing is not there (not built into this kernel)", why: why)
        }
        if v == 0 { return .init(.numaBalancing, .ok, saw: "kernel.numa_balancing = 0", why: why) }
        let fix = "sysctl -w kernel.numa_balancing=0, and keep it: echo 'kernel.numa_balancing = 0' > /etc/sysctl.d/90-corral.conf"
        if nodesWithCPUs < 2 || !pinned {
            return .init(.numaBalancing, .ok, saw: "kernel.numa_balancing = \(v); \(nodesWithCPUs < 2 ? "one NUMA node with CPUs: nothing to migrate between" : "unpinned mode: Corral does not place memory")", why: why)
        }
        return .init(.numaBalancing, .fail, saw: "kernel.numa_balancing = \(v) on \(nodesWithCPUs) NUMA nodes with pinned workloads", why: why, fix: fix)
    }

    func transparentHugepages() -> DoctorFinding {
        let why = "with transparent hugepages always on, khugepaged compacts and collapses memory in the background and page faults can stall on compaction: latency spikes in pinned workloads and memory the workload did not ask for"
        guard let mode = facts.transparentHugepages else {
            return .init(.transparentHugepages, .ok, saw: "transparent hugepages are not available", why: why)
        }
        if mode == "always" {
            return .init(.transparentHugepages, .warn, saw: "transparent_hugepage/enabled is [always]", why: why,
                         fix: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled, and keep it: add transparent_hugepage=madvise to GRUB_CMDLINE_LINUX in /etc/default/grub, update-grub")
        }
        return .init(.transparentHugepages, .ok, saw: "transparent_hugepage/enabled is [\(mode)]", why: why)
    }

    func zoneReclaim() -> DoctorFinding {
        let why = "with zone reclaim on, a node short of free memory reclaims its own page cache (and may write back or swap) before using another node's memory: allocation stalls for workloads on it"
        guard let v = facts.zoneReclaimMode else {
            return .init(.zoneReclaim, .ok, saw: "vm.zone_reclaim_mode is not there", why: why)
        }
        if v == 0 { return .init(.zoneReclaim, .ok, saw: "vm.zone_reclaim_mode = 0", why: why) }
        return .init(.zoneReclaim, .warn, saw: "vm.zone_reclaim_mode = \(v)", why: why,
                     fix: "sysctl -w vm.zone_reclaim_mode=0, and keep it: echo 'vm.zone_reclaim_mode = 0' >> /etc/sysctl.d/90-corral.conf")
    }

    func memoryPerNode() -> DoctorFinding {
        let why = "each NUMA node's memory is offered as exposedMemPercentage of it; what is left is all the OS, the page cache, the container engine and the executor have on that node, and a workload's memory is taken from its cores' node"
        let p = config.resources.exposedMemPercentage
        let nodes = resources.nodes.map { n -> String in
            let total = topology.node(n.id)?.memoryBytes ?? 0
            return "node \(n.id): \(DataSize(bytes: n.memoryBytes).description) of \(DataSize(bytes: total).description)"
        }.joined(separator: ", ")
        if p == 100 {
            return .init(.memoryPerNode, .warn, saw: "exposedMemPercentage is 100: \(nodes)", why: why,
                         fix: "set resources.exposedMemPercentage to 90 or less (the seed's example uses 60) so each node keeps room for the OS")
        }
        return .init(.memoryPerNode, .ok, saw: "exposedMemPercentage \(p): \(nodes)", why: why)
    }

    // MARK: CPUs

    func smt() -> DoctorFinding {
        let why = "with SMT two hardware threads share one core's execution units and caches: two workloads on the two threads of a core slow each other, which fullPhysicalCores prevents"
        let threaded = topology.cores.contains { $0.cpus.count > 1 }
        let active = facts.smtActive ?? threaded
        let full = config.resources.fullPhysicalCores
        if active && !threaded {
            return .init(.smt, .ok, saw: "SMT is active but no core shows two online threads", why: why)
        }
        switch (active, full) {
        case (true, true): return .init(.smt, .ok, saw: "SMT on; fullPhysicalCores: workloads get whole cores", why: why)
        case (true, false):
            return .init(.smt, .ok, saw: "SMT on; fullPhysicalCores off: two workloads may share a core's threads (the seed's advice for mixed workloads)", why: why,
                         fix: "set resources.fullPhysicalCores: true if workloads must never share a core")
        case (false, true):
            return .init(.smt, .warn, saw: "SMT is off and fullPhysicalCores is on: it changes nothing", why: why,
                         fix: "drop resources.fullPhysicalCores, or turn SMT on (echo on > /sys/devices/system/cpu/smt/control) if whole cores were meant")
        case (false, false): return .init(.smt, .ok, saw: "SMT off: every CPU is a whole core", why: why)
        }
    }

    func governor() -> DoctorFinding {
        let why = "a governor other than performance lowers the clock of a core that looks idle and raises it late: a pinned workload's speed then depends on what the governor guessed"
        let mine = facts.governors.filter { offered.contains($0.key) }
        guard !mine.isEmpty else {
            return .init(.governor, .ok, saw: "no cpufreq governor is exposed for the workload CPUs (fixed frequency, or a VM)", why: why)
        }
        var byGovernor: [String: CPUSet] = [:]
        for (cpu, g) in mine { byGovernor[g, default: []].insert(cpu) }
        let saw = byGovernor.sorted { $0.key < $1.key }.map { "\($0.key) on CPUs \($0.value.listString)" }.joined(separator: "; ")
        if byGovernor.keys.allSatisfy({ $0 == "performance" }) { return .init(.governor, .ok, saw: saw, why: why) }
        return .init(.governor, .warn, saw: saw, why: why,
                     fix: "cpupower frequency-set -g performance (Debian's linux-cpupower), or: echo performance | tee /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor; keep it with a cpupower or tuned profile")
    }

    func offline() -> DoctorFinding {
        let why = "an offline CPU is not offered; one taken offline while the executor runs removes a core some workload may hold"
        let present = facts.presentCPUs ?? topology.allCPUs
        let off = present.subtracting(topology.onlineCPUs)
        if off.isEmpty { return .init(.offlineCPUs, .ok, saw: "every present CPU (\(present.listString)) is online", why: why) }
        return .init(.offlineCPUs, .warn, saw: "CPUs \(off.listString) are offline", why: why,
                     fix: "if they should work: for c in \(off.sorted().map(String.init).joined(separator: " ")); do echo 1 > /sys/devices/system/cpu/cpu$c/online; done (and find what took them offline)")
    }

    func hidden() -> DoctorFinding {
        let why = "CPUs outside the executor's cpuset cgroup cannot be given to workloads: the node has them, the executor cannot offer them"
        let hiddenCPUs = topology.onlineCPUs.subtracting(topology.usableCPUs)
        if hiddenCPUs.isEmpty { return .init(.hiddenCPUs, .ok, saw: "the executor's cpuset holds every online CPU", why: why) }
        return .init(.hiddenCPUs, .warn, saw: "CPUs \(hiddenCPUs.listString) are outside the executor's cpuset", why: why,
                     fix: "widen the executor's cgroup: AllowedCPUs= in its unit or slice (systemctl set-property corral-executor.service AllowedCPUs=\(topology.onlineCPUs.listString)), or the container's --cpuset-cpus if it runs in one")
    }

    // MARK: cgroups and limits

    func cgroups() -> DoctorFinding {
        let why = "native workloads get their CPUs, memory nodes and memory limit from a cgroup of their own; without a writable cpuset and memory hierarchy only affinity and memory policy hold them, and a memory limit is not enforced"
        switch facts.cgroups {
        case .v2(delegated: true):
            return .init(.cgroups, .ok, saw: "cgroup v2 with the cpuset and memory controllers, writable and enabled for child groups", why: why)
        case .v2(delegated: false):
            return .init(.cgroups, .warn, saw: "cgroup v2, but cpuset and memory are not both in the executor's cgroup.subtree_control", why: why,
                         fix: "Delegate=yes in the executor's unit, or echo +cpuset +memory > /sys/fs/cgroup/cgroup.subtree_control")
        case .v1(memory: true):
            return .init(.cgroups, .ok, saw: "cgroup v1 cpuset and memory hierarchies, writable", why: why)
        case .v1(memory: false):
            return .init(.cgroups, .warn, saw: "cgroup v1 cpuset is writable, memory is not: memory limits are not enforced", why: why,
                         fix: "mount the memory controller (or boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2) and run the executor as root")
        case .unavailable(let reason):
            return .init(.cgroups, .warn, saw: "no usable cgroup hierarchy: \(reason)", why: why,
                         fix: "run the executor as root on a host with the cpuset and memory controllers (cgroup v2: systemd.unified_cgroup_hierarchy=1)")
        }
    }

    func openFiles() -> DoctorFinding {
        let why = "options.maxOpenFiles is what each workload may open; the kernel's fs.nr_open caps any process, and the executor can give only up to its own hard limit unless it may raise it"
        let want = config.options.maxOpenFiles
        if let nr = facts.nrOpen, want > nr {
            return .init(.openFiles, .fail, saw: "maxOpenFiles \(want) is above fs.nr_open \(nr)", why: why,
                         fix: "sysctl -w fs.nr_open=\(want) (and in /etc/sysctl.d/90-corral.conf), or lower options.maxOpenFiles to \(nr)")
        }
        if let hard = facts.openFilesHardLimit, UInt64(want) > hard, !facts.canRaiseLimits {
            return .init(.openFiles, .warn, saw: "maxOpenFiles \(want) is above this process's hard limit \(hard), and it may not raise it", why: why,
                         fix: "LimitNOFILE=\(want) in the executor's unit (the shipped unit sets 1048576)")
        }
        let ceiling = facts.nrOpen.map { "fs.nr_open \($0)" } ?? "fs.nr_open unknown"
        return .init(.openFiles, .ok, saw: "maxOpenFiles \(want) (\(ceiling)\(facts.openFilesHardLimit.map { ", hard limit \($0)" } ?? ""))", why: why)
    }

    func storage() -> [DoctorFinding] {
        let why = "instance logs and the state database are written all the time: a full disk stops logging and state writes (the executor turns unhealthy), and logs that share / can fill the whole system"
        return facts.storage.map { s in
            let free = DataSize(bytes: s.freeBytes).description, total = DataSize(bytes: s.totalBytes).description
            let pct = s.totalBytes == 0 ? 100 : Int(s.freeBytes * 100 / s.totalBytes)
            let inodePct = s.totalInodes == 0 ? 100 : Int(s.freeInodes * 100 / s.totalInodes)
            var saw = "\(s.path)\(s.measured != s.path ? " (not there yet; measured at \(s.measured))" : ""): \(free) free of \(total) (\(pct)%), \(inodePct)% of inodes free\(s.onRootFilesystem ? ", on the root filesystem" : "")"
            if s.freeBytes < 64 << 20 {
                return .init(.storage, .fail, subject: s.role, saw: saw, why: why, fix: "free space on \(s.measured) now, or point \(s.role) at a larger filesystem")
            }
            if pct < 10 || inodePct < 10 {
                saw += ": under 10% left"
                return .init(.storage, .warn, subject: s.role, saw: saw, why: why, fix: "free space or inodes on \(s.measured), or point \(s.role) at a larger filesystem")
            }
            if s.onRootFilesystem && s.role.contains("log") {
                return .init(.storage, .warn, subject: s.role, saw: saw, why: why,
                             fix: "mount a filesystem of its own at \(s.path) (an fstab line for a disk or LVM volume), so that a log flood cannot fill /")
            }
            return .init(.storage, .ok, subject: s.role, saw: saw, why: why)
        }
    }

    // MARK: Engines and GPUs

    func engine() -> DoctorFinding? {
        guard let e = facts.engine else { return nil }
        let why = "container instances are started through the Docker Engine API on this socket (Docker or Podman); native processes do not need it"
        if let v = e.version {
            return .init(.engine, .ok, saw: "\(e.socket) answers: \(v), API \(e.apiVersion ?? "?")", why: why)
        }
        return .init(.engine, .warn, saw: "\(e.socket) does not answer: \(e.error ?? "no reply")", why: why,
                     fix: "start the engine (systemctl enable --now docker, or podman.socket), or set options.dockerSocketPath to its socket")
    }

    func gpus() -> DoctorFinding? {
        guard config.resources.enableNvidiaGpu else { return nil }
        let why = "enableNvidiaGpu offers whole GPUs with the cores of their NUMA node: the driver must list them with their node, and containers need the NVIDIA container toolkit to see them"
        let gs = topology.gpus
        guard !gs.isEmpty else {
            return .init(.gpus, .fail, saw: "enableNvidiaGpu is on, but the NVIDIA driver lists no GPU (/proc/driver/nvidia/gpus)", why: why,
                         fix: "install and load the NVIDIA driver (nvidia-smi lists the GPUs), or set resources.enableNvidiaGpu: false")
        }
        let list = gs.map { "GPU \($0.index) \($0.model) on \($0.numaNode.map { "node \($0)" } ?? "no NUMA node")" }.joined(separator: ", ")
        let unplaced = gs.filter { $0.numaNode == nil }
        guard let toolkit = facts.nvidiaToolkit else {
            return .init(.gpus, .warn, saw: "\(list); no NVIDIA container toolkit (nvidia-ctk, nvidia-container-runtime) found", why: why,
                         fix: "install nvidia-container-toolkit and run nvidia-ctk runtime configure (docker or podman's CDI: nvidia-ctk cdi generate)")
        }
        if !unplaced.isEmpty {
            return .init(.gpus, .warn, saw: "\(list); toolkit \(toolkit)", why: why,
                         fix: "GPUs \(unplaced.map { String($0.index) }.joined(separator: ", ")) report no NUMA node (numa_node -1): enable NUMA in the firmware (ACPI SRAT / node interleaving off) so they can be placed with their cores")
        }
        return .init(.gpus, .ok, saw: "\(list); toolkit \(toolkit)", why: why)
    }
}
