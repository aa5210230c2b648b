/// What `corral doctor` read off a node (through its filesystem root, so a
/// fixture root stands for a machine), for ``NodeDoctor`` to judge. nil:
/// the file was not there or did not read.
public struct NodeFacts: Sendable {
    /// A running process the doctor looked at.
    public struct Daemon: Sendable, Equatable {
        public var name: String
        public var pid: Int
        /// Its scheduling affinity (`Cpus_allowed_list`).
        public var affinity: CPUSet?
        /// Its cgroup's cpuset, when one narrows it.
        public var cgroupCPUs: CPUSet?
        public init(name: String, pid: Int, affinity: CPUSet?, cgroupCPUs: CPUSet? = nil) {
            self.name = name
            self.pid = pid
            self.affinity = affinity
            self.cgroupCPUs = cgroupCPUs
        }
        /// Where it may run.
        public var cpus: CPUSet? {
            switch (affinity, cgroupCPUs) {
            case (let a?, let c?): a.intersection(c)
            case (let a?, nil): a
            case (nil, let c?): c
            default: nil
            }
        }
    }

    public struct IRQ: Sendable, Equatable {
        public var number: Int
        public var name: String?
        public var affinity: CPUSet
        public init(number: Int, name: String?, affinity: CPUSet) {
            self.number = number
            self.name = name
            self.affinity = affinity
        }
    }

    public enum CgroupLayout: Sendable, Equatable {
        case v1(memory: Bool)
        case v2(delegated: Bool)
        case unavailable(String)
    }

    /// A directory Corral writes to, and the filesystem under it.
    public struct Storage: Sendable, Equatable {
        public var role: String
        public var path: String
        /// The nearest existing directory of `path`, which was measured.
        public var measured: String
        public var freeBytes: UInt64
        public var totalBytes: UInt64
        public var freeInodes: UInt64
        public var totalInodes: UInt64
        public var onRootFilesystem: Bool
        public init(role: String, path: String, measured: String, freeBytes: UInt64, totalBytes: UInt64,
                    freeInodes: UInt64, totalInodes: UInt64, onRootFilesystem: Bool) {
            self.role = role
            self.path = path
            self.measured = measured
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
            self.freeInodes = freeInodes
            self.totalInodes = totalInodes
            self.onRootFilesystem = onRootFilesystem
        }
    }

    /// What the container engine's socket answered.
    public struct Engine: Sendable, Equatable {
        public var socket: String
        /// nil: it did not answer; the error.
        public var version: String?
        public var apiVersion: String?
        public var error: String?
        public init(socket: String, version: String?, apiVersion: String?, error: String?) {
            self.socket = socket
            self.version = version
            self.apiVersion = apiVersion
            self.error = error
        }
    }

    public var pid1Affinity: CPUSet?
    /// The process running the checks (the executor at its start; `corral doctor` by hand).
    public var selfAffinity: CPUSet?
    public var selfName: String
    /// /proc/cmdline.
    public var kernelCommandLine: String?
    public var numaBalancing: Int?
    /// The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled.
    public var transparentHugepages: String?
    public var zoneReclaimMode: Int?
    public var irqs: [IRQ] = []
    public var irqbalance: Daemon?
    /// IRQBALANCE_BANNED_CPULIST (or the hex IRQBALANCE_BANNED_CPUS) in /etc/default/irqbalance.
    public var irqbalanceBanned: CPUSet?
    /// /sys/devices/system/cpu/smt/active.
    public var smtActive: Bool?
    /// CPU to its cpufreq governor.
    public var governors: [Int: String] = [:]
    /// Present CPUs (/sys/devices/system/cpu/present).
    public var presentCPUs: CPUSet?
    public var engineDaemons: [Daemon] = []
    public var cgroups: CgroupLayout
    /// /proc/sys/fs/nr_open: the most open files any process may be given.
    public var nrOpen: Int?
    /// This process's hard RLIMIT_NOFILE and whether it may raise it (nil on a fixture root).
    public var openFilesHardLimit: UInt64?
    public var canRaiseLimits: Bool = false
    public var storage: [Storage] = []
    /// nil: not asked (a fixture root, or no engine configured).
    public var engine: Engine?
    /// An NVIDIA container toolkit binary found (nvidia-ctk, nvidia-container-runtime, nvidia-container-cli).
    public var nvidiaToolkit: String?

    public init(cgroups: CgroupLayout, selfName: String = "this process") {
        self.cgroups = cgroups
        self.selfName = selfName
    }
}
