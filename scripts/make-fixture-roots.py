#!/usr/bin/env python3
"""Writes the synthetic sysfs/procfs roots under Tests/CorralHostTests/Fixtures.

Each root covers a case the recorded hwloc dumps lack. Run from the repo root;
the output is committed, so tests never depend on running this.
"""
import os
import shutil

BASE = os.path.join(os.path.dirname(__file__), "..", "Tests", "CorralHostTests", "Fixtures")


def w(root, path, text):
    p = os.path.join(root, path.lstrip("/"))
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def cpulist(ids):
    ids = sorted(ids)
    out, i = [], 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)


def hexmask(ids, ncpus):
    words = (max(ncpus, 32) + 31) // 32
    v = 0
    for i in ids:
        v |= 1 << i
    return ",".join(f"{(v >> (32 * k)) & 0xffffffff:08x}" for k in reversed(range(words)))


def machine(name, sockets, cores_per_socket, threads, nodes_per_socket=1, l3_cores=None,
            mem_gib=64, online=None, hex_only=False, no_node_dir=False, extra_nodes=(),
            core_id_reset_per_die=None, module_pairs=False):
    root = os.path.join(BASE, name)
    shutil.rmtree(root, ignore_errors=True)
    total_cores = sockets * cores_per_socket
    ncpus = total_cores * threads
    cpus = {}
    for core in range(total_cores):
        sock = core // cores_per_socket
        local = core % cores_per_socket
        cid = local if core_id_reset_per_die is None else local % core_id_reset_per_die
        for t in range(threads):
            cpu = core + t * total_cores
            cpus[cpu] = dict(core=core, sock=sock, local=local, core_id=cid,
                             node=sock * nodes_per_socket + local // (cores_per_socket // nodes_per_socket))
    if module_pairs:
        # AMD compute units: two cores of one module listed as thread siblings,
        # each with its own core_id.
        for cpu, c in cpus.items():
            c["sib"] = [cpu ^ 1]
    on = set(cpus) if online is None else set(online)
    if not hex_only:
        w(root, "/sys/devices/system/cpu/online", cpulist(on))
        w(root, "/sys/devices/system/cpu/present", cpulist(cpus))
    for cpu, c in cpus.items():
        d = f"/sys/devices/system/cpu/cpu{cpu}"
        if hex_only and cpu != 0:
            w(root, f"{d}/online", "1" if cpu in on else "0")
        if cpu not in on:
            continue
        sibs = [x for x, o in cpus.items() if o["core"] == c["core"]] + c.get("sib", [])
        pkg = [x for x, o in cpus.items() if o["sock"] == c["sock"]]
        t = f"{d}/topology"
        w(root, f"{t}/physical_package_id", str(c["sock"]))
        w(root, f"{t}/core_id", str(c["core_id"] + (cpu & 1 if module_pairs else 0)))
        if hex_only:
            w(root, f"{t}/thread_siblings", hexmask(sibs, ncpus))
            w(root, f"{t}/core_siblings", hexmask(pkg, ncpus))
        else:
            w(root, f"{t}/thread_siblings_list", cpulist(sibs))
            w(root, f"{t}/core_siblings_list", cpulist(pkg))
        if l3_cores:
            group = c["local"] // l3_cores
            l3 = [x for x, o in cpus.items() if o["sock"] == c["sock"] and o["local"] // l3_cores == group]
            w(root, f"{d}/cache/index3/level", "3")
            w(root, f"{d}/cache/index3/type", "Unified")
            w(root, f"{d}/cache/index3/shared_cpu_list", cpulist(l3))
    nodes = sorted({c["node"] for c in cpus.values()})
    mem_kb = mem_gib * 1024 * 1024
    if no_node_dir:
        w(root, "/proc/meminfo", f"MemTotal:       {mem_kb * len(nodes)} kB\nMemFree:        1000 kB\n")
        return root
    all_nodes = nodes + [n for n, _, _ in extra_nodes]
    for n in nodes:
        ids = [x for x, o in cpus.items() if o["node"] == n and x in on]
        w(root, f"/sys/devices/system/node/node{n}/cpulist", cpulist(ids))
        w(root, f"/sys/devices/system/node/node{n}/meminfo",
          f"Node {n} MemTotal:       {mem_kb} kB\nNode {n} MemFree:        {mem_kb // 2} kB\n")
        w(root, f"/sys/devices/system/node/node{n}/distance",
          " ".join("10" if m == n else "21" for m in all_nodes))
    for n, kb, cpul in extra_nodes:
        w(root, f"/sys/devices/system/node/node{n}/cpulist", cpul)
        w(root, f"/sys/devices/system/node/node{n}/meminfo",
          f"Node {n} MemTotal:       {kb} kB\nNode {n} MemFree:        {kb} kB\n")
    w(root, "/sys/devices/system/node/online", cpulist(all_nodes))
    w(root, "/proc/meminfo", f"MemTotal:       {mem_kb * len(nodes) + sum(kb for _, kb, _ in extra_nodes)} kB\n")
    return root


def gpu(root, bus, model, minor, node):
    w(root, f"/proc/driver/nvidia/gpus/{bus}/information",
      f"Model: \t\t {model}\nIRQ:   \t\t 140\nGPU UUID: \t GPU-{minor:08d}-0000-0000-0000-000000000000\n"
      f"Video BIOS: \t 94.02.42.00.01\nBus Type: \t PCIe\nDMA Size: \t 47 bits\nDMA Mask: \t 0x7fffffffffff\n"
      f"Bus Location: \t {bus}\nDevice Minor: \t {minor}\n")
    w(root, f"/sys/bus/pci/devices/{bus}/numa_node", str(node))


def node_prep(root, ncpus, pid1, executor, cmdline, numa_balancing, thp, zone_reclaim, irqs, governor,
              nr_open, daemons, smt_active, extra=()):
    """The files `corral doctor` reads: PID 1's and this process's affinity,
    the kernel command line, NUMA balancing, hugepages, zone reclaim, IRQ
    affinities (with /proc/interrupts names), cpufreq governors, fs.nr_open,
    running daemons (comm, status, cgroup) and SMT."""
    w(root, "/proc/1/status", f"Name:\tsystemd\nPid:\t1\nCpus_allowed_list:\t{pid1}\n")
    if executor is not None:
        w(root, "/proc/self/status", f"Name:\tcorral\nCpus_allowed_list:\t{executor}\nMems_allowed_list:\t0-1\n")
    w(root, "/proc/cmdline", cmdline)
    w(root, "/proc/sys/kernel/numa_balancing", str(numa_balancing))
    w(root, "/sys/kernel/mm/transparent_hugepage/enabled", thp)
    w(root, "/proc/sys/vm/zone_reclaim_mode", str(zone_reclaim))
    w(root, "/proc/sys/fs/nr_open", str(nr_open))
    w(root, "/sys/devices/system/cpu/smt/active", "1" if smt_active else "0")
    lines = ["           CPU0       CPU1"]
    for n, (aff, name) in sorted(irqs.items()):
        w(root, f"/proc/irq/{n}/smp_affinity_list", aff)
        lines.append(f" {n:>3}:          0          0  PCI-MSI  {name}")
    w(root, "/proc/interrupts", "\n".join(lines))
    for c in range(ncpus):
        w(root, f"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_governor", governor)
    for pid, (name, aff) in daemons.items():
        w(root, f"/proc/{pid}/comm", name)
        w(root, f"/proc/{pid}/status", f"Name:\t{name}\nPid:\t{pid}\nCpus_allowed_list:\t{aff}\n")
        w(root, f"/proc/{pid}/cgroup", f"0::/system.slice/{name}.service")
    for path, text in extra:
        w(root, path, text)


# Two sockets, 8 cores x 2 threads each, one node per socket, 3 GPUs (one with
# no NUMA node), and the executor confined by cgroup v2 and its status file.
r = machine("gpu-2s8c2t", sockets=2, cores_per_socket=8, threads=2, l3_cores=4, mem_gib=32)
gpu(r, "0000:3b:00.0", "NVIDIA GeForce RTX 3080", 0, 0)
gpu(r, "0000:af:00.0", "NVIDIA GeForce RTX 3080", 1, 1)
gpu(r, "0000:d8:00.0", "NVIDIA A2", 2, -1)
w(r, "/proc/self/cgroup", "0::/corral.slice")
w(r, "/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n")
w(r, "/sys/fs/cgroup/corral.slice/cpuset.cpus.effective", "0-15,17-31")
w(r, "/sys/fs/cgroup/corral.slice/cpuset.mems.effective", "0-1")
w(r, "/proc/self/status", "Name:\tcorral\nCpus_allowed_list:\t0-30\nMems_allowed_list:\t0-1\n")
w(r, "/proc/sys/kernel/hostname", "gpu-node-7")
# A node nobody prepared (corral doctor's failing case, with osCores 0,16):
# init and the engine on every CPU, isolcpus over an OS core and unlike
# nohz_full, NUMA balancing and zone reclaim on, hugepages always, IRQs
# everywhere with irqbalance running unbanned, powersave, a tiny fs.nr_open.
node_prep(r, 32, pid1="0-31", executor=None, numa_balancing=1, thp="[always] madvise never", zone_reclaim=1,
          cmdline="BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=5d1e ro quiet isolcpus=domain,managed_irq,0-3 nohz_full=2-7",
          irqs={24: ("0-31", "eth0-TxRx-0"), 25: ("0-31", "eth0-TxRx-1"), 120: ("5", "nvme0q5")},
          governor="powersave", nr_open=1024, smt_active=True,
          daemons={812: ("dockerd", "0-31"), 901: ("irqbalance", "0-31")})

# An old kernel: hex masks only, per-CPU online files, no NUMA directory.
r = machine("old-kernel-no-numa", sockets=1, cores_per_socket=4, threads=2, hex_only=True, no_node_dir=True,
            mem_gib=16, online=[0, 1, 2, 4, 5, 6, 7])

# Sparse node ids, a memory-only node (CXL / GPU memory) and a CPU-less, memory-less node.
r = machine("sparse-memoryless", sockets=2, cores_per_socket=4, threads=1, mem_gib=8,
            extra_nodes=[(4, 16 * 1024 * 1024, ""), (6, 0, "")])

# AMD Bulldozer-style modules: siblings with different core_ids are separate cores.
r = machine("amd-modules", sockets=1, cores_per_socket=8, threads=1, l3_cores=8, module_pairs=True)

# core_id repeats across dies of one package: siblings decide, not core_id.
r = machine("dies-repeat-core-id", sockets=1, cores_per_socket=8, threads=2, core_id_reset_per_die=4)

# The damocles case study: dual AMD EPYC 7642, 48 cores per socket, SMT off,
# one NUMA node per socket, L3 groups of 3 cores, 2 GPUs.
r = machine("epyc7642-2s48c", sockets=2, cores_per_socket=48, threads=1, l3_cores=3, mem_gib=1024)
gpu(r, "0000:41:00.0", "NVIDIA GeForce RTX 3080", 0, 0)
gpu(r, "0000:c1:00.0", "NVIDIA GeForce RTX 3080", 1, 1)
w(r, "/proc/sys/kernel/hostname", "sealer-01")
# A node prepared as the setup guide says, and more (corral doctor's passing
# case, with osCores 0,48): init, the executor and dockerd on the OS cores,
# no isolcpus, NUMA balancing and zone reclaim off, hugepages on madvise,
# movable IRQs on the OS cores, performance governor, SMT off, cgroup v2
# delegated, the NVIDIA container toolkit installed.
node_prep(r, 96, pid1="0,48", executor="0,48", numa_balancing=0, thp="always [madvise] never", zone_reclaim=0,
          cmdline="BOOT_IMAGE=/boot/vmlinuz-6.1.0-13-amd64 root=UUID=9a2f ro quiet transparent_hugepage=madvise",
          irqs={24: ("0,48", "eth0-TxRx-0"), 25: ("0,48", "eth0-TxRx-1"), 120: ("5", "nvme0q5")},
          governor="performance", nr_open=1048576, smt_active=False,
          daemons={812: ("dockerd", "0,48")},
          extra=[("/proc/mounts", "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n"),
                 ("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids"),
                 ("/sys/fs/cgroup/cgroup.subtree_control", "cpuset cpu io memory pids"),
                 ("/usr/bin/nvidia-ctk", "#!/bin/sh\n")])
